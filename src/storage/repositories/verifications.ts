import { sql } from 'kysely';
import type { VerificationsRepository } from '../../ports.js';
import type { Db } from '../db.js';
import { kx } from '../tx.js';

const started = sql<number>`count(*)`.as('started');
const approved = sql<number>`coalesce(sum(case when status = 'approved' then 1 else 0 end), 0)`.as('approved');
const counts = (r: { started: number | string; approved: number | string }) => ({ started: Number(r.started), approved: Number(r.approved) });

export function verificationsRepository(db: Db): VerificationsRepository {
  const k = db.kysely;
  return {
    get: (tenantId, id) => k.selectFrom('verifications').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst(),
    latestTo: (tenantId, toAddr) =>
      k
        .selectFrom('verifications')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('to_addr', '=', toAddr)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst(),
    liveForUpdate: (tx, tenantId, toAddr, now) =>
      kx(tx)
        .selectFrom('verifications')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('to_addr', '=', toAddr)
        .where('status', 'in', ['pending', 'max_attempts_reached'])
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        // SQLite has one writer: the transaction itself already holds everyone else off.
        .$if(db.dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst(),
    async insert(tx, row) {
      await kx(tx).insertInto('verifications').values(row).execute();
    },
    resend: (tx, id, set) =>
      kx(tx)
        .updateTable('verifications')
        .set({ ...set, send_count: sql<number>`send_count + 1` })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow(),
    async setDelivery(tx, id, d) {
      await kx(tx).updateTable('verifications').set(d).where('id', '=', id).execute();
    },
    async markFailed(tx, id, now) {
      await kx(tx).updateTable('verifications').set({ status: 'failed', updated_at: now }).where('id', '=', id).where('status', '=', 'pending').execute();
    },
    claimAttempt: (tx, id, maxChecks, now) =>
      kx(tx)
        .updateTable('verifications')
        .set({ attempts: sql<number>`attempts + 1`, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('attempts', '<', maxChecks)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst(),
    async approve(tx, id, codeHash, now) {
      let q = kx(tx)
        .updateTable('verifications')
        .set({ status: 'approved', approved_at: now, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending');
      if (codeHash !== null) q = q.where('code_hash', '=', codeHash);
      return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
    },
    async lockOut(tx, id, now) {
      const r = await kx(tx)
        .updateTable('verifications')
        .set({ status: 'max_attempts_reached', updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async cancel(tx, id, now) {
      const u = await kx(tx)
        .updateTable('verifications')
        .set({ status: 'canceled', updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(u.numUpdatedRows) > 0;
    },

    async prefixConversion(tx, tenantId, prefix, from, to) {
      const s = await kx(tx)
        .selectFrom('verifications')
        .select([started, approved])
        .where('tenant_id', '=', tenantId)
        .where('prefix', '=', prefix)
        .where('created_at', '>=', from)
        .where('created_at', '<=', to)
        .where('status', '!=', 'failed')
        .executeTakeFirstOrThrow();
      return counts(s);
    },
    blockedPrefix: (tx, tenantId, prefix) =>
      kx(tx).selectFrom('verify_blocked_prefixes').selectAll().where('tenant_id', '=', tenantId).where('prefix', '=', prefix).executeTakeFirst(),
    async blockPrefix(tx, row) {
      const { blocked_until, started, approved, created_at } = row;
      await kx(tx)
        .insertInto('verify_blocked_prefixes')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'prefix']).doUpdateSet({ blocked_until, started, approved, created_at }))
        .execute();
    },

    async stats(tenantId, since, until) {
      // One scan of verifications_tenant_stats (covering: no table reads), grouped by prefix and
      // country; the totals, countries and prefixes are summed from those groups here.
      const groups = await k
        .selectFrom('verifications')
        .select(['prefix', 'country', started, approved])
        .where('tenant_id', '=', tenantId)
        .where('created_at', '>=', since)
        .where('created_at', '<', until)
        .where('status', '!=', 'failed')
        .groupBy(['prefix', 'country'])
        .execute();
      const total = { started: 0, approved: 0 };
      const countries = new Map<string | null, { country: string | null; started: number; approved: number }>();
      const prefixes = new Map<string, { prefix: string; country: string | null; started: number; approved: number }>();
      for (const g of groups) {
        const n = counts(g);
        total.started += n.started;
        total.approved += n.approved;
        const c = countries.get(g.country) ?? { country: g.country, started: 0, approved: 0 };
        c.started += n.started;
        c.approved += n.approved;
        countries.set(g.country, c);
        const p = prefixes.get(g.prefix) ?? { prefix: g.prefix, country: null, started: 0, approved: 0 };
        p.started += n.started;
        p.approved += n.approved;
        // As max(country) in SQL: the greatest non-null country of the prefix.
        if (g.country !== null && (p.country === null || g.country > p.country)) p.country = g.country;
        prefixes.set(g.prefix, p);
      }
      const busiest = <T extends { started: number }>(m: Map<unknown, T>, n: number) => [...m.values()].sort((a, b) => b.started - a.started).slice(0, n);
      return { total, countries: busiest(countries, 250), prefixes: busiest(prefixes, 100) };
    },
    activeBlocks: (tenantId, now) =>
      k
        .selectFrom('verify_blocked_prefixes')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('blocked_until', '>', now)
        .orderBy('blocked_until', 'desc')
        .execute(),
  };
}
