// Request chaos (resets, 429 bursts, injected errors, latency, hangs), per-sender MPS queues, and
// the chaos endpoint itself.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, basicAuth, startEmulator, type TestEmulator } from './support.js';

const FROM = '+15005550006';
const TO = '+14155552671';

let t: TestEmulator;

beforeAll(async () => {
  t = await startEmulator();
});
afterAll(() => t.close());
afterEach(async () => {
  t.emulator.reset();
  expect((await api(t.base, 'DELETE', '/emulator/api/chaos')).status).toBe(200);
  expect(t.drift.splice(0)).toEqual([]);
});

describe('request chaos', () => {
  it('reset: the message is created but the client gets no answer (the ambiguous outcome)', async () => {
    t.emulator.setChaos({ reset: { next: 1, endpoints: ['messages.create'] } });
    const err = (await t.client.messages.create({ to: TO, from: FROM, body: 'maybe' }).catch((e: unknown) => e)) as { code?: string; status?: number };
    expect(err.status).toBeUndefined();
    expect(['ECONNRESET', 'ERR_BAD_RESPONSE', 'ECONNABORTED']).toContain(err.code);
    expect(t.emulator.createCount(TO, 'maybe')).toBe(1);
    // Settling by listing finds it; the next create goes through normally.
    const found = await t.client.messages.list({ to: TO, from: FROM, dateSentAfter: new Date(Date.now() - 60_000) });
    expect(found.map((m) => m.body)).toEqual(['maybe']);
    expect((await t.client.messages.create({ to: TO, from: FROM, body: 'next' })).status).toBe('queued');
  });

  it('429 bursts answer 20429 with Retry-After for the next N requests', async () => {
    await api(t.base, 'PUT', '/emulator/api/chaos', { burst429: { next: 2, retryAfter: 3 } });
    const auth = basicAuth(t.emulator.accountSid, t.emulator.authToken);
    const path = `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages.json`;
    for (let i = 0; i < 2; i++) {
      const r = await api(t.base, 'POST', path, 'To=%2B14155552671&From=%2B15005550006&Body=x', auth);
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('3');
      expect(r.body.code).toBe(20429);
    }
    expect((await api(t.base, 'POST', path, 'To=%2B14155552671&From=%2B15005550006&Body=x', auth)).status).toBe(201);
    expect(t.emulator.createCount(TO)).toBe(1);
  });

  it('injects errors per endpoint, by exact name or group wildcard', async () => {
    t.emulator.setChaos({ errors: { 'messages.create': { rate: 1, status: 503, code: 20503, message: 'Service unavailable' } } });
    const e = (await t.client.messages.create({ to: TO, from: FROM, body: 'x' }).catch((x: unknown) => x)) as { status: number; code: number; message: string };
    expect([e.status, e.code, e.message]).toEqual([503, 20503, 'Service unavailable']);
    expect(await t.client.messages.list({ limit: 1 })).toEqual([]);
    t.emulator.setChaos({ errors: { 'messages.create': null, 'verify.*': { rate: 1, status: 500, code: 20500 } } });
    expect((await t.client.messages.create({ to: TO, from: FROM, body: 'x' })).status).toBe('queued');
    const v = (await t.client.verify.v2.services.create({ friendlyName: 'x' }).catch((x: unknown) => x)) as { status: number };
    expect(v.status).toBe(500);
  });

  it('adds latency', async () => {
    t.emulator.setChaos({ latencyMs: 150 });
    const started = Date.now();
    await t.client.messages.create({ to: TO, from: FROM, body: 'x' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('hang: accepts and never answers, until close()', async () => {
    const own = await startEmulator({ chaos: { hang: { next: 1, endpoints: ['messages.fetch'] } } });
    const path = `/2010-04-01/Accounts/${own.emulator.accountSid}/Messages/SM${'0'.repeat(32)}.json`;
    const outcome = new Promise<string>((resolve) => {
      const req = http.get(`${own.base}${path}`, { headers: basicAuth(own.emulator.accountSid, own.emulator.authToken) }, () => resolve('answered'));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    const early = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still waiting'), 300))]);
    expect(early).toBe('still waiting');
    await own.close();
    expect(await outcome).toBe('ECONNRESET');
  });
});

describe('chaos endpoint', () => {
  it('GET returns the settings, PUT merges and validates, DELETE restores', async () => {
    const put = await api(t.base, 'PUT', '/emulator/api/chaos', { latencyMs: 5, hang: { rate: 0.5 } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ latencyMs: 5, hang: { rate: 0.5, next: 0, endpoints: null }, callbacks: 'on' });
    expect((await api(t.base, 'GET', '/emulator/api/chaos')).body.latencyMs).toBe(5);
    for (const bad of [{ latencyMs: -1 }, { hang: { rate: 2 } }, { errors: { 'messages.nope': { rate: 1 } } }, { bogus: 1 }, { reset: { endpoints: ['x'] } }]) {
      const r = await api(t.base, 'PUT', '/emulator/api/chaos', bad);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('bad_request');
    }
    expect((await api(t.base, 'GET', '/emulator/api/chaos')).body.hang.rate).toBe(0.5);
  });
});

describe('sender pacing', () => {
  it('answers 21611 when more than queueLimit messages wait on one sender', async () => {
    const paced = await startEmulator({ numbers: [FROM, '+14155550100'], mps: 1, queueLimit: 2 });
    try {
      // The first leaves the queue at once (it is sending 50 ms later); the next two wait 1 s each.
      await paced.client.messages.create({ to: TO, from: FROM, body: 'm0' });
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 1; i < 3; i++) expect((await paced.client.messages.create({ to: TO, from: FROM, body: `m${i}` })).status).toBe('queued');
      const e = (await paced.client.messages.create({ to: TO, from: FROM, body: 'm3' }).catch((x: unknown) => x)) as { code: number; status: number };
      expect([e.status, e.code]).toEqual([400, 21611]);
      expect((await paced.client.messages.create({ to: TO, from: '+14155550100', body: 'other sender' })).status).toBe('queued');
      // At 1 MPS the second message leaves about a second after the first.
      const sending = () => paced.emulator.messages().filter((m) => m.from === FROM && m.status !== 'queued').length;
      await new Promise((r) => setTimeout(r, 300));
      expect(sending()).toBe(1);
      expect(paced.drift).toEqual([]);
    } finally {
      await paced.close();
    }
  });

  it('fails a message that waited longer than its ValidityPeriod with 30036', async () => {
    const paced = await startEmulator({ mps: 1 });
    try {
      await paced.client.messages.create({ to: TO, from: FROM, body: 'a'.repeat(306) }); // 2 segments: 2 s of the queue
      const late = await paced.client.messages.create({ to: TO, from: FROM, body: 'late', validityPeriod: 1 });
      const deadline = Date.now() + 4_000;
      let m = paced.emulator.messages().find((x) => x.sid === late.sid)!;
      while (m.status !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        m = paced.emulator.messages().find((x) => x.sid === late.sid)!;
      }
      expect([m.status, m.errorCode]).toEqual(['failed', 30036]);
    } finally {
      await paced.close();
    }
  });
});
