// GET /v1/lookups/:phone: offline facts from libphonenumber, and Twilio Lookup v2's line type
// through the provider (the emulator), paid for once per number: the second call is served from the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { startRelay, type TestRelay } from './support/relay.js';

describe.each(backends)('lookups on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'lookups', {}, { worker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers offline facts without asking the provider', async () => {
    const r = await t.api('/v1/lookups/%2B41431234567');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      input: '+41431234567',
      valid: true,
      e164: '+41431234567',
      national_format: '043 123 45 67',
      country: 'CH',
      number_type: 'fixed_line',
      time_zones: ['Europe/Zurich'],
    });
    expect(r.body.line_type_intelligence).toBeUndefined();
    const mobile = await t.api('/v1/lookups/%2B8619912345678');
    expect(mobile.body).toMatchObject({ valid: true, country: 'CN', number_type: 'mobile', carrier: 'China Telecom', time_zones: ['Asia/Shanghai'] });
    // National format in the tenant's default region (US).
    const national = await t.api(`/v1/lookups/${encodeURIComponent('(415) 555-0100')}`);
    expect(national.body).toMatchObject({ valid: true, e164: '+14155550100', country: 'US' });
    expect(t.relay.emulator!.lookupCount('+41431234567')).toBe(0);
  });

  it('says invalid for a number that is not one, and never pays for it', async () => {
    for (const raw of ['+1234', 'hello', '+999999999999', '💥']) {
      const r = await t.api(`/v1/lookups/${encodeURIComponent(raw)}?fields=line_type_intelligence`);
      expect(r.status, raw).toBe(200);
      expect(r.body).toMatchObject({ input: raw, valid: false, country: null, time_zones: [] });
      expect(r.body.line_type_intelligence).toBeUndefined();
    }
    const long = await t.api(`/v1/lookups/${'1'.repeat(65)}`);
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('SMS_ERR_VALIDATION');
    const bad = await t.api('/v1/lookups/%2B14155550100?fields=caller_name');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('fields');
  });

  it('adds Twilio line type intelligence through the provider, cached per number', async () => {
    const n = '+14155550177';
    const first = await t.api(`/v1/lookups/${encodeURIComponent(n)}?fields=line_type_intelligence`);
    expect(first.status).toBe(200);
    expect(first.body.line_type_intelligence).toMatchObject({ type: 'mobile', carrier_name: 'smsrelay emulator', cached: false });
    expect(t.relay.emulator!.lookupCount(n)).toBe(1);
    const second = await t.api(`/v1/lookups/${encodeURIComponent(n)}?fields=line_type_intelligence`);
    expect(second.body.line_type_intelligence).toMatchObject({ type: 'mobile', cached: true, fetched_at: first.body.line_type_intelligence.fetched_at });
    expect(t.relay.emulator!.lookupCount(n)).toBe(1);
    // The paid call is timed like every provider call.
    expect(await t.relay.metrics.render()).toMatch(/^smsrelay_provider_call_duration_seconds_count\{[^}]*operation="lookup"[^}]*\} 1$/m);
    // Another tenant pays for its own lookup (its account, its cache).
    const other = await t.relay.tenants.create({ slug: `lk-${backend.name}`, name: 'Other' });
    const { key } = await t.relay.apiKeys.create(other.id, 'lookups', ['lookups:read']);
    const theirs = await t.api(`/v1/lookups/${encodeURIComponent(n)}?fields=line_type_intelligence`, { key });
    expect(theirs.body.line_type_intelligence.cached).toBe(false);
    expect(t.relay.emulator!.lookupCount(n)).toBe(2);
    const { key: noScope } = await t.relay.apiKeys.create(other.id, 'msgs', ['messages:read']);
    expect((await t.api(`/v1/lookups/${encodeURIComponent(n)}`, { key: noScope })).status).toBe(403);
  });

  it('refuses line type intelligence when sending is disabled', async () => {
    const off = await startRelay(backend, 'lookups-off', { provider: 'disabled' }, { worker: false });
    try {
      const r = await off.api('/v1/lookups/%2B14155550100?fields=line_type_intelligence');
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('SMS_ERR_LOOKUP_UNAVAILABLE');
      expect((await off.api('/v1/lookups/%2B14155550100')).body.valid).toBe(true);
    } finally {
      await off.close();
    }
  });
});
