// The SQLite database and its -wal/-shm files hold phone numbers, bodies and key hashes: only the
// user running smsrelay may read them (0600), in a directory created 0700.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createSmsRelay, ensureInitialApiKey } from '../src/main.js';
import { waitFor } from './support/relay.js';

const base = mkdtempSync(join(tmpdir(), 'smsrelay-perms-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

/** A relay on `file` that writes (sends through the embedded emulator); returns the warnings it logged. */
async function runRelay(file: string, dataDir: string) {
  const lines: any[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write: (c, _e, cb) => {
        lines.push(JSON.parse(String(c)));
        cb();
      },
    }),
  );
  const relay = await createSmsRelay({ databaseUrl: `sqlite:${file}`, dataDir, worker: { pollIntervalMs: 20 } }, { logger });
  relay.startWorker();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await relay.send({ to: '+14155550601', body: `private ${i}` })).message.id);
  await waitFor(async () => (await Promise.all(ids.map((id) => relay.get(id)))).every((m) => m.provider_sid !== null));
  const keyPath = await ensureInitialApiKey(relay);
  // Stat while the files are in use (SQLite removes -wal/-shm when the last connection closes).
  const modes = { db: mode(file), wal: mode(`${file}-wal`), shm: mode(`${file}-shm`), key: keyPath ? mode(keyPath) : null };
  await relay.close();
  return { modes, warnings: lines.filter((l) => l.level === 40).map((l) => String(l.msg)) };
}

describe('SQLite file permissions', () => {
  it('creates missing directories 0700 and the database, -wal and -shm 0600, also when reopened', async () => {
    const dir = join(base, 'fresh', 'data');
    const file = join(dir, 'smsrelay.db');
    const first = await runRelay(file, dir);
    expect(mode(join(base, 'fresh'))).toBe('700');
    expect(mode(dir)).toBe('700');
    expect(first.modes).toEqual({ db: '600', wal: '600', shm: '600', key: '600' });
    expect(first.warnings.filter((w) => w.includes('other users'))).toEqual([]);
    // A later start recreates -wal/-shm (removed on close) and they follow the database's mode.
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect((await runRelay(file, dir)).modes).toMatchObject({ db: '600', wal: '600', shm: '600' });
  });

  it("tightens an existing database's files, leaves an existing directory alone and warns about it", async () => {
    const dir = join(base, 'shared');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = join(dir, 'old.db');
    // As an older version left them: 0644 files, -wal/-shm kept by a connection still open.
    const old = new BetterSqlite3(file);
    old.pragma('journal_mode = WAL');
    old.exec('create table t (x)');
    old.exec('insert into t values (1)');
    expect(mode(file)).toBe('644');
    expect(mode(`${file}-wal`)).toBe('644');
    const run = await runRelay(file, dir);
    old.close();
    expect(run.modes).toMatchObject({ db: '600', wal: '600', shm: '600' });
    expect(mode(dir)).toBe('755');
    expect(run.warnings.some((w) => w.includes(dir) && w.includes('other users'))).toBe(true);
  });
});
