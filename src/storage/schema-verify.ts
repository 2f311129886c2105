// Tables of verification codes and rate-limit counters (migration 0003).
import type { BlockedPrefixRecord, VerificationRecord } from '../ports.js';
import type { Ms } from './columns.js';

export type VerificationsTable = VerificationRecord;

export interface VerifyRateEventsTable {
  /** e.g. 'n:<tenant>:+14155552671', 'ip:<tenant>:203.0.113.9', 't:<tenant>', 'p:<tenant>:+1415555'. */
  key: string;
  at: Ms;
}

export type VerifyBlockedPrefixesTable = BlockedPrefixRecord;

export interface VerifyTables {
  verifications: VerificationsTable;
  verify_rate_events: VerifyRateEventsTable;
  verify_blocked_prefixes: VerifyBlockedPrefixesTable;
}
