// The consent ledger: append-only events and the current suppression per (tenant, number).
import type { Tx } from './tx.js';

export interface ConsentEventRecord {
  id: string;
  tenant_id: string;
  /** E.164 without channel prefix. */
  phone: string;
  /** opt_out | opt_in */
  action: string;
  /** keyword | free_text | api | admin | provider */
  source: string;
  /** Who: 'contact', an API key id, 'provider'. */
  actor: string | null;
  /** The keyword or phrase, the API reason or the provider code. */
  detail: string | null;
  message_id: string | null;
  created_at: number;
}

/** A row means "do not text this number". */
export interface SuppressionRecord {
  tenant_id: string;
  phone: string;
  source: string;
  reason: string | null;
  event_id: string;
  created_at: number;
}

export interface ConsentRepository {
  appendEvent(tx: Tx, e: ConsentEventRecord): Promise<void>;
  /** Adds the suppression unless the number has one; whether it was added. */
  suppress(tx: Tx, s: SuppressionRecord): Promise<boolean>;
  /** Removes the number's suppression; whether there was one. */
  unsuppress(tx: Tx, tenantId: string, phone: string): Promise<boolean>;
  /** Inside a write (sees what the transaction recorded). */
  isSuppressed(tx: Tx, tenantId: string, phone: string): Promise<boolean>;
  /** The suppressed pairs among these tenants and numbers: one indexed query for a batch of checks. */
  suppressedAmong(tenantIds: string[], phones: string[]): Promise<{ tenant_id: string; phone: string }[]>;
  /** Newest first, at most `limit`. */
  history(tenantId: string, phone: string, limit: number): Promise<ConsentEventRecord[]>;
  suppression(tenantId: string, phone: string): Promise<SuppressionRecord | undefined>;
  /** Newest first by (created_at, phone); only rows after `after`. */
  listSuppressions(tenantId: string, after: { createdAt: number; phone: string } | null, limit: number): Promise<SuppressionRecord[]>;
}
