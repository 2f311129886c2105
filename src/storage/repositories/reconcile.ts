import { sql, type Kysely } from 'kysely';
import type { ReconcileRepository, StaleMessage } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function reconcileRepository(k: Kysely<Database>): ReconcileRepository {
  return {
    async stale(q) {
      const rows = await k
        .selectFrom('messages as m')
        .leftJoin('reconcile_checks as c', 'c.message_id', 'm.id')
        .select(['m.id', 'm.tenant_id', 'm.status', 'm.to_addr', 'm.provider_sid', 'm.created_at', 'c.checks'])
        // Spelled out, not bound, so SQLite can use the partial messages_unsettled index.
        .where(sql<boolean>`m.status in ('accepted', 'queued', 'sending', 'sent')`)
        .where('m.updated_at', '<', q.updatedBefore)
        .where('m.created_at', '>', q.createdAfter)
        .where('m.direction', '=', 'outbound')
        .where('m.provider_sid', 'is not', null)
        .where((eb) => eb.or([eb('c.next_check_at', 'is', null), eb('c.next_check_at', '<=', q.now)]))
        .orderBy('m.updated_at')
        .limit(q.limit)
        .execute();
      return rows.map(
        (r): StaleMessage => ({
          id: r.id,
          tenant_id: r.tenant_id,
          status: r.status,
          to_addr: r.to_addr,
          provider_sid: r.provider_sid!,
          created_at: r.created_at,
          checks: r.checks ?? 0,
        }),
      );
    },
    async recordCheck(tx, messageId, nextCheckAt, checks) {
      await kx(tx)
        .insertInto('reconcile_checks')
        .values({ message_id: messageId, next_check_at: nextCheckAt, checks })
        .onConflict((oc) => oc.column('message_id').doUpdateSet({ next_check_at: nextCheckAt, checks }))
        .execute();
    },
  };
}
