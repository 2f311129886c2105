// A tenant with its own Twilio account sends through that account, never the installation's.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type EmulatorInstance } from '../src/emulator/index.js';
import { createLogger, createSmsRelay, type SmsRelay } from '../src/main.js';
import { backends } from './support/backends.js';
import { waitFor } from './support/relay.js';

describe.each(backends)('per-tenant Twilio accounts on $name', (backend) => {
  let emulator: EmulatorInstance;
  let relay: SmsRelay;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    // The installation's account is the emulator's; tenant B has another account it does not know.
    emulator = createEmulator({ delays: { queuedToSending: 5, sendingToSent: 5, sentToDelivered: 5 } });
    const base = await emulator.listen(0);
    const db = await backend.create('tenant_providers');
    relay = await createSmsRelay(
      {
        databaseUrl: db.url,
        logLevel: 'silent',
        masterKey: randomBytes(32).toString('hex'),
        twilio: { accountSid: emulator.accountSid, authToken: emulator.authToken, apiBaseUrl: base, fromNumber: '+15005550006' },
        worker: { pollIntervalMs: 20, maxAttempts: 1 },
      },
      { schema: db.schema, logger: createLogger('silent') },
    );
    relay.startWorker();
    drop = async () => {
      await relay.close();
      await emulator.close();
      await db.drop();
    };
  });
  afterAll(() => drop?.());

  const settled = (tenant: Parameters<SmsRelay['messages']['get']>[0], id: string) =>
    waitFor(async () => {
      const m = await relay.messages.get(tenant, id);
      return m.status !== 'pending' ? m : null;
    });

  it("sends the default tenant's messages with the installation's account and tenant B's with B's own", async () => {
    const b = await relay.tenants.create({
      slug: `b-${backend.name}`,
      name: 'B',
      twilioAccountSid: 'AC' + 'b'.repeat(32),
      twilioAuthToken: 'b-secret-token',
      fromNumber: '+15005550006',
    });
    const a = await relay.messages.send(relay.defaultTenant, { to: '+14155554001', body: 'from the installation' });
    const fromB = await relay.messages.send(b, { to: '+14155554002', body: 'from tenant B' });

    expect((await settled(relay.defaultTenant, a.message.id)).provider_sid).toMatch(/^SM/);
    // The emulator only knows the installation's account: B's credentials are refused (20003),
    // which shows they were used; nothing reached a handset on the installation's account.
    const mb = await settled(b, fromB.message.id);
    expect(mb).toMatchObject({ status: 'failed', provider_code: 20003 });
    expect(emulator.createCount('+14155554002')).toBe(0);
    expect(emulator.createCount('+14155554001', 'from the installation')).toBe(1);
    expect(await relay.tenants.twilioCredentials(b.id)).toEqual({ accountSid: 'AC' + 'b'.repeat(32), authToken: 'b-secret-token' });
    expect(await relay.tenants.twilioCredentials(relay.defaultTenant.id)).toBeNull();
  });
});
