import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';

/**
 * A query compiled once and run many times with new values. Kysely builds and compiles a query on
 * every call (~40 µs each, more than SQLite needs to run our inserts), which made query building
 * the largest cost of the send path. Kysely has no prepared-query API, so this compiles the
 * builder once with a marker value per parameter and maps the markers' positions to names.
 *
 *   const insertEvent = prepare(db, (p) => db.insertInto('message_events').values({ message_id: p('id'), … }));
 *   await insertEvent(trx, { id: '…', … });
 */
export type Prepared<P, R> = (executor: Kysely<any>, params: P) => Promise<QueryResult<R>>;

const MARK = '\u0000param:';

export function prepare<P extends Record<string, unknown>, R = unknown>(build: (p: (name: keyof P & string) => any) => Compilable<R>): Prepared<P, R> {
  let compiled: CompiledQuery<R> | null = null;
  let names: string[] = [];
  return (executor, params) => {
    if (!compiled) {
      compiled = build((name) => MARK + name).compile();
      names = compiled.parameters.map((v) => {
        if (typeof v !== 'string' || !v.startsWith(MARK)) throw new Error('prepared queries take every value as a parameter');
        return v.slice(MARK.length);
      });
    }
    const parameters = names.map((n) => params[n]);
    return executor.executeQuery<R>({ ...compiled, parameters });
  };
}
