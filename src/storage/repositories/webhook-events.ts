import type { ExpressionBuilder } from 'kysely';
import type { MatchedOrphan, SignerScope, WebhookEventsRepository } from '../../ports.js';
import type { Db } from '../db.js';
import { Params, rowsSource, run } from '../rows.js';
import type { Database } from '../schema.js';

/** The messages a signer may touch (see SignerScope), on `m`. */
function inScope(eb: ExpressionBuilder<Database & { m: Database['messages'] }, 'm'>, scope: SignerScope) {
  if ('tenantId' in scope) return eb('m.tenant_id', '=', scope.tenantId);
  if ('all' in scope) return eb.lit(true);
  return eb.not(
    eb.exists(
      eb
        .selectFrom('tenants as ta')
        .select('ta.id')
        .whereRef('ta.id', '=', 'm.tenant_id')
        .where('ta.twilio_account_sid', 'is not', null)
        .where('ta.twilio_auth_token_enc', 'is not', null),
    ),
  );
}

export function webhookEventsRepository(db: Db): WebhookEventsRepository {
  const k = db.kysely;
  return {
    matchedOrphans(since, limit, installationTenantId, installationScope): Promise<MatchedOrphan[]> {
      return (
        k
          .selectFrom('webhook_events as w')
          // As for live callbacks: the signer's own messages, or for the installation's account those in its scope.
          .innerJoin('messages as m', (j) =>
            j
              .onRef('m.provider_sid', '=', 'w.message_sid')
              .on((eb) =>
                eb.or([
                  eb('m.tenant_id', '=', eb.ref('w.tenant_id')),
                  eb.and([eb('w.tenant_id', '=', installationTenantId), inScope(eb as any, installationScope)]),
                ]),
              ),
          )
          .select(['w.id as event_id', 'w.params', 'w.message_status', 'w.idempotency_token', 'm.id as message_id', 'm.tenant_id'])
          .where('w.message_id', 'is', null)
          .where('w.kind', '=', 'status')
          .where('w.created_at', '>', since)
          .orderBy('w.created_at')
          .limit(limit)
          .execute()
      );
    },

    async attach(tx, orphans) {
      if (orphans.length === 0) return new Set();
      const p = new Params(db.dialect);
      const src = rowsSource(
        db.dialect,
        [
          ['event_id', 'text'],
          ['message_id', 'text'],
        ],
        orphans.map((o) => [o.eventId, o.messageId]),
        p,
      );
      const r = await run<{ id: string }>(
        tx,
        `UPDATE webhook_events AS w SET message_id = v.message_id FROM ${src} WHERE w.id = v.event_id AND w.message_id IS NULL RETURNING id`,
        p.values,
      );
      return new Set(r.rows.map((x) => x.id));
    },
  };
}
