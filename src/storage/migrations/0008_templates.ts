import type { Kysely } from 'kysely';

// Message templates. `templates` is one row per name (its latest version, soft-deleted by
// `deleted_at`); `template_versions` holds every version, immutable, and is never deleted, so a
// message keeps pointing at the exact text it was rendered from. `messages.truncated_from` records
// the length of a body the length policy truncated.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('templates')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('current_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .addPrimaryKeyConstraint('templates_pk', ['tenant_id', 'name'])
    .execute();
  await db.schema
    .createTable('template_versions')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('default_locale', 'text', (c) => c.notNull())
    .addColumn('locales', 'text', (c) => c.notNull())
    .addColumn('smart_encoding', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('template_versions_pk', ['tenant_id', 'name', 'version'])
    .execute();
  await db.schema.alterTable('messages').addColumn('truncated_from', 'integer').execute();
}
