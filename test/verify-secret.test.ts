// Local codes with the Random port injected: the codes and the generated HMAC secret come from it,
// so a test knows the code without reading the SMS.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createSmsRelay } from '../src/main.js';
import { systemRandom, type Random } from '../src/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-verify-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local verification randomness', () => {
  it('draws codes and the generated secret from the injected Random', async () => {
    const random: Random = { id: systemRandom.id, int: () => 3, bytes: (n) => Buffer.alloc(n, 7) };
    const relay = await createSmsRelay(
      { databaseUrl: `sqlite:${join(dir, 'test.db')}`, dataDir: dir, verify: { backend: 'local', secret: null } },
      { logger: pino({ level: 'silent' }), random },
    );
    try {
      const tenant = relay.defaultTenant;
      const started = await relay.verifications.start(tenant, { to: '+14155550701' });
      const path = join(dir, 'verify-secret');
      expect(readFileSync(path, 'utf8')).toBe(`${Buffer.alloc(32, 7).toString('base64url')}\n`);
      expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
      // The message log keeps the code's text redacted; the code itself is known from the Random.
      expect((await relay.repos.verifications.get(tenant.id, started.id))?.message_id).toBeTruthy();
      expect(await relay.verifications.check(tenant, { id: started.id, code: '333333' })).toMatchObject({ status: 'approved' });
    } finally {
      await relay.close();
    }
  });
});
