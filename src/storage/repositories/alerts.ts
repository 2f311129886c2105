import type { Kysely } from 'kysely';
import type { AlertsRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function alertsRepository(k: Kysely<Database>): AlertsRepository {
  return {
    async raise(tx, a) {
      // The unique (tenant_id, kind, day) index makes "once per day" hold across processes.
      const r = await kx(tx)
        .insertInto('alerts')
        .values(a)
        .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'day']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    list(tenantId, before, limit) {
      let q = k.selectFrom('alerts').selectAll().where('tenant_id', '=', tenantId);
      if (before !== undefined) q = q.where('id', '<', before);
      return q.orderBy('id', 'desc').limit(limit).execute();
    },
  };
}
