import type { Kysely } from 'kysely';

// Why the sending policy held a message (it is then `scheduled` until `send_at`).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('hold_reason', 'text').execute();
}
