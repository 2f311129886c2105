// Lookup v2 line type intelligence through the official client.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, basicAuth, startEmulator, type TestEmulator } from './support.js';

let t: TestEmulator;

beforeAll(async () => {
  t = await startEmulator();
});
afterAll(() => t.close());
afterEach(() => {
  expect(t.drift.splice(0)).toEqual([]);
});

describe('lookup v2', () => {
  it('a US number: valid, national format, line type mobile', async () => {
    const r = await t.client.lookups.v2.phoneNumbers('+14155552671').fetch({ fields: 'line_type_intelligence' });
    expect([r.valid, r.countryCode, r.callingCountryCode, r.nationalFormat, r.phoneNumber]).toEqual([true, 'US', '1', '(415) 555-2671', '+14155552671']);
    expect(r.lineTypeIntelligence).toMatchObject({ type: 'mobile', carrierName: 'smsrelay emulator' });
    expect(r.callerName).toBeNull();
  });

  it('a UK fixed line: landline; a UK mobile: mobile', async () => {
    const fixed = await t.client.lookups.v2.phoneNumbers('+442071838750').fetch({ fields: 'line_type_intelligence' });
    expect(fixed.lineTypeIntelligence).toMatchObject({ type: 'landline' });
    const mobile = await t.client.lookups.v2.phoneNumbers('+447400123456').fetch({ fields: 'line_type_intelligence' });
    expect([mobile.countryCode, (mobile.lineTypeIntelligence as { type: string }).type]).toEqual(['GB', 'mobile']);
  });

  it('reads national numbers with CountryCode and leaves packages not asked for null', async () => {
    const r = await t.client.lookups.v2.phoneNumbers('020 7183 8750').fetch({ countryCode: 'GB' });
    expect(r.phoneNumber).toBe('+442071838750');
    expect(r.lineTypeIntelligence).toBeNull();
  });

  it('invalid numbers: valid false with validation_errors', async () => {
    const short = await t.client.lookups.v2.phoneNumbers('+1415').fetch({ fields: 'line_type_intelligence' });
    expect([short.valid, short.validationErrors, short.lineTypeIntelligence, short.countryCode]).toEqual([false, ['TOO_SHORT'], null, null]);
    const r = await api(t.base, 'GET', '/v2/PhoneNumbers/%2B14155552671', undefined, basicAuth(t.emulator.accountSid, t.emulator.authToken));
    expect(r.body.valid).toBe(true);
    const bad = await t.client.lookups.v2.phoneNumbers('+99912345').fetch();
    expect(bad.validationErrors).toEqual(['INVALID_COUNTRY_CODE']);
  });
});
