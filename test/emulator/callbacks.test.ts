// Status callbacks over real sockets: Twilio's parameters and signature, the idempotency token on
// retries, connection overrides, failure scripts and callback chaos.
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, startEmulator, startReceiver, waitFor, type Receiver, type TestEmulator } from './support.js';

const FROM = '+15005550006';
const TO = '+14155552671';

let t: TestEmulator;
const receivers: Receiver[] = [];

async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

beforeAll(async () => {
  t = await startEmulator();
});
afterAll(() => t.close());
afterEach(async () => {
  t.emulator.reset();
  t.emulator.setChaos({ callbacks: 'on', dropCallbacksRate: 0, duplicateCallbacksRate: 0, reorderCallbacksRate: 0 });
  t.emulator.setDefaultStatusCallback(null);
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  expect(t.drift.splice(0)).toEqual([]);
});

function statuses(r: Receiver): string[] {
  return r.requests.map((q) => q.params.MessageStatus!);
}

describe('status callbacks', () => {
  it('posts every status change after creation, signed so that twilio.validateRequest accepts it', async () => {
    const r = await receiver();
    const url = `${r.url}/twilio/status?tenant=acme`;
    const m = await t.client.messages.create({ to: TO, from: FROM, body: 'hello', statusCallback: url });
    await waitFor(() => r.requests.length === 3, 5_000, '3 callbacks');
    expect(statuses(r)).toEqual(['sending', 'sent', 'delivered']);
    for (const q of r.requests) {
      expect(q.method).toBe('POST');
      expect(q.url).toBe('/twilio/status?tenant=acme');
      expect(q.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(q.headers['user-agent']).toBe('TwilioProxy/1.1');
      expect(twilio.validateRequest(t.emulator.authToken, String(q.headers['x-twilio-signature']), url, q.params)).toBe(true);
      expect(twilio.validateRequest('other-token', String(q.headers['x-twilio-signature']), url, q.params)).toBe(false);
      expect(q.params).toMatchObject({ MessageSid: m.sid, SmsSid: m.sid, AccountSid: t.emulator.accountSid, From: FROM, To: TO, ApiVersion: '2010-04-01' });
      expect(q.params.SmsStatus).toBe(q.params.MessageStatus);
    }
    expect(r.requests[2]!.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
    const tokens = new Set(r.requests.map((q) => q.headers['i-twilio-idempotency-token']));
    expect(tokens.size).toBe(3);
    const rec = await waitFor(() => t.emulator.messages().find((x) => x.sid === m.sid && x.webhooks.length === 3));
    expect(rec.webhooks.map((w) => [w.messageStatus, w.statusCode, w.attempt])).toEqual([
      ['sending', 204, 1],
      ['sent', 204, 1],
      ['delivered', 204, 1],
    ]);
  });

  it('uses the default status callback, and calls back for queued after accepted with a Messaging Service', async () => {
    const r = await receiver();
    t.emulator.setDefaultStatusCallback(`${r.url}/default`);
    const mg = t.emulator.messagingServiceSids[0]!;
    await t.client.messages.create({ to: TO, messagingServiceSid: mg, body: 'hi' });
    await waitFor(() => r.requests.length === 4, 5_000, '4 callbacks');
    expect(statuses(r)).toEqual(['queued', 'sending', 'sent', 'delivered']);
    expect(r.requests.every((q) => q.params.MessagingServiceSid === mg)).toBe(true);
  });

  it('retries once on a connection failure with the same idempotency token', async () => {
    let first = true;
    const r = await receiver(() => {
      if (first) {
        first = false;
        return 'destroy';
      }
    });
    const m = await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${r.url}/s` });
    await waitFor(() => r.requests.length === 4, 5_000, 'retry and the other callbacks');
    const [a, b] = r.requests.filter((q) => q.params.MessageStatus === 'sending');
    expect(a!.headers['i-twilio-idempotency-token']).toBe(b!.headers['i-twilio-idempotency-token']);
    expect(a!.headers['x-twilio-signature']).toBe(b!.headers['x-twilio-signature']);
    const rec = await waitFor(() => t.emulator.messages().find((x) => x.sid === m.sid && x.webhooks.length === 4));
    expect(rec.webhooks.filter((w) => w.messageStatus === 'sending').map((w) => [w.attempt, w.statusCode, w.error])).toEqual([
      [1, null, 'ECONNRESET'],
      [2, 204, null],
    ]);
  });

  it('gives up after one retry when nothing listens, and does not retry a 500', async () => {
    const dead = await receiver();
    await dead.close();
    const m1 = await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${dead.url}/s` });
    const rec = await waitFor(() => t.emulator.messages().find((x) => x.sid === m1.sid && x.webhooks.length === 6), 5_000, '3 × 2 attempts');
    for (const status of ['sending', 'sent', 'delivered']) {
      const attempts = rec.webhooks.filter((w) => w.messageStatus === status);
      expect(attempts.map((w) => [w.attempt, w.error])).toEqual([
        [1, 'ECONNREFUSED'],
        [2, 'ECONNREFUSED'],
      ]);
      expect(attempts[0]!.token).toBe(attempts[1]!.token);
    }
    const failing = await receiver((_, res) => {
      res.writeHead(500);
      res.end();
    });
    await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${failing.url}/s` });
    await waitFor(() => failing.requests.length === 3);
    await new Promise((res) => setTimeout(res, 100));
    expect(statuses(failing)).toEqual(['sending', 'sent', 'delivered']);
  });

  it('honours #rc/#rp overrides and strips the fragment from the URL called and signed', async () => {
    const r = await receiver((_, res) => {
      res.writeHead(503);
      res.end();
    });
    const url = `${r.url}/s?x=1`;
    await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${url}#rc=3&rp=5xx` });
    await waitFor(() => r.requests.length === 12, 5_000, '3 statuses × 4 attempts');
    expect(statuses(r)).toEqual([
      'sending',
      'sending',
      'sending',
      'sending',
      'sent',
      'sent',
      'sent',
      'sent',
      'delivered',
      'delivered',
      'delivered',
      'delivered',
    ]);
    for (const q of r.requests) {
      expect(q.url).toBe('/s?x=1');
      expect(twilio.validateRequest(t.emulator.authToken, String(q.headers['x-twilio-signature']), url, q.params)).toBe(true);
    }
  });

  it('does not retry a read timeout by default (#rt)', async () => {
    const r = await receiver((_, res) => {
      setTimeout(() => {
        res.writeHead(204);
        res.end();
      }, 400);
      return 'later';
    });
    const m = await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${r.url}/slow#rt=100` });
    const rec = await waitFor(() => t.emulator.messages().find((x) => x.sid === m.sid && x.webhooks.length === 3), 5_000);
    expect(rec.webhooks.map((w) => [w.error, w.attempt])).toEqual([
      ['read-timeout', 1],
      ['read-timeout', 1],
      ['read-timeout', 1],
    ]);
  });
});

describe('failure scripts', () => {
  it('ends messages to a number as scripted (undelivered 30005, failed 30001), `times` limits the script', async () => {
    const r = await receiver();
    expect((await api(t.base, 'PUT', `/emulator/api/scripts/${encodeURIComponent(TO)}`, { outcome: 'undelivered', errorCode: 30005, times: 1 })).status).toBe(
      200,
    );
    const a = await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${r.url}/s` });
    const doneA = await waitFor(() => t.emulator.messages().find((x) => x.sid === a.sid && x.status === 'undelivered'));
    expect(doneA.errorCode).toBe(30005);
    expect(doneA.errorMessage).toBe('Unknown destination handset');
    expect(doneA.price).toBe('-0.00790');
    await waitFor(() => r.requests.length === 3);
    expect(r.requests[2]!.params).toMatchObject({ MessageStatus: 'undelivered', ErrorCode: '30005' });

    const b = await t.client.messages.create({ to: TO, from: FROM, body: 'x' });
    await waitFor(() => t.emulator.messages().find((x) => x.sid === b.sid && x.status === 'delivered'));

    await api(t.base, 'PUT', `/emulator/api/scripts/${encodeURIComponent(TO)}`, { outcome: 'failed', errorCode: 30001 });
    expect((await api(t.base, 'GET', '/emulator/api/scripts')).body.scripts[TO]).toEqual({ outcome: 'failed', errorCode: 30001 });
    const c = await t.client.messages.create({ to: TO, from: FROM, body: 'x' });
    const doneC = await waitFor(() => t.emulator.messages().find((x) => x.sid === c.sid && x.status === 'failed'));
    expect(doneC.history.map((h) => h.status)).toEqual(['queued', 'sending', 'failed']);
    expect(doneC.price).toBeNull();
    const fetched = await t.client.messages(c.sid).fetch();
    expect([fetched.errorCode, fetched.errorMessage]).toEqual([30001, 'Queue overflow']);
    expect((await api(t.base, 'DELETE', `/emulator/api/scripts/${encodeURIComponent(TO)}`)).status).toBe(204);
    expect((await api(t.base, 'PUT', `/emulator/api/scripts/${encodeURIComponent(TO)}`, { outcome: 'lost' })).status).toBe(400);
  });
});

describe('callback chaos', () => {
  it('duplicates callbacks as separate requests with their own token', async () => {
    const r = await receiver();
    t.emulator.setChaos({ duplicateCallbacksRate: 1 });
    await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${r.url}/s` });
    await waitFor(() => r.requests.length === 6, 5_000);
    expect(statuses(r).sort()).toEqual(['delivered', 'delivered', 'sending', 'sending', 'sent', 'sent']);
    const delivered = r.requests.filter((q) => q.params.MessageStatus === 'delivered');
    expect(delivered[0]!.headers['i-twilio-idempotency-token']).not.toBe(delivered[1]!.headers['i-twilio-idempotency-token']);
  });

  it('reorders: a held callback arrives after the next one', async () => {
    const r = await receiver();
    t.emulator.setChaos({ reorderCallbacksRate: 1 });
    await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${r.url}/s` });
    await waitFor(() => r.requests.length === 3, 5_000);
    expect(statuses(r)).toEqual(['sending', 'delivered', 'sent']);
  });

  it('drops callbacks (recorded as dropped) and turns them off', async () => {
    const r = await receiver();
    t.emulator.setChaos({ dropCallbacksRate: 1 });
    const a = await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${r.url}/s` });
    const rec = await waitFor(() => t.emulator.messages().find((x) => x.sid === a.sid && x.status === 'delivered'));
    expect(rec.webhooks.map((w) => w.chaos)).toEqual(['dropped', 'dropped', 'dropped']);
    t.emulator.setChaos({ dropCallbacksRate: 0, callbacks: 'off' });
    const b = await t.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: `${r.url}/s` });
    const recB = await waitFor(() => t.emulator.messages().find((x) => x.sid === b.sid && x.status === 'delivered'));
    expect(recB.webhooks).toEqual([]);
    expect(r.requests).toHaveLength(0);
  });
});
