import { sql, type Kysely } from 'kysely';

// Campaigns (issue 14): a campaign, its audience (one row per recipient, streamed in) and the link
// from each campaign message back to its campaign.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('template_name', 'text')
    .addColumn('template_locale', 'text')
    .addColumn('body', 'text')
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('from_addr', 'text')
    .addColumn('messaging_service_sid', 'text')
    .addColumn('rate', 'integer')
    .addColumn('start_at', 'bigint')
    .addColumn('dedupe', 'integer', (c) => c.notNull())
    // The variables every row must have (the template's, fixed at creation).
    .addColumn('variables', 'text', (c) => c.notNull())
    // Recipient rows are numbered per campaign: each upload batch takes the next range of numbers.
    .addColumn('next_seq', 'bigint', (c) => c.notNull())
    .addColumn('uploaded_rows', 'bigint', (c) => c.notNull())
    .addColumn('duplicates', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('campaigns_tenant').on('campaigns').columns(['tenant_id', 'id']).execute();
  await db.schema.createIndex('campaigns_status').on('campaigns').columns(['status']).execute();

  await db.schema
    .createTable('campaign_recipients')
    .addColumn('campaign_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    // E.164 when valid; the row's text as given when invalid.
    .addColumn('phone', 'text', (c) => c.notNull())
    // The phone when the campaign drops duplicates (unique below), else null (never equal).
    .addColumn('dedupe_key', 'text')
    .addColumn('country', 'text')
    .addColumn('variables', 'text', (c) => c.notNull())
    // pending | messaged | invalid | suppressed | failed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('row_number', 'bigint', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('message_id', 'text')
    // A dispatcher's claim (lease) on a pending recipient.
    .addColumn('locked_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('campaign_recipients_pk', ['campaign_id', 'seq'])
    .execute();
  await db.schema.createIndex('campaign_recipients_dedupe').unique().on('campaign_recipients').columns(['campaign_id', 'dedupe_key']).execute();
  // Paging by status and cursor, and the dispatcher's next pending recipients in upload order.
  await db.schema.createIndex('campaign_recipients_status').on('campaign_recipients').columns(['campaign_id', 'status', 'seq']).execute();

  await db.schema.alterTable('messages').addColumn('campaign_id', 'text').execute();
  // The campaign's messages still in the outbox (its window, held ones on pause).
  // Covering for a campaign's counts (messages by status, with the price) as well as its cancel.
  await db.schema
    .createIndex('messages_campaign')
    .on('messages')
    .columns(['campaign_id', 'status', 'error_code', 'price'])
    .where(sql.ref('campaign_id'), 'is not', null)
    .execute();
  // A running campaign's rate now: its messages sent in the last seconds, one short index range.
  await db.schema
    .createIndex('messages_campaign_sent')
    .on('messages')
    .columns(['campaign_id', 'sent_at'])
    .where(sql.ref('campaign_id'), 'is not', null)
    .execute();
}
