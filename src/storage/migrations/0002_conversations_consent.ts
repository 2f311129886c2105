import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('contact_addr', 'text', (c) => c.notNull())
    .addColumn('our_addr', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('unread_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_message_at', 'bigint', (c) => c.notNull())
    .addColumn('last_read_at', 'bigint')
    .addColumn('needs_attention', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attention_reason', 'text')
    .addColumn('external_ref', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // One thread per (tenant, our number, contact): inbound upserts on it.
  await db.schema.createIndex('conversations_thread').on('conversations').columns(['tenant_id', 'our_addr', 'contact_addr']).unique().execute();
  // The inbox lists by most recent activity.
  await db.schema.createIndex('conversations_recent').on('conversations').columns(['tenant_id', 'last_message_at', 'id']).execute();
  await db.schema.createIndex('conversations_contact').on('conversations').columns(['tenant_id', 'contact_addr']).execute();

  await db.schema
    .createTable('consent_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('detail', 'text')
    .addColumn('message_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('consent_events_phone').on('consent_events').columns(['tenant_id', 'phone', 'id']).execute();

  await db.schema
    .createTable('suppressions')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // The primary key is the lookup every send makes (API accept and worker claim).
    .addPrimaryKeyConstraint('suppressions_pk', ['tenant_id', 'phone'])
    .execute();
  await db.schema.createIndex('suppressions_recent').on('suppressions').columns(['tenant_id', 'created_at', 'phone']).execute();

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('message_sid', 'text', (c) => c.notNull())
    .addColumn('message_status', 'text', (c) => c.notNull())
    .addColumn('idempotency_token', 'text')
    // Raw fields of a callback not yet matched to a message; once matched, its message_events row has them.
    .addColumn('params', 'text')
    .addColumn('message_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // De-duplication: a retry carries the same token; a separate copy of the same event the same
  // (MessageSid, MessageStatus). Inserts use ON CONFLICT DO NOTHING against both.
  await db.schema
    .createIndex('webhook_events_token')
    .on('webhook_events')
    .columns(['tenant_id', 'idempotency_token'])
    .unique()
    .where(sql.ref('idempotency_token'), 'is not', null)
    .execute();
  await db.schema.createIndex('webhook_events_event').on('webhook_events').columns(['tenant_id', 'kind', 'message_sid', 'message_status']).unique().execute();
  // Callbacks that arrived before their message's SID was stored, to be matched later.
  await db.schema.createIndex('webhook_events_orphans').on('webhook_events').columns(['created_at']).where(sql.ref('message_id'), 'is', null).execute();

  await db.schema
    .createTable('reconcile_checks')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('next_check_at', 'bigint', (c) => c.notNull())
    .addColumn('checks', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  // Threads list outbound replies and inbound messages of a conversation.
  await db.schema
    .createIndex('messages_conversation')
    .on('messages')
    .columns(['conversation_id', 'id'])
    .where(sql.ref('conversation_id'), 'is not', null)
    .execute();
  // The reconciler's scan: outbound messages still waiting for a final provider status.
  await db.schema
    .createIndex('messages_unsettled')
    .on('messages')
    .columns(['updated_at'])
    .where(sql.ref('status'), 'in', sql`('accepted', 'queued', 'sending', 'sent')`)
    .execute();
}
