// Verification codes over real sockets: the same behaviour table for the local backend and for
// Twilio Verify (the embedded emulator), on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlOf } from './support/db.js';
import { backends } from './support/backends.js';
import { freshNumber, SECRET, startVerifyRelay, wrongCode, type VerifyRelay } from './support/verify.js';

const TTL_S = 600;
const table = backends.flatMap((db) => (['local', 'twilio'] as const).map((verifyBackend) => ({ db, verifyBackend, name: `${verifyBackend} on ${db.name}` })));

async function waitForRow<T extends { provider_sid: string | null }>(get: () => Promise<T>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const r = await get();
    if (r.provider_sid) return r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('message was not sent');
}

describe.each(table)('verifications: $name', ({ db, verifyBackend }) => {
  let t: VerifyRelay;
  beforeAll(async () => {
    // Only the per-number limit (the 5 per 10 minutes) applies here; limits have their own file.
    t = await startVerifyRelay(db, `verify_${verifyBackend}`, {
      verifyBackend,
      verify: {
        limitIp: { max: 100_000, windowS: 60 },
        limitPrefix: { max: 100_000, windowS: 60 },
        limitTenant: { max: 100_000, windowS: 60 },
        blockMinConversion: 0,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function start(to: string, extra: Record<string, unknown> = {}) {
    const seen = t.inbox(to);
    const r = await t.api('/v1/verifications', { body: { to, ...extra } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { id: r.body.id as string, code: await t.codeFor(to, seen), body: r.body };
  }

  it('starts (201), delivers a code, answers a wrong code with pending, approves the right one once', async () => {
    const to = freshNumber();
    const before = Date.now();
    const { id, code, body } = await start(to);
    expect(body).toEqual({ id, to, channel: 'sms', status: 'pending', expires_at: expect.any(String), send_count: 1 });
    const expiresIn = Date.parse(body.expires_at) - before;
    expect(expiresIn).toBeGreaterThan((TTL_S - 5) * 1000);
    expect(expiresIn).toBeLessThanOrEqual((TTL_S + 5) * 1000);
    expect(code).toMatch(/^\d{6}$/);

    const wrong = await t.api('/v1/verifications/check', { body: { id, code: wrongCode(code) } });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({ id, status: 'pending', attempts_left: 4 });

    const ok = await t.api('/v1/verifications/check', { body: { id, code } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ id, status: 'approved', attempts_left: 3 });

    // Single use: the approved code (or any other) is refused afterwards.
    const reuse = await t.api('/v1/verifications/check', { body: { id, code } });
    expect(reuse.status).toBe(404);
    expect(reuse.body.error).toMatchObject({ code: 'SMS_ERR_VERIFICATION_NOT_FOUND', details: { id, status: 'approved' } });
    expect((await t.api('/v1/verifications/check', { body: { to, code } })).status).toBe(404);

    const g = await t.api(`/v1/verifications/${id}`);
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({ id, to, status: 'approved', send_count: 1, attempts_left: 3, approved_at: expect.any(String) });
    // GET never carries the code or its hash.
    const text = JSON.stringify(g.body);
    expect(text).not.toContain(code);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    expect(Object.keys(g.body)).not.toEqual(expect.arrayContaining(['code']));
  });

  it('checks by number, and through the seed-compatible aliases', async () => {
    const to = freshNumber();
    const seen = t.inbox(to);
    const s = await t.api('/api/sms/verify/start/', { body: { to_phone: to.replace('+1', '') } });
    expect(s.status).toBe(201);
    expect(s.body).toMatchObject({ to, status: 'pending', send_count: 1 });
    const code = await t.codeFor(to, seen);
    const wrong = await t.api('/api/sms/verify/check/', { body: { to_phone: to, code: wrongCode(code) } });
    expect(wrong.body).toEqual({ id: s.body.id, status: 'pending', attempts_left: 4 });
    const ok = await t.api('/v1/verifications/check', { body: { to: `(${to.slice(2, 5)}) ${to.slice(5, 8)}-${to.slice(8)}`, code } });
    expect(ok.body).toEqual({ id: s.body.id, status: 'approved', attempts_left: 3 });
  });

  it('brute force: 1,000 parallel wrong codes never approve and stop after 5 attempts', async () => {
    const to = freshNumber();
    const { id, code } = await start(to);
    const results: { status: number; body: any }[] = [];
    // 1,000 requests, 200 in flight at a time.
    for (let round = 0; round < 5; round++) {
      results.push(
        ...(await Promise.all(
          Array.from({ length: 200 }, (_, i) => t.api('/v1/verifications/check', { body: { id, code: wrongCode(code, round * 200 + i) } })),
        )),
      );
    }
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.some((r) => r.body?.status === 'approved')).toBe(false);
    const answered = results.filter((r) => r.status === 200);
    expect(answered).toHaveLength(5);
    expect(answered.map((r) => r.body).filter((b) => b.status === 'max_attempts_reached')).toEqual([{ id, status: 'max_attempts_reached', attempts_left: 0 }]);
    expect(results.filter((r) => r.status === 404)).toHaveLength(995);
    const row = await sqlOf(t.relay).selectFrom('verifications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.attempts).toBe(5);
    expect(row.status).toBe('max_attempts_reached');
    // Even the right code is refused now, and a new start for the number stays locked until expiry.
    expect((await t.api('/v1/verifications/check', { body: { id, code } })).status).toBe(404);
    const again = await t.api('/v1/verifications', { body: { to } });
    expect(again.status).toBe(429);
    expect(again.body.error.details.limit).toBe('max_attempts');
  });

  it('expires after the TTL (controllable clock): the right code is refused and GET says expired', async () => {
    const to = freshNumber();
    const { id, code } = await start(to);
    t.clock.advance(TTL_S * 1000 + 1000);
    const r = await t.api('/v1/verifications/check', { body: { id, code } });
    expect(r.status).toBe(404);
    expect(r.body.error.details).toEqual({ id, status: 'expired' });
    expect((await t.api(`/v1/verifications/${id}`)).body.status).toBe('expired');
    // A new start after expiry is a new verification.
    const next = await start(to);
    expect(next.id).not.toBe(id);
    expect(next.body.send_count).toBe(1);
  });

  it('resends keep the verification; the 6th send in 10 minutes is refused with 429 and sends nothing', async () => {
    const to = freshNumber();
    const first = await start(to);
    let last = first;
    for (let n = 2; n <= 5; n++) {
      last = await start(to);
      expect(last.id).toBe(first.id);
      expect(last.body.send_count).toBe(n);
    }
    if (verifyBackend === 'local') expect(last.code).not.toBe(first.code);
    const inbox = t.inbox(to);
    const sixth = await t.api('/v1/verifications', { body: { to } });
    expect(sixth.status).toBe(429);
    expect(sixth.body.error.code).toBe('SMS_ERR_RATE_LIMITED');
    const retryAfter = Number(sixth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(TTL_S);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.inbox(to)).toBe(inbox);
    // Local resends replace the code; Twilio resends the same one. Either way the latest code works.
    if (verifyBackend === 'local') {
      expect((await t.api('/v1/verifications/check', { body: { id: first.id, code: first.code } })).body.status).toBe('pending');
    }
    expect((await t.api('/v1/verifications/check', { body: { id: first.id, code: last.code } })).body.status).toBe('approved');
  });

  it('of two parallel checks with the right code, exactly one is approved', async () => {
    for (let round = 0; round < 5; round++) {
      const to = freshNumber();
      const { id, code } = await start(to);
      const rs = await Promise.all([0, 1, 2].map(() => t.api('/v1/verifications/check', { body: { id, code } })));
      expect(rs.filter((r) => r.status === 200 && r.body.status === 'approved')).toHaveLength(1);
      expect(rs.filter((r) => r.status === 404)).toHaveLength(2);
    }
  });

  it('cancels a pending verification; then checks are 404 and a second cancel is 409', async () => {
    const to = freshNumber();
    const { id, code } = await start(to);
    const c = await t.api(`/v1/verifications/${id}/cancel`, { method: 'POST' });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ id, status: 'canceled' });
    expect((await t.api('/v1/verifications/check', { body: { id, code } })).status).toBe(404);
    const again = await t.api(`/v1/verifications/${id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SMS_ERR_INVALID_STATE');
  });

  it('enforces the country allow-list (default: the tenant region only)', async () => {
    const br = '+5511987654321';
    const r = await t.api('/v1/verifications', { body: { to: br } });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'SMS_ERR_COUNTRY_NOT_ALLOWED', details: { country: 'BR' } });
    expect(t.inbox(br)).toBe(0);
    const settings = JSON.parse((await t.relay.repos.tenants.byId(t.relay.defaultTenant.id))!.settings);
    await t.setSettings({ ...settings, verify_allowed_countries: ['US', 'BR'] });
    try {
      const { body } = await start(br, { locale: 'pt-BR' });
      expect(body.to).toBe(br);
      if (verifyBackend === 'local') {
        expect(t.relay.emulator!.messages({ to: br }).at(-1)!.body).toMatch(/^Seu código smsrelay é \d{6}\. Ele expira em 10 minutos\. Não o compartilhe\.$/);
      }
    } finally {
      await t.setSettings(settings);
    }
  });

  it.each([
    ['no to', {}, 400, 'SMS_ERR_VALIDATION'],
    ['empty to', { to: '' }, 400, 'SMS_ERR_INVALID_PHONE'],
    ['to of the wrong type', { to: { a: 1 } }, 400, 'SMS_ERR_VALIDATION'],
    ['letters', { to: 'call me' }, 400, 'SMS_ERR_INVALID_PHONE'],
    ['unicode digits', { to: '+１４１５５５５２６７１' }, 400, 'SMS_ERR_INVALID_PHONE'],
    ['huge to', { to: '+1'.padEnd(5000, '5') }, 400, 'SMS_ERR_VALIDATION'],
    ['fixed line', { to: '+442071838750' }, 422, 'SMS_ERR_NOT_MOBILE'],
    ['bad channel', { to: '+14155550100', channel: 'voice' }, 400, 'SMS_ERR_VALIDATION'],
    ['code_length 3', { to: '+14155550100', code_length: 3 }, 400, 'SMS_ERR_VALIDATION'],
    ['code_length 11', { to: '+14155550100', code_length: 11 }, 400, 'SMS_ERR_VALIDATION'],
    ['code_length 6.5', { to: '+14155550100', code_length: 6.5 }, 400, 'SMS_ERR_VALIDATION'],
    ['unsupported locale', { to: '+14155550100', locale: 'fr' }, 400, 'SMS_ERR_VALIDATION'],
    ['bad client_ip', { to: '+14155550100', client_ip: '999.1.1.1' }, 400, 'SMS_ERR_VALIDATION'],
    ['unknown field', { to: '+14155550100', code: '123456' }, 400, 'SMS_ERR_VALIDATION'],
  ])('start rejects %s with a registry error and sends nothing', async (_n, payload, status, code) => {
    const before = await sqlOf(t.relay)
      .selectFrom('verifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const r = await t.api('/v1/verifications', { body: payload });
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    const after = await sqlOf(t.relay)
      .selectFrom('verifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it.each([
    ['no code', { id: 'x' }, 400, 'SMS_ERR_VALIDATION'],
    ['no id and no to', { code: '123456' }, 400, 'SMS_ERR_VALIDATION'],
    ['letters in the code', { to: '+14155550100', code: 'abcdef' }, 400, 'SMS_ERR_VALIDATION'],
    ['short code', { to: '+14155550100', code: '123' }, 400, 'SMS_ERR_VALIDATION'],
    ['long code', { to: '+14155550100', code: '12345678901' }, 400, 'SMS_ERR_VALIDATION'],
    ['unicode code', { to: '+14155550100', code: '١٢٣٤٥٦' }, 400, 'SMS_ERR_VALIDATION'],
    ['code object', { to: '+14155550100', code: { $gt: '' } }, 400, 'SMS_ERR_VALIDATION'],
    ['unknown id', { id: '01890000-0000-7000-8000-000000000000', code: '123456' }, 404, 'SMS_ERR_VERIFICATION_NOT_FOUND'],
    ['number never verified', { to: '+14155550199', code: '123456' }, 404, 'SMS_ERR_VERIFICATION_NOT_FOUND'],
    ['bad number', { to: 'nope', code: '123456' }, 400, 'SMS_ERR_INVALID_PHONE'],
  ])('check rejects %s', async (_n, payload, status, code) => {
    const r = await t.api('/v1/verifications/check', { body: payload });
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
  });

  it('answers malformed, empty and non-JSON bodies and unknown ids with registry errors', async () => {
    for (const path of ['/v1/verifications', '/v1/verifications/check', '/api/sms/verify/start/', '/api/sms/verify/check/']) {
      const malformed = await t.api(path, { rawBody: '{"to": "+1415', headers: { 'content-type': 'application/json' } });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('SMS_ERR_MALFORMED_BODY');
      const empty = await t.api(path, { rawBody: '', headers: { 'content-type': 'application/json' } });
      expect(empty.status).toBe(400);
      const arr = await t.api(path, { body: [1, 2] });
      expect(arr.status).toBe(400);
      const huge = await t.api(path, { body: { to: 'x'.repeat(200_000) } });
      expect(huge.status).toBe(413);
    }
    const g = await t.api('/v1/verifications/does-not-exist');
    expect(g.status).toBe(404);
    expect(g.body.error.code).toBe('SMS_ERR_VERIFICATION_NOT_FOUND');
    expect((await t.api(`/v1/verifications/${'x'.repeat(65)}`)).status).toBe(400);
    expect((await t.api('/v1/verifications/nope/cancel', { method: 'POST' })).status).toBe(404);
  });

  it('needs the verify scopes', async () => {
    const { key: msgKey } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'msg', ['messages:write']);
    expect((await t.api('/v1/verifications', { key: msgKey, body: { to: freshNumber() } })).status).toBe(403);
    const { key: reader } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'reader', ['verify:read']);
    expect((await t.api('/v1/verifications/check', { key: reader, body: { id: 'x', code: '123456' } })).status).toBe(403);
    expect((await t.api('/v1/verifications/stats', { key: reader })).status).toBe(200);
    expect((await t.api('/v1/verifications', { key: null, body: { to: freshNumber() } })).status).toBe(401);
  });

  it('reports conversion per country and prefix', async () => {
    const r = await t.api('/v1/verifications/stats');
    expect(r.status).toBe(200);
    expect(r.body.total.started).toBeGreaterThan(0);
    expect(r.body.total.approved).toBeGreaterThan(0);
    expect(r.body.total.conversion).toBeCloseTo(r.body.total.approved / r.body.total.started, 3);
    expect(r.body.countries.find((c: { country: string }) => c.country === 'US')).toMatchObject({ started: expect.any(Number), approved: expect.any(Number) });
    expect(r.body.prefixes.find((p: { prefix: string }) => p.prefix === '+1415555')).toMatchObject({ country: 'US' });
    expect(r.body.blocked_prefixes).toEqual([]);
    expect((await t.api('/v1/verifications/stats?since=yesterday')).status).toBe(400);
    expect((await t.api('/v1/verifications/stats?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z')).status).toBe(400);
  });

  it('never writes codes, their hashes or the secret to the log', async () => {
    const to = freshNumber();
    const { id, code } = await start(to);
    await t.api('/v1/verifications/check', { body: { id, code: wrongCode(code) } });
    await t.api('/v1/verifications/check', { body: { id, code } });
    const row = await sqlOf(t.relay).selectFrom('verifications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const log = t.logs.join('');
    expect(log).not.toMatch(new RegExp(`\\b${code}\\b`));
    expect(log).not.toContain(SECRET);
    if (row.code_hash) expect(log).not.toContain(row.code_hash);
    expect(row.code_hash === null).toBe(verifyBackend === 'twilio');
  });

  it('never shows the code in the message log, and erases it once the provider has it', async () => {
    const to = freshNumber();
    const { code } = await start(to);
    const list = await t.api(`/v1/messages?to=${encodeURIComponent(to)}`);
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(code);
    if (verifyBackend === 'local') {
      expect(list.body.data[0].body).toBe('[redacted]');
      // Verification codes are their own category: exempt from quiet hours and cooldowns, not from caps.
      expect(list.body.data[0].category).toBe('otp');
      const row = await waitForRow(() =>
        sqlOf(t.relay).selectFrom('messages').select(['body', 'provider_sid']).where('to_addr', '=', to).executeTakeFirstOrThrow(),
      );
      expect(row.body).toBeNull();
    }
  });
});
