// Events for the host application: the outbox written with each state change, the event log,
// the live stream and `relay.on`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
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
