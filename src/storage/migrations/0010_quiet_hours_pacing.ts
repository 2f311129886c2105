import type { Kysely } from 'kysely';

// Quiet hours: the recipient's time zone given on the send request, kept so that the check at
// dispatch sees it too. Sender pacing: one row per sender, its next free send slot, moved forward
// by one atomic statement per send (shared by every worker process).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('recipient_timezone', 'text').execute();
  await db.schema
    .createTable('sender_pace')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('next_at', 'bigint', (c) => c.notNull())
    .addColumn('granted', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('sender_pace_pk', ['tenant_id', 'sender'])
    .execute();
}
