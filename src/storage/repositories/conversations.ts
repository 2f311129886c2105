import { sql, type Kysely } from 'kysely';
import type { ConversationsRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function conversationsRepository(k: Kysely<Database>): ConversationsRepository {
  return {
    list(q) {
      let query = k.selectFrom('conversations').selectAll().where('tenant_id', '=', q.tenantId);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.unread === true) query = query.where('unread_count', '>', 0);
      if (q.unread === false) query = query.where('unread_count', '=', 0);
      if (q.needsAttention !== undefined) query = query.where('needs_attention', '=', q.needsAttention ? 1 : 0);
      if (q.externalRef !== undefined) query = query.where('external_ref', '=', q.externalRef);
      const after = q.after;
      if (after) {
        query = query.where((eb) =>
          eb.or([eb('last_message_at', '<', after.lastMessageAt), eb.and([eb('last_message_at', '=', after.lastMessageAt), eb('id', '<', after.id)])]),
        );
      }
      return query.orderBy('last_message_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    },

    get: (tenantId, id) => k.selectFrom('conversations').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst(),

    async markRead(tx, tenantId, id, now) {
      await kx(tx)
        .updateTable('conversations')
        .set({ unread_count: 0, last_read_at: now, updated_at: now })
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .execute();
    },

    async upsertForInbound(tx, row) {
      const now = row.last_message_at;
      const r = await kx(tx)
        .insertInto('conversations')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'our_addr', 'contact_addr']).doUpdateSet({
            unread_count: sql<number>`conversations.unread_count + 1`,
            status: sql<string>`CASE WHEN conversations.status = 'closed' THEN 'active' ELSE conversations.status END`,
            last_message_at: now,
            updated_at: now,
            ...(row.needs_attention ? { needs_attention: 1, attention_reason: row.attention_reason } : {}),
          }),
        )
        .returning(['id', 'status'])
        .executeTakeFirstOrThrow();
      return r;
    },

    async update(tx, tenantId, id, changes, now) {
      const r = await kx(tx)
        .updateTable('conversations')
        .set({ ...changes, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    blockedAmong: (tenantIds, contactAddrs) =>
      k
        .selectFrom('conversations')
        .select(['tenant_id', 'contact_addr'])
        .where('tenant_id', 'in', tenantIds)
        .where('contact_addr', 'in', contactAddrs)
        .where('status', '=', 'blocked')
        .execute(),

    async setConsentStatus(tx, tenantId, contactAddrs, status, now) {
      await kx(tx)
        .updateTable('conversations')
        .set({ status, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('contact_addr', 'in', contactAddrs)
        .where('status', 'in', ['active', 'opted_out'])
        .execute();
    },

    async markOptedOutIfActive(tx, id) {
      await kx(tx).updateTable('conversations').set({ status: 'opted_out' }).where('id', '=', id).where('status', '=', 'active').execute();
    },

    async listThreadMessages({ tenantId, conversation: c, beforeId, limit }) {
      let inbound = k.selectFrom('messages').selectAll().where('conversation_id', '=', c.id).where('tenant_id', '=', tenantId);
      let outbound = k
        .selectFrom('messages')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('to_addr', '=', c.contact_addr)
        .where('from_addr', '=', c.our_addr)
        .where('direction', '=', 'outbound');
      if (beforeId) {
        inbound = inbound.where('id', '<', beforeId);
        outbound = outbound.where('id', '<', beforeId);
      }
      // Two indexed queries merged here rather than one OR that neither database can index well.
      const [a, b] = await Promise.all([inbound.orderBy('id', 'desc').limit(limit).execute(), outbound.orderBy('id', 'desc').limit(limit).execute()]);
      return [...a, ...b].sort((x, y) => (x.id < y.id ? 1 : x.id > y.id ? -1 : 0)).slice(0, limit);
    },
  };
}
