import type { InboundRepository } from '../../ports.js';
import { kx } from '../tx.js';

export function inboundRepository(): InboundRepository {
  return {
    async logInboundWebhook(tx, e) {
      // The log only de-duplicates inbound webhooks: the raw fields go to the message's event.
      const r = await kx(tx)
        .insertInto('webhook_events')
        .values({
          id: e.id,
          tenant_id: e.tenantId,
          kind: 'inbound',
          message_sid: e.messageSid,
          message_status: 'received',
          idempotency_token: e.idempotencyToken,
          params: null,
          message_id: null,
          created_at: e.now,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async linkInboundWebhook(tx, tenantId, messageSid, messageId) {
      await kx(tx)
        .updateTable('webhook_events')
        .set({ message_id: messageId })
        .where('tenant_id', '=', tenantId)
        .where('kind', '=', 'inbound')
        .where('message_sid', '=', messageSid)
        .execute();
    },
  };
}
