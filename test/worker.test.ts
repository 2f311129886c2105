// The outbox worker against the emulator over real sockets: retries, permanent errors, ambiguous
// outcomes, expiry, concurrent workers and a worker killed mid-flight.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createSmsRelay } from '../src/main.js';
import { TwilioProvider } from '../src/providers/twilio.js';
import { backends } from './support/backends.js';
import { spawnWorker, startRelay, waitFor, type TestRelay } from './support/relay.js';
import { sqlOf } from './support/db.js';

async function events(t: TestRelay, id: string) {
  return (await t.api(`/v1/messages/${id}/events`)).body.data as { status: string; source: string; data: any; provider_code: number | null }[];
}

describe.each(backends)('worker on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'worker', { worker: { maxAttempts: 4 } });
  });
  afterEach(() => {
    t.relay.emulator!.setChaos({ errors: { 'messages.create': null }, reset: { next: 0, rate: 0 }, burst429: { next: 0 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = async (to: string, body: string, extra: object = {}) => {
    const r = await t.api('/v1/messages', { body: { to, body, ...extra } });
    expect(r.status).toBe(202);
    return r.body.id as string;
  };
  const settled = (id: string) =>
    waitFor(async () => {
      const m = (await t.api(`/v1/messages/${id}`)).body;
      return m.status !== 'pending' ? m : null;
    }, 15_000);

  it('fails permanently on a Twilio 4xx such as 21211, without retrying', async () => {
    const id = await send('+15005550001', 'invalid recipient');
    const m = await settled(id);
    expect(m).toMatchObject({ status: 'failed', error_code: 'SMS_ERR_PROVIDER_REJECTED', provider_code: 21211, attempts: 1 });
  });

  it('retries transient 5xx answers with backoff, then sends once', async () => {
    t.relay.emulator!.setChaos({ errors: { 'messages.create': { rate: 1, status: 500, code: 20500 } } });
    const id = await send('+14155550201', 'transient');
    await waitFor(async () => (await events(t, id)).filter((e) => e.data?.outcome === 'transient').length >= 2);
    t.relay.emulator!.setChaos({ errors: { 'messages.create': null } });
    const m = await settled(id);
    expect(m.provider_sid).toMatch(/^SM/);
    expect(m.attempts).toBeGreaterThanOrEqual(3);
    expect(t.relay.emulator!.createCount('+14155550201')).toBe(1);
  });

  it('honours Retry-After on 429', async () => {
    t.relay.emulator!.setChaos({ burst429: { next: 1, retryAfter: 1 } });
    const id = await send('+14155550202', 'rate limited');
    const m = await settled(id);
    expect(m.provider_sid).toMatch(/^SM/);
    const retry = (await events(t, id)).find((e) => e.data?.outcome === 'transient');
    expect(retry?.provider_code).toBe(20429);
    expect(retry?.data.retry_in_ms).toBeGreaterThanOrEqual(1000);
  });

  it('gives up after max_attempts with SMS_ERR_MAX_ATTEMPTS', async () => {
    t.relay.emulator!.setChaos({ errors: { 'messages.create': { rate: 1, status: 503, code: 20503 } } });
    const id = await send('+14155550203', 'never');
    const m = await settled(id);
    expect(m).toMatchObject({ status: 'failed', error_code: 'SMS_ERR_MAX_ATTEMPTS', attempts: 4 });
    expect(t.relay.emulator!.createCount('+14155550203')).toBe(0);
  });

  it('settles an ambiguous outcome (accepted, then the connection dropped) without a duplicate SMS', async () => {
    t.relay.emulator!.setChaos({ reset: { next: 10, rate: 0, endpoints: ['messages.create'] } });
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => send('+14155550204', `ambiguous ${i}`)));
    for (const id of ids) {
      const m = await settled(id);
      expect(m.provider_sid).toMatch(/^SM/);
    }
    for (let i = 0; i < 10; i++) expect(t.relay.emulator!.createCount('+14155550204', `ambiguous ${i}`)).toBe(1);
    const ev = await events(t, ids[0]);
    expect(ev.some((e) => e.data?.outcome === 'ambiguous')).toBe(true);
    expect(ev.some((e) => e.data?.settled === true)).toBe(true);
  });
});

describe.each(backends)('worker lifecycle on $name', (backend) => {
  it('resends an ambiguous message only once the provider confirms it does not have it', async () => {
    // A settle delay long enough for the test to make the provider "lose" the message first.
    const t = await startRelay(backend, 'lost', { worker: { settleDelayMs: 500 } });
    try {
      t.relay.emulator!.setChaos({ reset: { next: 1, rate: 0, endpoints: ['messages.create'] } });
      const r = await t.api('/v1/messages', { body: { to: '+14155550205', body: 'lost in transit' } });
      await waitFor(async () => ((await t.api(`/v1/messages/${r.body.id}/events`)).body.data as { data: any }[]).some((e) => e.data?.outcome === 'ambiguous'));
      expect(t.relay.emulator!.createCount('+14155550205', 'lost in transit')).toBe(1);
      t.relay.emulator!.reset();
      const m = await waitFor(async () => {
        const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
        return g.provider_sid ? g : null;
      });
      expect(m.attempts).toBe(2);
      expect(t.relay.emulator!.createCount('+14155550205', 'lost in transit')).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('expired messages fail with SMS_ERR_EXPIRED and are never sent late', async () => {
    const t = await startRelay(backend, 'expiry', {}, { worker: false });
    try {
      const r = await t.api('/v1/messages', { body: { to: '+14155550301', body: 'too late', validity_period: 1 } });
      await new Promise((res) => setTimeout(res, 1200));
      t.relay.startWorker();
      const m = await waitFor(async () => {
        const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
        return g.status !== 'pending' ? g : null;
      });
      expect(m).toMatchObject({ status: 'failed', error_code: 'SMS_ERR_EXPIRED' });
      expect(t.relay.emulator!.createCount('+14155550301')).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('two workers on one database send each of 2,000 messages exactly once', async () => {
    const t = await startRelay(backend, 'two_workers', {}, { worker: false });
    const second = await createSmsRelay(
      { databaseUrl: t.relay.config.databaseUrl, logLevel: 'silent', worker: { pollIntervalMs: 20, concurrency: 16 } },
      {
        schema: t.schema,
        logger: createLogger('silent'),
        provider: new TwilioProvider({ accountSid: t.relay.emulator!.accountSid, authToken: t.relay.emulator!.authToken, apiBaseUrl: t.url }),
      },
    );
    try {
      const N = 2000;
      const tenant = t.relay.defaultTenant;
      for (let i = 0; i < N; i += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, j) => t.relay.messages.send(tenant, { to: '+14155550302', body: `bulk ${i + j}` })));
      }
      t.relay.startWorker();
      second.startWorker();
      await waitFor(
        async () => {
          const left = await sqlOf(t.relay)
            .selectFrom('messages')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('to_addr', '=', '+14155550302')
            .where('provider_sid', 'is', null)
            .executeTakeFirstOrThrow();
          return Number(left.n) === 0;
        },
        60_000,
        100,
      );
      const atEmulator = t.relay.emulator!.messages({ to: '+14155550302' });
      expect(atEmulator).toHaveLength(N);
      expect(new Set(atEmulator.map((m) => m.body)).size).toBe(N);
      const sids = await sqlOf(t.relay).selectFrom('messages').select('provider_sid').where('to_addr', '=', '+14155550302').execute();
      expect(new Set(sids.map((s) => s.provider_sid)).size).toBe(N);
    } finally {
      await second.close();
      await t.close();
    }
  }, 120_000);
});

describe.each(backends)('a worker killed with SIGKILL on $name', (backend) => {
  it('leaves leases that expire and are settled with the provider, not blindly resent', async () => {
    const t = await startRelay(backend, 'sigkill', {}, { worker: false });
    try {
      const N = 20;
      for (let i = 0; i < N; i++) await t.relay.send({ to: '+14155550401', body: `crash ${i}` });
      // Slow answers keep the child's calls in flight when it is killed.
      t.relay.emulator!.setChaos({ latencyMs: 1500 });
      const child = spawnWorker(t);
      await waitFor(async () => {
        const r = await sqlOf(t.relay).selectFrom('messages').select('id').where('locked_by', 'is not', null).execute();
        return r.length === N;
      }, 15_000);
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      t.relay.emulator!.setChaos({ latencyMs: 0 });
      t.relay.startWorker();
      await waitFor(
        async () => {
          const r = await sqlOf(t.relay).selectFrom('messages').select('id').where('to_addr', '=', '+14155550401').where('provider_sid', 'is', null).execute();
          return r.length === 0;
        },
        30_000,
        100,
      );
      for (let i = 0; i < N; i++) expect(t.relay.emulator!.createCount('+14155550401', `crash ${i}`)).toBe(1);
    } finally {
      await t.close();
    }
  }, 60_000);
});
