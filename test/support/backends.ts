// Test databases: SQLite always; PostgreSQL too when SMSRELAY_TEST_POSTGRES_URL is set. Each test
// file gets its own SQLite file or PostgreSQL schema.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh database URL + schema for one test scope. */
  create(label: string): Promise<{ url: string; schema?: string; drop(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'smsrelay-test-'));
    return { url: `sqlite:${join(dir, 'test.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

function postgres(url: string): Backend {
  return {
    name: 'postgres',
    async create(label) {
      const schema = `t_${label
        .replace(/[^a-z0-9]/gi, '_')
        .toLowerCase()
        .slice(0, 30)}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
      return {
        url,
        schema,
        drop: async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await c.end();
        },
      };
    },
  };
}

export const pgUrl = process.env.SMSRELAY_TEST_POSTGRES_URL || null;
export const backends: Backend[] = [sqlite, ...(pgUrl ? [postgres(pgUrl)] : [])];
