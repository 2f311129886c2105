// Sliding-window events in verify_rate_events: one row per key per accepted event. Per-day totals
// in policy_counters, each changed by one INSERT … ON CONFLICT DO UPDATE … RETURNING (both databases).
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
    async increment(tx, c) {
      const by = c.by ?? 1;
      const max = c.max ?? null;
      if (max !== null && by > max) return null;
      // The conflict update row-locks the counter (PostgreSQL re-evaluates the WHERE on the latest
      // version), so concurrent increments from any process never pass `max`.
      const row = await kx(tx)
        .insertInto('policy_counters')
        .values({ tenant_id: c.tenantId, day: c.day, name: c.name, count: by })
        .onConflict((oc) => {
          const up = oc.columns(['tenant_id', 'day', 'name']).doUpdateSet({ count: sql`policy_counters.count + ${by}` });
          return max === null ? up : up.where(sql<boolean>`policy_counters.count + ${by} <= ${max}`);
        })
        .returning('count')
        .executeTakeFirst();
      return row ? Number(row.count) : null;
    },
    async countsOfDay(tenantId, day) {
      const rows = await db.kysely
        .selectFrom('policy_counters')
        .select(['name', 'count'])
        .where('tenant_id', '=', tenantId)
        .where('day', '=', day)
        .orderBy('name')
        .execute();
      return rows.map((r) => ({ name: r.name, count: Number(r.count) }));
    },
    async isCounted(tx, messageId) {
      return (await kx(tx).selectFrom('policy_counted').select('message_id').where('message_id', '=', messageId).executeTakeFirst()) !== undefined;
    },
    async markCounted(tx, c) {
      await kx(tx)
        .insertInto('policy_counted')
        .values({ message_id: c.messageId, tenant_id: c.tenantId, created_at: c.at })
        .onConflict((oc) => oc.column('message_id').doNothing())
        .execute();
    },
    async pruneCounted(before) {
      const r = await db.kysely.deleteFrom('policy_counted').where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
