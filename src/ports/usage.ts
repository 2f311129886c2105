// Usage and cost: the rollup the usage report reads, the aggregator's queue (messages whose counted
// state differs from their state) and the price pass's queue (final messages without a price).
import type { UsageAmounts, UsageKey } from '../core/usage.js';
import type { Tx } from './tx.js';

/** A message whose status or price changed since the rollup last counted it. */
export interface UncountedMessage {
  id: string;
  tenant_id: string;
  direction: string;
  to_addr: string;
  from_addr: string | null;
  /** Fixed at the first count (null before). */
  country: string | null;
  status: string;
  price: string | null;
  price_estimated: number;
  channel: string;
  category: string;
  segments: number;
  created_at: number;
  /** The status and price the rollup counts for it (null: not counted yet); an estimated price is 'e:'-prefixed. */
  usage_status: string | null;
  usage_price: string | null;
}

/** Marks a message counted, provided it is still in the state that was read. */
export interface CountMark {
  message: UncountedMessage;
  country: string;
}

export interface RollupDelta {
  tenant_id: string;
  key: UsageKey;
  amounts: UsageAmounts;
}

export interface UsageQuery {
  tenantId: string;
  /** Hour-aligned epoch ms, until exclusive. */
  since: number;
  until: number;
  /** Period length: HOUR_MS (the hourly rollup) or DAY_MS (the daily one, periods start at UTC midnight). */
  periodMs: number;
  groupBy: 'status' | 'channel' | 'country' | 'category' | null;
}

export interface UsageRow {
  period: number;
  /** The group_by value ('' when not grouped). */
  group: string;
  messages: number;
  segments: number;
  cost_actual: number;
  cost_estimated: number;
  /** Final outcomes, for the delivery rate: delivered, and undelivered or failed. */
  delivered: number;
  not_delivered: number;
}

/** A final message at the provider whose price is not known yet. */
export interface UnpricedMessage {
  id: string;
  tenant_id: string;
  provider_sid: string;
  direction: string;
  to_addr: string;
  from_addr: string | null;
  channel: string;
  segments: number;
}

export interface PriceUpdate {
  id: string;
  price: string;
  price_unit: string | null;
  estimated: boolean;
}

export interface UsageRepository {
  /** Up to `limit` messages not counted as they are now. */
  uncounted(limit: number): Promise<UncountedMessage[]>;
  /** Marks messages counted unless they changed since read; returns the ids marked (only those may go into the rollup). */
  markCounted(tx: Tx, marks: CountMark[]): Promise<string[]>;
  addToRollup(tx: Tx, deltas: RollupDelta[]): Promise<void>;
  report(q: UsageQuery): Promise<UsageRow[]>;
  /** Final messages with a provider SID and no price, unchanged since `updatedBefore`. */
  unpriced(updatedBefore: number, limit: number): Promise<UnpricedMessage[]>;
  /** Sets prices of messages that still have none; returns how many were set. */
  setPrices(tx: Tx, updates: PriceUpdate[]): Promise<number>;
}
