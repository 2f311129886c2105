// Sliding-window events in verify_rate_events: one row per key per accepted event.
import { sql } from 'kysely';
import type { CountersRepository } from '../../ports.js';
import type { Db } from '../db.js';
import { kx } from '../tx.js';

export function countersRepository(db: Db): CountersRepository {
  return {
    async lock(tx, keys) {
      // SQLite has a single writer: the transaction is already exclusive. On PostgreSQL a
      // transaction-scoped advisory lock per key makes other processes wait until it committed.
      if (db.dialect !== 'postgres') return;
      // Sorted, so that two transactions locking overlapping key sets take them in the same order.
      for (const key of [...new Set(keys)].sort()) {
        await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(kx(tx));
      }
    },
    async prune(tx, key, before) {
      await kx(tx).deleteFrom('verify_rate_events').where('key', '=', key).where('at', '<=', before).execute();
    },
    async nthNewest(tx, key, n) {
      const row = await kx(tx)
        .selectFrom('verify_rate_events')
        .select('at')
        .where('key', '=', key)
        .orderBy('at', 'desc')
        .limit(1)
        .offset(n - 1)
        .executeTakeFirst();
      return row ? Number(row.at) : null;
    },
    async record(tx, keys, at) {
      if (keys.length)
        await kx(tx)
          .insertInto('verify_rate_events')
          .values(keys.map((key) => ({ key, at })))
          .execute();
    },
  };
}
