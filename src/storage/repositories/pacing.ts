// Sender pacing: a next-free-slot row per sender, reserved with one upsert (row lock on PostgreSQL,
// the single writer on SQLite), so workers in several processes never hand out the same slot.
import { sql } from 'kysely';
import type { SenderPaceRepository } from '../../ports.js';
import type { Db } from '../db.js';

export function pacingRepository(db: Db): SenderPaceRepository {
  const greatest = db.dialect === 'postgres' ? sql`greatest` : sql`max`;
  return {
    async reserve(tenantId, sender, now, costMs, horizonMs) {
      const limit = now + horizonMs;
      // Both SET expressions read the row as it was before this statement.
      const free = sql<boolean>`sender_pace.next_at <= ${limit}`;
      const row = await db.kysely
        .insertInto('sender_pace')
        .values({ tenant_id: tenantId, sender, next_at: now + costMs, granted: 1 })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'sender']).doUpdateSet({
            next_at: sql<number>`case when ${free} then ${greatest}(sender_pace.next_at, ${now}) + ${costMs} else sender_pace.next_at end`,
            granted: sql<number>`case when ${free} then 1 else 0 end`,
          }),
        )
        .returning(['next_at', 'granted'])
        .executeTakeFirstOrThrow();
      const nextAt = Number(row.next_at);
      return Number(row.granted) === 1 ? { granted: true, at: nextAt - costMs } : { granted: false, at: nextAt };
    },
  };
}
