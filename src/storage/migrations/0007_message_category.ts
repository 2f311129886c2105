import type { Kysely } from 'kysely';

// Every message has a category (sending policies differ by it) and records the template it was
// rendered from, if any. Existing rows are transactional, as every send was before.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('messages')
    .addColumn('category', 'text', (c) => c.notNull().defaultTo('transactional'))
    .execute();
  await db.schema.alterTable('messages').addColumn('template_name', 'text').execute();
  await db.schema.alterTable('messages').addColumn('template_version', 'integer').execute();
}
