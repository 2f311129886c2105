// The production Twilio adapter (official twilio client) against the emulator over real sockets.
// Every request it sends is checked against Twilio's OpenAPI request schema (emulator hook), every
// answer against the response schema: `drift` must stay empty.
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/ports.js';
import { TwilioProvider } from '../src/providers/twilio.js';
import { createLogger, createSmsRelay } from '../src/main.js';
import { startEmulator, type TestEmulator } from './emulator/support.js';
import { backends } from './support/backends.js';
import { waitFor } from './support/relay.js';

let e: TestEmulator;
let provider: TwilioProvider;
beforeAll(async () => {
  e = await startEmulator({ numbers: ['+15005550006', '+14155550100'] });
  provider = new TwilioProvider({ accountSid: e.emulator.accountSid, authToken: e.emulator.authToken, apiBaseUrl: e.base });
});
afterEach(() => {
  e.emulator.setChaos({ errors: { 'messages.create': null }, reset: { next: 0, rate: 0 }, burst429: { next: 0 } });
  expect(e.drift).toEqual([]);
});
afterAll(() => e?.close());

describe('TwilioProvider', () => {
  it('creates a message with media, status callback, validity and attempt, and maps the answer', async () => {
    const m = await provider.send({
      to: '+14155552671',
      from: '+15005550006',
      body: 'a'.repeat(161),
      mediaUrls: ['https://example.com/a.png', 'https://example.com/b.jpg'],
      statusCallback: 'https://sms.example.com/webhooks/twilio/status',
      validityPeriod: 600,
      attempt: 2,
    });
    expect(m).toMatchObject({ status: 'queued', to: '+14155552671', from: '+15005550006', numSegments: 2 });
    expect(m.sid).toMatch(/^MM[0-9a-f]{32}$|^SM[0-9a-f]{32}$/);
    const at = e.emulator.messages({ to: '+14155552671' }).at(-1)!;
    expect(at.media).toEqual(['https://example.com/a.png', 'https://example.com/b.jpg']);
    expect(at.statusCallback).toBe('https://sms.example.com/webhooks/twilio/status');
  });

  it('sends through a Messaging Service and to WhatsApp addresses', async () => {
    const mg = e.emulator.messagingServiceSids[0];
    const viaService = await provider.send({ to: '+14155552672', messagingServiceSid: mg, body: 'pooled' });
    expect(['accepted', 'queued']).toContain(viaService.status);
    const wa = await provider.send({ to: 'whatsapp:+14155552673', from: 'whatsapp:+15005550006', body: 'hola' });
    expect(wa.to).toBe('whatsapp:+14155552673');
  });

  it('fetches and lists, and answers null for an unknown SID', async () => {
    const m = await provider.send({ to: '+14155552674', from: '+15005550006', body: 'find me' });
    expect((await provider.fetch(m.sid))?.body).toBe('find me');
    expect(await provider.fetch('SM' + '0'.repeat(32))).toBeNull();
    const listed = await provider.list({ to: '+14155552674', from: '+15005550006', sentAfter: new Date(Date.now() - 60_000) });
    expect(listed.map((x) => x.sid)).toContain(m.sid);
  });

  it('classifies failures: permanent, transient (5xx, 429 with Retry-After, refused) and ambiguous (reset)', async () => {
    const kind = async (p: Promise<unknown>) => {
      const err = (await p.then(
        () => null,
        (x) => x,
      )) as ProviderError;
      expect(err).toBeInstanceOf(ProviderError);
      return err;
    };
    expect(await kind(provider.send({ to: '+15005550001', from: '+15005550006', body: 'x' }))).toMatchObject({
      kind: 'permanent',
      providerCode: 21211,
      httpStatus: 400,
    });
    expect(await kind(provider.send({ to: '+15005550004', from: '+15005550006', body: 'x' }))).toMatchObject({ kind: 'permanent', providerCode: 21610 });
    e.emulator.setChaos({ errors: { 'messages.create': { rate: 1, status: 503, code: 20503 } } });
    expect(await kind(provider.send({ to: '+14155552675', from: '+15005550006', body: 'x' }))).toMatchObject({ kind: 'transient', httpStatus: 503 });
    e.emulator.setChaos({ errors: { 'messages.create': null }, burst429: { next: 1, retryAfter: 2 } });
    expect(await kind(provider.send({ to: '+14155552675', from: '+15005550006', body: 'x' }))).toMatchObject({
      kind: 'transient',
      providerCode: 20429,
      retryAfterMs: 2000,
    });
    e.emulator.setChaos({ reset: { next: 1, rate: 0, endpoints: ['messages.create'] } });
    expect(await kind(provider.send({ to: '+14155552676', from: '+15005550006', body: 'x' }))).toMatchObject({ kind: 'ambiguous' });
    expect(e.emulator.createCount('+14155552676')).toBe(1);
    // A port nobody listens on: the request cannot have reached anyone.
    const srv = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const closed = new TwilioProvider({ accountSid: e.emulator.accountSid, authToken: e.emulator.authToken, apiBaseUrl: `http://127.0.0.1:${port}` });
    expect(await kind(closed.send({ to: '+14155552677', from: '+15005550006', body: 'x' }))).toMatchObject({ kind: 'transient' });
  });
});

describe.each(backends)('relay with the Twilio adapter on $name', (backend) => {
  it('sends media, WhatsApp and Messaging Service messages end to end with spec-valid requests', async () => {
    // One emulator serves both backends' runs: each uses its own recipients.
    const n = (i: number) => `+1415555${backend.name === 'sqlite' ? 30 : 31}0${i}`;
    const db = await backend.create('adapter');
    const relay = await createSmsRelay(
      { databaseUrl: db.url, logLevel: 'silent', twilio: { fromNumber: '+15005550006', whatsappNumber: '+15005550006' }, worker: { pollIntervalMs: 20 } },
      { schema: db.schema, logger: createLogger('silent'), provider },
    );
    try {
      relay.startWorker();
      const mg = e.emulator.messagingServiceSids[0];
      const a = await relay.send({ to: n(1), media_urls: ['https://example.com/cat.gif'], channel: 'mms' });
      const b = await relay.send({ to: `whatsapp:${n(2)}`, body: 'olá', channel: 'whatsapp' });
      const c = await relay.send({ to: n(3), body: 'pool', messaging_service_sid: mg });
      for (const id of [a.message.id, b.message.id, c.message.id]) {
        await waitFor(async () => (await relay.get(id)).provider_sid);
      }
      expect(e.emulator.messages({ to: n(1) })[0].media).toEqual(['https://example.com/cat.gif']);
      expect(e.emulator.messages({ to: `whatsapp:${n(2)}` })[0].from).toBe('whatsapp:+15005550006');
      expect((await relay.get(b.message.id)).to).toBe(`whatsapp:${n(2)}`);
      expect(e.emulator.createCount(n(3), 'pool')).toBe(1);
    } finally {
      await relay.close();
      await db.drop();
    }
  });

  it('TWILIO_ENABLED=false accepts and logs, sends nothing, and says so in the status', async () => {
    const db = await backend.create('disabled');
    const relay = await createSmsRelay(
      { databaseUrl: db.url, logLevel: 'silent', provider: 'disabled' },
      { schema: db.schema, logger: createLogger('silent') },
    );
    try {
      relay.startWorker();
      const r = await relay.send({ to: '+14155553004', body: 'not sent' });
      expect(r.status).toBe(202);
      expect(r.message).toMatchObject({ status: 'canceled', error_code: 'SMS_ERR_SENDING_DISABLED' });
      expect(r.message.error_message).toMatch(/TWILIO_ENABLED=false/);
      expect(relay.emulator).toBeNull();
      expect(relay.provider).toBeNull();
    } finally {
      await relay.close();
      await db.drop();
    }
  });
});
