// Provider backend (Twilio Verify): the provider generates, sends and checks the code
// (docs/twilio-reference.md §11); we keep its VE… SID, the counters and the normalized status.
// Provider failures become registry errors with the provider's code kept as details.provider_code.
import { AppError } from '../../core/errors.js';
import { ProviderError, type VerificationRecord, type VerifyProvider } from '../../ports.js';
import type { CheckOutcome, VerifyBackend, VerifySettings } from './backend.js';

/** A provider failure → the registry error a client sees. Locked (60202) and gone (20404) are outcomes, not errors. */
export function mapVerifyError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const p = e instanceof ProviderError ? e : null;
  const status = p?.httpStatus ?? null;
  const code = p?.providerCode ?? null;
  const details = { provider_code: code };
  switch (code) {
    case 60200:
      return new AppError('SMS_ERR_VALIDATION', 'The verification provider rejected a parameter.', details);
    case 20404:
      return new AppError('SMS_ERR_VERIFICATION_NOT_FOUND', undefined, details);
    case 60205:
      return new AppError('SMS_ERR_NOT_MOBILE', undefined, details);
    case 60605:
      return new AppError('SMS_ERR_COUNTRY_NOT_ALLOWED', undefined, details);
  }
  if (status === 429) {
    const s = p?.retryAfterMs ? Math.max(1, Math.ceil(p.retryAfterMs / 1000)) : 60;
    return new AppError('SMS_ERR_RATE_LIMITED', undefined, { ...details, retry_after: s }, { 'Retry-After': String(s) });
  }
  if (status !== null && status >= 400 && status < 500 && status !== 401 && status !== 403) {
    return new AppError('SMS_ERR_PROVIDER_REJECTED', 'The verification provider rejected the request.', details);
  }
  // 5xx, auth problems on our side, network failures: not the caller's fault, maybe temporary.
  return new AppError('SMS_ERR_PROVIDER_UNAVAILABLE', undefined, details);
}

export class ProviderVerifyBackend implements VerifyBackend {
  readonly name = 'twilio';

  /** `provider` is read per call: the embedded emulator's provider only exists once the relay listens. */
  constructor(private readonly d: { provider: () => VerifyProvider | null }) {}

  private service(settings: VerifySettings): { provider: VerifyProvider; serviceSid: string } {
    if (!settings.serviceSid) throw new AppError('SMS_ERR_VERIFY_NOT_CONFIGURED');
    const provider = this.d.provider();
    if (!provider) throw new AppError('SMS_ERR_PROVIDER_UNAVAILABLE', 'No Twilio client is configured for the twilio verification backend.');
    return { provider, serviceSid: settings.serviceSid };
  }

  issue(): null {
    return null;
  }

  async deliver(_tenant: unknown, row: VerificationRecord, _code: string | null, settings: VerifySettings): Promise<{ providerSid: string }> {
    const { provider, serviceSid } = this.service(settings);
    try {
      const v = await provider.start(serviceSid, { to: row.to_addr, channel: row.channel, locale: row.locale });
      return { providerSid: v.sid };
    } catch (e) {
      throw mapVerifyError(e);
    }
  }

  async check(row: VerificationRecord, code: string, settings: VerifySettings): Promise<CheckOutcome> {
    if (!row.provider_sid) return 'gone';
    const { provider, serviceSid } = this.service(settings);
    try {
      return await provider.check(serviceSid, row.provider_sid, code);
    } catch (e) {
      throw mapVerifyError(e);
    }
  }

  async cancel(row: VerificationRecord, settings: VerifySettings): Promise<void> {
    if (!row.provider_sid) return;
    const { provider, serviceSid } = this.service(settings);
    try {
      await provider.cancel(serviceSid, row.provider_sid);
    } catch (e) {
      throw mapVerifyError(e);
    }
  }
}
