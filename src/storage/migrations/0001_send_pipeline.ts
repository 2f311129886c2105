import { sql, type Kysely } from 'kysely';
import { isSqlite } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const serial = isSqlite(db) ? 'integer' : 'bigserial';

  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('twilio_account_sid', 'text')
    .addColumn('twilio_auth_token_enc', 'text')
    .addColumn('from_number', 'text')
    .addColumn('messaging_service_sid', 'text')
    .addColumn('whatsapp_from', 'text')
    .addColumn('default_region', 'text')
    .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('api_keys_tenant').on('api_keys').column('tenant_id').execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('to_addr', 'text', (c) => c.notNull())
    .addColumn('from_addr', 'text')
    .addColumn('messaging_service_sid', 'text')
    .addColumn('body', 'text')
    .addColumn('media_urls', 'text')
    .addColumn('encoding', 'text')
    .addColumn('segments', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('provider_sid', 'text')
    .addColumn('error_code', 'text')
    .addColumn('provider_code', 'integer')
    .addColumn('error_message', 'text')
    .addColumn('price', 'text')
    .addColumn('price_unit', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('locked_until', 'bigint')
    .addColumn('locked_by', 'text')
    .addColumn('in_flight_since', 'bigint')
    .addColumn('send_at', 'bigint')
    .addColumn('expires_at', 'bigint')
    .addColumn('validity_period', 'integer')
    .addColumn('idempotency_key', 'text')
    .addColumn('conversation_id', 'text')
    .addColumn('metadata', 'text')
    // 1 for bodies that carry secrets (verification codes): hidden from the API, erased once sent.
    .addColumn('sensitive', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .execute();
  // Listing is newest first by id (UUIDv7 is time-ordered), per tenant.
  await db.schema.createIndex('messages_tenant_id').on('messages').columns(['tenant_id', 'id']).execute();
  await db.schema.createIndex('messages_tenant_to').on('messages').columns(['tenant_id', 'to_addr', 'id']).execute();
  await db.schema.createIndex('messages_tenant_status').on('messages').columns(['tenant_id', 'status', 'id']).execute();
  // Partial: rows still in the outbox have no SID and need no index entry.
  await db.schema.createIndex('messages_provider_sid').on('messages').column('provider_sid').unique().where('provider_sid', 'is not', null).execute();
  // The outbox: only rows still waiting for the worker are in this index.
  await db.schema
    .createIndex('messages_outbox')
    .on('messages')
    .columns(['next_attempt_at'])
    .where(sql.ref('status'), 'in', sql`('pending', 'scheduled')`)
    .execute();

  await db.schema
    .createTable('message_events')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('provider_code', 'integer')
    .addColumn('data', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('message_events_message').on('message_events').columns(['message_id', 'id']).execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['tenant_id', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_expires').on('idempotency_keys').column('expires_at').execute();
}
