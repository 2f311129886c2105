// Sliding-window events in verify_rate_events: one row per key per accepted event (verifications);
// per-recipient windows in recipient_windows: one row per key. Per-day totals
// in policy_counters, each changed by one INSERT … ON CONFLICT DO UPDATE … RETURNING (both databases).
import { sql } from 'kysely';
import type { CountersRepository } from '../../ports.js';
import type { Db } from '../db.js';
import { Params, rowsSource, run, type Columns } from '../rows.js';
import { kx } from '../tx.js';

const WINDOW_SOURCE: Columns = [
  ['key', 'text'],
  ['events', 'text'],
  ['expires_at', 'bigint'],
];

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
    async lockWindows(tx, keys) {
      if (!keys.length) return new Map();
      // An upsert that changes nothing locks each row (PostgreSQL re-reads the latest committed
      // version, so RETURNING gives what a concurrent batch just wrote) and creates the missing ones,
      // locked too; keys sorted, so concurrent batches lock in one order. SQLite: one writer anyway.
      const p = new Params(db.dialect);
      const rows = [...new Set(keys)].sort().map((k) => [k, '[]', 0]);
      const r = await run<{ key: string; events: string }>(
        tx,
        `INSERT INTO recipient_windows (key, events, expires_at) SELECT key, events, expires_at FROM ${rowsSource(db.dialect, WINDOW_SOURCE, rows, p)} WHERE true` +
          ' ON CONFLICT (key) DO UPDATE SET events = recipient_windows.events RETURNING key, events',
        p.values,
      );
      return new Map(r.rows.map((x) => [x.key, JSON.parse(x.events) as number[]]));
    },
    async saveWindows(tx, windows) {
      if (!windows.length) return;
      // One row per key in a statement (an upsert may not touch a row twice): the last entry wins.
      // A set-based statement with one text per batch size (storage/rows.ts), as on the send path.
      const last = new Map(windows.map((w) => [w.key, w]));
      const p = new Params(db.dialect);
      const rows = [...last.values()].map((w) => [w.key, JSON.stringify(w.events), w.expiresAt]);
      await run(
        tx,
        `INSERT INTO recipient_windows (key, events, expires_at) SELECT key, events, expires_at FROM ${rowsSource(db.dialect, WINDOW_SOURCE, rows, p)} WHERE true` +
          ' ON CONFLICT (key) DO UPDATE SET events = excluded.events, expires_at = excluded.expires_at',
        p.values,
      );
    },
    async pruneWindows(now) {
      const r = await db.kysely.deleteFrom('recipient_windows').where('expires_at', '<', now).executeTakeFirst();
      return Number(r.numDeletedRows);
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
    async markMetered(tx, messageIds) {
      if (messageIds.length) await kx(tx).updateTable('messages').set({ metered: 1 }).where('id', 'in', messageIds).execute();
    },
  };
}
