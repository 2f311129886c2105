// The typed client (smsrelay/client) against a running relay over a socket: typed answers, an
// Idempotency-Key on every send, retries on 429/503 (Retry-After honoured, jittered otherwise,
// bounded), SmsRelayError with the SMS_ERR_ code; and its generated types are not stale against
// the app's /openapi.json. The client does not depend on the database: SQLite only.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appOpenApiDocument, clientSchemaSource, SCHEMA_FILE } from '../scripts/gen-client.js';
import { SmsRelayClient, SmsRelayError } from '../src/client/index.js';
import type { Config } from '../src/config.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

let t: TestRelay;
beforeAll(async () => {
  // Two verification sends per number, so that the third is the relay's own 429.
  const verify = { limitNumber: { max: 2, windowS: 600 } } as unknown as Config['verify'];
  t = await startRelay(backends[0]!, 'client', { verify });
});
afterAll(() => t?.close());

/** A proxy in front of the relay that answers the first `script` requests itself. */
async function proxy(script: { status: number; headers?: Record<string, string>; body?: unknown }[]) {
  const seen: { method: string; url: string; idempotencyKey: string | undefined; at: number }[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({ method: req.method!, url: req.url!, idempotencyKey: req.headers['idempotency-key'] as string | undefined, at: Date.now() });
    const scripted = script.shift();
    if (scripted) {
      res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
      res.end(JSON.stringify(scripted.body ?? {}));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
    const r = await fetch(t.url + req.url, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const caught = async (p: Promise<unknown>): Promise<SmsRelayError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof SmsRelayError) return e;
    throw e;
  }
  throw new Error('expected an SmsRelayError');
};

describe('the generated client types', () => {
  it('match the app’s /openapi.json (run `npm run gen:client` when this fails)', async () => {
    const served = (await t.api('/openapi.json')).body;
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(await clientSchemaSource(served));
    // The generator's own document (built in process, no network) is the one the server serves.
    expect(await appOpenApiDocument()).toEqual(served);
  });
});

describe('SmsRelayClient against a running relay', () => {
  it('sends with an Idempotency-Key by default, reads, lists and cancels, typed', async () => {
    const c = new SmsRelayClient({ baseUrl: t.url, apiKey: t.apiKey });
    const m = await c.sendMessage({ to: '+14155550501', body: 'from the typed client' });
    expect(m).toMatchObject({ to: '+14155550501', status: 'pending', channel: 'sms' });
    const delivered = await waitFor(async () => {
      const g = await c.getMessage(m.id);
      return g.status === 'delivered' ? g : null;
    });
    expect(delivered.provider_sid).toMatch(/^SM/);
    expect((await c.messageEvents(m.id)).map((e) => e.status)).toContain('delivered');
    expect((await c.listMessages({ to: '+14155550501' })).data?.map((x) => x.id)).toEqual([m.id]);

    // A caller's key replays the first answer; the default keys are distinct per call.
    const k1 = await c.sendMessage(
      { to: '+14155550502', body: 'once', send_at: new Date(Date.now() + 3_600_000).toISOString() },
      { idempotencyKey: 'order-42' },
    );
    const k2 = await c.sendMessage({ to: '+14155550502', body: 'once', send_at: k1.send_at }, { idempotencyKey: 'order-42' });
    expect(k2.id).toBe(k1.id);
    const d1 = await c.sendMessage({ to: '+14155550503', body: 'twice' });
    const d2 = await c.sendMessage({ to: '+14155550503', body: 'twice' });
    expect(d2.id).not.toBe(d1.id);
    expect((await c.cancelMessage(k1.id)).status).toBe('canceled');
  });

  it('throws SmsRelayError with the code, status and details', async () => {
    const c = new SmsRelayClient({ baseUrl: t.url, apiKey: t.apiKey });
    const bad = await caught(c.sendMessage({ to: 'not a number', body: 'x' }));
    expect(bad).toMatchObject({ name: 'SmsRelayError', code: 'SMS_ERR_INVALID_PHONE', status: 400, details: { field: 'to' } });
    const missing = await caught(c.getMessage('00000000-0000-0000-0000-000000000000'));
    expect(missing).toMatchObject({ code: 'SMS_ERR_NOT_FOUND', status: 404 });
    const unauth = await caught(new SmsRelayClient({ baseUrl: t.url, apiKey: 'wrong' }).getMessage('x'));
    expect(unauth).toMatchObject({ code: 'SMS_ERR_UNAUTHENTICATED', status: 401 });
  });

  it('retries a 429 after its Retry-After with the same Idempotency-Key: one message', async () => {
    const p = await proxy([
      {
        status: 429,
        headers: { 'retry-after': '1' },
        body: { error: { code: 'SMS_ERR_RATE_LIMITED', message: 'slow down' } },
      },
    ]);
    try {
      const c = new SmsRelayClient({ baseUrl: p.url, apiKey: t.apiKey });
      const m = await c.sendMessage({ to: '+14155550504', body: 'after a 429' });
      expect(p.seen).toHaveLength(2);
      expect(p.seen[1]!.at - p.seen[0]!.at).toBeGreaterThanOrEqual(950);
      expect(p.seen[0]!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
      expect(p.seen[1]!.idempotencyKey).toBe(p.seen[0]!.idempotencyKey);
      expect((await t.api('/v1/messages?to=%2B14155550504')).body.data.map((x: { id: string }) => x.id)).toEqual([m.id]);
    } finally {
      await p.close();
    }
  });

  it('retries 503 with a jittered backoff, a bounded number of times, then throws', async () => {
    const unavailable = { status: 503, body: { error: { code: 'SMS_ERR_NOT_READY', message: 'not ready' } } };
    const p = await proxy([unavailable, unavailable, unavailable, unavailable]);
    try {
      const c = new SmsRelayClient({ baseUrl: p.url, apiKey: t.apiKey, maxAttempts: 3, retryBaseMs: 20 });
      const e = await caught(c.getMessage('x'));
      expect(e).toMatchObject({ code: 'SMS_ERR_NOT_READY', status: 503 });
      expect(p.seen).toHaveLength(3);
    } finally {
      await p.close();
    }
  });

  it('does not wait for a Retry-After beyond its bound: the relay’s own 429 is thrown at once', async () => {
    const c = new SmsRelayClient({ baseUrl: t.url, apiKey: t.apiKey, maxRetryDelayMs: 5_000 });
    await c.startVerification({ to: '+14155550505' });
    await c.startVerification({ to: '+14155550505' });
    const started = Date.now();
    const e = await caught(c.startVerification({ to: '+14155550505' }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(e).toMatchObject({ code: 'SMS_ERR_RATE_LIMITED', status: 429 });
    expect(e.retryAfterMs).toBeGreaterThan(5_000);
    // The refusal is counted in the metrics (stage api).
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/^smsrelay_refusals_total\{code="SMS_ERR_RATE_LIMITED",stage="api"\} 1$/m);
  });

  it('names a non-smsrelay answer SMS_ERR_UNEXPECTED_RESPONSE', async () => {
    const p = await proxy([{ status: 502, body: 'bad gateway' }]);
    try {
      const e = await caught(new SmsRelayClient({ baseUrl: p.url, apiKey: t.apiKey }).getMessage('x'));
      expect(e).toMatchObject({ code: 'SMS_ERR_UNEXPECTED_RESPONSE', status: 502 });
    } finally {
      await p.close();
    }
  });
});
