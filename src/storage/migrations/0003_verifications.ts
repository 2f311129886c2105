import type { Kysely } from 'kysely';

// Rate limits are a sliding-window log (one row per accepted send per key) rather than fixed-window
// counters: the window is exact (no double burst at a bucket edge), Retry-After is exact (when the
// oldest event in the window leaves it), and a key never holds more rows than its limit per window.
// Conversion statistics need no table of their own: they are counted from `verifications`
// (started = rows created, approved = status 'approved') over the indexes below.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('verifications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('backend', 'text', (c) => c.notNull())
    .addColumn('to_addr', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('country', 'text')
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('code_length', 'integer', (c) => c.notNull())
    .addColumn('code_hash', 'text')
    .addColumn('provider_sid', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('send_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('message_id', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('approved_at', 'bigint')
    .execute();
  // The live verification of a number (start/resend, check by `to`).
  await db.schema.createIndex('verifications_tenant_to').on('verifications').columns(['tenant_id', 'to_addr', 'created_at']).execute();
  // Conversion per prefix (automatic blocking) and the stats endpoint.
  await db.schema.createIndex('verifications_tenant_prefix').on('verifications').columns(['tenant_id', 'prefix', 'created_at']).execute();
  await db.schema.createIndex('verifications_tenant_created').on('verifications').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('verify_rate_events')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('verify_rate_events_key_at').on('verify_rate_events').columns(['key', 'at']).execute();

  await db.schema
    .createTable('verify_blocked_prefixes')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('blocked_until', 'bigint', (c) => c.notNull())
    .addColumn('started', 'integer', (c) => c.notNull())
    .addColumn('approved', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('verify_blocked_prefixes_pk', ['tenant_id', 'prefix'])
    .execute();
}
