// The one place where the storage port's opaque Tx meets Kysely's transaction type.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Db } from './db.js';
import type { Tx } from '../ports.js';
import type { Database } from './schema.js';

export const kx = (tx: Tx): Transaction<Database> => tx as unknown as Transaction<Database>;
export const asTx = (trx: Transaction<Database>): Tx => trx as unknown as Tx;

/**
 * A read-modify-write transaction that holds the write lock from its first statement. SQLite's
 * default (deferred) transaction reads a snapshot and then fails at once with SQLITE_BUSY when
 * another process committed meanwhile; BEGIN IMMEDIATE waits its turn (busy_timeout) instead.
 */
export async function exclusiveTransaction<T>(db: Db, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (db.dialect !== 'sqlite') return db.kysely.transaction().execute(fn);
  return db.kysely.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const r = await fn(conn);
      await sql`commit`.execute(conn);
      return r;
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw e;
    }
  });
}
