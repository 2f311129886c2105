import type { Kysely } from 'kysely';
import type { ConsentRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function consentRepository(k: Kysely<Database>): ConsentRepository {
  return {
    async appendEvent(tx, e) {
      await kx(tx).insertInto('consent_events').values(e).execute();
    },

    async suppress(tx, s) {
      const r = await kx(tx)
        .insertInto('suppressions')
        .values(s)
        .onConflict((oc) => oc.columns(['tenant_id', 'phone']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async unsuppress(tx, tenantId, phone) {
      const r = await kx(tx).deleteFrom('suppressions').where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async isSuppressed(tx, tenantId, phone) {
      const r = await kx(tx).selectFrom('suppressions').select('phone').where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst();
      return r !== undefined;
    },

    suppressedAmong: (tenantIds, phones) =>
      k.selectFrom('suppressions').select(['tenant_id', 'phone']).where('tenant_id', 'in', tenantIds).where('phone', 'in', phones).execute(),

    history: (tenantId, phone, limit) =>
      k.selectFrom('consent_events').selectAll().where('tenant_id', '=', tenantId).where('phone', '=', phone).orderBy('id', 'desc').limit(limit).execute(),

    suppression: (tenantId, phone) => k.selectFrom('suppressions').selectAll().where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst(),

    listSuppressions(tenantId, after, limit) {
      let query = k.selectFrom('suppressions').selectAll().where('tenant_id', '=', tenantId);
      if (after) {
        query = query.where((eb) =>
          eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('phone', '<', after.phone)])]),
        );
      }
      return query.orderBy('created_at', 'desc').orderBy('phone', 'desc').limit(limit).execute();
    },
  };
}
