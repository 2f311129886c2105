import { type Kysely, sql } from 'kysely';

// The admin console's reads, fast with 1,000,000 messages (bench/console.js):
// - the messages list filtered by category or template, newest first by id;
// - a tenant's outbox (depth and oldest pending message), partial like messages_outbox: only
//   rows still waiting for the worker have an entry.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('messages_tenant_category').on('messages').columns(['tenant_id', 'category', 'id']).execute();
  await db.schema
    .createIndex('messages_tenant_template')
    .on('messages')
    .columns(['tenant_id', 'template_name', 'id'])
    .where(sql.ref('template_name'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('messages_tenant_outbox')
    .on('messages')
    .columns(['tenant_id', 'status', 'created_at'])
    .where(sql.ref('status'), 'in', sql`('pending', 'scheduled')`)
    .execute();
}
