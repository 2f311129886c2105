import { type Kysely, sql } from 'kysely';

// The admin console's reads, fast with 1,000,000 messages (bench/console.js):
// - The messages list is ordered by created_at (then id), so a date range is one index range. Its
//   indexes replace 0001's (tenant_id[, to_addr | status], id), which served the order by id (where
//   an old date range walked every newer row); they still serve lookups by tenant, number or status.
// - The list filtered by category, template or campaign (partial: only template sends, and campaign
//   messages, have an entry).
//   (tenant_id, status, created_at) also serves a tenant's outbox: depth and oldest pending message.
// - Verification stats count from the index alone (no table reads over a 30-day range); it replaces
//   0003's (tenant_id, created_at), its prefix.
export async function up(db: Kysely<any>): Promise<void> {
  for (const name of ['messages_tenant_id', 'messages_tenant_to', 'messages_tenant_status']) await db.schema.dropIndex(name).execute();
  await db.schema.createIndex('messages_tenant_recent').on('messages').columns(['tenant_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('messages_tenant_to_recent').on('messages').columns(['tenant_id', 'to_addr', 'created_at', 'id']).execute();
  await db.schema.createIndex('messages_tenant_status_recent').on('messages').columns(['tenant_id', 'status', 'created_at', 'id']).execute();
  await db.schema.createIndex('messages_tenant_category').on('messages').columns(['tenant_id', 'category', 'created_at', 'id']).execute();
  await db.schema
    .createIndex('messages_tenant_template')
    .on('messages')
    .columns(['tenant_id', 'template_name', 'created_at', 'id'])
    .where(sql.ref('template_name'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('messages_tenant_campaign')
    .on('messages')
    .columns(['tenant_id', 'campaign_id', 'created_at', 'id'])
    .where(sql.ref('campaign_id'), 'is not', null)
    .execute();
  await db.schema.dropIndex('verifications_tenant_created').execute();
  await db.schema.createIndex('verifications_tenant_stats').on('verifications').columns(['tenant_id', 'created_at', 'prefix', 'country', 'status']).execute();
}
