import type { Kysely } from 'kysely';
import type { ConsoleSessionsRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function consoleSessionsRepository(k: Kysely<Database>): ConsoleSessionsRepository {
  return {
    async insert(tx, row) {
      await kx(tx).insertInto('console_sessions').values(row).execute();
    },
    find: (idHash) =>
      k
        .selectFrom('console_sessions as s')
        .innerJoin('api_keys as k', 'k.id', 's.key_id')
        .selectAll('s')
        .select(['k.scopes as scopes', 'k.revoked_at as key_revoked_at'])
        .where('s.id_hash', '=', idHash)
        .executeTakeFirst(),
    async touch(idHash, now) {
      await k.updateTable('console_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
    },
    async delete(idHash, tx) {
      await (tx ? kx(tx) : k).deleteFrom('console_sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteExpired(now, idleBefore) {
      const r = await k
        .deleteFrom('console_sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)]))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
