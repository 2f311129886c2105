// Alerts: operator-facing notices (a daily cap's threshold, the cap reached), raised at most once
// per tenant, kind and day, readable at GET /v1/alerts (and later delivered as events).
import type { Tx } from './tx.js';

export interface AlertRecord {
  id: string;
  tenant_id: string;
  /** e.g. usage.cap_threshold, usage.cap_reached */
  kind: string;
  /** The tenant's calendar day (YYYY-MM-DD in its time zone) the alert belongs to. */
  day: string;
  message: string;
  /** JSON text. */
  data: string | null;
  created_at: number;
}

export interface AlertsRepository {
  /** Inserts the alert unless its tenant already has one of that kind that day; whether it was new. */
  raise(tx: Tx, a: AlertRecord): Promise<boolean>;
  /** Newest first, ids below `before`. */
  list(tenantId: string, before: string | undefined, limit: number): Promise<AlertRecord[]>;
}
