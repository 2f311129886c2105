// The delivery-status webhook over real sockets on SQLite and PostgreSQL, signed like Twilio signs:
// signature rules, idempotency, forward-only statuses, raw recording, late SIDs and bad input.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { countRows, sqlOf } from './support/db.js';
import { formBody, newSid, postWebhook, sign, type Params } from './support/webhooks.js';

const reconciler = { ...loadConfig({}).reconciler, attachIntervalMs: 30 };
const SECONDARY = 'rotated-secondary-token-0123456789';

describe.each(backends)('status webhook on $name', (backend) => {
  let t: TestRelay;
  let token: string;
  let account: string;
  const statusUrl = () => `${t.url}/webhooks/twilio/status`;
  const count = (table: 'webhook_events' | 'message_events') => countRows(t.relay, table);
  const cb = (sid: string, status: string, extra: Params = {}): Params => ({
    AccountSid: account,
    ApiVersion: '2010-04-01',
    From: '+15005550006',
    To: '+14155552671',
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: status,
    SmsStatus: status,
    ...extra,
  });
  const message = async (id: string) => (await t.api(`/v1/messages/${id}`)).body;
  const events = async (id: string) =>
    (await t.api(`/v1/messages/${id}/events`)).body.data as { status: string; source: string; data: any; provider_code: number | null }[];

  /** A message the worker sent, with the emulator's own callbacks off so the test plays Twilio. */
  const sentMessage = async (to = '+14155552671') => {
    const r = await t.api('/v1/messages', { body: { to, body: `hello ${randomUUID()}` } });
    expect(r.status).toBe(202);
    const m = await waitFor(async () => {
      const g = await message(r.body.id);
      return g.provider_sid ? g : null;
    });
    return { id: m.id as string, sid: m.provider_sid as string };
  };

  beforeAll(async () => {
    t = await startRelay(backend, 'webhooks', { reconciler, twilio: { secondaryAuthToken: SECONDARY } });
    token = t.relay.emulator!.authToken;
    account = t.relay.emulator!.accountSid;
    t.relay.emulator!.setChaos({ callbacks: 'off' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('applies a signed callback, records it raw, and answers 204', async () => {
    const { id, sid } = await sentMessage();
    const params = cb(sid, 'delivered', { RawDlrDoneDate: '2604141012', Unknown_New_Field: 'x' });
    const r = await postWebhook(statusUrl(), params, token);
    expect(r.status).toBe(204);
    expect((await message(id)).status).toBe('delivered');
    const ev = (await events(id)).at(-1)!;
    expect(ev).toMatchObject({ status: 'delivered', source: 'callback' });
    expect(ev.data.applied).toBe(true);
    expect(ev.data.params).toEqual(params);
    const raw = await sqlOf(t.relay).selectFrom('webhook_events').selectAll().where('message_sid', '=', sid).execute();
    expect(raw).toHaveLength(1);
    expect(raw[0]!.message_id).toBe(id);
    // Matched at once: the raw fields live in the message's event (above), not twice.
    expect(raw[0]!.params).toBeNull();
  });

  it('refuses missing, wrong, foreign-token and wrong-URL signatures with 403 before any write', async () => {
    const { id, sid } = await sentMessage();
    const before = [await count('webhook_events'), await count('message_events')];
    const params = cb(sid, 'delivered');
    const cases = [
      await postWebhook(statusUrl(), params, token, { signature: null }),
      await postWebhook(statusUrl(), params, token, { signature: 'bm90IGEgc2lnbmF0dXJl' }),
      await postWebhook(statusUrl(), params, token, { token: 'some-other-accounts-token' }),
      await postWebhook(statusUrl(), params, token, { signedUrl: statusUrl() + '?x=1' }),
      await postWebhook(statusUrl(), params, token, { signedUrl: statusUrl().replace('http://', 'https://') }),
      // The signature covers every field: one added field breaks it.
      await postWebhook(statusUrl(), { ...params, ErrorCode: '30003' }, token, { signature: sign(token, statusUrl(), params) }),
      // AccountSid of an account no tenant owns.
      await postWebhook(statusUrl(), { ...params, AccountSid: 'AC' + 'f'.repeat(32) }, token),
    ];
    for (const r of cases) {
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('SMS_ERR_INVALID_SIGNATURE');
    }
    expect([await count('webhook_events'), await count('message_events')]).toEqual(before);
    expect((await message(id)).status).not.toBe('delivered');
  });

  it('ignores X-Forwarded-* headers when trustProxy is off (they could be forged)', async () => {
    const { sid } = await sentMessage();
    const forged = 'https://public.example.com/webhooks/twilio/status';
    const r = await postWebhook(statusUrl(), cb(sid, 'sent'), token, {
      signedUrl: forged,
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example.com' },
    });
    expect(r.status).toBe(403);
  });

  it('accepts the secondary token during a rotation', async () => {
    const { id, sid } = await sentMessage();
    const r = await postWebhook(statusUrl(), cb(sid, 'sent'), token, { token: SECONDARY });
    expect(r.status).toBe(204);
    expect((await message(id)).status).toBe('sent');
  });

  it('validates query strings exactly as received, repeated parameters and the seed alias', async () => {
    const { id, sid } = await sentMessage();
    const url = `${t.url}/webhooks/twilio/status?tenant=acme&name=O%27Brien&empty=&a=1&a=2`;
    const r = await postWebhook(url, cb(sid, 'sent', { Tag: ['b', 'a', 'b'] }), token);
    expect(r.status).toBe(204);
    const alias = await postWebhook(`${t.url}/webhooks/sms/twilio/`, cb(sid, 'delivered'), token);
    expect(alias.status).toBe(204);
    expect((await message(id)).status).toBe('delivered');
  });

  it('accepts JSON bodies signed through bodySHA256 and refuses a changed body', async () => {
    const { id, sid } = await sentMessage();
    const raw = JSON.stringify({ AccountSid: account, MessageSid: sid, MessageStatus: 'delivered' });
    const hash = createHash('sha256').update(raw).digest('hex');
    const url = `${statusUrl()}?src=json&bodySHA256=${hash}`;
    const post = (body: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-twilio-signature': sign(token, url, {}) }, body });
    const bad = await post(raw.replace('delivered', 'failed'));
    expect(bad.status).toBe(403);
    expect((await post(raw)).status).toBe(204);
    expect((await message(id)).status).toBe('delivered');
    const malformed = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-twilio-signature': 'x' }, body: '{"a":' });
    expect(malformed.status).toBe(400);
  });

  it('is idempotent by I-Twilio-Idempotency-Token and by (MessageSid, MessageStatus), also under concurrency', async () => {
    const { id, sid } = await sentMessage();
    const idem = randomUUID();
    expect((await postWebhook(statusUrl(), cb(sid, 'sent'), token, { idempotencyToken: idem })).status).toBe(204);
    const n = (await events(id)).length;
    // A retry of the same request: same token.
    expect((await postWebhook(statusUrl(), cb(sid, 'sent'), token, { idempotencyToken: idem })).status).toBe(204);
    // A separate copy of the same event: new token, same (sid, status).
    expect((await postWebhook(statusUrl(), cb(sid, 'sent'), token)).status).toBe(204);
    expect((await events(id)).length).toBe(n);
    const rs = await Promise.all(Array.from({ length: 40 }, () => postWebhook(statusUrl(), cb(sid, 'delivered'), token)));
    expect(rs.every((r) => r.status === 204)).toBe(true);
    const ev = await events(id);
    expect(ev.filter((e) => e.status === 'delivered')).toHaveLength(1);
    expect((await message(id)).status).toBe('delivered');
  });

  it('moves forward only: no regression after delivered, read is kept, failures keep their ErrorCode', async () => {
    const a = await sentMessage();
    await postWebhook(statusUrl(), cb(a.sid, 'delivered'), token);
    await postWebhook(statusUrl(), cb(a.sid, 'sent'), token);
    await postWebhook(statusUrl(), cb(a.sid, 'queued'), token);
    expect((await message(a.id)).status).toBe('delivered');
    const late = (await events(a.id)).find((e) => e.status === 'sent' && e.source === 'callback')!;
    expect(late.data).toMatchObject({ applied: false, kept: 'delivered' });
    await postWebhook(statusUrl(), cb(a.sid, 'read'), token);
    expect((await message(a.id)).status).toBe('read');

    const b = await sentMessage('+14155552672');
    await postWebhook(statusUrl(), cb(b.sid, 'undelivered', { ErrorCode: '30003', ErrorMessage: 'Unreachable destination handset' }), token);
    await postWebhook(statusUrl(), cb(b.sid, 'delivered'), token);
    await postWebhook(statusUrl(), cb(b.sid, 'failed', { ErrorCode: '30008' }), token);
    const mb = await message(b.id);
    expect(mb).toMatchObject({
      status: 'undelivered',
      provider_code: 30003,
      error_code: 'SMS_ERR_DELIVERY_FAILED',
      error_message: 'Unreachable destination handset',
    });
  });

  it('answers 2xx for an unknown SID, records it, and attaches it once the SID is stored', async () => {
    const sid = newSid();
    const r = await postWebhook(statusUrl(), cb(sid, 'delivered', { RawDlrDoneDate: '2604141012' }), token);
    expect(r.status).toBe(204);
    const orphan = await sqlOf(t.relay).selectFrom('webhook_events').selectAll().where('message_sid', '=', sid).executeTakeFirstOrThrow();
    expect(orphan.message_id).toBeNull();
    // The worker stores the create answer only now (as when the callback beats that write).
    const { id } = await sentMessage();
    await sqlOf(t.relay).updateTable('messages').set({ provider_sid: sid }).where('id', '=', id).execute();
    const m = await waitFor(async () => {
      const g = await message(id);
      return g.status === 'delivered' ? g : null;
    }, 5000);
    expect(m.status).toBe('delivered');
    const ev = (await events(id)).at(-1)!;
    expect(ev.data).toMatchObject({ attached_late: true, applied: true });
    const attached = await sqlOf(t.relay).selectFrom('webhook_events').select('message_id').where('message_sid', '=', sid).executeTakeFirstOrThrow();
    expect(attached.message_id).toBe(id);
  });

  it('answers bad input with registry errors, never 500', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(statusUrl(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    // Signed, but not a status callback.
    for (const params of [
      { AccountSid: account },
      { AccountSid: account, MessageSid: 'SM123', MessageStatus: 'sent' },
      { AccountSid: account, MessageSid: newSid(), MessageStatus: 'DROP TABLE' },
    ] as Params[]) {
      const r = await postWebhook(statusUrl(), params, token);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('SMS_ERR_INVALID_WEBHOOK');
    }
    const repeatedSid = await postWebhook(statusUrl(), { AccountSid: account, MessageSid: [newSid(), newSid()], MessageStatus: 'sent' }, token);
    expect(repeatedSid.status).toBe(400);
    expect((await post('')).status).toBe(403);
    expect((await post('%E0%A4%A&x=%%%&=&&', { 'x-twilio-signature': 'abc' })).status).toBe(403);
    expect((await post('Body=' + '💥'.repeat(30_000), { 'x-twilio-signature': 'abc' })).status).toBe(413);
    const xml = await post('<x/>', { 'content-type': 'text/xml', 'x-twilio-signature': 'abc' });
    expect(xml.status).toBe(415);
    const get = await fetch(statusUrl());
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.status).toBeLessThan(500);
    const unicode = await postWebhook(statusUrl(), cb(newSid(), 'delivered', { ErrorMessage: 'é🙂\u0000\u202e' }), token);
    expect(unicode.status).toBe(204);
  });

  it('converges end to end with the emulator sending its own (duplicated, reordered) callbacks', async () => {
    t.relay.emulator!.setChaos({ callbacks: 'on', duplicateCallbacksRate: 0.5, reorderCallbacksRate: 0.5 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await t.api('/v1/messages', { body: { to: '+14155552673', body: `e2e ${i}` } })).body.id);
      for (const id of ids) {
        await waitFor(async () => ((await message(id)).status === 'delivered' ? true : null), 10_000);
      }
      for (const id of ids) {
        const ev = await events(id);
        expect(ev.filter((e) => e.status === 'delivered' && e.data?.applied)).toHaveLength(1);
        expect(new Set(ev.filter((e) => e.source === 'callback').map((e) => e.status)).size).toBe(ev.filter((e) => e.source === 'callback').length);
      }
    } finally {
      t.relay.emulator!.setChaos({ callbacks: 'off', duplicateCallbacksRate: 0, reorderCallbacksRate: 0 });
    }
  });
});

describe.each(backends)('webhook URL behind a proxy on $name', (backend) => {
  it('rebuilds the URL from X-Forwarded-Proto/Host only when trustProxy is on', async () => {
    const t = await startRelay(backend, 'wh_proxy', { trustProxy: true, reconciler }, { worker: false });
    try {
      const token = t.relay.emulator!.authToken;
      const params = { AccountSid: t.relay.emulator!.accountSid, MessageSid: newSid(), MessageStatus: 'sent' };
      const signed = 'https://sms.example.com/webhooks/twilio/status?t=1';
      const ok = await postWebhook(`${t.url}/webhooks/twilio/status?t=1`, params, token, {
        signedUrl: signed,
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'sms.example.com' },
      });
      expect(ok.status).toBe(204);
      // Twilio may sign with the default port spelled out.
      const withPort = await postWebhook(`${t.url}/webhooks/twilio/status?t=1`, { ...params, MessageStatus: 'delivered' }, token, {
        signedUrl: 'https://sms.example.com:443/webhooks/twilio/status?t=1',
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'sms.example.com' },
      });
      expect(withPort.status).toBe(204);
    } finally {
      await t.close();
    }
  });

  it('uses SMSRELAY_PUBLIC_URL (with a non-default port and a path prefix) when set', async () => {
    const t = await startRelay(backend, 'wh_public', { publicUrl: 'https://hooks.example.com:8443/sms', reconciler }, { worker: false });
    try {
      const token = t.relay.emulator!.authToken;
      const params = { AccountSid: t.relay.emulator!.accountSid, MessageSid: newSid(), MessageStatus: 'sent' };
      const ok = await postWebhook(`${t.url}/webhooks/twilio/status?x=a%20b`, params, token, {
        signedUrl: 'https://hooks.example.com:8443/sms/webhooks/twilio/status?x=a%20b',
      });
      expect(ok.status).toBe(204);
      const local = await postWebhook(`${t.url}/webhooks/twilio/status`, params, token);
      expect(local.status).toBe(403);
      expect(formBody({ a: ['1', '2'] })).toBe('a=1&a=2');
    } finally {
      await t.close();
    }
  });
});
