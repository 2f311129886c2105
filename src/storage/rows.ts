// Set-based statements over a batch of rows, on both databases, with one SQL text per shape
// whatever the batch size (so SQLite's statement cache and PostgreSQL's planner see one query,
// and no batch runs into a bound-parameter limit): the rows travel as one parameter per column
// (PostgreSQL arrays, unnested) or one JSON parameter (SQLite's json_each).
import { CompiledQuery, type QueryResult } from 'kysely';
import type { Tx } from '../ports.js';
import type { Dialect } from './db.js';
import { kx } from './tx.js';

export type ColumnType = 'text' | 'bigint';
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
  const json = p.add(JSON.stringify(rows));
  return `(SELECT ${cols.map(([n], i) => `json_extract(value, '$[${i}]') AS ${n}`).join(', ')} FROM json_each(${json})) AS ${alias}`;
}

export function run<R>(tx: Tx, text: string, params: unknown[]): Promise<QueryResult<R>> {
  return kx(tx).executeQuery<R>(CompiledQuery.raw(text, params));
}
