// Opt-out compliance end to end with the emulator's handsets: STOP/START, free-text revocation,
// enforcement at the API, in the worker and from the provider's 21610, and the consents API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { csvCell } from '../src/core/csv.js';
import { sqlOf } from './support/db.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const OURS = '+15005550006';

describe('csvCell', () => {
  it.each([
    // A valid E.164 number (or whatsapp:+E164) is data and re-imports as is.
    ['+14155552671', '+14155552671'],
    ['whatsapp:+14155552671', 'whatsapp:+14155552671'],
    ['+1+cmd|calc', "'+1+cmd|calc"],
    ['+0123', "'+0123"],
    ['+1234567890123456', "'+1234567890123456"],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['a,b', '"a,b"'],
    ['line\nbreak', '"line\nbreak"'],
    ['plain', 'plain'],
    ['', ''],
  ])('%j → %j', (input, out) => {
    expect(csvCell(input)).toBe(out);
  });
});

describe.each(backends)('consent on $name', (backend) => {
  let t: TestRelay;
  const text = async (handset: string, body: string) => {
    const r = await t.api(`/emulator/api/handsets/${encodeURIComponent(handset)}/messages`, { body: { to: OURS, body }, key: null });
    expect(r.status).toBe(201);
    expect(r.body.webhookError).toBeNull();
    return r.body as { message: { sid: string; dateCreated: string }; replies: { body: string; status: string }[]; autoReply: { body: string } | null };
  };
  const send = (to: string, body = 'hello') => t.api('/v1/messages', { body: { to, body } });
  const consent = async (phone: string) => (await t.api(`/v1/consents/${encodeURIComponent(phone)}`)).body;

  beforeAll(async () => {
    t = await startRelay(backend, 'consent', { worker: { concurrency: 2 }, inbound: { ...loadConfig({}).inbound, autoReply: 'Thanks!' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('STOP suppresses the number: ledger event, opted-out conversation, 422 at the API, START resubscribes', async () => {
    const h = '+14155550201';
    const first = await send(h);
    expect(first.status).toBe(202);
    await waitFor(async () => (await t.api(`/v1/messages/${first.body.id}`)).body.provider_sid);
    const stop = await text(h, ' stop ');
    // Twilio's own opt-out handling answers the keyword; the relay adds no second reply (nor an auto-reply).
    expect(stop.replies).toEqual([]);
    expect(stop.autoReply?.body).toMatch(/unsubscribed/);
    const c = await consent(h);
    expect(c).toMatchObject({ phone: h, state: 'opted_out', suppressed: true });
    expect(c.history[0]).toMatchObject({ action: 'opt_out', source: 'keyword', actor: 'contact', detail: 'stop' });
    expect(c.history[0].message_id).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await send(h);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('SMS_ERR_RECIPIENT_OPTED_OUT');
    const conv = (await t.api('/v1/conversations?status=opted_out&limit=200')).body.data.find((x: any) => x.contact === h);
    expect(conv).toBeDefined();
    // A reply from the conversation is refused the same way.
    expect((await t.api(`/v1/conversations/${conv.id}/messages`, { body: { body: 'are you sure?' } })).status).toBe(422);
    // A normal message from an opted-out contact gets no auto-reply.
    expect((await text(h, 'hello?')).replies).toEqual([]);

    await text(h, 'START');
    expect(await consent(h)).toMatchObject({ state: 'opted_in', suppressed: false });
    expect((await send(h)).status).toBe(202);
    expect((await consent(h)).history.map((e: any) => e.action)).toEqual(['opt_in', 'opt_out']);
  });

  it('treats free-text revocation as an opt-out, confirms once and flags the conversation for a human', async () => {
    const h = '+14155550202';
    const r = await text(h, 'Please stop texting me!');
    expect(r.replies).toHaveLength(1);
    expect(r.replies[0]!.body).toMatch(/unsubscribed/);
    expect(await consent(h)).toMatchObject({ state: 'opted_out', history: [{ source: 'free_text', detail: 'Please stop texting me!' }] });
    const conv = (await t.api('/v1/conversations?needs_attention=true&limit=200')).body.data.find((x: any) => x.contact === h);
    expect(conv).toMatchObject({ status: 'opted_out', needs_attention: true, attention_reason: 'free_text_revocation' });
    // Saying it again changes nothing and sends nothing.
    expect((await text(h, 'unsubscribe me')).replies).toEqual([]);
    expect((await send(h)).status).toBe(422);

    const keep = '+14155550203';
    expect((await text(keep, "don't stop")).replies.map((m) => m.body)).toEqual(['Thanks!']);
    expect((await t.api(`/v1/consents/${encodeURIComponent(keep)}`)).status).toBe(404);
  });

  it('fails queued messages locally when STOP arrives while 500 are queued: zero reach the handset after it', async () => {
    const h = '+14155550204';
    const em = t.relay.emulator!;
    em.setChaos({ latencyMs: 8 });
    try {
      // All 500 are in the outbox before the worker sends the first one.
      await t.relay.worker!.stop();
      const ids: string[] = [];
      for (let i = 0; i < 500; i += 50) {
        const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => send(h, `bulk ${i + j}`)));
        for (const b of batch) {
          expect(b.status).toBe(202);
          ids.push(b.body.id);
        }
      }
      t.relay.worker!.start();
      await waitFor(() => em.messages({ to: h }).length >= 20, 20_000);
      const stop = await text(h, 'STOP');
      const stopAt = new Date(stop.message.dateCreated).getTime();
      const rows = await waitFor(async () => {
        const r = await sqlOf(t.relay).selectFrom('messages').selectAll().where('id', 'in', ids).execute();
        return r.every((m) => m.provider_sid !== null || m.status === 'failed') ? r : null;
      }, 60_000);
      const localFails = rows.filter((m) => m.error_code === 'SMS_ERR_RECIPIENT_OPTED_OUT');
      expect(localFails.length).toBeGreaterThan(300);
      for (const m of localFails) expect(m).toMatchObject({ status: 'failed', provider_sid: null, provider_code: null });
      // The few checked just before the STOP committed may still reach Twilio, which refuses them (21610).
      const others = rows.filter((m) => m.error_code !== 'SMS_ERR_RECIPIENT_OPTED_OUT');
      for (const m of others) expect(m.provider_sid !== null || m.provider_code === 21610).toBe(true);
      const delivered = em.messages({ to: h }).filter((m) => m.source === 'api' && m.status !== 'failed');
      expect(delivered.length).toBeGreaterThan(0);
      expect(delivered.filter((m) => m.dateCreated.getTime() > stopAt)).toEqual([]);
      expect(em.messages({ to: h }).filter((m) => m.source === 'api' && m.dateCreated.getTime() > stopAt && m.status !== 'failed')).toHaveLength(0);
    } finally {
      em.setChaos({ latencyMs: 0 });
    }
  }, 90_000);

  it('suppresses the number when the provider answers 21610', async () => {
    const magic = '+15005550004'; // Twilio's magic "unsubscribed recipient" number
    const r = await send(magic);
    expect(r.status).toBe(202);
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
      return g.status === 'failed' ? g : null;
    });
    expect(m.provider_code).toBe(21610);
    const c = await waitFor(async () => {
      const x = await t.api(`/v1/consents/${encodeURIComponent(magic)}`);
      return x.status === 200 ? x.body : null;
    });
    expect(c).toMatchObject({ state: 'opted_out', history: [{ source: 'provider', detail: '21610' }] });
    expect((await send(magic)).body.error.code).toBe('SMS_ERR_RECIPIENT_OPTED_OUT');
  });

  it('opts in and out by API with a reason, lists opt-outs in pages and exports safe CSV', async () => {
    const a = '+14155550205';
    const b = '+14155550206';
    const out = await t.api('/v1/consents', { body: { phone: '(415) 555-0205', action: 'opt_out', reason: '=HYPERLINK("http://evil")' } });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ phone: a, state: 'opted_out', changed: true, history: [{ source: 'api', actor: expect.any(String) }] });
    expect((await t.api('/v1/consents', { body: { phone: a, action: 'opt_out' } })).body.changed).toBe(false);
    await t.api('/v1/consents', { body: { phone: b, action: 'opt_out', reason: 'asked by phone, "twice"' } });
    expect((await send(b)).status).toBe(422);

    const p1 = await t.api('/v1/opt-outs?limit=1');
    expect(p1.body.data).toHaveLength(1);
    expect(p1.body.data[0].phone).toBe(b);
    const p2 = await t.api(`/v1/opt-outs?limit=1&cursor=${p1.body.next_cursor}`);
    expect(p2.body.data[0].phone).toBe(a);

    const csv = await fetch(`${t.url}/v1/opt-outs?format=csv`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('phone,source,reason,opted_out_at');
    expect(lines).toContain(`${a},api,"'=HYPERLINK(""http://evil"")",${p2.body.data[0].created_at}`);
    expect(lines.some((l) => l.startsWith(`${b},api,"asked by phone, ""twice"""`))).toBe(true);
    const viaAccept = await fetch(`${t.url}/v1/opt-outs`, { headers: { authorization: `Bearer ${t.apiKey}`, accept: 'text/csv' } });
    expect(viaAccept.headers.get('content-type')).toMatch(/^text\/csv/);

    const back = await t.api('/v1/consents', { body: { phone: a, action: 'opt_in', reason: 'consent form signed' } });
    expect(back.body).toMatchObject({ state: 'opted_in', changed: true });
    expect((await send(a)).status).toBe(202);
  });

  it('answers bad consent requests with registry errors', async () => {
    expect((await t.api('/v1/consents/not-a-number')).body.error.code).toBe('SMS_ERR_INVALID_PHONE');
    expect((await t.api('/v1/consents/%2B14155559999')).status).toBe(404);
    expect((await t.api('/v1/consents', { body: { phone: '+14155550207', action: 'maybe' } })).status).toBe(400);
    expect((await t.api('/v1/consents', { body: { phone: 12, action: 'opt_out' } })).status).toBe(400);
    expect((await t.api('/v1/consents', { body: { action: 'opt_out' } })).status).toBe(400);
    expect((await t.api('/v1/consents', { body: { phone: '+14155550207', action: 'opt_out', reason: 'x'.repeat(501) } })).status).toBe(400);
    expect((await t.api('/v1/opt-outs?cursor=abc')).status).toBe(400);
    expect((await t.api('/v1/opt-outs?limit=5000')).status).toBe(400);
  });
});
