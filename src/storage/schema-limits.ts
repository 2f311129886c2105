// Tables of sending limits, caps and alerts (migrations 0009, 0016).
import type { AlertRecord } from '../ports.js';
import type { Ms } from './columns.js';

export interface PolicyCountersTable {
  tenant_id: string;
  /** The tenant's calendar day, YYYY-MM-DD in its time zone. */
  day: string;
  /** 'sent' (counted against the daily cap), 'refused:<code>', 'held:<reason>'. */
  name: string;
  count: Ms;
}

/** One recipient key's recent send times (per-recipient limits and cooldowns). */
export interface RecipientWindowsTable {
  key: string;
  /** JSON array of epoch ms, newest first. */
  events: string;
  expires_at: Ms;
}

export interface LimitsTables {
  policy_counters: PolicyCountersTable;
  recipient_windows: RecipientWindowsTable;
  alerts: AlertRecord;
}
