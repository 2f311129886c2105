// Abuse controls of verifications: sliding-window limits per number, client IP, tenant and prefix;
// automatic prefix blocking; and the limits under concurrent load (two relays on one PostgreSQL).
// The limits sit in front of both backends, so the local backend stands for both here.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countRows, sqlOf } from './support/db.js';
import { backends } from './support/backends.js';
import { waitFor } from './support/relay.js';
import { freshNumber, startVerifyRelay, wrongCode, type VerifyRelay } from './support/verify.js';

const HOUR = 3600_000;

const messageCount = (t: VerifyRelay): Promise<number> => countRows(t.relay, 'messages');

function expectLimited(r: { status: number; body: any; headers: Headers }, limit: string, maxRetryS: number): void {
  expect(r.status, JSON.stringify(r.body)).toBe(429);
  expect(r.body.error).toMatchObject({ code: 'SMS_ERR_RATE_LIMITED', details: { limit } });
  const s = Number(r.headers.get('retry-after'));
  expect(s).toBeGreaterThan(0);
  expect(s).toBeLessThanOrEqual(maxRetryS);
  expect(r.body.error.details.retry_after).toBe(s);
}

describe.each(backends)('verification limits on $name', (db) => {
  let t: VerifyRelay;
  beforeAll(async () => {
    t = await startVerifyRelay(db, 'verify_limits', {
      verify: {
        limitNumber: { max: 5, windowS: 600 },
        limitIp: { max: 3, windowS: 3600 },
        limitPrefix: { max: 6, windowS: 3600 },
        limitTenant: { max: 10, windowS: 3600 },
        blockMinConversion: 0,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });
  // Every test starts with empty windows.
  beforeEach(() => t.clock.advance(2 * HOUR));

  const start = (to: string, ip?: string) => t.api('/v1/verifications', { body: { to, ...(ip ? { client_ip: ip } : {}) } });

  it('per client IP, with an exact sliding window and no SMS when refused', async () => {
    for (const area of ['212', '646', '718']) expect((await start(freshNumber(area), '203.0.113.7')).status).toBe(201);
    const sent = await messageCount(t);
    const to = freshNumber('917');
    const r = await start(to, '203.0.113.7');
    expectLimited(r, 'ip', 3600);
    expect(await messageCount(t)).toBe(sent);
    expect(t.inbox(to)).toBe(0);
    // Another IP (v6 too) is not affected; the caller's own IP counts when no client_ip is given.
    expect((await start(freshNumber('917'), '2001:db8::1')).status).toBe(201);
    // The window slides: just before the oldest event leaves it, still refused; then allowed.
    t.clock.advance((Number(r.headers.get('retry-after')) - 2) * 1000);
    expect((await start(freshNumber('305'), '203.0.113.7')).status).toBe(429);
    t.clock.advance(3000);
    expect((await start(freshNumber('305'), '203.0.113.7')).status).toBe(201);
  });

  it('per number prefix', async () => {
    for (let i = 0; i < 6; i++) expect((await start(freshNumber('415', '555'), `198.51.100.${i}`)).status).toBe(201);
    expectLimited(await start(freshNumber('415', '555'), '198.51.100.99'), 'prefix', 3600);
    expect((await start(freshNumber('415', '556'), '198.51.100.99')).status).toBe(201);
  });

  it('per tenant', async () => {
    for (let i = 0; i < 10; i++) expect((await start(freshNumber('415', String(560 + i)), `192.0.2.${i}`)).status).toBe(201);
    expectLimited(await start(freshNumber('415', '580'), '192.0.2.200'), 'tenant', 3600);
  });

  it('per number across verifications: 5 sends per 10 minutes, approved or not', async () => {
    const to = freshNumber('212', '556');
    let id = '';
    let code = '';
    for (let i = 0; i < 3; i++) {
      const r = await start(to, `192.0.2.${50 + i}`);
      expect(r.status).toBe(201);
      id = r.body.id;
      code = await t.codeFor(to, i);
    }
    expect((await t.api('/v1/verifications/check', { body: { id, code } })).body.status).toBe('approved');
    const fresh = await start(to, '192.0.2.60');
    expect(fresh.status).toBe(201);
    expect(fresh.body).toMatchObject({ send_count: 1 });
    expect(fresh.body.id).not.toBe(id);
    expect((await start(to, '192.0.2.61')).status).toBe(201);
    expectLimited(await start(to, '192.0.2.62'), 'number', 600);
  });

  it('holds the per-number limit under 60 concurrent starts (one verification, 5 sends)', async () => {
    const to = freshNumber('646', '557');
    const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => start(to, `10.0.${i}.1`)));
    expect(rs.filter((r) => r.status >= 500)).toEqual([]);
    const ok = rs.filter((r) => r.status === 201);
    expect(ok).toHaveLength(5);
    expect(new Set(ok.map((r) => r.body.id)).size).toBe(1);
    expect(ok.map((r) => r.body.send_count).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(rs.filter((r) => r.status === 429)).toHaveLength(55);
  });
});

describe.each(backends)('automatic prefix blocking on $name', (db) => {
  let t: VerifyRelay;
  beforeAll(async () => {
    t = await startVerifyRelay(db, 'verify_block', {
      verify: {
        limitIp: { max: 100_000, windowS: 60 },
        limitPrefix: { max: 100_000, windowS: 60 },
        blockMinStarts: 5,
        blockMinConversion: 0.5,
        blockWindowS: 3600,
        blockCooldownS: 900,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('blocks a prefix whose codes are not confirmed, logs it, shows it in stats, and lifts it after the cooldown', async () => {
    // A healthy prefix: 4 of 5 confirmed.
    for (let i = 0; i < 5; i++) {
      const to = freshNumber('718', '555');
      const r = await t.api('/v1/verifications', { body: { to } });
      expect(r.status).toBe(201);
      if (i < 4) expect((await t.api('/v1/verifications/check', { body: { id: r.body.id, code: await t.codeFor(to, 0) } })).body.status).toBe('approved');
    }
    // A pumped prefix: nothing confirmed.
    for (let i = 0; i < 5; i++) expect((await t.api('/v1/verifications', { body: { to: freshNumber('646', '555') } })).status).toBe(201);
    // Young codes still have their chance: no decision yet.
    expect((await t.api('/v1/verifications', { body: { to: freshNumber('646', '555') } })).status).toBe(201);
    t.clock.advance(3 * 60_000);

    const sent = await messageCount(t);
    const blocked = await t.api('/v1/verifications', { body: { to: freshNumber('646', '555') } });
    expectLimited(blocked, 'prefix_blocked', 900);
    expect(await messageCount(t)).toBe(sent);
    expect((await t.api('/v1/verifications', { body: { to: freshNumber('646', '555') } })).body.error.details.limit).toBe('prefix_blocked');
    expect((await t.api('/v1/verifications', { body: { to: freshNumber('718', '555') } })).status).toBe(201);

    const line = t.logs.map((l) => JSON.parse(l)).find((l) => /prefix blocked/.test(l.msg));
    expect(line).toMatchObject({ level: 40, prefix: '+1646555', started: 6, approved: 0, conversion: 0 });
    expect(JSON.stringify(line)).not.toMatch(/\+1646555\d{4}/);

    const stats = await t.api('/v1/verifications/stats');
    expect(stats.body.blocked_prefixes).toEqual([
      { prefix: '+1646555', blocked_until: expect.any(String), blocked_at: expect.any(String), started: 6, approved: 0 },
    ]);
    expect(stats.body.prefixes).toEqual(
      expect.arrayContaining([
        { prefix: '+1646555', country: 'US', started: 6, approved: 0, conversion: 0 },
        { prefix: '+1718555', country: 'US', started: 6, approved: 4, conversion: 0.6667 },
      ]),
    );

    // After the cooldown, only verifications started since then count.
    t.clock.advance(901_000);
    expect((await t.api('/v1/verifications', { body: { to: freshNumber('646', '555') } })).status).toBe(201);
    expect((await t.api('/v1/verifications/stats')).body.blocked_prefixes).toEqual([]);
  });
});

const pg = backends.find((b) => b.name === 'postgres');

describe.runIf(pg)('verification limits across two relays on one PostgreSQL database', () => {
  let a: VerifyRelay;
  let b: VerifyRelay;
  beforeAll(async () => {
    const verify = {
      limitNumber: { max: 5, windowS: 600 },
      limitIp: { max: 7, windowS: 3600 },
      limitPrefix: { max: 100_000, windowS: 60 },
      blockMinConversion: 0,
    };
    a = await startVerifyRelay(pg!, 'verify_pg_pair', { verify });
    b = await startVerifyRelay(pg!, 'verify_pg_pair', { verify, shareWith: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  const relays = () => [a, b];

  it('per number: 80 concurrent starts split over both give exactly 5 sends of one verification', async () => {
    const to = freshNumber('415', '571');
    const rs = await Promise.all(Array.from({ length: 80 }, (_, i) => relays()[i % 2].api('/v1/verifications', { body: { to, client_ip: `10.1.${i}.1` } })));
    expect(rs.filter((r) => r.status >= 500)).toEqual([]);
    const ok = rs.filter((r) => r.status === 201);
    expect(ok).toHaveLength(5);
    expect(new Set(ok.map((r) => r.body.id)).size).toBe(1);
    const rows = await sqlOf(a.relay).selectFrom('verifications').selectAll().where('to_addr', '=', to).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0].send_count).toBe(5);
    const msgs = await sqlOf(a.relay).selectFrom('messages').select('id').where('to_addr', '=', to).execute();
    expect(msgs).toHaveLength(5);
  });

  it('per client IP: 60 concurrent starts for different numbers give exactly 7', async () => {
    const rs = await Promise.all(
      Array.from({ length: 60 }, (_, i) => relays()[i % 2].api('/v1/verifications', { body: { to: freshNumber('212', '572'), client_ip: '203.0.113.50' } })),
    );
    expect(rs.filter((r) => r.status >= 500)).toEqual([]);
    expect(rs.filter((r) => r.status === 201)).toHaveLength(7);
    expect(rs.filter((r) => r.status === 429)).toHaveLength(53);
  });

  it('brute force over both relays stops at 5 attempts', async () => {
    const to = freshNumber('646', '573');
    const s = await a.api('/v1/verifications', { body: { to, client_ip: '10.9.9.9' } });
    expect(s.status).toBe(201);
    // Either relay's worker may have sent it, to its own emulator.
    const sms = await waitFor(() => [...a.relay.emulator!.messages({ to }), ...b.relay.emulator!.messages({ to })][0]);
    const code = /(\d{6})/.exec(sms.body)![1];
    const rs = await Promise.all(
      Array.from({ length: 400 }, (_, i) => relays()[i % 2].api('/v1/verifications/check', { body: { id: s.body.id, code: wrongCode(code, i) } })),
    );
    expect(rs.filter((r) => r.status >= 500)).toEqual([]);
    expect(rs.filter((r) => r.status === 200)).toHaveLength(5);
    expect(rs.some((r) => r.body?.status === 'approved')).toBe(false);
    const row = await sqlOf(a.relay).selectFrom('verifications').selectAll().where('id', '=', s.body.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ attempts: 5, status: 'max_attempts_reached' });
  });
});
