import type { Kysely } from 'kysely';
import type { ApiKeyRecord, ApiKeysRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function apiKeysRepository(k: Kysely<Database>): ApiKeysRepository {
  return {
    async insert(tx, row) {
      await kx(tx).insertInto('api_keys').values(row).execute();
    },
    findByHash: (hash) => k.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst() as Promise<ApiKeyRecord | undefined>,
    list: (tenantId) => k.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute(),
    async revoke(tx, tenantId, idOrPrefix, now) {
      const rows = await kx(tx)
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('id', '=', idOrPrefix), eb('prefix', '=', idOrPrefix)]))
        .where('revoked_at', 'is', null)
        .returning('id')
        .execute();
      return rows.map((r) => r.id);
    },
    async unrevoke(id) {
      await k.updateTable('api_keys').set({ revoked_at: null }).where('id', '=', id).execute();
    },
    async touch(id, now) {
      await k.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
    },
  };
}
