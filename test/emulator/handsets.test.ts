// Simulated handsets: the signed inbound webhook with Twilio's parameters, TwiML replies delivered
// into the thread, STOP/START opt-out and media.
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, startEmulator, startReceiver, waitFor, type Receiver, type TestEmulator } from './support.js';

const OWNED = '+15005550006';
const PHONE = '+14155552671';

let t: TestEmulator;
const receivers: Receiver[] = [];

async function app(twiml: string | ((body: string) => string), status = 200): Promise<Receiver> {
  const r = await startReceiver((q, res) => {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(typeof twiml === 'string' ? twiml : twiml(q.params.Body ?? ''));
  });
  receivers.push(r);
  return r;
}

function text(from: string, body: string, extra: Record<string, unknown> = {}) {
  return api(t.base, 'POST', `/emulator/api/handsets/${encodeURIComponent(from)}/messages`, { to: OWNED, body, ...extra });
}

const EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

beforeAll(async () => {
  t = await startEmulator();
});
afterAll(() => t.close());
afterEach(async () => {
  t.emulator.reset();
  t.emulator.setInboundUrl(null);
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  expect(t.drift.splice(0)).toEqual([]);
});

describe('inbound webhook', () => {
  it('posts Twilio’s parameters, signed, and delivers each TwiML <Message> into the thread', async () => {
    const status = await startReceiver();
    receivers.push(status);
    const r = await app(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks! Reply STOP to opt out.</Message>` +
        `<Message to="+14155552672" action="${status.url}/reply-status"><Body>Hi &amp; welcome</Body><Media>https://example.com/a.png</Media></Message></Response>`,
    );
    const url = `${r.url}/twilio/inbound`;
    t.emulator.setInboundUrl(url);
    const res = await text(PHONE, 'Hi 👋 café & co');
    expect(res.status).toBe(201);
    const q = r.requests[0]!;
    expect(twilio.validateRequest(t.emulator.authToken, String(q.headers['x-twilio-signature']), url, q.params)).toBe(true);
    const sid = res.body.message.sid as string;
    expect(q.params).toMatchObject({
      MessageSid: sid,
      SmsSid: sid,
      SmsMessageSid: sid,
      AccountSid: t.emulator.accountSid,
      MessagingServiceSid: t.emulator.messagingServiceSids[0],
      From: PHONE,
      To: OWNED,
      Body: 'Hi 👋 café & co',
      NumMedia: '0',
      NumSegments: '1',
      SmsStatus: 'received',
      ApiVersion: '2010-04-01',
      FromCountry: 'US',
      ToCountry: 'US',
    });
    for (const k of ['FromCity', 'FromState', 'FromZip', 'ToCity', 'ToState', 'ToZip']) expect(q.params).toHaveProperty(k);
    expect(q.params).not.toHaveProperty('OptOutType');

    expect(res.body.message).toMatchObject({ direction: 'inbound', status: 'received', from: PHONE, to: OWNED });
    expect(res.body.webhook).toMatchObject({ kind: 'inbound', statusCode: 200, attempt: 1 });
    expect(
      res.body.replies.map((m: { to: string; from: string; body: string; media: string[]; direction: string }) => [m.direction, m.from, m.to, m.body, m.media]),
    ).toEqual([
      ['outbound-reply', OWNED, PHONE, 'Thanks! Reply STOP to opt out.', []],
      ['outbound-reply', OWNED, '+14155552672', 'Hi & welcome', ['https://example.com/a.png']],
    ]);
    // The reply with an action URL reports its statuses there.
    await waitFor(() => status.requests.length === 3, 5_000, 'reply status callbacks');
    expect(status.requests.map((x) => x.params.MessageStatus)).toEqual(['sending', 'sent', 'delivered']);

    const thread = await api(t.base, 'GET', `/emulator/api/messages?handset=${encodeURIComponent(PHONE)}`);
    expect(thread.body.messages.map((m: { direction: string }) => m.direction)).toEqual(['inbound', 'outbound-reply']);
    const numbers = await api(t.base, 'GET', '/emulator/api/numbers');
    expect(numbers.body.handsets.find((h: { number: string }) => h.number === PHONE).threads[0]).toMatchObject({ with: OWNED, messages: 2, optedOut: false });
  });

  it('sends MediaUrl{N}/MediaContentType{N} that redirect to the handset’s media', async () => {
    const r = await app(EMPTY);
    t.emulator.setInboundUrl(`${r.url}/in`);
    const res = await text(PHONE, '', { media: ['https://example.com/cat.jpg', 'https://example.com/doc.pdf'] });
    expect(res.status).toBe(201);
    const q = r.requests[0]!.params;
    expect(q.NumMedia).toBe('2');
    expect(q.MessageSid).toMatch(/^MM/);
    expect(q.MediaContentType0).toBe('image/jpeg');
    expect(q.MediaContentType1).toBe('application/pdf');
    expect(q.MediaUrl0).toMatch(new RegExp(`^${t.base}/2010-04-01/Accounts/${t.emulator.accountSid}/Messages/MM[0-9a-f]{32}/Media/ME[0-9a-f]{32}$`));
    const media = await fetch(q.MediaUrl1!, { redirect: 'manual' });
    expect(media.status).toBe(302);
    expect(media.headers.get('location')).toBe('https://example.com/doc.pdf');
    expect(res.body.replies).toEqual([]);
  });

  it('reports a failing webhook or unparsable TwiML and sends nothing back', async () => {
    const down = await app('oops', 500);
    t.emulator.setInboundUrl(`${down.url}/in`);
    const a = await text(PHONE, 'hello');
    expect(a.body.webhookError).toBe('HTTP 500');
    expect(a.body.replies).toEqual([]);
    const junk = await app('<Response><Message>unclosed');
    t.emulator.setInboundUrl(`${junk.url}/in`);
    const b = await text(PHONE, 'hello');
    expect(b.body.webhookError).toMatch(/unparsable TwiML/);
    const none = await text(PHONE, 'hello');
    expect(none.status).toBe(201);
  });

  it('uses a per-number inbound URL over the default one', async () => {
    const other = await app(EMPTY);
    const dflt = await app(EMPTY);
    t.emulator.setInboundUrl(`${dflt.url}/in`);
    t.emulator.setInboundUrl(`${other.url}/in`, OWNED);
    await text(PHONE, 'hi');
    expect([other.requests.length, dflt.requests.length]).toEqual([1, 0]);
    t.emulator.setInboundUrl(null, OWNED);
  });

  it('validates the handset request', async () => {
    expect((await api(t.base, 'POST', '/emulator/api/handsets/12/messages', { to: OWNED, body: 'x' })).body.error.code).toBe('bad_request');
    expect((await text(PHONE, 'x', { to: '+14155550123' })).status).toBe(400);
    expect((await text(PHONE, '')).status).toBe(400);
    expect((await text(PHONE, 'x', { media: ['not a url'] })).status).toBe(400);
  });
});

describe('opt-out keywords', () => {
  it('STOP blocks creates from that number with 21610 until START', async () => {
    const r = await app((body) => `<Response><Message>app saw ${body}</Message></Response>`);
    t.emulator.setInboundUrl(`${r.url}/in`);
    const stop = await text(PHONE, '  stop ');
    expect(stop.body.autoReply.body).toMatch(/unsubscribed/);
    expect(stop.body.autoReply.source).toBe('auto-reply');
    // The app still gets the message; its reply cannot reach an opted-out handset.
    expect(r.requests[0]!.params.Body).toBe('  stop ');
    expect(stop.body.replies[0]).toMatchObject({ status: 'failed', errorCode: 21610 });
    const e = (await t.client.messages.create({ to: PHONE, from: OWNED, body: 'promo' }).catch((x: unknown) => x)) as { code: number; status: number };
    expect([e.status, e.code]).toEqual([400, 21610]);
    expect(t.emulator.createCount(PHONE)).toBe(0);
    // A message that merely contains the word is not a keyword.
    expect((await text(PHONE, 'Stop please')).body.autoReply).toBeNull();
    const start = await text(PHONE, 'START');
    expect(start.body.autoReply.body).toMatch(/re-subscribed/);
    expect((await t.client.messages.create({ to: PHONE, from: OWNED, body: 'welcome back' })).status).toBe('queued');
    expect((await text(PHONE, 'help')).body.autoReply.body).toMatch(/Reply STOP to unsubscribe/);
  });

  it('adds OptOutType with advanced opt-out', async () => {
    const adv = await startEmulator({ advancedOptOut: true });
    const r = await app(EMPTY);
    try {
      adv.emulator.setInboundUrl(`${r.url}/in`);
      for (const word of ['unsubscribe', 'yes', 'INFO']) {
        await api(adv.base, 'POST', `/emulator/api/handsets/${encodeURIComponent(PHONE)}/messages`, { to: OWNED, body: word });
      }
      expect(r.requests.map((q) => q.params.OptOutType)).toEqual(['STOP', 'START', 'HELP']);
    } finally {
      await adv.close();
    }
  });
});
