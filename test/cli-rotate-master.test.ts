// `smsrelay keys rotate-master`: the compiled CLI re-encrypts every tenant's stored secret under the
// new master key; processes with the new key (or with both, during the change) read them.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, createSmsRelay } from '../src/main.js';

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-rotate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const db = `sqlite:${join(dir, 'r.db')}`;

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['dist/cli/main.js', ...args], {
    env: { PATH: process.env.PATH!, SMSRELAY_LOG_LEVEL: 'warn', SMSRELAY_DATA_DIR: dir, SMSRELAY_DATABASE_URL: db, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const open = (masterKey: string, masterKeyPrevious: string | null = null) =>
  createSmsRelay({ databaseUrl: db, logLevel: 'silent', masterKey, masterKeyPrevious }, { logger: createLogger('silent') });

describe('smsrelay keys rotate-master', () => {
  const oldKey = randomBytes(32).toString('hex');
  const newKey = randomBytes(32).toString('base64');

  it('re-encrypts every secret; the new key reads them, the old one alone no longer does, both together do', async () => {
    const relay = await open(oldKey);
    const ids: string[] = [];
    for (const n of [1, 2, 3])
      ids.push(
        (await relay.tenants.create({ slug: `t${n}`, name: `T${n}`, twilioAccountSid: `AC${String(n).repeat(32)}`, twilioAuthToken: `token-${n}-abcdef` })).id,
      );
    await relay.close();

    expect(cli(['keys', 'rotate-master', '--new-key', 'short'], { SMSRELAY_MASTER_KEY: oldKey }).code).toBe(2);
    expect(cli(['keys', 'rotate-master', '--new-key', newKey], {}).code).toBe(2);
    const r = cli(['keys', 'rotate-master', '--new-key', newKey], { SMSRELAY_MASTER_KEY: oldKey });
    expect(r.err.split('\n').filter((l) => l.startsWith('re-encrypting'))).toEqual([1, 2, 3].map((i) => `re-encrypting secret ${i}/3`));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/re-encrypted 3 secret\(s\)/);
    expect(r.out + r.err).not.toContain(newKey);

    for (const [key, previous] of [
      [newKey, null],
      [newKey, oldKey],
    ] as const) {
      const after = await open(key, previous);
      for (const [i, id] of ids.entries()) expect((await after.tenants.twilioCredentials(id))?.authToken).toBe(`token-${i + 1}-abcdef`);
      await after.close();
    }
    const stale = await open(oldKey);
    await expect(stale.tenants.twilioCredentials(ids[0]!)).rejects.toThrow();
    await stale.close();

    // Run again with the new key in place: nothing left to re-encrypt.
    const again = cli(['keys', 'rotate-master', '--new-key', newKey], { SMSRELAY_MASTER_KEY: newKey, SMSRELAY_MASTER_KEY_PREVIOUS: oldKey });
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/re-encrypted 0 secret\(s\) under the new key \(3 already were\)/);
  });
});
