// Tables of sending limits, caps and alerts (migration 0009).
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

export interface PolicyCountedTable {
  message_id: string;
  tenant_id: string;
  created_at: Ms;
}

export interface LimitsTables {
  policy_counters: PolicyCountersTable;
  policy_counted: PolicyCountedTable;
  alerts: AlertRecord;
}
