import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, type LogConfig } from 'kysely';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** Group commits that may run at once (each on its own connection): 1 on SQLite, its single writer. */
  maxWriters: number;
  /** PostgreSQL pool usage (metrics); absent on SQLite, which has one connection. */
  pool?: () => { total: number; idle: number; waiting: number; max: number };
  destroy(): Promise<void>;
}

export interface DbOptions {
  /** PostgreSQL schema to use (created if missing); tests give each file its own. */
  schema?: string;
  poolSize?: number;
  /**
   * Told about every SQL statement run (BEGIN and COMMIT included) with its duration: counting
   * statements per message in benchmarks (SmsRelayOptions.onQuery).
   */
  onQuery?: (sql: string, durationMs: number) => void;
  /** Told about a SQLite directory other users can reach (the files in it are 0600 regardless). */
  warn?: (message: string, details: Record<string, unknown>) => void;
}

// pg returns int8 as strings to avoid precision loss; our bigints are epoch milliseconds, well within 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Kysely's SQLite driver prepares every query anew; SQLite then re-parses and re-plans the same
 * SQL on each request. Reusing prepared statements keyed by SQL text removes that cost from the
 * hot paths. Bounded, since dynamic queries (IN lists of varying length) produce many texts.
 */
function withStatementCache(db: BetterSqlite3.Database, max = 500) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

function queryLog(onQuery: DbOptions['onQuery']): LogConfig | undefined {
  if (!onQuery) return undefined;
  return (e) => onQuery(e.query.sql, e.queryDurationMillis);
}

export function sqlitePath(url: string): string {
  return url.replace(/^sqlite:(\/\/)?/, '');
}

/** Makes a file owner-only when it exists and is not already; a file we may not chmod is reported. */
function ownerOnly(path: string, warn: DbOptions['warn']): void {
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') warn?.(`could not make ${path} readable by its owner only (${code})`, { path });
  }
}

/**
 * The database holds phone numbers, bodies and key hashes. Missing directories are created 0700;
 * an existing one is the operator's choice and only warned about. The database file is created
 * 0600 before SQLite opens it, and existing files are tightened: SQLite creates -wal/-shm later
 * with the database file's permissions, so they follow.
 */
function protectSqliteFile(file: string, warn: DbOptions['warn']): void {
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } else if ((statSync(dir).mode & 0o077) !== 0) {
    warn?.(
      `the database directory ${dir} is open to other users (mode ${(statSync(dir).mode & 0o777).toString(8)}); its database files are 0600, but consider chmod 700 ${dir}`,
      { dir },
    );
  }
  closeSync(openSync(file, 'a', 0o600));
  for (const p of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) ownerOnly(p, warn);
}

export async function openDatabase(url: string, opts: DbOptions = {}): Promise<Db> {
  if (url.startsWith('sqlite:')) {
    const file = sqlitePath(url);
    if (file !== ':memory:') protectSqliteFile(file, opts.warn);
    const sqlite = new BetterSqlite3(file);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash; only an OS crash can lose the last commits.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }), log: queryLog(opts.onQuery) });
    return { kysely, dialect: 'sqlite', maxWriters: 1, destroy: () => kysely.destroy() };
  }
  const schema = opts.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  if (schema) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await c.end();
    }
  }
  const poolSize = opts.poolSize ?? 10;
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryLog(opts.onQuery) });
  // Half the pool writes (batches in flight while the next forms); the rest serves reads and claims.
  return {
    kysely,
    dialect: 'postgres',
    maxWriters: Math.max(1, Math.floor(poolSize / 2)),
    pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: poolSize }),
    destroy: () => kysely.destroy(),
  };
}
