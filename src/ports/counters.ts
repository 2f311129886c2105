// The counters port: sliding-window event counts (verification send limits; per-recipient limits as
// one row of recent send times per recipient key).
// Callers count and record inside one transaction after `lock`, so "count, then record" cannot
// interleave with another request for the same keys, in this process or another. Per-day totals
// (daily cap, refusals and holds by reason) are rows changed by atomic upserts; `lockCount` holds
// one until the transaction ends, so a batch can judge several messages against it.
import type { Tx } from './tx.js';

export interface CountersRepository {
  /** Serializes transactions touching any of `keys` until `tx` ends. */
  lock(tx: Tx, keys: string[]): Promise<void>;
  /** Forgets the events of `key` at or before `before`. */
  prune(tx: Tx, key: string, before: number): Promise<void>;
  /** The time of the `n`-th newest event of `key` (1-based), or null when it has fewer. */
  nthNewest(tx: Tx, key: string, n: number): Promise<number | null>;
  /** One event at `at` for each key. */
  record(tx: Tx, keys: string[], at: number): Promise<void>;

  /**
   * The recent send times of these recipient keys, newest first per key, their rows locked until `tx`
   * ends (created empty where missing): one statement for the lock and the read.
   */
  lockWindows(tx: Tx, keys: string[]): Promise<Map<string, number[]>>;
  /** Replaces these keys' send times (one row per key, kept until `expiresAt`). */
  saveWindows(tx: Tx, windows: { key: string; events: number[]; expiresAt: number }[]): Promise<void>;
  /** Forgets the windows spent before `now`. */
  pruneWindows(now: number): Promise<number>;
  /** A tenant's count of `name` on `day` (0 if none), its row locked until `tx` ends. */
  lockCount(tx: Tx, c: { tenantId: string; day: string; name: string }): Promise<number>;
  /**
   * Adds `by` to a tenant's count of `name` on `day` in one atomic statement while the result stays
   * at or below `max`; the new count, or null (nothing changed) when it would go over.
   */
  addUpTo(tx: Tx, c: { tenantId: string; day: string; name: string; by: number; max: number }): Promise<number | null>;
  /** Adds `by` (default 1) to a tenant's count of `name` on `day` in one atomic statement. */
  increment(tx: Tx, c: { tenantId: string; day: string; name: string; by?: number }): Promise<void>;
  /** A tenant's counts of one day. */
  countsOfDay(tenantId: string, day: string): Promise<{ name: string; count: number }[]>;
  /** Marks messages counted at dispatch (`messages.metered`), so that a retry is not counted again. */
  markMetered(tx: Tx, messageIds: string[]): Promise<void>;
}
