// The verifications port: verification rows, automatically blocked number prefixes, and the
// conversion statistics over both. Expiry is applied by the service on read; rows keep `pending`.
import type { Tx } from './tx.js';

export interface VerificationRecord {
  id: string;
  tenant_id: string;
  /** 'local' | 'twilio': the backend that owns the code. */
  backend: string;
  /** E.164, without a channel prefix. */
  to_addr: string;
  channel: string;
  country: string | null;
  /** '+' + country code + the first 6 national digits: the unit of fraud statistics and blocking. */
  prefix: string;
  locale: string;
  code_length: number;
  /** HMAC of the current code (local backend); never the code. */
  code_hash: string | null;
  /** Twilio's VE… SID (twilio backend). */
  provider_sid: string | null;
  /** pending | approved | max_attempts_reached | canceled | failed. */
  status: string;
  /** Checks made so far (right or wrong). */
  attempts: number;
  send_count: number;
  /** Message id of the last local send. */
  message_id: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
  approved_at: number | null;
}

export interface BlockedPrefixRecord {
  tenant_id: string;
  prefix: string;
  blocked_until: number;
  /** The counts that caused the block. */
  started: number;
  approved: number;
  created_at: number;
}

export interface ConversionCount {
  started: number;
  approved: number;
}

/** What a resend changes; a new local code comes with its hash, length and a fresh expiry. */
export interface VerificationResend {
  code_hash?: string;
  code_length?: number;
  expires_at?: number;
  channel: string;
  locale: string;
  updated_at: number;
}

export interface VerificationStatsCounts {
  total: ConversionCount;
  /** The 250 countries with most starts. */
  countries: (ConversionCount & { country: string | null })[];
  /** The 100 prefixes with most starts. */
  prefixes: (ConversionCount & { prefix: string; country: string | null })[];
}

export interface VerificationsRepository {
  get(tenantId: string, id: string): Promise<VerificationRecord | undefined>;
  /** The number's most recent verification, whatever its state. */
  latestTo(tenantId: string, toAddr: string): Promise<VerificationRecord | undefined>;
  /**
   * The number's most recent pending or locked-out verification not yet expired, held until `tx`
   * ends: a check approving it in another process waits for a resend to commit.
   */
  liveForUpdate(tx: Tx, tenantId: string, toAddr: string, now: number): Promise<VerificationRecord | undefined>;
  insert(tx: Tx, row: VerificationRecord): Promise<void>;
  /** Counts one more send with `set` applied; returns the row as updated. */
  resend(tx: Tx, id: string, set: VerificationResend): Promise<VerificationRecord>;
  setDelivery(tx: Tx, id: string, d: { message_id?: string; provider_sid?: string }): Promise<void>;
  /** pending → failed (a first send that could not be delivered). */
  markFailed(tx: Tx, id: string, now: number): Promise<void>;
  /**
   * Counts one check, atomically, only on a pending unexpired row with fewer than `maxChecks`
   * attempts: parallel guesses can never exceed the budget. The updated row, or undefined.
   */
  claimAttempt(tx: Tx, id: string, maxChecks: number, now: number): Promise<VerificationRecord | undefined>;
  /**
   * pending → approved, only while the code hash is still `codeHash` (a resend replaces it; null
   * when the provider keeps the code). Of two concurrent approvals exactly one returns true.
   */
  approve(tx: Tx, id: string, codeHash: string | null, now: number): Promise<boolean>;
  /** pending → max_attempts_reached. */
  /** false when it was no longer pending. */
  lockOut(tx: Tx, id: string, now: number): Promise<boolean>;
  /** pending and unexpired → canceled; false when it was not. */
  cancel(tx: Tx, id: string, now: number): Promise<boolean>;

  /** Started vs approved (failed sends not counted) of a prefix's verifications created in [from, to]. */
  prefixConversion(tx: Tx, tenantId: string, prefix: string, from: number, to: number): Promise<ConversionCount>;
  blockedPrefix(tx: Tx, tenantId: string, prefix: string): Promise<BlockedPrefixRecord | undefined>;
  /** Records (or renews) a prefix block. */
  blockPrefix(tx: Tx, row: BlockedPrefixRecord): Promise<void>;

  /** Started vs approved (failed sends not counted) of verifications created in [since, until). */
  stats(tenantId: string, since: number, until: number): Promise<VerificationStatsCounts>;
  /** Blocks still in force at `now`, the longest-lasting first. */
  activeBlocks(tenantId: string, now: number): Promise<BlockedPrefixRecord[]>;
}
