import { sql, type Kysely } from 'kysely';
import { isSqlite } from '../dialect.js';

// Usage and cost, lookups, contacts and retention (issue 12).
export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = isSqlite(db);
  // The price pass writes an estimate (core/pricing.ts) where the provider reported none.
  await db.schema
    .alterTable('messages')
    .addColumn('price_estimated', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // The remote party's country (ISO), fixed when the message is first counted (the number itself may be erased later).
  await db.schema.alterTable('messages').addColumn('country', 'text').execute();
  // What the usage rollup counts for this message: its status and price when last counted (an estimated price 'e:'-prefixed). A row
  // whose counted state differs from its state is in the partial index below: the aggregator's queue.
  await db.schema.alterTable('messages').addColumn('usage_status', 'text').execute();
  await db.schema.alterTable('messages').addColumn('usage_price', 'text').execute();
  // Set when retention (or an erasure) redacted the body and media URLs.
  await db.schema.alterTable('messages').addColumn('redacted_at', 'bigint').execute();
  const differs = sqlite ? 'IS NOT' : 'IS DISTINCT FROM';
  await sql`CREATE INDEX messages_usage_dirty ON messages (id) WHERE usage_status ${sql.raw(differs)} status OR usage_price ${sql.raw(differs)} (CASE WHEN price_estimated = 1 THEN 'e:' || price ELSE price END)`.execute(
    db,
  );
  // The price pass's queue: final messages at the provider without a price yet.
  await sql`CREATE INDEX messages_unpriced ON messages (updated_at) WHERE price IS NULL AND provider_sid IS NOT NULL AND status IN ('sent', 'delivered', 'undelivered', 'failed')`.execute(
    db,
  );
  // Retention's queue: messages not redacted yet, oldest first per tenant.
  await db.schema.createIndex('messages_unredacted').on('messages').columns(['tenant_id', 'created_at']).where(sql.ref('redacted_at'), 'is', null).execute();

  // Counts per tenant, hour, status, channel, country ('' unknown) and category; costs in millionths
  // of the unit. The same per day too, so a month by day reads 24 times fewer rows.
  for (const table of ['usage_rollup', 'usage_rollup_day']) {
    await db.schema
      .createTable(table)
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('bucket', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('country', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('messages', 'bigint', (c) => c.notNull())
      .addColumn('segments', 'bigint', (c) => c.notNull())
      .addColumn('cost_actual', 'bigint', (c) => c.notNull())
      .addColumn('cost_estimated', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['tenant_id', 'bucket', 'status', 'channel', 'country', 'category'])
      .execute();
  }

  // Twilio Lookup answers, per tenant (its account paid for them) and number, reused for 30 days.
  await db.schema
    .createTable('lookup_cache')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('fetched_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('lookup_cache_pk', ['tenant_id', 'phone'])
    .execute();

  await db.schema
    .createTable('contacts')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('locale', 'text')
    .addColumn('time_zone', 'text')
    .addColumn('external_ref', 'text')
    .addColumn('fields', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('contacts_pk', ['tenant_id', 'phone'])
    .execute();
  await db.schema.createIndex('contacts_external_ref').on('contacts').columns(['tenant_id', 'external_ref']).execute();
  await db.schema.createIndex('conversations_external_ref').on('conversations').columns(['tenant_id', 'external_ref']).execute();
}
