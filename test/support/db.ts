// The one way tests reach the database directly (to look at rows or to stage a state the API cannot
// produce); everything else goes through the services or the repositories (relay.repos).
import type { Kysely } from 'kysely';
import type { SmsRelay } from '../../src/main.js';
import type { Database } from '../../src/storage/schema.js';

export const sqlOf = (relay: SmsRelay): Kysely<Database> => relay.db.kysely;

/** How many rows a table holds (e.g. to show that a refused request wrote nothing). */
export async function countRows(relay: SmsRelay, table: keyof Database): Promise<number> {
  const r = await sqlOf(relay)
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
