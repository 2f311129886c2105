// Sliding-window limits for verification sends (per number, client IP, tenant and number prefix).
// Each accepted send leaves one row per key in verify_rate_events; a key is over its limit when
// its window already holds `max` rows. Callers run these inside one Store.write transaction, after
// `lockKeys`, so "count, then record" cannot interleave with another request for the same key:
// SQLite has a single writer, and on PostgreSQL a transaction-scoped advisory lock per key makes
// other processes wait until this transaction committed.
import { sql, type Transaction } from 'kysely';
import type { WindowLimit } from '../config.js';
import type { Dialect } from '../storage/db.js';
import type { Database } from '../storage/schema.js';

export type LimitName = 'number' | 'ip' | 'tenant' | 'prefix';

export interface LimitRule {
  name: LimitName;
  key: string;
  limit: WindowLimit;
}

export interface LimitHit {
  name: LimitName;
  /** When the oldest counted event leaves the window, i.e. when one more send would be allowed. */
  retryAt: number;
}

/** Serializes transactions touching the same keys across processes (PostgreSQL). */
export async function lockKeys(trx: Transaction<Database>, dialect: Dialect, keys: string[]): Promise<void> {
  if (dialect !== 'postgres') return;
  // Sorted, so that two transactions locking overlapping key sets take them in the same order.
  for (const key of [...new Set(keys)].sort()) {
    await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
  }
}

/** The full window that clears last, or null when every rule has room. Also prunes events that left their window. */
export async function exceeded(trx: Transaction<Database>, rules: LimitRule[], now: number): Promise<LimitHit | null> {
  let hit: LimitHit | null = null;
  for (const r of rules) {
    const windowStart = now - r.limit.windowS * 1000;
    await trx.deleteFrom('verify_rate_events').where('key', '=', r.key).where('at', '<=', windowStart).execute();
    // The max-th newest event: while it is inside the window, the window is full.
    const nth = await trx
      .selectFrom('verify_rate_events')
      .select('at')
      .where('key', '=', r.key)
      .orderBy('at', 'desc')
      .limit(1)
      .offset(r.limit.max - 1)
      .executeTakeFirst();
    if (nth) {
      const retryAt = Number(nth.at) + r.limit.windowS * 1000;
      if (!hit || retryAt > hit.retryAt) hit = { name: r.name, retryAt };
    }
  }
  return hit;
}

export async function record(trx: Transaction<Database>, rules: LimitRule[], now: number): Promise<void> {
  if (rules.length) await trx.insertInto('verify_rate_events').values(rules.map((r) => ({ key: r.key, at: now }))).execute();
}
