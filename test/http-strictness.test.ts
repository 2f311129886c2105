// The HTTP layer's strictness on SQLite and PostgreSQL: authentication before validation, no type
// coercion of JSON bodies, well-formed strings only, one error envelope for every failure (bad URLs,
// huge headers, malformed requests), strict list filters, bodiless POSTs with an empty JSON body, the
// webhooks' 415, and the CSV export's formula neutralisation. Cases decided inside Fastify go through
// app.inject() (same URL bytes, headers and body; no socket); real sockets stay for what only Node's
// HTTP server sees: its parser errors (431, malformed request lines), the emulator mounted in front of
// Fastify, and the CSV download.
import type { FastifyInstance } from 'fastify';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { countRows } from './support/db.js';

const OURS = '+15005550006';
const ID = '01890000-0000-7000-8000-000000000000';

/** One raw HTTP/1.1 exchange: what the server wrote before closing (or after one response). */
function raw(url: string, request: string): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => s.end(request));
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c) => (data += c));
    s.on('error', (e) => (data ? undefined : reject(e)));
    s.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body: rest.join('\r\n\r\n') });
    });
  });
}

type Init = Parameters<TestRelay['api']>[1];

/** t.api's exchange through Fastify's inject: the admin key unless `key` says otherwise, JSON-encoded `body` or `rawBody`. */
function injector(app: FastifyInstance, apiKey: string) {
  return async (path: string, init: Init = {}): Promise<{ status: number; body: any }> => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.key !== null) headers.authorization = `Bearer ${init.key ?? apiKey}`;
    let payload: string | undefined = init.rawBody;
    if (init.body !== undefined) {
      payload = JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await app.inject({ method: (init.method ?? (payload !== undefined ? 'POST' : 'GET')) as 'GET' | 'POST', url: path, headers, payload });
    let body: unknown = res.body;
    try {
      body = res.body ? JSON.parse(res.body) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.statusCode, body };
  };
}

const expectEnvelope = (body: any, code: string | RegExp) => {
  expect(body, JSON.stringify(body)).toMatchObject({ error: { code: expect.stringMatching(code), message: expect.any(String) } });
};

describe.each(backends)('HTTP strictness on $name', (backend) => {
  let t: TestRelay;
  let inject: ReturnType<typeof injector>;
  const count = (table: 'messages' | 'verifications' | 'consent_events') => countRows(t.relay, table);

  beforeAll(async () => {
    t = await startRelay(backend, 'http_strict', { verify: { ...loadConfig({}).verify, secret: 'strictness-test-secret-0123456789abcdef' } });
    inject = injector(await t.relay.http(), t.apiKey);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('authentication runs before validation', () => {
    const long = 'x'.repeat(70);
    it.each([
      ['POST', '/v1/messages', { to: 12, bogus: true }],
      ['POST', '/v1/messages', '{"to": "+1415'],
      ['POST', '/v1/messages', '<xml/>'],
      ['GET', '/v1/messages?limit=abc&status=bogus', undefined],
      ['GET', `/v1/messages/${long}`, undefined],
      ['POST', `/v1/messages/${long}/cancel`, undefined],
      ['POST', '/api/sms/send/', { to_phone: 5 }],
      ['GET', `/api/sms/${long}/status/`, undefined],
      ['POST', '/v1/verifications', {}],
      ['POST', '/v1/verifications/check', { code: 5 }],
      ['GET', '/v1/verifications/stats?since=yesterday', undefined],
      ['POST', '/api/sms/verify/start/', { to: 1 }],
      ['POST', '/api/sms/verify/check/', { code: 1 }],
      ['GET', '/v1/conversations?status=bogus', undefined],
      ['POST', `/v1/conversations/${ID}/messages`, { bogus: 1 }],
      ['POST', `/v1/conversations/${long}/read`, undefined],
      ['POST', '/v1/consents', {}],
      ['GET', `/v1/consents/${long}`, undefined],
      ['GET', '/v1/opt-outs?limit=0', undefined],
    ])('%s %s without a valid key is 401', async (method, path, body) => {
      const init =
        typeof body === 'string' ? { rawBody: body, headers: { 'content-type': body.startsWith('<') ? 'application/xml' : 'application/json' } } : { body };
      for (const key of [null, 'smsr_not-a-real-key']) {
        const r = await inject(path, { method, ...init, key });
        expect(r.status, JSON.stringify(r.body)).toBe(401);
        expect(r.body.error.code).toBe('SMS_ERR_UNAUTHENTICATED');
      }
    });
  });

  describe('JSON bodies are typed strictly', () => {
    it.each([
      ['/v1/messages', { to: '+14155552671', body: 'hi', from: true }, 'from'],
      ['/v1/messages', { to: '+14155552671', body: 'hi', validity_period: true }, 'validity_period'],
      ['/v1/messages', { to: '+14155552671', body: 'hi', validity_period: '60' }, 'validity_period'],
      ['/v1/messages', { to: '+14155552671', body: 123 }, 'body'],
      ['/v1/messages', { to: '+14155552671', body: 'hi', metadata: false }, 'metadata'],
      ['/v1/messages', { to: 14155552671, body: 'hi' }, 'to'],
      ['/v1/messages', { to: ['+14155552671'], body: 'hi' }, 'to'],
      ['/v1/messages', { to: '+14155552671', media_urls: 'https://e.com/a.png' }, 'media_urls'],
      ['/v1/messages', { to: '+14155552671', body: null, channel: ['sms'] }, 'channel'],
      ['/v1/verifications', { to: 14155552671 }, 'to'],
      ['/v1/verifications', { to: '+14155552671', code_length: '6' }, 'code_length'],
      ['/v1/verifications/check', { to: '+14155552671', code: 123456 }, 'code'],
      [`/v1/conversations/${ID}/messages`, { body: 123 }, 'body'],
      [`/v1/conversations/${ID}/messages`, { body: 'hi', metadata: 'x' }, 'metadata'],
      ['/v1/consents', { phone: 14155552671, action: 'opt_out' }, 'phone'],
      ['/v1/consents', { phone: '+14155552671', action: 'opt_out', reason: false }, 'reason'],
      ['/api/sms/send/', { to_phone: 14155552671, message: 'hi' }, 'to_phone'],
      ['/api/sms/send/', { to_phone: '+14155552671', message: 12 }, 'message'],
      ['/api/sms/verify/start/', { to_phone: 14155552671 }, 'to_phone'],
      ['/api/sms/verify/check/', { to_phone: '+14155552671', code: 123456 }, 'code'],
    ])('POST %s %j → 400 naming %s, nothing written', async (path, body, field) => {
      const before = [await count('messages'), await count('verifications'), await count('consent_events')];
      const r = await inject(path, { body });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toBe('SMS_ERR_VALIDATION');
      expect(r.body.error.message).toContain(field);
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect([await count('messages'), await count('verifications'), await count('consent_events')]).toEqual(before);
    });

    it('query strings still coerce numbers and booleans', async () => {
      const m = await inject('/v1/messages?limit=10');
      expect(m.status).toBe(200);
      const c = await inject('/v1/conversations?limit=5&unread=true');
      expect(c.status).toBe(200);
    });
  });

  describe('strings must be well-formed UTF-16', () => {
    it.each([
      ['/v1/messages', '{"to":"+14155552671","body":"hi \\ud800"}', 'body'],
      ['/v1/messages', '{"to":"+14155552671","body":"\\udc00 low first"}', 'body'],
      ['/v1/messages', '{"to":"+14155552671","body":"ok","metadata":{"note":"x\\ud83d"}}', 'metadata.note'],
      ['/v1/messages', '{"to":"+14155552671","body":"ok","metadata":{"list":["a","\\ud800"]}}', 'metadata.list.1'],
      ['/v1/messages', '{"to":"+14155552671","body":"ok","metadata":{"k\\ud800":1}}', 'metadata'],
      [`/v1/conversations/${ID}/messages`, '{"body":"\\ud800"}', 'body'],
      ['/v1/consents', '{"phone":"+14155552671","action":"opt_out","reason":"\\ud800"}', 'reason'],
      ['/api/sms/send/', '{"to_phone":"+14155552671","message":"\\ud800"}', 'message'],
      ['/v1/verifications', '{"to":"+14155552671","locale":"\\ud800"}', 'locale'],
      // NUL cannot be stored in PostgreSQL text (it was a 500 there).
      ['/v1/messages', '{"to":"+14155552671","body":"a\\u0000b"}', 'body'],
      ['/v1/messages', '{"to":"+14155552671","body":"ok","metadata":{"n":"\\u0000"}}', 'metadata.n'],
      ['/v1/consents', '{"phone":"+14155552671","action":"opt_out","reason":"a\\u0000b"}', 'reason'],
      [`/v1/conversations/${ID}/messages`, '{"body":"a\\u0000"}', 'body'],
    ])('POST %s %s → 400 naming %s', async (path, rawBody, field) => {
      const before = await count('messages');
      const r = await inject(path, { rawBody, headers: { 'content-type': 'application/json' } });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toBe('SMS_ERR_VALIDATION');
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect(await count('messages')).toBe(before);
    });

    it('form bodies are checked too', async () => {
      const r = await inject('/api/sms/send/', {
        rawBody: 'to_phone=%2B14155552671&message=a%00b',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.details[0].field).toBe('message');
    });

    it('ids with control characters are refused, not looked up', async () => {
      for (const path of ['/v1/messages/%00', '/v1/verifications/%00', '/api/sms/%00/status/', '/v1/conversations/a%0Ab', '/v1/messages/%00/events']) {
        const r = await inject(path);
        expect(r.status, `${path} ${JSON.stringify(r.body)}`).toBe(400);
        expect(r.body.error.code).toBe('SMS_ERR_VALIDATION');
        expect(r.body.error.details[0].field).toBe('id');
      }
    });

    it('accepts surrogate pairs (emoji) and the handset gets them intact', async () => {
      const r = await inject('/v1/messages', {
        rawBody: '{"to":"+14155550801","body":"wave \\ud83d\\udc4b"}',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBe(202);
      expect(r.body.body).toBe('wave 👋');
      const got = await waitFor(() => t.relay.emulator!.messages({ to: '+14155550801' })[0]);
      expect(got.body).toBe('wave 👋');
    });
  });

  describe('every error uses the envelope', () => {
    it('malformed percent-encoding in the path', async () => {
      for (const path of ['/v1/messages/%ZZ', '/v1/messages/%E0%A4%A', '/v1/consents/%']) {
        for (const key of [undefined, null]) {
          const r = await inject(path, { key });
          expect(r.status, path).toBe(400);
          expectEnvelope(r.body, 'SMS_ERR_MALFORMED_URL');
        }
      }
    });

    it('over-long path parameters (authenticated: validation; not: 401)', async () => {
      for (const id of ['y'.repeat(101), 'z'.repeat(10_000)]) {
        const r = await inject(`/v1/messages/${id}`);
        expect(r.status).toBe(400);
        expectEnvelope(r.body, 'SMS_ERR_VALIDATION');
        expect(r.body.error.details[0].field).toBe('id');
        const anon = await inject(`/v1/messages/${id}/cancel`, { method: 'POST', key: null });
        expect(anon.status).toBe(401);
        expectEnvelope(anon.body, 'SMS_ERR_UNAUTHENTICATED');
      }
      const unknown = await inject(`/v1/${'n'.repeat(10_000)}`);
      expect(unknown.status).toBe(404);
      expectEnvelope(unknown.body, 'SMS_ERR_ROUTE_NOT_FOUND');
      expect(unknown.body.error.message.length).toBeLessThan(300);
    });

    it('oversized headers and URLs: 431 with the envelope', async () => {
      const big = await raw(t.url, `GET /v1/messages HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
      expect(big.status).toBe(431);
      expect(big.headers).toMatch(/content-type: application\/json/i);
      expectEnvelope(JSON.parse(big.body), 'SMS_ERR_HEADERS_TOO_LARGE');
      const url = await raw(t.url, `GET /v1/messages?to=${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(url.status).toBe(431);
      expectEnvelope(JSON.parse(url.body), 'SMS_ERR_HEADERS_TOO_LARGE');
    });

    it('a malformed HTTP request: 400 with the envelope', async () => {
      const r = await raw(t.url, 'GET /v1/messages HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n');
      expect(r.status).toBe(400);
      expectEnvelope(JSON.parse(r.body), 'SMS_ERR_MALFORMED_REQUEST');
    });

    it('hostile bodies never give a 5xx', async () => {
      const deep = `{"to":"+14155552671","body":"x","metadata":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
      const cases: [string, string, string][] = [
        ['/v1/messages', deep, 'application/json'],
        ['/v1/messages', '{"__proto__":{"x":1},"to":"+14155552671","body":"x"}', 'application/json'],
        ['/v1/messages', '{"constructor":{"prototype":{"x":1}},"to":"+14155552671","body":"x"}', 'application/json'],
        ['/v1/messages', '[]', 'application/json'],
        ['/v1/messages', 'null', 'application/json'],
        ['/v1/messages', '"str"', 'application/json'],
        ['/v1/messages', '   ', 'application/json'],
        ['/v1/messages', '{"to":"+14155552671","body":"x"}{}', 'application/json'],
        ['/v1/messages', 'to=%2B14155552671&body=x&validity_period=60', 'application/x-www-form-urlencoded'],
        ['/v1/messages', 'plain text', 'text/plain'],
        ['/v1/consents', `{"phone":"+14155552671","action":"opt_out","reason":"${'é'.repeat(501)}"}`, 'application/json'],
        ['/v1/verifications', '{"to":"\\u0000+14155552671"}', 'application/json'],
      ];
      for (const [path, rawBody, type] of cases) {
        const r = await inject(path, { rawBody, headers: { 'content-type': type } });
        const what = `${path} ${rawBody.slice(0, 60)} → ${JSON.stringify(r.body).slice(0, 200)}`;
        expect(r.status, what).toBeGreaterThanOrEqual(400);
        expect(r.status, what).toBeLessThan(500);
        expectEnvelope(r.body, /^SMS_ERR_/);
      }
    });
  });

  describe('list filters are validated', () => {
    it.each([
      '/v1/messages?status=bogus',
      '/v1/messages?status=',
      '/v1/messages?status=failed&status=sent',
      '/v1/messages?since=yesterday',
      '/v1/messages?until=2024-02-30T00:00:00Z',
      '/v1/messages?limit=0',
      '/v1/messages?limit=201',
      '/v1/messages?limit=1.5',
      '/v1/messages?limit=10abc',
      '/v1/messages?cursor=garbage',
      `/v1/messages?cursor=${Buffer.from('not-a-uuid').toString('base64url')}`,
      '/v1/messages?to=call%20me',
      '/v1/messages?bogus=1',
      '/v1/conversations?status=bogus',
      '/v1/conversations?unread=maybe',
      '/v1/conversations?cursor=garbage',
      '/v1/conversations?limit=-1',
      '/v1/opt-outs?cursor=garbage',
      '/v1/opt-outs?format=xml',
      '/v1/verifications/stats?since=yesterday',
    ])('%s → 400', async (path) => {
      const r = await inject(path);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toMatch(/^SMS_ERR_(VALIDATION|INVALID_PHONE)$/);
    });

    it('a valid status filter still works', async () => {
      const r = await inject('/v1/messages?status=canceled&limit=200');
      expect(r.status).toBe(200);
      expect(r.body.data.every((m: { status: string }) => m.status === 'canceled')).toBe(true);
    });
  });

  describe('bodiless POSTs accept an empty JSON body', () => {
    const empty = { rawBody: '', headers: { 'content-type': 'application/json' }, method: 'POST' };

    it('cancels a scheduled message', async () => {
      const m = await inject('/v1/messages', { body: { to: '+14155550802', body: 'later', send_at: new Date(Date.now() + 3600_000).toISOString() } });
      const c = await inject(`/v1/messages/${m.body.id}/cancel`, empty);
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(c.body.status).toBe('canceled');
    });

    it('cancels a verification', async () => {
      const v = await inject('/v1/verifications', { body: { to: '+14155550803' } });
      expect(v.status, JSON.stringify(v.body)).toBe(201);
      const c = await inject(`/v1/verifications/${v.body.id}/cancel`, empty);
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(c.body.status).toBe('canceled');
    });

    it('marks a conversation read', async () => {
      const handset = '+14155550804';
      const h = await t.api(`/emulator/api/handsets/${encodeURIComponent(handset)}/messages`, { body: { to: OURS, body: 'hello' }, key: null });
      expect(h.status).toBe(201);
      const conv = await waitFor(async () => (await inject('/v1/conversations?limit=200')).body.data.find((c: { contact: string }) => c.contact === handset));
      const r = await inject(`/v1/conversations/${conv.id}/read`, empty);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.unread_count).toBe(0);
    });

    it.each(['/v1/messages', '/v1/verifications', '/v1/verifications/check', '/v1/consents', '/api/sms/send/', `/v1/conversations/${ID}/messages`])(
      'a route that needs a body says so: %s',
      async (path) => {
        const r = await inject(path, empty);
        expect(r.status, JSON.stringify(r.body)).toBe(400);
        expect(r.body.error.code).toMatch(/^SMS_ERR_(VALIDATION|MALFORMED_BODY)$/);
        expect(r.body.error.message).toMatch(/body/i);
      },
    );
  });

  it("the webhooks' 415 names the content type Twilio sends", async () => {
    for (const path of ['/webhooks/twilio/status', '/webhooks/twilio/inbound', '/webhooks/sms/twilio/']) {
      const r = await inject(path, { rawBody: '<x/>', headers: { 'content-type': 'text/xml' }, key: null });
      expect(r.status).toBe(415);
      expect(r.body.error.code).toBe('SMS_ERR_UNSUPPORTED_MEDIA_TYPE');
      expect(r.body.error.message).toContain('application/x-www-form-urlencoded');
      expect(r.body.error.message).not.toMatch(/send (the body as )?JSON/i);
    }
    const api = await inject('/v1/messages', { rawBody: '<x/>', headers: { 'content-type': 'text/xml' } });
    expect(api.body.error.message).toContain('application/json');
  });

  it('the opt-out CSV keeps E.164 numbers as data and neutralises formulas', async () => {
    const hostile = [
      ['+14155550805', '=HYPERLINK("http://evil.example","click")'],
      ['+14155550806', "+1+cmd|' /C calc'!A0"],
      ['+14155550807', '@SUM(A1)'],
      ['+14155550808', '-2+3'],
      ['+14155550809', '+14155550000'],
    ];
    for (const [phone, reason] of hostile) expect((await t.api('/v1/consents', { body: { phone, action: 'opt_out', reason } })).status).toBe(200);
    const res = await fetch(`${t.url}/v1/opt-outs?format=csv`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    const lines = (await res.text()).trim().split('\r\n');
    const row = (phone: string) => lines.find((l) => l.startsWith(`${phone},`) || l.startsWith(`'${phone},`));
    expect(row('+14155550805')).toBe(`+14155550805,api,"'=HYPERLINK(""http://evil.example"",""click"")",${row('+14155550805')!.split(',').pop()}`);
    expect(row('+14155550806')).toMatch(/^\+14155550806,api,'\+1\+cmd\|' \/C calc'!A0,/);
    expect(row('+14155550807')).toMatch(/^\+14155550807,api,'@SUM\(A1\),/);
    expect(row('+14155550808')).toMatch(/^\+14155550808,api,'-2\+3,/);
    // A reason that is exactly an E.164 number is data too.
    expect(row('+14155550809')).toMatch(/^\+14155550809,api,\+14155550000,/);
  });
});
