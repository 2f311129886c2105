// The default tenant's senders come from each process's own environment, read when used: a second
// process started against the same database with another environment (a worker, `smsrelay keys`,
// an embedding application) never rewrites the running server's configuration.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createSmsRelay, type SmsRelay } from '../src/main.js';
import { openDatabase } from '../src/storage/db.js';
import { migrateTo, migrateToLatest } from '../src/storage/migrate.js';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';

const WA = 'whatsapp:+14155238886';

describe.each(backends)('default tenant configuration across processes on $name', (backend) => {
  let db: Awaited<ReturnType<typeof backend.create>>;
  let first: SmsRelay;
  let url: string;
  let key: string;
  let offset = 0;
  // Moves past the tenants' short cache without sleeping.
  const clock = { now: () => new Date(Date.now() + offset) };
  const dataDir = mkdtempSync(join(tmpdir(), 'smsrelay-defaults-'));
  const send = (body: unknown) =>
    fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as any,
    }));

  beforeAll(async () => {
    db = await backend.create('default_config');
    first = await createSmsRelay(
      { host: '127.0.0.1', port: 0, databaseUrl: db.url, dataDir, logLevel: 'silent', twilio: { whatsappNumber: WA, fromNumber: '+15005550006' } },
      { schema: db.schema, clock, logger: createLogger('silent') },
    );
    key = (await first.apiKeys.create(first.defaultTenant.id, 'test', ['admin'])).key;
    url = await first.listen();
  });
  afterAll(async () => {
    await first?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps answering WhatsApp sends after another process starts without TWILIO_WHATSAPP_NUMBER', async () => {
    expect((await send({ to: `whatsapp:+14155550401`, body: 'before', channel: 'whatsapp' })).status).toBe(202);

    // A real second OS process: the CLI, with none of the first one's sender variables.
    const dbUrl = db.schema ? `${db.url}${db.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.schema}`)}` : db.url;
    const cli = spawnSync(process.execPath, ['dist/cli/main.js', 'keys', 'list'], {
      env: { PATH: process.env.PATH!, SMSRELAY_LOG_LEVEL: 'warn', SMSRELAY_DATA_DIR: dataDir, SMSRELAY_DATABASE_URL: dbUrl },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).map((k: any) => k.name)).toContain('test');

    // And an embedded second relay with another sender and region.
    const second = await createSmsRelay(
      { databaseUrl: db.url, dataDir, logLevel: 'silent', defaultRegion: 'GB', twilio: { fromNumber: '+15005550001' } },
      { schema: db.schema, clock, logger: createLogger('silent') },
    );
    try {
      offset += 60_000;
      const wa = await send({ to: `whatsapp:+14155550402`, body: 'after', channel: 'whatsapp' });
      expect(wa.status).toBe(202);
      expect(wa.body.from).toBe(WA);
      // National numbers still read in the first process's region (US), its own from number.
      const sms = await send({ to: '4155550403', body: 'sms after' });
      expect(sms.body).toMatchObject({ to: '+14155550403', from: '+15005550006' });
      // The second process sees its own environment.
      const other = await second.send({ to: '07400123456', body: 'from the second' });
      expect(other.message).toMatchObject({ to: '+447400123456', from: '+15005550001' });
      await expect(second.send({ to: 'whatsapp:+14155550404', body: 'no sender here', channel: 'whatsapp' })).rejects.toMatchObject({
        code: 'SMS_ERR_NO_SENDER',
      });
    } finally {
      await second.close();
    }
    // Nothing of either environment was copied into the row.
    const row = await sqlOf(first).selectFrom('tenants').selectAll().where('slug', '=', 'default').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ from_number: null, messaging_service_sid: null, whatsapp_from: null, default_region: null });
  });

  it('lets a value stored in the row win over the environment', async () => {
    await sqlOf(first).updateTable('tenants').set({ from_number: '+15005550007' }).where('slug', '=', 'default').execute();
    offset += 60_000;
    expect((await send({ to: '+14155550405', body: 'stored sender' })).body.from).toBe('+15005550007');
    expect((await send({ to: 'whatsapp:+14155550406', body: 'env whatsapp', channel: 'whatsapp' })).body.from).toBe(WA);
    await sqlOf(first).updateTable('tenants').set({ from_number: null }).where('slug', '=', 'default').execute();
    offset += 60_000;
    expect((await send({ to: '+14155550407', body: 'env sender again' })).body.from).toBe('+15005550006');
  });

  it('clears the env copies an older version stored in the default row when upgrading', async () => {
    const old = await backend.create('default_upgrade');
    const d = await openDatabase(old.url, { schema: old.schema });
    try {
      await migrateTo(d.kysely, '0003_verifications');
      const t = { status: 'active', twilio_account_sid: null, twilio_auth_token_enc: null, settings: '{}', created_at: 1, updated_at: 1 };
      await d.kysely
        .insertInto('tenants')
        .values([
          {
            ...t,
            id: 'd',
            slug: 'default',
            name: 'Default',
            from_number: '+15005550006',
            messaging_service_sid: null,
            whatsapp_from: WA,
            default_region: 'US',
          },
          { ...t, id: 'o', slug: 'other', name: 'Other', from_number: '+15005550009', messaging_service_sid: null, whatsapp_from: null, default_region: 'GB' },
        ])
        .execute();
      await migrateToLatest(d.kysely);
      const rows = await d.kysely.selectFrom('tenants').select(['slug', 'from_number', 'whatsapp_from', 'default_region']).orderBy('slug').execute();
      expect(rows).toEqual([
        { slug: 'default', from_number: null, whatsapp_from: null, default_region: null },
        { slug: 'other', from_number: '+15005550009', whatsapp_from: null, default_region: 'GB' },
      ]);
    } finally {
      await d.destroy();
      await old.drop();
    }
  });
});
