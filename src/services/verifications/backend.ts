// What the verification use case needs from a code backend: local codes, or a provider that keeps
// its own (Twilio Verify). The use case keeps state, limits and answers, so both behave the same.
import type { VerificationRecord } from '../../ports.js';
import type { Tenant } from '../tenants.js';

/** Tenant settings a backend needs (from tenants.settings). */
export interface VerifySettings {
  appName: string;
  serviceSid: string | null;
}

/** approved / wrong code / the provider says locked (max checks) / the provider no longer has it. */
export type CheckOutcome = 'approved' | 'wrong' | 'locked' | 'gone';

export interface VerifyBackend {
  readonly name: 'local' | 'twilio';
  /** A fresh code for verification `id` and its hash; null when the provider keeps the code. */
  issue(id: string, length: number): { code: string; codeHash: string } | null;
  /** Sends the code (new or resend); the row is already reserved and committed. */
  deliver(tenant: Tenant, row: VerificationRecord, code: string | null, settings: VerifySettings): Promise<{ messageId?: string; providerSid?: string }>;
  /** Compares a code; the attempt was already counted. */
  check(row: VerificationRecord, code: string, settings: VerifySettings): Promise<CheckOutcome>;
  cancel(row: VerificationRecord, settings: VerifySettings): Promise<void>;
}
