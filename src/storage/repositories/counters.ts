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
      // Sorted, so that two transactions locking overlapping key sets take them in the same order;
      // one statement for the whole set.
      const sorted = [...new Set(keys)].sort();
      if (sorted.length === 1) await sql`select pg_advisory_xact_lock(hashtextextended(${sorted[0]}, 0))`.execute(kx(tx));
      else if (sorted.length > 1)
        await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${sorted}::text[]) with ordinality as u(k, i) order by i`.execute(kx(tx));
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
    async addUpTo(tx, c) {
      if (c.by > c.max) return null;
      // The conflict update row-locks the counter (PostgreSQL re-evaluates the WHERE on the latest
      // version), so concurrent additions from any process never pass `max`.
      const row = await kx(tx)
        .insertInto('policy_counters')
        .values({ tenant_id: c.tenantId, day: c.day, name: c.name, count: c.by })
        .onConflict((oc) =>
          oc
            .columns(['tenant_id', 'day', 'name'])
            .doUpdateSet({ count: sql`policy_counters.count + ${c.by}` })
            .where(sql<boolean>`policy_counters.count + ${c.by} <= ${c.max}`),
        )
        .returning('count')
        .executeTakeFirst();
      return row ? Number(row.count) : null;
    },
    async increment(tx, c) {
      const by = c.by ?? 1;
      await kx(tx)
        .insertInto('policy_counters')
        .values({ tenant_id: c.tenantId, day: c.day, name: c.name, count: by })
        .onConflict((oc) => oc.columns(['tenant_id', 'day', 'name']).doUpdateSet({ count: sql`policy_counters.count + ${by}` }))
        .execute();
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
    async eventsOf(tx, keys) {
      const out = new Map<string, number[]>();
      if (!keys.length) return out;
      const rows = await kx(tx)
        .selectFrom('verify_rate_events')
        .select(['key', 'at'])
        .where('key', 'in', [...new Set(keys)])
        .orderBy('key')
        .orderBy('at', 'desc')
        .execute();
      for (const r of rows) {
        const list = out.get(r.key);
        if (list) list.push(Number(r.at));
        else out.set(r.key, [Number(r.at)]);
      }
      return out;
    },
    async pruneEach(tx, entries) {
      const byBefore = new Map<number, string[]>();
      for (const e of entries) byBefore.set(e.before, [...(byBefore.get(e.before) ?? []), e.key]);
      for (const [before, keys] of byBefore) {
        await kx(tx)
          .deleteFrom('verify_rate_events')
          .where('key', 'in', [...new Set(keys)])
          .where('at', '<=', before)
          .execute();
      }
    },
    async recordEach(tx, events) {
      if (events.length) await kx(tx).insertInto('verify_rate_events').values(events).execute();
    },
    async lockCount(tx, c) {
      // An upsert that changes nothing but takes the row lock (and creates the row if missing).
      const row = await kx(tx)
        .insertInto('policy_counters')
        .values({ tenant_id: c.tenantId, day: c.day, name: c.name, count: 0 })
        .onConflict((oc) => oc.columns(['tenant_id', 'day', 'name']).doUpdateSet({ count: sql`policy_counters.count` }))
        .returning('count')
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },
    async countedAmong(tx, messageIds) {
      if (!messageIds.length) return new Set();
      const rows = await kx(tx).selectFrom('policy_counted').select('message_id').where('message_id', 'in', messageIds).execute();
      return new Set(rows.map((r) => r.message_id));
    },
    async markCounted(tx, marks) {
      if (!marks.length) return;
      await kx(tx)
        .insertInto('policy_counted')
        .values(marks.map((c) => ({ message_id: c.messageId, tenant_id: c.tenantId, created_at: c.at })))
        .onConflict((oc) => oc.column('message_id').doNothing())
        .execute();
    },
    async pruneCounted(before) {
      const r = await db.kysely.deleteFrom('policy_counted').where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
