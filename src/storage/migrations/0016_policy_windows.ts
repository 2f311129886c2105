import { type Kysely, sql } from 'kysely';
import { isSqlite } from '../dialect.js';

// Cheaper sending limits on the send path (issue 11's benchmark):
// - `messages.metered` says the message was counted against the limits, set in the row the accept
//   inserts anyway (it replaces the `policy_counted` table: a row and two index entries per message);
//   the dispatcher reads it from the claimed row instead of querying marks.
// - `recipient_windows` holds one row per recipient key with its recent send times (newest first, at
//   most a limit's worth), read and rewritten once per batch, instead of one log row per send that
//   had to be pruned, read and appended (three statements). Rows past `expires_at` are spent; the
//   cleanup scans the table every few minutes rather than keep an index that every send would rewrite
//   (an indexed expires_at would also rule out PostgreSQL's in-place HOT updates).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('messages')
    .addColumn('metered', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db
    .updateTable('messages')
    .set({ metered: 1 })
    .where('id', 'in', (eb: any) => eb.selectFrom('policy_counted').select('message_id'))
    .execute();
  await db.schema.dropTable('policy_counted').execute();

  await db.schema
    .createTable('recipient_windows')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // SQLite: the rows live in the primary key's b-tree (no separate rowid table), one write per upsert.
    .$call((b) => (isSqlite(db) ? b.modifyEnd(sql`without rowid`) : b))
    .execute();

  // The windows in flight move over (the old log kept them in verify_rate_events under 'r:' keys);
  // a window's length is not known here, so they are kept for the longest one settings allow.
  const MAX_WINDOW_MS = 31 * 86_400_000;
  const rows = await db.selectFrom('verify_rate_events').select(['key', 'at']).where('key', 'like', 'r:%').orderBy('key').orderBy('at', 'desc').execute();
  const byKey = new Map<string, number[]>();
  for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.at)]);
  const windows = [...byKey].map(([key, events]) => ({ key, events: JSON.stringify(events), expires_at: events[0]! + MAX_WINDOW_MS }));
  for (let i = 0; i < windows.length; i += 500)
    await db
      .insertInto('recipient_windows')
      .values(windows.slice(i, i + 500))
      .execute();
  await db.deleteFrom('verify_rate_events').where('key', 'like', 'r:%').execute();
}
