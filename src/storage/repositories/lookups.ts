import type { Kysely } from 'kysely';
import type { LookupCacheRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function lookupCacheRepository(k: Kysely<Database>): LookupCacheRepository {
  return {
    get: (tenantId, phone) => k.selectFrom('lookup_cache').selectAll().where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst(),
    async put(tx, row) {
      await kx(tx)
        .insertInto('lookup_cache')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'phone']).doUpdateSet({ data: row.data, fetched_at: row.fetched_at }))
        .execute();
    },
  };
}
