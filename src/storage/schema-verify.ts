// Tables of verification codes and rate-limit counters (migration 0003).
import type { Ms } from './columns.js';

export interface VerificationsTable {
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
  /** pending | approved | expired | max_attempts_reached | canceled | failed; expiry is applied on read. */
  status: string;
  /** Checks made so far (right or wrong); claimed atomically before a code is compared. */
  attempts: number;
  send_count: number;
  /** Message id of the last local send. */
  message_id: string | null;
  expires_at: Ms;
  created_at: Ms;
  updated_at: Ms;
  approved_at: Ms | null;
}

export interface VerifyRateEventsTable {
  /** e.g. 'n:<tenant>:+14155552671', 'ip:<tenant>:203.0.113.9', 't:<tenant>', 'p:<tenant>:+1415555'. */
  key: string;
  at: Ms;
}

export interface VerifyBlockedPrefixesTable {
  tenant_id: string;
  prefix: string;
  blocked_until: Ms;
  started: number;
  approved: number;
  created_at: Ms;
}

export interface VerifyTables {
  verifications: VerificationsTable;
  verify_rate_events: VerifyRateEventsTable;
  verify_blocked_prefixes: VerifyBlockedPrefixesTable;
}
