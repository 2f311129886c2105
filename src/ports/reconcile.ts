// The reconciler's bookkeeping: which sent messages to ask the provider about, and when next.
import type { Tx } from './tx.js';

export interface StaleMessage {
  id: string;
  tenant_id: string;
  status: string;
  to_addr: string;
  provider_sid: string;
  created_at: number;
  /** Checks made so far. */
  checks: number;
}

export interface ReconcileRepository {
  /** Outbound messages waiting for a final provider status, unchanged since `updatedBefore`, due for a check. */
  stale(q: { now: number; updatedBefore: number; createdAfter: number; limit: number }): Promise<StaleMessage[]>;
  recordCheck(tx: Tx, messageId: string, nextCheckAt: number, checks: number): Promise<void>;
}
