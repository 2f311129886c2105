import type { Kysely } from 'kysely';

// The operator's API (issue 12): the audit log, and when a tenant's Twilio auth token was set.
// A tenant's enabled flag is its existing `status` column ('active' | 'disabled').
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').addColumn('twilio_auth_token_set_at', 'bigint').execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('platform', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('actor_key_id', 'text')
    .addColumn('actor_tenant_id', 'text')
    .addColumn('on_behalf_of', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('changes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_tenant').on('audit_log').columns(['tenant_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('audit_log_platform').on('audit_log').columns(['platform', 'created_at', 'id']).execute();
}
