// Local backend: our own codes, sent through the normal send path (consent, policy, segments and
// the message log apply), stored only as an HMAC.
import { AppError } from '../../core/errors.js';
import { codeMatches, generateCode, hashCode, renderOtpMessage, type OtpLocale } from '../../core/otp.js';
import type { Random, VerificationRecord } from '../../ports.js';
import type { MessagesService } from '../messages.js';
import type { Tenant } from '../tenants.js';
import type { CheckOutcome, VerifyBackend, VerifySettings } from './backend.js';

// The send path's validity period is capped at Twilio's 10 hours.
const MAX_VALIDITY_S = 36_000;

export interface LocalVerifyBackendDeps {
  messages: MessagesService;
  random: Random;
  /** The HMAC key; resolved lazily (see main.ts). */
  secret: () => Buffer;
  ttlS: number;
}

export class LocalVerifyBackend implements VerifyBackend {
  readonly name = 'local';

  constructor(private readonly d: LocalVerifyBackendDeps) {}

  issue(id: string, length: number): { code: string; codeHash: string } {
    const code = generateCode(this.d.random, length);
    return { code, codeHash: hashCode(this.d.secret(), id, code) };
  }

  async deliver(tenant: Tenant, row: VerificationRecord, code: string | null, settings: VerifySettings): Promise<{ messageId: string }> {
    if (code === null) throw new Error('local verification without a code');
    const r = await this.d.messages.send(
      tenant,
      {
        to: row.to_addr,
        channel: row.channel === 'whatsapp' ? 'whatsapp' : 'sms',
        body: renderOtpMessage(row.locale as OtpLocale, settings.appName, code, this.d.ttlS),
        // A code that arrives after it expired is useless: let the carrier drop it instead.
        validity_period: Math.min(this.d.ttlS, MAX_VALIDITY_S),
        metadata: { verification_id: row.id },
      },
      { sensitive: true, category: 'otp' },
    );
    // TWILIO_ENABLED=false: the message was logged, not sent; the caller must not wait for a code.
    if (r.message.status === 'canceled') throw new AppError('SMS_ERR_SENDING_DISABLED');
    return { messageId: r.message.id };
  }

  async check(row: VerificationRecord, code: string): Promise<CheckOutcome> {
    return row.code_hash !== null && codeMatches(this.d.secret(), row.id, code, row.code_hash) ? 'approved' : 'wrong';
  }

  async cancel(): Promise<void> {}
}
