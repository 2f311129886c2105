// Status callbacks reach the message's own tenant, matched by MessageSid, when they are signed by
// the account the message was sent through: a tenant without Twilio credentials sends through the
// installation's account (which signs its callbacks); a tenant with its own account signs its own.
// No tenant's signature moves another tenant's message.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createEmulator, type EmulatorInstance } from '../src/emulator/index.js';
import { createLogger, createSmsRelay, type SmsRelay } from '../src/main.js';
import type { Tenant } from '../src/services/tenants.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { sqlOf } from './support/db.js';
import { hex32, newSid, postWebhook } from './support/webhooks.js';

const reconciler = { ...loadConfig({}).reconciler, attachIntervalMs: 30 };
const OURS = '+15005550006';

/** Waits for a message to reach `status`; the reconciler (5 minutes) plays no part. */
const reaches = (relay: SmsRelay, tenant: Tenant, id: string, status: string) =>
  waitFor(async () => {
    const m = await relay.messages.get(tenant, id);
    return m.status === status ? m : null;
  }, 8000);

const callbackStatuses = async (relay: SmsRelay, tenant: Tenant, id: string) =>
  (await relay.messages.events(tenant, id)).filter((e) => e.source === 'callback' && (e.data as any)?.applied).map((e) => e.status);

describe.each(backends)('callbacks of a tenant without credentials, embedded emulator, on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'tenant_cb_emb', { reconciler, masterKey: randomBytes(32).toString('hex') });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("applies the emulator's callbacks to tenant B's message promptly, with every status event", async () => {
    const b = await t.relay.tenants.create({ slug: 'b', name: 'B', fromNumber: OURS });
    const r = await t.relay.messages.send(b, { to: '+14155550701', body: 'B, no credentials' });
    await reaches(t.relay, b, r.message.id, 'delivered');
    expect(await callbackStatuses(t.relay, b, r.message.id)).toEqual(expect.arrayContaining(['sending', 'sent', 'delivered']));
    const orphans = await sqlOf(t.relay).selectFrom('webhook_events').select('id').where('message_id', 'is', null).execute();
    expect(orphans).toEqual([]);
  });
});

describe.each(backends)('callbacks across tenant accounts, real Twilio mode, on $name', (backend) => {
  let emulator: EmulatorInstance;
  let relay: SmsRelay;
  let url: string;
  let drop: () => Promise<void>;
  let b: Tenant;
  let c: Tenant;
  const accountC = 'AC' + hex32();
  const tokenC = 'tenant-c-token-' + hex32();
  const statusUrl = () => `${url}/webhooks/twilio/status`;
  const installation = () => ({ account: emulator.accountSid, token: emulator.authToken });

  beforeAll(async () => {
    // The installation's account is the emulator's; tenant C has its own account.
    emulator = createEmulator({ delays: { queuedToSending: 5, sendingToSent: 5, sentToDelivered: 5 } });
    const base = await emulator.listen(0);
    const db = await backend.create('tenant_cb_twilio');
    relay = await createSmsRelay(
      {
        host: '127.0.0.1',
        port: 0,
        databaseUrl: db.url,
        logLevel: 'silent',
        masterKey: randomBytes(32).toString('hex'),
        twilio: { accountSid: emulator.accountSid, authToken: emulator.authToken, apiBaseUrl: base, fromNumber: OURS },
        worker: { pollIntervalMs: 20, maxAttempts: 1 },
        reconciler,
      },
      { schema: db.schema, logger: createLogger('silent') },
    );
    url = await relay.listen();
    emulator.setDefaultStatusCallback(statusUrl());
    relay.startWorker();
    b = await relay.tenants.create({ slug: 'b', name: 'B', fromNumber: OURS });
    c = await relay.tenants.create({ slug: 'c', name: 'C', twilioAccountSid: accountC, twilioAuthToken: tokenC, fromNumber: OURS });
    drop = async () => {
      await relay.close();
      await emulator.close();
      await db.drop();
    };
  });
  afterAll(() => drop?.());

  /** A message of `tenant` that Twilio holds as `sent` under `sid` (C's account is not the emulator's). */
  const heldMessage = async (tenant: Tenant, to: string) => {
    const r = await relay.messages.send(tenant, { to, body: `held for ${tenant.slug}`, send_at: new Date(Date.now() + 3_600_000) });
    const sid = newSid();
    await sqlOf(relay).updateTable('messages').set({ status: 'sent', provider_sid: sid, next_attempt_at: null }).where('id', '=', r.message.id).execute();
    return { id: r.message.id, sid };
  };
  const post = (sid: string, status: string, by: { account: string; token: string }) =>
    postWebhook(statusUrl(), { AccountSid: by.account, MessageSid: sid, MessageStatus: status, ErrorCode: status === 'failed' ? '30007' : '' }, by.token);
  const status = async (tenant: Tenant, id: string) => (await relay.messages.get(tenant, id)).status;

  it("applies the installation account's callbacks to tenant B (no credentials) promptly, with every status event", async () => {
    const r = await relay.messages.send(b, { to: '+14155550711', body: 'B through the installation' });
    await reaches(relay, b, r.message.id, 'delivered');
    // Callbacks 5 ms apart may overtake each other on a loaded machine (as Twilio's may): an earlier
    // status arriving after delivered is not applied. What matters is that B's callbacks are matched.
    const applied = await callbackStatuses(relay, b, r.message.id);
    expect(applied).toContain('delivered');
    expect(applied.length).toBeGreaterThanOrEqual(2);
    expect(applied.every((s) => ['sending', 'sent', 'delivered'].includes(s))).toBe(true);
  });

  it("matches an installation callback that beat B's SID once the SID is stored", async () => {
    const held = await relay.messages.send(b, { to: '+14155550712', body: 'late SID', send_at: new Date(Date.now() + 3_600_000) });
    const sid = newSid();
    expect((await post(sid, 'delivered', installation())).status).toBe(204);
    await sqlOf(relay).updateTable('messages').set({ status: 'sent', provider_sid: sid, next_attempt_at: null }).where('id', '=', held.message.id).execute();
    await reaches(relay, b, held.message.id, 'delivered');
  });

  it("never lets C's signature move A's or B's message, nor the installation's move C's", async () => {
    const a = await heldMessage(relay.defaultTenant, '+14155550713');
    const ofB = await heldMessage(b, '+14155550714');
    const ofC = await heldMessage(c, '+14155550715');
    const asC = { account: accountC, token: tokenC };
    expect((await post(a.sid, 'failed', asC)).status).toBe(204);
    expect((await post(ofB.sid, 'failed', asC)).status).toBe(204);
    expect((await post(ofC.sid, 'failed', installation())).status).toBe(204);
    // Another tenant's token under the installation's AccountSid (or the reverse) is refused outright.
    expect((await post(ofC.sid, 'failed', { account: emulator.accountSid, token: tokenC })).status).toBe(403);
    expect((await post(a.sid, 'failed', { account: accountC, token: emulator.authToken })).status).toBe(403);
    await new Promise((res) => setTimeout(res, 200)); // several late-matching passes
    expect(await status(relay.defaultTenant, a.id)).toBe('sent');
    expect(await status(b, ofB.id)).toBe('sent');
    expect(await status(c, ofC.id)).toBe('sent');
    const unmatched = await sqlOf(relay).selectFrom('webhook_events').select(['message_sid', 'tenant_id']).where('message_id', 'is', null).execute();
    expect(unmatched).toEqual(
      expect.arrayContaining([
        { message_sid: a.sid, tenant_id: c.id },
        { message_sid: ofB.sid, tenant_id: c.id },
        { message_sid: ofC.sid, tenant_id: relay.defaultTenant.id },
      ]),
    );
    // Each account still moves its own messages.
    expect((await post(ofC.sid, 'delivered', asC)).status).toBe(204);
    expect(await status(c, ofC.id)).toBe('delivered');
    expect((await post(a.sid, 'delivered', installation())).status).toBe(204);
    expect(await status(relay.defaultTenant, a.id)).toBe('delivered');
    expect((await post(ofB.sid, 'delivered', installation())).status).toBe(204);
    expect(await status(b, ofB.id)).toBe('delivered');
  });
});
