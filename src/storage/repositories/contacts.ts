import { sql, type Kysely } from 'kysely';
import type { ContactsRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function contactsRepository(k: Kysely<Database>): ContactsRepository {
  return {
    get: (tenantId, phone) => k.selectFrom('contacts').selectAll().where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst(),

    getAmong: (tenantIds, phones) => k.selectFrom('contacts').selectAll().where('tenant_id', 'in', tenantIds).where('phone', 'in', phones).execute(),

    async put(tx, row) {
      const r = await kx(tx)
        .insertInto('contacts')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'phone']).doUpdateSet({
            name: row.name,
            locale: row.locale,
            time_zone: row.time_zone,
            external_ref: row.external_ref,
            fields: row.fields,
            updated_at: row.updated_at,
          }),
        )
        .returning('created_at')
        .executeTakeFirstOrThrow();
      return Number(r.created_at) === row.created_at;
    },

    async delete(tx, tenantId, phone) {
      const r = await kx(tx).deleteFrom('contacts').where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    list(q) {
      let query = k.selectFrom('contacts').selectAll().where('tenant_id', '=', q.tenantId);
      if (q.externalRef !== undefined) query = query.where('external_ref', '=', q.externalRef);
      if (q.q !== undefined) {
        const like = `%${q.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        query = query.where(sql<boolean>`(lower(name) LIKE ${like} ESCAPE '\\' OR phone LIKE ${like} ESCAPE '\\')`);
      }
      if (q.after !== undefined) query = query.where('phone', '>', q.after);
      return query.orderBy('phone').limit(q.limit).execute();
    },
  };
}
