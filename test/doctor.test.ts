// The doctor's checks that the CLI tests cannot steer from outside: a skewed clock (the Clock port),
// Messaging Service wiring, and the built-in emulator's configuration. Real emulator over a socket,
// the real Twilio adapter, a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createEmulator, type EmulatorInstance } from '../src/emulator/index.js';
import { TwilioAccount } from '../src/providers/twilio-account.js';
import { runDoctor, type CheckResult } from '../src/services/doctor.js';
import { openDatabase } from '../src/storage/db.js';
import { migrateToLatest, pendingMigrations } from '../src/storage/migrate.js';

const FROM = '+15005550006';
const MG = 'MG' + 'c'.repeat(32);
const PUBLIC = 'https://relay.example.com';
const dir = mkdtempSync(join(tmpdir(), 'smsrelay-doctor-'));
const dbUrl = `sqlite:${join(dir, 'doctor.db')}`;
let emulator: EmulatorInstance;
let base = '';

async function database() {
  const db = await openDatabase(dbUrl);
  try {
    return { dialect: db.dialect, pending: await pendingMigrations(db.kysely) };
  } finally {
    await db.destroy();
  }
}

function doctor(env: Record<string, string>, skewMs = 0): Promise<CheckResult[]> {
  const config = loadConfig({ SMSRELAY_DATABASE_URL: dbUrl, ...env });
  const account =
    config.provider === 'twilio'
      ? new TwilioAccount({ accountSid: config.twilio.accountSid!, authToken: config.twilio.authToken!, apiBaseUrl: config.twilio.apiBaseUrl })
      : null;
  return runDoctor({ config, account, database, clock: { now: () => new Date(Date.now() + skewMs) } });
}

function twilioEnv(over: Record<string, string> = {}): Record<string, string> {
  return {
    TWILIO_ACCOUNT_SID: emulator.accountSid,
    TWILIO_AUTH_TOKEN: emulator.authToken,
    TWILIO_API_BASE_URL: base,
    SMSRELAY_PUBLIC_URL: PUBLIC,
    ...over,
  };
}

const find = (results: CheckResult[], name: string) => results.find((r) => r.name === name);

beforeAll(async () => {
  emulator = createEmulator({ numbers: [FROM], messagingServiceSids: [MG] });
  base = await emulator.listen(0);
  const db = await openDatabase(dbUrl);
  await migrateToLatest(db.kysely);
  await db.destroy();
});
afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('doctor', () => {
  it('compares this clock with the Date header of Twilio’s answer', async () => {
    expect(find(await doctor(twilioEnv(), 5_000), 'clock')).toMatchObject({ status: 'ok' });
    const ahead = find(await doctor(twilioEnv(), 120_000), 'clock');
    expect(ahead).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^1(19|20|21) s off/), fix: expect.stringContaining('NTP') });
    expect(find(await doctor(twilioEnv(), -90_000), 'clock')?.status).toBe('fail');
  });

  it('checks a Messaging Service’s webhooks and, when it takes inbound itself, not the number’s', async () => {
    const env = twilioEnv({ TWILIO_MESSAGING_SERVICE_SID: MG, TWILIO_FROM_NUMBER: FROM });
    let r = await doctor(env);
    expect(find(r, `Messaging Service ${MG}`)?.status).toBe('ok');
    expect(find(r, `Messaging Service ${MG} webhooks`)).toMatchObject({
      status: 'fail',
      detail: `InboundRequestUrl is (none), expected ${PUBLIC}/webhooks/twilio/inbound; StatusCallback is (none), expected ${PUBLIC}/webhooks/twilio/status`,
      fix: `run \`smsrelay twilio connect --messaging-service ${MG}\``,
    });
    expect(find(r, `sender ${FROM} webhooks`)?.status).toBe('fail');

    const account = new TwilioAccount({ accountSid: emulator.accountSid, authToken: emulator.authToken, apiBaseUrl: base });
    await account.updateService(MG, { inboundRequestUrl: `${PUBLIC}/webhooks/twilio/inbound`, statusCallback: `${PUBLIC}/webhooks/twilio/status` });
    r = await doctor(env);
    expect(find(r, `Messaging Service ${MG} webhooks`)).toMatchObject({ status: 'ok', detail: expect.stringContaining('UseInboundWebhookOnNumber is true') });
    // The service defers to its numbers: the number's own URLs still matter.
    expect(find(r, `sender ${FROM} webhooks`)?.status).toBe('fail');

    const res = await fetch(`${base}/v1/Services/${MG}`, {
      method: 'POST',
      headers: {
        authorization: 'Basic ' + Buffer.from(`${emulator.accountSid}:${emulator.authToken}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'UseInboundWebhookOnNumber=false',
    });
    expect(res.status).toBe(200);
    r = await doctor(env);
    expect(find(r, `sender ${FROM} webhooks`)).toMatchObject({ status: 'skip', detail: expect.stringContaining('Messaging Service') });
    expect(r.filter((c) => c.status === 'fail')).toEqual([]);

    const unknown = find(await doctor(twilioEnv({ TWILIO_MESSAGING_SERVICE_SID: 'MG' + 'd'.repeat(32) })), `Messaging Service MG${'d'.repeat(32)}`);
    expect(unknown).toMatchObject({ status: 'fail', detail: 'not found in this account' });
  });

  it('with the built-in emulator: nothing fails, the Twilio checks do not apply', async () => {
    const r = await doctor({});
    expect(r.filter((c) => c.status === 'fail')).toEqual([]);
    expect(find(r, 'Twilio credentials')).toMatchObject({ status: 'skip', detail: expect.stringContaining('built-in emulator') });
    expect(find(r, 'emulator exposure')).toMatchObject({ status: 'ok', detail: 'built-in emulator answers loopback clients only' });
    const open = await doctor({ SMSRELAY_HOST: '0.0.0.0', SMSRELAY_EMULATOR_ACCESS: 'token', SMSRELAY_EMULATOR_TOKEN: 't'.repeat(24) });
    expect(find(open, 'emulator exposure')?.detail).toContain('open to the network with its access token');
  });
});
