import type { Kysely } from 'kysely';

// Sending limits and caps (a disabled tenant is its status 'disabled': sends refused, queue held).
// `policy_counters` holds per-day counts of one tenant (messages counted against the daily cap,
// refusals and holds by reason), each bumped by one atomic upsert. `policy_counted` marks a message
// as counted, so the dispatcher's re-check never counts it twice. `alerts` holds each alert once
// per tenant, kind and day. Per-recipient windows reuse the sliding-window log of 0003.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('policy_counters')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_counters_pk', ['tenant_id', 'day', 'name'])
    .execute();

  await db.schema
    .createTable('policy_counted')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('policy_counted_created').on('policy_counted').column('created_at').execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('data', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alerts_once').unique().on('alerts').columns(['tenant_id', 'kind', 'day']).execute();
  await db.schema.createIndex('alerts_tenant_id').on('alerts').columns(['tenant_id', 'id']).execute();
}
