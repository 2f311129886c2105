// The Twilio Verify adapter (TwilioProvider.verify, the VerifyProvider port) against the emulator
// over HTTP, and how the provider backend turns its failures into registry errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import { ProviderError, type VerificationRecord, type VerifyProvider } from '../src/ports.js';
import { TwilioProvider } from '../src/providers/twilio.js';
import { mapVerifyError, ProviderVerifyBackend } from '../src/services/verifications/provider-backend.js';
import { api, startEmulator, type TestEmulator } from './emulator/support.js';

const PHONE = '+14155552671';
let t: TestEmulator;
let verify: VerifyProvider;

beforeAll(async () => {
  t = await startEmulator();
  verify = new TwilioProvider({ accountSid: t.emulator.accountSid, authToken: t.emulator.authToken, apiBaseUrl: t.base }).verify;
});
afterAll(() => t.close());

const newService = async () => (await t.client.verify.v2.services.create({ friendlyName: 'Acme' })).sid;

async function codeInInbox(to = PHONE): Promise<string> {
  const r = await api(t.base, 'GET', `/emulator/api/messages/latest?to=${encodeURIComponent(to)}`);
  return /verification code is: (\d+)$/.exec(r.body.body as string)![1]!;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
}

describe('TwilioProvider.verify', () => {
  it('starts, answers wrong and approved, then gone', async () => {
    const service = await newService();
    const { sid } = await verify.start(service, { to: PHONE, channel: 'sms', locale: 'en' });
    expect(sid).toMatch(/^VE[0-9a-f]{32}$/);
    const code = await codeInInbox();
    expect(await verify.check(service, sid, code === '000000' ? '111111' : '000000')).toBe('wrong');
    expect(await verify.check(service, sid, code)).toBe('approved');
    expect(await verify.check(service, sid, code)).toBe('gone');
  });

  it('answers locked after the provider counted too many checks (60202)', async () => {
    const service = await newService();
    const { sid } = await verify.start(service, { to: '+14155552672', channel: 'sms', locale: 'en' });
    const code = await codeInInbox('+14155552672');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expect(await verify.check(service, sid, wrong)).toBe('wrong');
    expect(await verify.check(service, sid, code)).toBe('locked');
  });

  it('cancels; canceling what the provider no longer has succeeds', async () => {
    const service = await newService();
    const { sid } = await verify.start(service, { to: '+14155552673', channel: 'sms', locale: 'en' });
    await verify.cancel(service, sid);
    expect(await verify.check(service, sid, '123456')).toBe('gone');
    await verify.cancel(service, sid);
  });

  it('fails with ProviderErrors carrying the provider code, mapped to registry errors', async () => {
    const service = await newService();
    const bad = await failure(verify.start(service, { to: PHONE, channel: 'pigeon', locale: 'en' }));
    expect(bad).toBeInstanceOf(ProviderError);
    expect(bad).toMatchObject({ kind: 'permanent', providerCode: 60200 });
    expect(mapVerifyError(bad)).toMatchObject({ code: 'SMS_ERR_VALIDATION', details: { provider_code: 60200 } });

    const landline = await failure(verify.start(service, { to: '+442071838750', channel: 'sms', locale: 'en' }));
    expect(landline).toMatchObject({ providerCode: 60205, httpStatus: 403 });
    expect(mapVerifyError(landline)).toMatchObject({ code: 'SMS_ERR_NOT_MOBILE', details: { provider_code: 60205 } });

    for (let i = 0; i < 5; i++) await verify.start(service, { to: '+14155552674', channel: 'sms', locale: 'en' });
    const tooMany = await failure(verify.start(service, { to: '+14155552674', channel: 'sms', locale: 'en' }));
    expect(tooMany).toMatchObject({ kind: 'transient', providerCode: 60203, httpStatus: 429 });
    const limited = mapVerifyError(tooMany);
    expect(limited).toMatchObject({ code: 'SMS_ERR_RATE_LIMITED', details: { provider_code: 60203, retry_after: 60 }, headers: { 'Retry-After': '60' } });
  });

  it('a provider that cannot be reached is unavailable, not the caller’s fault', async () => {
    const closed = await startEmulator();
    await closed.close();
    const down = new TwilioProvider({ accountSid: t.emulator.accountSid, authToken: t.emulator.authToken, apiBaseUrl: closed.base }).verify;
    const e = await failure(down.start('VA' + '0'.repeat(32), { to: PHONE, channel: 'sms', locale: 'en' }));
    expect(e).toMatchObject({ kind: 'transient', providerCode: null });
    expect(mapVerifyError(e)).toMatchObject({ code: 'SMS_ERR_PROVIDER_UNAVAILABLE', details: { provider_code: null } });
  });
});

describe('ProviderVerifyBackend', () => {
  const row = { id: 'v1', to_addr: PHONE, channel: 'sms', locale: 'en', provider_sid: null } as VerificationRecord;

  it('needs a Verify Service SID, then a provider with Verify', async () => {
    const backend = new ProviderVerifyBackend({ provider: () => null });
    const e1 = await failure(backend.deliver(null, row, null, { appName: 'A', serviceSid: null }));
    expect(e1).toBeInstanceOf(AppError);
    expect(e1).toMatchObject({ code: 'SMS_ERR_VERIFY_NOT_CONFIGURED' });
    const e2 = await failure(backend.deliver(null, row, null, { appName: 'A', serviceSid: 'VA' + '0'.repeat(32) }));
    expect(e2).toMatchObject({ code: 'SMS_ERR_PROVIDER_UNAVAILABLE' });
  });

  it('delivers through the provider and keeps its SID; a row without one is gone', async () => {
    const service = await newService();
    const backend = new ProviderVerifyBackend({ provider: () => verify });
    const out = await backend.deliver(null, { ...row, to_addr: '+14155552675' }, null, { appName: 'A', serviceSid: service });
    expect(out.providerSid).toMatch(/^VE/);
    expect(await backend.check(row, '123456', { appName: 'A', serviceSid: service })).toBe('gone');
  });
});
