// Twilio Verify backend: Twilio generates, sends and checks the code (docs/twilio-reference.md §11); we keep the
// VE… SID, the counters and the normalized status. Twilio errors become registry errors with the
// Twilio code kept as details.provider_code.
import type twilio from 'twilio';
import { AppError } from '../core/errors.js';
import { ProviderError } from '../ports.js';
import type { CheckOutcome, VerificationRow, VerifyBackend, VerifySettings } from './verifications.js';

interface TwilioFailure {
  status?: number;
  code?: number | string;
}

/** A Twilio failure → the registry error a client sees. 60202 and 20404 are answered by the caller. */
export function mapTwilioError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const f = e as TwilioFailure & { retryAfterMs?: number | null; providerCode?: number | null; httpStatus?: number | null };
  const status = e instanceof ProviderError ? f.httpStatus : f?.status;
  const code = e instanceof ProviderError ? f.providerCode : typeof f?.code === 'number' ? f.code : null;
  const details = { provider_code: code ?? null };
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
    const s = e instanceof ProviderError && f.retryAfterMs ? Math.max(1, Math.ceil(f.retryAfterMs / 1000)) : 60;
    return new AppError('SMS_ERR_RATE_LIMITED', undefined, { ...details, retry_after: s }, { 'Retry-After': String(s) });
  }
  if (typeof status === 'number' && status >= 400 && status < 500 && status !== 401 && status !== 403) {
    return new AppError('SMS_ERR_PROVIDER_REJECTED', 'The verification provider rejected the request.', details);
  }
  // 5xx, auth problems on our side, network failures: not the caller's fault, maybe temporary.
  return new AppError('SMS_ERR_PROVIDER_UNAVAILABLE', undefined, details);
}

function providerCode(e: unknown): number | null {
  if (e instanceof ProviderError) return e.providerCode;
  const c = (e as TwilioFailure)?.code;
  return typeof c === 'number' ? c : null;
}

export class TwilioVerifyBackend implements VerifyBackend {
  readonly name = 'twilio';

  /** `client` is read per call: the embedded emulator's client only exists once the relay listens. */
  constructor(private readonly client: () => twilio.Twilio | null) {}

  private service(settings: VerifySettings) {
    if (!settings.serviceSid) throw new AppError('SMS_ERR_VERIFY_NOT_CONFIGURED');
    const c = this.client();
    if (!c) throw new AppError('SMS_ERR_PROVIDER_UNAVAILABLE', 'No Twilio client is configured for the twilio verification backend.');
    return c.verify.v2.services(settings.serviceSid);
  }

  issue(): null {
    return null;
  }

  async deliver(_tenant: unknown, row: VerificationRow, _code: string | null, settings: VerifySettings): Promise<{ providerSid: string }> {
    try {
      const v = await this.service(settings).verifications.create({ to: row.to_addr, channel: row.channel, locale: row.locale });
      return { providerSid: v.sid };
    } catch (e) {
      throw mapTwilioError(e);
    }
  }

  async check(row: VerificationRow, code: string, settings: VerifySettings): Promise<CheckOutcome> {
    if (!row.provider_sid) return 'gone';
    try {
      const r = await this.service(settings).verificationChecks.create({ verificationSid: row.provider_sid, code });
      return r.status === 'approved' ? 'approved' : 'wrong';
    } catch (e) {
      const code = providerCode(e);
      if (code === 60202) return 'locked';
      if (code === 20404) return 'gone';
      throw mapTwilioError(e);
    }
  }

  async cancel(row: VerificationRow, settings: VerifySettings): Promise<void> {
    if (!row.provider_sid) return;
    try {
      await this.service(settings).verifications(row.provider_sid).update({ status: 'canceled' });
    } catch (e) {
      // Already gone at Twilio (expired, approved): nothing left to cancel.
      if (providerCode(e) !== 20404) throw mapTwilioError(e);
    }
  }
}
