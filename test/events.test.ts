// Events for the host application: the outbox written with each state change, the event log,
// the live stream and `relay.on`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { EVENT_TYPES } from '../src/core/events.js';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const OURS = '+15005550006';

describe.each(backends)('events outbox on $name', (backend) => {
  let t: TestRelay;
  const outbox = (type?: string) => {
    let q = sqlOf(t.relay).selectFrom('events').selectAll().orderBy('id');
    if (type) q = q.where('type', '=', type);
    return q.execute();
  };
  const text = async (handset: string, body: string) => {
    const r = await t.api(`/emulator/api/handsets/${encodeURIComponent(handset)}/messages`, { body: { to: OURS, body }, key: null });
    expect(r.status).toBe(201);
    return r.body;
  };

  beforeAll(async () => {
    t = await startRelay(backend, 'events', { inbound: { ...loadConfig({}).inbound, keywordReplies: 'relay' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('writes message.sent and message.delivered with the message as the API shows it', async () => {
    const sent = await t.api('/v1/messages', { body: { to: '+14155550101', body: 'your plumber is on the way', metadata: { job: 7 } } });
    expect(sent.status).toBe(202);
    const id = sent.body.id as string;
    await waitFor(async () => (await t.api(`/v1/messages/${id}`)).body.status === 'delivered');
    const events = await waitFor(async () => {
      const rows = (await outbox()).filter((e) => JSON.parse(e.data).id === id);
      return rows.length >= 2 && rows;
    });
    expect(events.map((e) => e.type)).toEqual(['message.sent', 'message.delivered']);
    for (const e of events) expect(e.tenant_id).toBe(t.relay.defaultTenant.id);
    expect(JSON.parse(events[1]!.data)).toMatchObject({ id, status: 'delivered', to_addr: '+14155550101', body: 'your plumber is on the way' });
  });

  it('never stores the body of a sensitive message (verification codes)', async () => {
    const r = await t.api('/v1/verifications', { body: { to: '+14155550102' } });
    expect(r.status).toBe(201);
    const msgs = await waitFor(async () => {
      const rows = (await outbox('message.sent')).filter((e) => JSON.parse(e.data).to_addr === '+14155550102');
      return rows.length > 0 && rows;
    });
    const data = JSON.parse(msgs[0]!.data);
    expect(data.sensitive).toBe(1);
    expect(data.body).toBeNull();
  });

  it('writes message.received, consent events and conversation.needs_attention with the inbound message', async () => {
    const h = '+14155550103';
    await text(h, 'DONE 123');
    const received = await waitFor(async () => (await outbox('message.received')).find((e) => JSON.parse(e.data).from_addr === h));
    expect(JSON.parse(received.data)).toMatchObject({ body: 'DONE 123', direction: 'inbound', status: 'received' });
    expect(JSON.parse(received.data).conversation_id).toMatch(/^[0-9a-f-]{36}$/);

    await text(h, 'STOP');
    await text(h, 'STOP');
    const out = (await outbox('consent.opted_out')).filter((e) => JSON.parse(e.data).phone === h);
    // A second STOP changes nothing: one event.
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]!.data)).toMatchObject({ state: 'opted_out', source: 'keyword', actor: 'contact' });
    await text(h, 'START');
    expect((await outbox('consent.opted_in')).filter((e) => JSON.parse(e.data).phone === h)).toHaveLength(1);

    const h2 = '+14155550104';
    await text(h2, 'please stop texting me');
    const flagged = (await outbox('conversation.needs_attention')).find((e) => JSON.parse(e.data).contact === h2);
    expect(JSON.parse(flagged!.data)).toMatchObject({ reason: 'free_text_revocation' });
  });
});

/** Reads SSE events from a stream until `n` arrived (or the time ran out). */
async function readStream(url: string, headers: Record<string, string>, n: number, timeoutMs = 5000) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const res = await fetch(url, { headers, signal: ctrl.signal });
  const events: { id: string; event: string; data: any }[] = [];
  const comments: string[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (block.startsWith(':')) comments.push(block.slice(1).trim());
        else {
          const f = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          events.push({ id: f.id!, event: f.event!, data: JSON.parse(f.data!) });
        }
      }
      if (events.length >= n) break;
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
  return { status: res.status, type: res.headers.get('content-type'), events, comments };
}

describe.each(backends)('event log, stream and relay.on on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'eventlog', { events: { ...loadConfig({}).events, pollIntervalMs: 20, heartbeatMs: 100 } });
  });
  afterAll(async () => {
    await t?.close();
  });
  const send = async (to: string) => {
    const r = await t.api('/v1/messages', { body: { to, body: 'hi' } });
    expect(r.status).toBe(202);
    return r.body.id as string;
  };

  it('lists events oldest first, filtered by type, paged by cursor; a poller keeps the cursor', async () => {
    const ids = [await send('+14155550401'), await send('+14155550402')];
    await waitFor(async () => (await t.api('/v1/events?type=message.delivered&limit=200')).body.data.filter((e: any) => ids.includes(e.data.id)).length === 2);
    const all = (await t.api('/v1/events?type=message.*&limit=200')).body;
    expect(all.data.every((e: any) => e.type.startsWith('message.'))).toBe(true);
    const sorted = [...all.data].sort((a: any, b: any) => (a.id < b.id ? -1 : 1));
    expect(all.data.map((e: any) => e.id)).toEqual(sorted.map((e: any) => e.id));
    const first = (await t.api('/v1/events?limit=1')).body;
    expect(first.data).toHaveLength(1);
    expect(first.has_more).toBe(true);
    const second = (await t.api(`/v1/events?limit=1&cursor=${first.next_cursor}`)).body;
    expect(second.data[0].id > first.data[0].id).toBe(true);
    // At the end: no data, the cursor stays, so the poller asks again later.
    const end = (await t.api(`/v1/events?limit=200&cursor=${all.next_cursor}&type=message.*`)).body;
    expect(end).toMatchObject({ data: [], next_cursor: all.next_cursor, has_more: false });
    expect((await t.api('/v1/events?since=2999-01-01T00:00:00Z')).body.data).toEqual([]);
  });

  it('answers bad queries with 4xx', async () => {
    for (const q of ['type=message.nope', 'since=yesterday', 'cursor=%%%', 'limit=0', 'limit=abc', 'cursor=' + 'A'.repeat(300)]) {
      const r = await t.api(`/v1/events?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toMatch(/^SMS_ERR_/);
    }
    expect((await t.api('/v1/events/not-an-id')).status).toBe(404);
    expect((await t.api('/v1/events', { key: null })).status).toBe(401);
    const { key } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'msgs', ['messages:read']);
    expect((await t.api('/v1/events', { key })).status).toBe(403);
    expect((await t.api('/v1/webhook-endpoints', { key, body: { url: 'https://example.com' } })).status).toBe(403);
  });

  it('streams committed events (SSE) with heartbeats and resumes after Last-Event-ID', async () => {
    const headers = { authorization: `Bearer ${t.apiKey}` };
    const live = readStream(`${t.url}/v1/events/stream?type=message.delivered`, headers, 1);
    await new Promise((r) => setTimeout(r, 150));
    const id = await send('+14155550403');
    const got = await live;
    expect(got.status).toBe(200);
    expect(got.type).toMatch(/^text\/event-stream/);
    expect(got.events[0]).toMatchObject({ event: 'message.delivered', data: { type: 'message.delivered', data: { id, status: 'delivered' } } });
    expect(got.comments).toContain('connected');
    // Resume: everything after the given id is replayed first.
    const list = (await t.api('/v1/events?limit=200')).body.data;
    const idx = list.findIndex((e: any) => e.id === got.events[0]!.id);
    const resumed = await readStream(`${t.url}/v1/events/stream`, { ...headers, 'last-event-id': list[idx - 2].id }, 2, 2000);
    expect(resumed.events.map((e) => e.id)).toEqual([list[idx - 1].id, list[idx].id]);
    const idle = await readStream(`${t.url}/v1/events/stream?type=campaign.completed`, headers, 1, 400);
    expect(idle.comments).toContain('heartbeat');
  });

  it('documents every event type in the OpenAPI webhooks section, with an example', async () => {
    const doc = (await t.api('/openapi.json')).body;
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const body = doc.webhooks[type].post.requestBody.content['application/json'];
      expect(body.example.type).toBe(type);
      expect(body.example.data).toBeTypeOf('object');
    }
    expect(doc.paths['/v1/events/stream']).toBeDefined();
    expect(doc.paths['/v1/webhook-endpoints/{id}/rotate-secret']).toBeDefined();
  });

  it('calls relay.on handlers after commit, by type and wildcard', async () => {
    const seen: any[] = [];
    const all: string[] = [];
    const off = t.relay.on('message.delivered', (e) => {
      seen.push(e);
    });
    const offAll = t.relay.on('message.*', (e) => {
      all.push(e.type);
    });
    await new Promise((r) => setTimeout(r, 100));
    const id = await send('+14155550404');
    await waitFor(() => seen.some((e) => e.data.id === id));
    expect(seen.find((e) => e.data.id === id)).toMatchObject({
      type: 'message.delivered',
      tenant: t.relay.defaultTenant.id,
      data: { id, status: 'delivered' },
    });
    expect(all).toContain('message.sent');
    off();
    offAll();
    const before = seen.length;
    await send('+14155550405');
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.length).toBe(before);
  });
});
