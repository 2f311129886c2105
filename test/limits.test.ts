// Sending limits behind the policy port: destination countries, consent mode, tenant enabled,
// per-recipient rolling limits and cooldowns, the daily cap in the tenant's time zone with its
// alerts, and the counts of every refusal and hold. Time is the relay's clock, set per test.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, createSmsRelay } from '../src/main.js';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

describe.each(backends)('sending limits on $name', (backend) => {
  let t: TestRelay;
  // The relay's clock: `base` plus the real time elapsed since it was set.
  let base = Date.now();
  let setAt = Date.now();
  const clock = { now: () => new Date(base + (Date.now() - setAt)) };
  const setClock = (iso: string | number) => {
    base = typeof iso === 'number' ? iso : Date.parse(iso);
    setAt = Date.now();
  };
  const advance = (ms: number) => setClock(clock.now().getTime() + ms);
  let n = 0;
  /** A fresh US mobile number per call, so tests do not share recipient windows. */
  const fresh = () => `+1415555${String(3000 + n++).padStart(4, '0')}`;

  const settings = (patch: Record<string, unknown>) => t.relay.settings.update(t.relay.defaultTenant.id, patch);
  const send = (body: Record<string, unknown>, headers?: Record<string, string>) => t.api('/v1/messages', { body, headers });
  const status = async (id: string) => (await t.api(`/v1/messages/${id}`)).body;
  const stats = async () => (await t.api('/v1/policy/stats')).body;

  beforeAll(async () => {
    t = await startRelay(backend, 'limits', {}, { relay: { clock } });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    setClock(Date.now());
    // Every test starts from the built-in policy.
    await settings({
      recipient_limits: { transactional: null, marketing: { max: 5, per_seconds: 3600 }, otp: null },
      recipient_cooldown_seconds: { transactional: 0, marketing: 0, otp: 0 },
      over_limit: { transactional: 'refuse', marketing: 'refuse', otp: 'refuse' },
      daily_cap: null,
      daily_cap_alert_at: 0.9,
      timezone: 'UTC',
      consent_mode: { transactional: 'opt_out', marketing: 'opt_in', otp: 'opt_out' },
      allowed_countries: null,
    });
  });

  it('sends only to allowed countries: the tenant region by default, naming the refused country', async () => {
    const before = (await t.api('/v1/messages?limit=200')).body.data.length;
    const r = await send({ to: '+447400123456', body: 'hello UK' });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'SMS_ERR_COUNTRY_NOT_ALLOWED', details: { field: 'to', country: 'GB' } });
    expect(r.body.error.message).toContain('GB');
    expect((await t.api('/v1/messages?limit=200')).body.data.length).toBe(before);
    await settings({ allowed_countries: ['US', 'GB'] });
    expect((await send({ to: '+447400123456', body: 'hello UK' })).status).toBe(202);
    expect((await send({ to: '+5511987654321', body: 'olá' })).body.error.details.country).toBe('BR');
    await settings({ allowed_countries: ['*'] });
    expect((await send({ to: '+5511987654321', body: 'olá' })).status).toBe(202);
    expect((await stats()).refused.SMS_ERR_COUNTRY_NOT_ALLOWED).toBe(2);
  });

  it('opt-in categories need a recorded opt-in, which carries its source; an opt-out wins again', async () => {
    const to = fresh();
    const refused = await send({ to, body: 'sale!', category: 'marketing' });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'SMS_ERR_NO_CONSENT', details: { field: 'to', category: 'marketing' } });
    expect((await send({ to, body: 'your receipt' })).status).toBe(202); // transactional stays opt-out
    const optIn = await t.api('/v1/consents', { body: { phone: to, action: 'opt_in', source: 'web_form' } });
    expect(optIn.body.history[0]).toMatchObject({ action: 'opt_in', source: 'web_form' });
    expect((await send({ to, body: 'sale!', category: 'marketing' })).status).toBe(202);
    await t.api('/v1/consents', { body: { phone: to, action: 'opt_out' } });
    expect((await send({ to, body: 'sale!', category: 'marketing' })).body.error.code).toBe('SMS_ERR_RECIPIENT_OPTED_OUT');
    await settings({ consent_mode: { transactional: 'opt_in' } });
    expect((await send({ to: fresh(), body: 'receipt' })).body.error.code).toBe('SMS_ERR_NO_CONSENT');
    expect((await t.api('/v1/consents', { body: { phone: to, action: 'opt_in', source: 'nope' } })).status).toBe(400);
  });

  it('a rolling per-recipient limit answers 429 with Retry-After, per category, and frees up as the window rolls', async () => {
    await settings({ recipient_limits: { transactional: { max: 3, per_seconds: 3600 } } });
    const to = fresh();
    for (let i = 0; i < 3; i++) {
      expect((await send({ to, body: `m${i}` })).status).toBe(202);
      advance(600_000);
    }
    // Sent at T, T+10 min, T+20 min; now T+30 min.
    const over = await send({ to, body: 'one too many' });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'SMS_ERR_RECIPIENT_THROTTLED', details: { field: 'to', category: 'transactional' } });
    const retry = Number(over.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1799);
    expect(retry).toBeLessThanOrEqual(1800);
    // Another recipient, and another category for the same recipient, are not affected.
    expect((await send({ to: fresh(), body: 'other' })).status).toBe(202);
    await t.api('/v1/consents', { body: { phone: to, action: 'opt_in' } });
    expect((await send({ to, body: 'promo', category: 'marketing' })).status).toBe(202);
    advance(retry * 1000);
    const last = await send({ to, body: 'first left the window' });
    expect(last.status).toBe(202);
    expect((await send({ to, body: 'full again' })).status).toBe(429);
    // Sent before the next test turns the clock back.
    await waitFor(async () => (await status(last.body.id)).status === 'delivered');
  });

  it("a recipient's window is one row holding a limit's worth of sends, forgotten once spent or when the number is erased", async () => {
    await settings({ recipient_limits: { transactional: { max: 2, per_seconds: 3600 } } });
    const windowOf = async (to: string) => {
      const rows = await sqlOf(t.relay).selectFrom('recipient_windows').selectAll().where('key', 'like', `%:${to}`).execute();
      return rows.map((r) => ({ events: JSON.parse(r.events) as number[], expires_at: Number(r.expires_at) }));
    };
    const to = fresh();
    const times: number[] = [];
    for (let i = 0; i < 2; i++) {
      times.unshift(clock.now().getTime());
      expect((await send({ to, body: `m${i}` })).status).toBe(202);
      advance(3_000_000);
    }
    // T, T+50 min: the second send's window ends an hour after it.
    let [w] = await windowOf(to);
    expect(w!.events).toHaveLength(2);
    expect(w!.events[0]! - w!.events[1]!).toBeGreaterThanOrEqual(3_000_000);
    expect(w!.expires_at).toBe(w!.events[0]! + 3_600_000);
    // At T+100 min the first has left the window: a third send fits, and the row keeps only two.
    expect((await send({ to, body: 'm2' })).status).toBe(202);
    [w] = await windowOf(to);
    expect(w!.events).toHaveLength(2);
    // …the second send's (the first's time is gone).
    expect(w!.events[1]).toBeGreaterThanOrEqual(times[0]!);
    expect(w!.events[1]).toBeLessThan(times[0]! + 60_000);
    // Housekeeping forgets a spent window, not a live one.
    const other = fresh();
    expect((await send({ to: other, body: 'x' })).status).toBe(202);
    advance(3_600_001);
    expect((await send({ to: fresh(), body: 'y' })).status).toBe(202);
    expect(await t.relay.repos.counters.pruneWindows(clock.now().getTime())).toBeGreaterThanOrEqual(2);
    expect(await windowOf(to)).toEqual([]);
    expect(await windowOf(other)).toEqual([]);
    // An erased number leaves no window behind.
    const erased = fresh();
    expect((await send({ to: erased, body: 'z' })).status).toBe(202);
    expect(await windowOf(erased)).toHaveLength(1);
    expect((await t.api(`/v1/contacts/${encodeURIComponent(erased)}/erase`, { method: 'POST' })).status).toBe(200);
    expect(await windowOf(erased)).toEqual([]);
  });

  it('a cooldown spaces messages to one recipient; OTP is exempt', async () => {
    await settings({ recipient_cooldown_seconds: { transactional: 120, otp: 600 } });
    const to = fresh();
    expect((await send({ to, body: 'a' })).status).toBe(202);
    advance(30_000);
    const r = await send({ to, body: 'b' });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBe(90);
    const tenant = t.relay.defaultTenant;
    await t.relay.messages.send(tenant, { to, body: 'code 1' }, { category: 'otp' });
    await t.relay.messages.send(tenant, { to, body: 'code 2' }, { category: 'otp' });
    advance(90_000);
    const last = await send({ to, body: 'c' });
    expect(last.status).toBe(202);
    await waitFor(async () => (await status(last.body.id)).status === 'delivered');
  });

  it("over_limit 'defer' holds the message until allowed; the worker sends it then, counted once", async () => {
    // A day of its own, once earlier tests' messages are out (one dispatched at this time would count on it).
    await waitFor(async () => (await t.api('/v1/messages?status=pending')).body.data.length === 0);
    setClock('2026-08-10T12:00:00Z');
    await settings({ recipient_limits: { transactional: { max: 1, per_seconds: 60 } }, over_limit: { transactional: 'defer' }, daily_cap: 100 });
    const to = fresh();
    const first = await send({ to, body: 'now' });
    const held = await send({ to, body: 'later' }, { 'idempotency-key': 'defer-held' });
    expect(held.status).toBe(202);
    expect(held.body).toMatchObject({ status: 'scheduled', hold_reason: 'recipient_limit' });
    // Its replay is the held answer.
    const replayed = await send({ to, body: 'later' }, { 'idempotency-key': 'defer-held' });
    expect(replayed.body).toEqual(held.body);
    expect(Date.parse(held.body.send_at) - clock.now().getTime()).toBeGreaterThan(58_000);
    await waitFor(async () => (await status(first.body.id)).status === 'delivered');
    advance(61_000);
    await waitFor(async () => (await status(held.body.id)).status === 'delivered');
    // Each message counted once against the cap: at accept for the first, at dispatch for the held one.
    expect((await stats()).sent).toBe(2);
    expect((await stats()).held.recipient_limit).toBe(1);
  });

  it('the daily cap counts per day in the tenant zone east of the date line, alerts once, and resets at its midnight', async () => {
    // 09:30 UTC is 23:30 in Kiritimati (UTC+14): 30 minutes before its midnight.
    setClock('2026-03-10T09:30:00Z');
    await settings({ daily_cap: 5, daily_cap_alert_at: 0.6, timezone: 'Pacific/Kiritimati' });
    for (let i = 0; i < 5; i++) expect((await send({ to: fresh(), body: `c${i}` })).status).toBe(202);
    const over = await send({ to: fresh(), body: 'over' });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'SMS_ERR_DAILY_CAP_REACHED', details: { cap: 5, day: '2026-03-10' } });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1799);
    expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(1800);
    expect((await send({ to: fresh(), body: 'over again' })).status).toBe(429);
    const alerts = (await t.api('/v1/alerts')).body.data.filter((a: { day: string }) => a.day === '2026-03-10');
    expect(alerts.map((a: { kind: string }) => a.kind).sort()).toEqual(['usage.cap_reached', 'usage.cap_threshold']);
    expect(alerts.find((a: { kind: string }) => a.kind === 'usage.cap_threshold').data).toMatchObject({ cap: 5, count: 3 });
    // Each alert is also an event for the host application (webhooks, the event log), once.
    const events = (await t.api('/v1/events?type=usage.*')).body.data.filter((e: { data: { day: string } }) => e.data.day === '2026-03-10');
    expect(events.map((e: { type: string }) => e.type).sort()).toEqual(['usage.cap_reached', 'usage.cap_threshold']);
    expect(events.find((e: { type: string }) => e.type === 'usage.cap_threshold').data).toMatchObject({ cap: 5, count: 3, day: '2026-03-10' });
    // The usage report shows today's cap state.
    expect((await t.api('/v1/usage')).body.cap).toMatchObject({
      day: '2026-03-10',
      timezone: 'Pacific/Kiritimati',
      daily_cap: 5,
      used: 5,
      threshold_reached: true,
      cap_reached: true,
    });
    expect(await stats()).toMatchObject({
      day: '2026-03-10',
      timezone: 'Pacific/Kiritimati',
      sent: 5,
      daily_cap: 5,
      refused: { SMS_ERR_DAILY_CAP_REACHED: 2 },
    });
    setClock('2026-03-10T10:00:00Z'); // midnight in Kiritimati
    expect((await send({ to: fresh(), body: 'new day' })).status).toBe(202);
    expect((await stats()).day).toBe('2026-03-11');
  });

  it('west of the date line (Pago Pago) and on a DST day (New York) the reset is that zone’s midnight', async () => {
    // 09:30 UTC is 22:30 the day before in Pago Pago (UTC-11): 90 minutes to midnight.
    setClock('2026-04-10T09:30:00Z');
    await settings({ daily_cap: 1, timezone: 'Pacific/Pago_Pago' });
    expect((await send({ to: fresh(), body: 'one' })).status).toBe(202);
    let over = await send({ to: fresh(), body: 'two' });
    expect(over.body.error.details.day).toBe('2026-04-09');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(5399);
    expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(5400);
    // 2026-03-08 in New York has 23 hours: at 08:00 EDT its midnight is 16 hours away, not 17.
    setClock('2026-03-08T12:00:00Z');
    await settings({ timezone: 'America/New_York' });
    expect((await send({ to: fresh(), body: 'one' })).status).toBe(202);
    over = await send({ to: fresh(), body: 'two' });
    expect(over.body.error.details).toMatchObject({ day: '2026-03-08', resets_at: '2026-03-09T04:00:00.000Z' });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(16 * 3600 - 1);
    expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(16 * 3600);
  });

  it('a cap reached while a message waited holds it until the reset; then it is sent', async () => {
    setClock('2026-05-10T22:00:00Z');
    await settings({ daily_cap: 1 });
    const scheduled = await send({ to: fresh(), body: 'scheduled', send_at: new Date(clock.now().getTime() + 1000).toISOString() });
    expect(scheduled.body.status).toBe('scheduled');
    // Not counted at accept (it is sent later): the cap still has room for this one.
    expect((await send({ to: fresh(), body: 'now' })).status).toBe(202);
    const held = await waitFor(async () => {
      const m = await status(scheduled.body.id);
      return m.hold_reason === 'daily_cap' ? m : null;
    });
    expect(held).toMatchObject({ status: 'scheduled', send_at: '2026-05-11T00:00:00.000Z' });
    const events = (await t.api(`/v1/messages/${scheduled.body.id}/events`)).body.data;
    expect(events.some((e: { data: { reason?: string } | null }) => e.data?.reason === 'daily_cap')).toBe(true);
    setClock('2026-05-11T00:00:01Z');
    await waitFor(async () => (await status(scheduled.body.id)).status === 'delivered');
  });

  it('re-checking at dispatch does not count a message twice; an idempotent replay is not counted again', async () => {
    setClock('2026-06-10T12:00:00Z');
    await settings({ daily_cap: 2 });
    const a = await send({ to: fresh(), body: 'a' }, { 'idempotency-key': 'cap-a' });
    const b = await send({ to: fresh(), body: 'b' });
    await waitFor(async () => (await status(a.body.id)).status === 'delivered' && (await status(b.body.id)).status === 'delivered');
    expect((await stats()).sent).toBe(2);
    const replay = await send({ to: a.body.to, body: 'a' }, { 'idempotency-key': 'cap-a' });
    expect(replay.status).toBe(202);
    expect(replay.body.id).toBe(a.body.id);
    // A refused request keeps no key: its retry is judged anew (and sent once the cap allows).
    const to = fresh();
    expect((await send({ to, body: 'c' }, { 'idempotency-key': 'cap-c' })).status).toBe(429);
    await settings({ daily_cap: 3 });
    const retried = await send({ to, body: 'c' }, { 'idempotency-key': 'cap-c' });
    expect(retried.status).toBe(202);
    expect(retried.body.status).toBe('pending');
    await waitFor(async () => (await status(retried.body.id)).status === 'delivered');
  });

  it('a disabled tenant: sends refused, queued messages held (not failed), sent once enabled again', async () => {
    const tenant = t.relay.defaultTenant;
    const queued = await send({ to: fresh(), body: 'queued', send_at: new Date(clock.now().getTime() + 1500).toISOString() });
    await t.relay.tenants.setEnabled(tenant.id, false);
    try {
      const r = await send({ to: fresh(), body: 'while disabled' });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('SMS_ERR_TENANT_DISABLED');
      const held = await waitFor(async () => {
        const m = await status(queued.body.id);
        return m.hold_reason === 'tenant_disabled' ? m : null;
      });
      expect(held.status).toBe('scheduled');
    } finally {
      await t.relay.tenants.setEnabled(tenant.id, true);
    }
    advance(61_000);
    await waitFor(async () => (await status(queued.body.id)).status === 'delivered');
  });

  it('bad limits are refused naming the field, and nothing of the patch is saved', async () => {
    const before = await t.relay.settings.get(t.relay.defaultTenant.id);
    const err = await settings({
      daily_cap: -1,
      timezone: 'Mars/Olympus_Mons',
      recipient_limits: { marketing: { max: 0, per_seconds: 60 } },
      recipient_cooldown_seconds: { sms: 5 },
      over_limit: { transactional: 'drop' },
      allowed_countries: ['usa'],
      daily_cap_alert_at: 1.5,
      consent_mode: 'opt_in',
    }).catch((e) => e);
    expect(err.code).toBe('SMS_ERR_VALIDATION');
    expect(err.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'allowed_countries',
      'consent_mode',
      'daily_cap',
      'daily_cap_alert_at',
      'over_limit.transactional',
      'recipient_cooldown_seconds',
      'recipient_limits.marketing',
      'timezone',
    ]);
    expect(await t.relay.settings.get(t.relay.defaultTenant.id)).toEqual(before);
    // A patch by category keeps the other categories.
    await settings({ recipient_limits: { transactional: { max: 9, per_seconds: 60 } } });
    expect((await t.relay.settings.get(t.relay.defaultTenant.id)).recipient_limits).toEqual({
      transactional: { max: 9, per_seconds: 60 },
      marketing: { max: 5, per_seconds: 3600 },
      otp: null,
    });
  });

  it('alerts and stats need the alerts:read scope and are the tenant’s own', async () => {
    const other = await t.relay.tenants.create({ slug: `other-${backend.name}`, name: 'Other' });
    const { key } = await t.relay.apiKeys.create(other.id, 'other', ['alerts:read']);
    const theirs = await t.api('/v1/alerts', { key });
    expect(theirs.status).toBe(200);
    expect(theirs.body.data).toEqual([]);
    expect((await t.api('/v1/policy/stats', { key })).body).toMatchObject({ sent: 0, refused: {}, held: {} });
    const { key: writer } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'writer', ['messages:write']);
    expect((await t.api('/v1/alerts', { key: writer })).status).toBe(403);
    expect((await t.api('/v1/policy/stats?day=yesterday')).status).toBe(400);
  });

  it('two relays on one database never let one over the cap or the per-recipient limit', async () => {
    const second = await createSmsRelay(
      { databaseUrl: t.relay.config.databaseUrl, logLevel: 'silent', worker: { enabled: false } },
      { schema: t.schema, clock, logger: createLogger('silent') },
    );
    try {
      setClock('2026-07-10T12:00:00Z');
      await settings({ daily_cap: 12, recipient_limits: { transactional: { max: 5, per_seconds: 3600 } } });
      second.settings.invalidate();
      const to = fresh();
      const tenant = t.relay.defaultTenant;
      const attempt = (relay: typeof second, i: number, recipient: string) =>
        relay.messages.send(tenant, { to: recipient, body: `race ${i}` }).then(
          () => 'ok',
          (e: { code?: string }) => e.code ?? 'error',
        );
      // 20 concurrent sends to one recipient: its limit (5) holds across both relays.
      const same = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i % 2 ? second : t.relay, i, to)));
      expect(same.filter((r) => r === 'ok')).toHaveLength(5);
      expect(same.filter((r) => r === 'SMS_ERR_RECIPIENT_THROTTLED')).toHaveLength(15);
      // 20 more to different recipients: the cap (12, 5 used) lets exactly 7 through.
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i % 2 ? second : t.relay, i, fresh())));
      expect(many.filter((r) => r === 'ok')).toHaveLength(7);
      expect(many.filter((r) => r === 'SMS_ERR_DAILY_CAP_REACHED')).toHaveLength(13);
      expect((await stats()).sent).toBe(12);
    } finally {
      await second.close();
    }
  });
});
