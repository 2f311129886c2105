// The counters port: sliding-window event counts (verification send limits). Callers count and
// record inside one transaction after `lock`, so "count, then record" cannot interleave with
// another request for the same keys, in this process or another.
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
}
