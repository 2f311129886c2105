// The account's configuration resources through the official client, every request and answer
// checked against Twilio's specs: Account fetch, IncomingPhoneNumbers list/fetch/update, Messaging
// Services fetch/update and their PhoneNumbers; and the URLs they hold decide where inbound
// messages and status callbacks go.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, basicAuth, startEmulator, startReceiver, waitFor, type Receiver, type TestEmulator } from './support.js';

const OWNED = '+15005550006';
const SECOND = '+14155550100';
const PHONE = '+14155552671';
const MG = 'MG' + 'b'.repeat(32);

let t: TestEmulator;
const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

function text(to: string, body: string) {
  return api(t.base, 'POST', `/emulator/api/handsets/${encodeURIComponent(PHONE)}/messages`, { to, body });
}

/** The number's context (list instances carry no sid of their own in twilio-node, so update() on them fails). */
async function pn(number: string) {
  const [n] = await t.client.incomingPhoneNumbers.list({ phoneNumber: number });
  return t.client.incomingPhoneNumbers(n!.sid);
}

beforeAll(async () => {
  t = await startEmulator({ numbers: [OWNED, SECOND], messagingServiceSids: [MG] });
});
afterAll(() => t.close());
afterEach(async () => {
  t.emulator.reset();
  t.emulator.setInboundUrl(null);
  for (const n of [OWNED, SECOND]) await (await pn(n)).update({ smsUrl: '', statusCallback: '' });
  await t.client.messaging.v1.services(MG).update({ inboundRequestUrl: '', statusCallback: '', useInboundWebhookOnNumber: true });
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  expect(t.drift.splice(0)).toEqual([]);
});

describe('account', () => {
  it('fetches the account the credentials open, with a Date header', async () => {
    const a = await t.client.api.v2010.accounts(t.emulator.accountSid).fetch();
    expect([a.sid, a.status, a.type]).toEqual([t.emulator.accountSid, 'active', 'Full']);
    const res = await fetch(`${t.base}/2010-04-01/Accounts/${t.emulator.accountSid}.json`, { headers: basicAuth(t.emulator.accountSid, t.emulator.authToken) });
    expect(Math.abs(Date.parse(res.headers.get('date')!) - Date.now())).toBeLessThan(2_000);
    const wrong = await api(t.base, 'GET', `/2010-04-01/Accounts/${t.emulator.accountSid}.json`, undefined, basicAuth(t.emulator.accountSid, 'nope'));
    expect([wrong.status, wrong.body.code]).toEqual([401, 20003]);
    const other = await api(t.base, 'GET', `/2010-04-01/Accounts/AC${'c'.repeat(32)}.json`, undefined, basicAuth(t.emulator.accountSid, t.emulator.authToken));
    expect(other.status).toBe(401);
  });
});

describe('IncomingPhoneNumbers', () => {
  it('lists the owned numbers, filtered by PhoneNumber (partial, * wildcard)', async () => {
    const all = await t.client.incomingPhoneNumbers.list();
    expect(all.map((n) => n.phoneNumber).sort()).toEqual([SECOND, OWNED].sort());
    expect(all.every((n) => n.capabilities.sms && /^PN[0-9a-f]{32}$/.test(n.sid))).toBe(true);
    expect((await t.client.incomingPhoneNumbers.list({ phoneNumber: OWNED })).map((n) => n.phoneNumber)).toEqual([OWNED]);
    expect((await t.client.incomingPhoneNumbers.list({ phoneNumber: '55501*0' })).map((n) => n.phoneNumber)).toEqual([SECOND]);
    // The spec types PhoneNumber as a phone number, though its description allows partial ones with '*'.
    expect(t.drift.splice(0)).toEqual([expect.stringMatching(/PhoneNumber must match format "phone-number"/)]);
    expect(await t.client.incomingPhoneNumbers.list({ phoneNumber: '+19998887777' })).toEqual([]);
  });

  it('fetches and updates the webhook URLs; a bad URL or method changes nothing', async () => {
    const n = await (await pn(OWNED)).fetch();
    expect([n.smsUrl, n.smsMethod, n.statusCallback]).toEqual(['', 'POST', '']);
    const u = await t.client.incomingPhoneNumbers(n.sid).update({
      smsUrl: 'https://relay.example.com/webhooks/twilio/inbound',
      smsMethod: 'POST',
      statusCallback: 'https://relay.example.com/webhooks/twilio/status',
      smsFallbackUrl: 'https://relay.example.com/fallback',
    });
    expect([u.smsUrl, u.statusCallback, u.smsFallbackUrl]).toEqual([
      'https://relay.example.com/webhooks/twilio/inbound',
      'https://relay.example.com/webhooks/twilio/status',
      'https://relay.example.com/fallback',
    ]);
    expect((await t.client.incomingPhoneNumbers(n.sid).fetch()).smsUrl).toBe('https://relay.example.com/webhooks/twilio/inbound');
    const auth = basicAuth(t.emulator.accountSid, t.emulator.authToken);
    const path = `/2010-04-01/Accounts/${t.emulator.accountSid}/IncomingPhoneNumbers/${n.sid}.json`;
    const bad = await api(t.base, 'POST', path, 'SmsUrl=ftp%3A%2F%2Fx&StatusCallback=https%3A%2F%2Fother.example.com', auth);
    expect([bad.status, bad.body.code]).toEqual([400, 21402]);
    const badMethod = await api(t.base, 'POST', path, 'SmsMethod=PUT', auth);
    expect(badMethod.status).toBe(400);
    expect(t.drift.splice(0)).toEqual([expect.stringMatching(/SmsMethod/)]);
    expect((await t.client.incomingPhoneNumbers(n.sid).fetch()).statusCallback).toBe('https://relay.example.com/webhooks/twilio/status');
    const missing = await api(t.base, 'GET', `/2010-04-01/Accounts/${t.emulator.accountSid}/IncomingPhoneNumbers/PN${'0'.repeat(32)}.json`, undefined, auth);
    expect([missing.status, missing.body.code]).toEqual([404, 20404]);
  });

  it('delivers inbound messages to the number’s SmsUrl, over the emulator-wide inbound URL', async () => {
    const dflt = await receiver();
    const mine = await receiver();
    t.emulator.setInboundUrl(`${dflt.url}/in`);
    await text(OWNED, 'before');
    expect([dflt.requests.length, mine.requests.length]).toEqual([1, 0]);
    await (await pn(OWNED)).update({ smsUrl: `${mine.url}/sms` });
    await text(OWNED, 'after');
    await text(SECOND, 'other number');
    expect(mine.requests.map((r) => [r.url, r.params.Body])).toEqual([['/sms', 'after']]);
    expect(dflt.requests.map((r) => r.params.Body)).toEqual(['before', 'other number']);
    expect(t.emulator.messages({ to: OWNED }).at(-1)!.webhooks[0]!.url).toBe(`${mine.url}/sms`);
  });

  it('delivers nothing when no URL is configured anywhere', async () => {
    const r = await text(OWNED, 'nobody listens');
    expect(r.status).toBe(201);
    expect(t.emulator.messages({ to: OWNED })[0]!.webhooks).toEqual([]);
  });
});

describe('Messaging Services', () => {
  it('fetches and updates a service; unknown services are 404', async () => {
    const s = await t.client.messaging.v1.services(MG).fetch();
    expect([s.sid, s.inboundRequestUrl, s.statusCallback, s.useInboundWebhookOnNumber]).toEqual([MG, null, null, true]);
    const u = await t.client.messaging.v1.services(MG).update({
      inboundRequestUrl: 'https://relay.example.com/webhooks/twilio/inbound',
      statusCallback: 'https://relay.example.com/webhooks/twilio/status',
      useInboundWebhookOnNumber: false,
    });
    expect([u.inboundRequestUrl, u.statusCallback, u.useInboundWebhookOnNumber]).toEqual([
      'https://relay.example.com/webhooks/twilio/inbound',
      'https://relay.example.com/webhooks/twilio/status',
      false,
    ]);
    const numbers = await t.client.messaging.v1.services(MG).phoneNumbers.list();
    expect(numbers.map((n) => n.phoneNumber).sort()).toEqual([SECOND, OWNED].sort());
    await expect(t.client.messaging.v1.services(`MG${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
    const bad = await api(t.base, 'POST', `/v1/Services/${MG}`, 'UseInboundWebhookOnNumber=maybe', basicAuth(t.emulator.accountSid, t.emulator.authToken));
    expect(bad.status).toBe(400);
    expect(t.drift.splice(0)).toEqual([expect.stringMatching(/UseInboundWebhookOnNumber must be boolean/)]);
  });

  it('inbound goes to the service’s InboundRequestUrl unless it defers to the number', async () => {
    const svc = await receiver();
    const num = await receiver();
    await (await pn(OWNED)).update({ smsUrl: `${num.url}/n` });
    await t.client.messaging.v1.services(MG).update({ inboundRequestUrl: `${svc.url}/s`, useInboundWebhookOnNumber: false });
    await text(OWNED, 'to the service');
    await t.client.messaging.v1.services(MG).update({ useInboundWebhookOnNumber: true });
    await text(OWNED, 'to the number');
    expect(svc.requests.map((r) => r.params.Body)).toEqual(['to the service']);
    expect(num.requests.map((r) => r.params.Body)).toEqual(['to the number']);
  });

  it('status callbacks: the message’s own, else its service’s, else none', async () => {
    const svc = await receiver();
    const own = await receiver();
    await t.client.messaging.v1.services(MG).update({ statusCallback: `${svc.url}/s` });
    await t.client.messages.create({ to: PHONE, messagingServiceSid: MG, body: 'service callback' });
    await t.client.messages.create({ to: PHONE, messagingServiceSid: MG, body: 'own callback', statusCallback: `${own.url}/o` });
    const plain = await t.client.messages.create({ to: PHONE, from: OWNED, body: 'no callback' });
    await waitFor(() => svc.requests.some((r) => r.params.MessageStatus === 'delivered') && own.requests.some((r) => r.params.MessageStatus === 'delivered'));
    await waitFor(() => t.emulator.messages().find((m) => m.sid === plain.sid)?.status === 'delivered');
    expect(new Set(svc.requests.map((r) => r.url))).toEqual(new Set(['/s']));
    expect(new Set(own.requests.map((r) => r.url))).toEqual(new Set(['/o']));
    expect(t.emulator.messages().find((m) => m.sid === plain.sid)!.webhooks).toEqual([]);
  });
});
