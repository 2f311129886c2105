import type { Kysely } from 'kysely';
import type { AuditRecord, AuditRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function auditRepository(k: Kysely<Database>): AuditRepository {
  return {
    async record(tx, row) {
      await kx(tx).insertInto('audit_log').values(row).execute();
    },
    list: (q) =>
      k
        .selectFrom('audit_log')
        .selectAll()
        .where((eb) => {
          const mine = eb('tenant_id', '=', q.tenantId);
          const scope = q.includePlatform ? eb.or([mine, eb('platform', '=', 1)]) : mine;
          if (!q.before) return scope;
          const [at, id] = q.before;
          return eb.and([scope, eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])])]);
        })
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(q.limit)
        .execute() as Promise<AuditRecord[]>,
  };
}
