// Set-based statements over a batch of rows, on both databases, with few SQL texts per shape
// whatever the batch size (so the statement caches and planners see the same queries again, and no
// batch runs into a bound-parameter limit). PostgreSQL gets one array parameter per column,
// unnested: one text per shape. SQLite gets a multi-row VALUES list padded with NULL rows to a power
// of two (at most ten texts per shape, each prepared once); in-process, binding values directly is
// about three times faster than decoding them from one JSON parameter, which remains the fallback
// for batches too large to bind.
import { CompiledQuery, type QueryResult } from 'kysely';
import type { Tx } from '../ports.js';
import type { Dialect } from './db.js';
import { kx } from './tx.js';

export type ColumnType = 'text' | 'bigint';
// SQLite's default SQLITE_MAX_VARIABLE_NUMBER (since 3.32).
const SQLITE_MAX_PARAMS = 32_766;
export type Columns = readonly (readonly [name: string, type: ColumnType])[];

/** Placeholders in the dialect's style, numbered from the first parameter a statement uses. */
export class Params {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: Dialect) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.dialect === 'postgres' ? `$${this.values.length}` : '?';
  }
}

/**
 * `FROM <source> AS alias(col, …)` for the rows: a derived table usable in INSERT … SELECT and
 * UPDATE … FROM. Only the SQL text depends on the columns; the rows are parameters.
 */
export function rowsSource(dialect: Dialect, cols: Columns, rows: readonly (readonly unknown[])[], p: Params, alias = 'v'): string {
  if (dialect === 'postgres') {
    const arrays = cols.map(([, type], i) => `${p.add(rows.map((r) => r[i] ?? null))}::${type}[]`);
    return `unnest(${arrays.join(', ')}) AS ${alias}(${cols.map(([n]) => n).join(', ')})`;
  }
  const names = cols.map(([n], i) => `column${i + 1} AS ${n}`).join(', ');
  let size = 1;
  while (size < rows.length) size *= 2;
  if (size * cols.length > SQLITE_MAX_PARAMS) {
    const json = p.add(JSON.stringify(rows));
    return `(SELECT ${cols.map(([n], i) => `json_extract(value, '$[${i}]') AS ${n}`).join(', ')} FROM json_each(${json})) AS ${alias}`;
  }
  for (let r = 0; r < size; r++) for (let i = 0; i < cols.length; i++) p.add(rows[r]?.[i] ?? null);
  const key = `${alias}|${names}|${size}`;
  let text = sqliteSources.get(key);
  if (text === undefined) {
    const tuple = `(${cols.map(() => '?').join(', ')})`;
    // Padding rows are all NULL: every source's first column is a key that never is.
    text = `(SELECT ${names} FROM (VALUES ${Array.from({ length: size }, () => tuple).join(', ')}) WHERE column1 IS NOT NULL) AS ${alias}`;
    sqliteSources.set(key, text);
  }
  return text;
}

const sqliteSources = new Map<string, string>();

export function run<R>(tx: Tx, text: string, params: unknown[]): Promise<QueryResult<R>> {
  return kx(tx).executeQuery<R>(CompiledQuery.raw(text, params));
}
