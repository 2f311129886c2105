// Who may use the embedded emulator. Its admin API can point webhooks anywhere and its inbox shows
// OTP texts: only loopback clients are answered unless SMSRELAY_EMULATOR_ACCESS=token, and then
// only with the token. Bound beyond loopback, the emulator's published auth token must not sign
// webhooks the relay accepts. The access rule does not depend on the database: SQLite only.
import { networkInterfaces } from 'node:os';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN } from '../../src/emulator/index.js';
import { createSmsRelay, type SmsRelay } from '../../src/main.js';
import { backends } from '../support/backends.js';
import { waitFor } from '../support/relay.js';
import { postWebhook } from '../support/webhooks.js';

const TOKEN = 'emulator-access-token-0123456789';
const HANDSET = '+14155552671';

/** A non-loopback IPv4 address of this machine (the tests only ever connect to it and 127.0.0.1). */
const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

interface Started {
  relay: SmsRelay;
  port: number;
  apiKey: string;
  logs: string[];
  close(): Promise<void>;
}

async function start(
  label: string,
  host: string,
  emulator: { access: 'loopback' | 'token'; token: string | null } = { access: 'loopback', token: null },
): Promise<Started> {
  const db = await backends[0]!.create(label);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const relay = await createSmsRelay(
    { host, port: 0, databaseUrl: db.url, logLevel: 'info', emulator, worker: { pollIntervalMs: 20, settleDelayMs: 0 } },
    { logger: pino({ level: 'info' }, sink) },
  );
  const { key } = await relay.apiKeys.create(relay.defaultTenant.id, 'test', ['admin']);
  const url = await relay.listen();
  relay.startWorker();
  return {
    relay,
    port: Number(new URL(url).port),
    apiKey: key,
    logs,
    async close() {
      await relay.close();
      await db.drop();
    },
  };
}

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* HTML */
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

const inboundParams = (sid: string) => ({
  MessageSid: sid,
  SmsSid: sid,
  AccountSid: DEFAULT_ACCOUNT_SID,
  From: HANDSET,
  To: '+15005550006',
  Body: 'forged',
  NumMedia: '0',
});
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

describe('SMSRELAY_EMULATOR_* configuration', () => {
  it('defaults to loopback only and 2,000 kept messages', () => {
    expect(loadConfig({}).emulator).toEqual({ access: 'loopback', token: null, maxMessages: 2_000 });
    expect(loadConfig({ SMSRELAY_EMULATOR_ACCESS: 'token', SMSRELAY_EMULATOR_TOKEN: TOKEN, SMSRELAY_EMULATOR_MAX_MESSAGES: '500' }).emulator).toEqual({
      access: 'token',
      token: TOKEN,
      maxMessages: 500,
    });
  });

  it('opens to the network only explicitly, and only with a long token', () => {
    expect(() => loadConfig({ SMSRELAY_EMULATOR_ACCESS: 'token' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMSRELAY_EMULATOR_ACCESS: 'token', SMSRELAY_EMULATOR_TOKEN: 'x'.repeat(23) })).toThrow(/24 characters/);
    expect(() => loadConfig({ SMSRELAY_EMULATOR_TOKEN: TOKEN })).toThrow(/SMSRELAY_EMULATOR_ACCESS=token/);
    expect(() => loadConfig({ SMSRELAY_EMULATOR_ACCESS: 'open' })).toThrow(/SMSRELAY_EMULATOR_ACCESS/);
    expect(() => loadConfig({ SMSRELAY_EMULATOR_MAX_MESSAGES: '0' })).toThrow(/SMSRELAY_EMULATOR_MAX_MESSAGES/);
  });
});

describe('embedded emulator on 127.0.0.1', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start('emu_access_lo', '127.0.0.1');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers loopback clients and logs the mode', async () => {
    const base = `http://127.0.0.1:${s.port}`;
    expect((await call(`${base}/emulator/api/config`)).status).toBe(200);
    expect((await call(`${base}/emulator`)).status).toBe(200);
    await waitFor(() => s.logs.some((l) => l.includes('emulator: loopback clients only')));
  });

  it('keeps SMSRELAY_EMULATOR_MAX_MESSAGES messages, 2,000 by default (the standalone emulator keeps 100,000)', async () => {
    const cfg = await call(`http://127.0.0.1:${s.port}/emulator/api/config`);
    expect(cfg.body.maxMessages).toBe(2_000);
  });

  it('keeps the documented auth token (nothing beyond loopback can forge with it)', () => {
    expect(s.relay.emulator!.authToken).toBe(DEFAULT_AUTH_TOKEN);
  });
});

describe.skipIf(!external)(`embedded emulator on 0.0.0.0, reached from ${external ?? '(no non-loopback IPv4 address on this machine)'}`, () => {
  describe('default access (loopback only)', () => {
    let s: Started;
    let lo: string;
    let ext: string;
    beforeAll(async () => {
      s = await start('emu_access_any', '0.0.0.0');
      lo = `http://127.0.0.1:${s.port}`;
      ext = `http://${external}:${s.port}`;
    });
    afterAll(async () => {
      await s?.close();
    });

    it('refuses every emulator path to a non-loopback client, whatever X-Forwarded-For says', async () => {
      const before = (await call(`${lo}/emulator/api/config`)).body;
      const cases: [string, string, unknown?][] = [
        ['GET', '/emulator'],
        ['GET', '/emulator/api/config'],
        ['PUT', '/emulator/api/config', { inboundUrl: 'http://127.0.0.1:9/steal' }],
        ['GET', '/emulator/api/messages/latest'],
        ['PUT', '/emulator/api/chaos', { latencyMs: 1000 }],
        ['DELETE', '/emulator/api/messages'],
        ['POST', `/emulator/api/handsets/${encodeURIComponent(HANDSET)}/messages`, { to: '+15005550006', body: 'hi' }],
        ['GET', `/2010-04-01/Accounts/${s.relay.emulator!.accountSid}/Messages.json`],
        ['GET', '/v2/PhoneNumbers/+14155552671'],
      ];
      for (const [method, path, body] of cases) {
        const r = await call(ext + path, { method, body, headers: { 'x-forwarded-for': '127.0.0.1', authorization: `Bearer ${TOKEN}` } });
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.body, `${method} ${path}`).toMatchObject({ error: { code: 'SMS_ERR_EMULATOR_LOOPBACK_ONLY', message: expect.any(String) } });
      }
      // Nothing changed: the PUT and the chaos did not apply.
      expect((await call(`${lo}/emulator/api/config`)).body).toEqual(before);
      expect((await call(`${lo}/emulator/api/chaos`)).body.latencyMs).toBe(0);
      await waitFor(() => s.logs.some((l) => l.includes('emulator: loopback clients only')));
    });

    it('still sends through the emulator (the provider calls it over 127.0.0.1) for API clients anywhere', async () => {
      const r = await call(`${ext}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.apiKey}` },
        body: { to: HANDSET, body: 'via external' },
      });
      expect(r.status).toBe(202);
      const done = await waitFor(async () => {
        const g = await call(`${ext}/v1/messages/${r.body.id}`, { headers: { authorization: `Bearer ${s.apiKey}` } });
        return g.body.status === 'delivered' ? g.body : null;
      });
      expect(done.provider_sid).toMatch(/^SM/);
    });

    it('refuses webhooks signed with the published emulator auth token, and accepts the emulator’s own', async () => {
      expect(s.relay.emulator!.authToken).not.toBe(DEFAULT_AUTH_TOKEN);
      for (const base of [ext, lo]) {
        const url = `${base}/webhooks/twilio/inbound`;
        const r = await postWebhook(url, inboundParams('SM' + 'f'.repeat(32)), DEFAULT_AUTH_TOKEN);
        expect(r.status, base).toBe(403);
        expect(r.body).toMatchObject({ error: { code: 'SMS_ERR_INVALID_SIGNATURE' } });
      }
      // A handset texting from the (loopback) inbox reaches the relay, signed with the per-process token.
      const h = await call(`${lo}/emulator/api/handsets/${encodeURIComponent(HANDSET)}/messages`, {
        method: 'POST',
        body: { to: '+15005550006', body: 'real inbound' },
      });
      expect(h.status).toBe(201);
      expect(h.body.webhook).toMatchObject({ statusCode: 200 });
    });
  });

  describe('SMSRELAY_EMULATOR_ACCESS=token', () => {
    let s: Started;
    let ext: string;
    beforeAll(async () => {
      s = await start('emu_access_token', '0.0.0.0', { access: 'token', token: TOKEN });
      ext = `http://${external}:${s.port}`;
    });
    afterAll(async () => {
      await s?.close();
    });

    it('asks a non-loopback client for the token', async () => {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token-wrong' }, { authorization: basic('x', 'wrong') }] as Record<
        string,
        string
      >[]) {
        const api = await call(`${ext}/emulator/api/messages`, { headers });
        expect(api.status).toBe(401);
        expect(api.body).toMatchObject({ error: { code: 'SMS_ERR_EMULATOR_TOKEN_REQUIRED' } });
        expect(api.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      const page = await call(`${ext}/emulator`);
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toMatch(/^Basic realm="smsrelay emulator"/);
      await waitFor(() => s.logs.some((l) => l.includes('emulator: open to the network with token')));
    });

    it('answers with the token: Bearer for the API, the Basic auth password for the pages', async () => {
      const put = await call(`${ext}/emulator/api/config`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: { defaultStatusCallback: null },
      });
      expect(put.status).toBe(200);
      const page = await call(`${ext}/emulator`, { headers: { authorization: basic('anyone', TOKEN) } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const viaPage = await call(`${ext}/emulator/api/numbers`, { headers: { authorization: basic('anyone', TOKEN) } });
      expect(viaPage.status).toBe(200);
    });

    it('leaves the Twilio paths to Basic auth with the per-process token, which outsiders do not know', async () => {
      const r = await call(`${ext}/2010-04-01/Accounts/${DEFAULT_ACCOUNT_SID}/Messages.json`, {
        headers: { authorization: basic(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN) },
      });
      expect(r.status).toBe(401);
    });
  });
});
