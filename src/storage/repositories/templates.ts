// Templates in SQL: a name row (latest version, soft delete) and immutable version rows.
import type { TemplatesRepository, TemplateVersionRecord } from '../../ports.js';
import type { Db } from '../db.js';
import { exclusiveTransaction } from '../tx.js';

const VERSION_COLUMNS = ['v.tenant_id', 'v.name', 'v.version', 'v.category', 'v.default_locale', 'v.locales', 'v.smart_encoding', 'v.created_at'] as const;

const num = (r: TemplateVersionRecord): TemplateVersionRecord => ({
  ...r,
  version: Number(r.version),
  created_at: Number(r.created_at),
  smart_encoding: r.smart_encoding === null ? null : Number(r.smart_encoding),
});

export function templatesRepository(db: Db): TemplatesRepository {
  const k = db.kysely;
  // Live templates joined to their latest version.
  const live = (tenantId: string) =>
    k
      .selectFrom('templates as t')
      .innerJoin('template_versions as v', (j) =>
        j.onRef('v.tenant_id', '=', 't.tenant_id').onRef('v.name', '=', 't.name').onRef('v.version', '=', 't.current_version'),
      )
      .select(VERSION_COLUMNS)
      .where('t.tenant_id', '=', tenantId)
      .where('t.deleted_at', 'is', null);

  return {
    write(mode, row) {
      // One writer per name at a time (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL), so
      // version numbers never collide; a concurrent first insert loses on the primary key.
      return exclusiveTransaction(db, async (trx) => {
        const cur = await trx
          .selectFrom('templates')
          .select(['current_version', 'deleted_at'])
          .where('tenant_id', '=', row.tenant_id)
          .where('name', '=', row.name)
          .$if(db.dialect === 'postgres', (q) => q.forUpdate())
          .executeTakeFirst();
        const isLive = cur !== undefined && cur.deleted_at === null;
        if (mode === 'create' && isLive) return { kind: 'exists' as const };
        if (mode === 'update' && !isLive) return { kind: 'not_found' as const };
        const version = cur ? Number(cur.current_version) + 1 : 1;
        if (!cur) {
          const r = await trx
            .insertInto('templates')
            .values({
              tenant_id: row.tenant_id,
              name: row.name,
              current_version: version,
              created_at: row.created_at,
              updated_at: row.created_at,
              deleted_at: null,
            })
            .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
            .executeTakeFirst();
          if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return { kind: 'exists' as const };
        } else {
          await trx
            .updateTable('templates')
            .set({ current_version: version, updated_at: row.created_at, deleted_at: null })
            .where('tenant_id', '=', row.tenant_id)
            .where('name', '=', row.name)
            .execute();
        }
        const written = { ...row, version };
        await trx.insertInto('template_versions').values(written).execute();
        return { kind: 'written' as const, version: written };
      });
    },

    async currentAmong(tenantIds, names) {
      const rows = await k
        .selectFrom('templates as t')
        .innerJoin('template_versions as v', (j) =>
          j.onRef('v.tenant_id', '=', 't.tenant_id').onRef('v.name', '=', 't.name').onRef('v.version', '=', 't.current_version'),
        )
        .select(VERSION_COLUMNS)
        .where('t.tenant_id', 'in', tenantIds)
        .where('t.name', 'in', names)
        .where('t.deleted_at', 'is', null)
        .execute();
      return rows.map(num);
    },

    async get(tenantId, name, version) {
      const r =
        version === undefined
          ? await live(tenantId).where('t.name', '=', name).executeTakeFirst()
          : await k
              .selectFrom('template_versions as v')
              .innerJoin('templates as t', (j) => j.onRef('t.tenant_id', '=', 'v.tenant_id').onRef('t.name', '=', 'v.name'))
              .select(VERSION_COLUMNS)
              .where('v.tenant_id', '=', tenantId)
              .where('v.name', '=', name)
              .where('v.version', '=', version)
              .where('t.deleted_at', 'is', null)
              .executeTakeFirst();
      return r ? num(r) : undefined;
    },

    async list(tenantId, { after, limit }) {
      const rows = await live(tenantId)
        .$if(after !== undefined, (q) => q.where('t.name', '>', after!))
        .orderBy('t.name')
        .limit(limit)
        .execute();
      return rows.map(num);
    },

    async versions(tenantId, name, { before, limit }) {
      const rows = await k
        .selectFrom('template_versions as v')
        .innerJoin('templates as t', (j) => j.onRef('t.tenant_id', '=', 'v.tenant_id').onRef('t.name', '=', 'v.name'))
        .select(VERSION_COLUMNS)
        .where('v.tenant_id', '=', tenantId)
        .where('v.name', '=', name)
        .where('t.deleted_at', 'is', null)
        .$if(before !== undefined, (q) => q.where('v.version', '<', before!))
        .orderBy('v.version', 'desc')
        .limit(limit)
        .execute();
      return rows.map(num);
    },

    async remove(tenantId, name, now) {
      const r = await k
        .updateTable('templates')
        .set({ deleted_at: now, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}
