// `npx smsrelay emulator` + `smsrelay twilio connect` + `smsrelay serve` wire themselves as
// production does (the compiled CLI as child processes, a SQLite file, real sockets), and
// `smsrelay doctor` on a healthy and on each broken configuration.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmsRelay } from '../src/main.js';
import { openDatabase } from '../src/storage/db.js';
import { migrateTo } from '../src/storage/migrate.js';

const FROM = '+15005550006';
const SPARE = '+14155550100';
const PHONE = '+14155552671';
const ACCOUNT = 'AC' + '1'.repeat(32);
const TOKEN = 'e2e-auth-token-' + 'x'.repeat(17);
const API_KEY = 'e2e-admin-key-' + 'k'.repeat(20);
const MASTER_KEY = 'ab'.repeat(32);

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-wiring-'));
const children: ChildProcess[] = [];
let emulatorUrl = '';
let messagingService = '';
let relayPort = 0;
let relayUrl = '';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['dist/cli/main.js', ...args], {
    env: { PATH: process.env.PATH!, SMSRELAY_LOG_LEVEL: 'warn', SMSRELAY_DATA_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  return new Promise((res) => child.once('close', (code) => res({ code, out, err })));
}

/** A long-running command; resolves once `ready` shows up on stdout. */
async function start(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['dist/cli/main.js', ...args], { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = ready.exec(out);
    if (match) return { child, match };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${args[0]} did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The relay's environment: the standalone emulator as its Twilio. */
function relayEnv(over: Record<string, string> = {}): Record<string, string> {
  return {
    SMSRELAY_DATABASE_URL: `sqlite:${join(dir, 'relay.db')}`,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: emulatorUrl,
    TWILIO_FROM_NUMBER: FROM,
    SMSRELAY_PUBLIC_URL: relayUrl,
    SMSRELAY_API_KEY: API_KEY,
    SMSRELAY_PORT: String(relayPort),
    ...over,
  };
}

const twilioAuth = { authorization: 'Basic ' + Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64') };

async function number(phone: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${emulatorUrl}/2010-04-01/Accounts/${ACCOUNT}/IncomingPhoneNumbers.json?PhoneNumber=${encodeURIComponent(phone)}`, {
    headers: twilioAuth,
  });
  return ((await res.json()) as { incoming_phone_numbers: Record<string, unknown>[] }).incoming_phone_numbers[0]!;
}

async function handsetTexts(body: string): Promise<{ webhookError: string | null; message: { sid: string } }> {
  const res = await fetch(`${emulatorUrl}/emulator/api/handsets/${encodeURIComponent(PHONE)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: FROM, body }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { webhookError: string | null; message: { sid: string } };
}

async function relayInbound(): Promise<string[]> {
  const res = await fetch(`${relayUrl}/v1/messages?status=received`, { headers: { authorization: `Bearer ${API_KEY}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { body: string }[] }).data.map((m) => m.body);
}

beforeAll(async () => {
  const emu = await start(
    ['emulator', '--port', '0', '--numbers', `${FROM},${SPARE}`, '--account-sid', ACCOUNT, '--auth-token', TOKEN],
    {},
    /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*messaging service\(s\):\s+(MG[0-9a-f]{32})/,
  );
  emulatorUrl = emu.match[1]!;
  messagingService = emu.match[2]!;
  relayPort = await freePort();
  relayUrl = `http://127.0.0.1:${relayPort}`;
  await start(['serve'], relayEnv({ SMSRELAY_LOG_LEVEL: 'info' }), /smsrelay listening on/);
}, 60_000);

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGTERM');
    if (c.exitCode === null) await new Promise((r) => c.once('close', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('smsrelay twilio connect against `smsrelay emulator`', () => {
  it('inbound reaches the relay only once the number is connected; dry-run changes nothing', async () => {
    const before = await handsetTexts('before connect');
    expect(before.webhookError).toBeNull();
    expect(await relayInbound()).toEqual([]);

    const dry = await run(['twilio', 'connect', '--dry-run'], relayEnv());
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain(`number ${FROM}`);
    expect(dry.out).toContain(`SmsUrl          (none)  ->  ${relayUrl}/webhooks/twilio/inbound`);
    expect(dry.out).toContain(`StatusCallback  (none)  ->  ${relayUrl}/webhooks/twilio/status`);
    expect(dry.out).toContain('dry run: nothing was changed');
    expect((await number(FROM)).sms_url).toBe('');
    await handsetTexts('after dry run');
    expect(await relayInbound()).toEqual([]);

    const real = await run(['twilio', 'connect', '--number', FROM], relayEnv());
    expect(real.code, real.err).toBe(0);
    expect(real.out).toContain(`SmsUrl          (none)  ->  ${relayUrl}/webhooks/twilio/inbound`);
    expect(real.out).toContain('connected');
    expect(await number(FROM)).toMatchObject({ sms_url: `${relayUrl}/webhooks/twilio/inbound`, status_callback: `${relayUrl}/webhooks/twilio/status` });

    const after = await handsetTexts('hello relay');
    expect(after.webhookError).toBeNull();
    expect(await relayInbound()).toEqual(['hello relay']);

    // Idempotent: a second run shows the values unchanged.
    const again = await run(['twilio', 'connect', '--number', FROM], relayEnv());
    expect(again.out).toContain(`SmsUrl          ${relayUrl}/webhooks/twilio/inbound  (unchanged)`);
  });

  it('connects a Messaging Service, noting that it defers inbound to its numbers', async () => {
    const r = await run(['twilio', 'connect', '--messaging-service', messagingService], relayEnv());
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`Messaging Service ${messagingService}`);
    expect(r.out).toContain(`InboundRequestUrl  (none)  ->  ${relayUrl}/webhooks/twilio/inbound`);
    expect(r.out).toContain('UseInboundWebhookOnNumber is true');
    const res = await fetch(`${emulatorUrl}/v1/Services/${messagingService}`, { headers: twilioAuth });
    expect(await res.json()).toMatchObject({
      inbound_request_url: `${relayUrl}/webhooks/twilio/inbound`,
      status_callback: `${relayUrl}/webhooks/twilio/status`,
    });
  });

  it('refuses without a usable public URL, an owned number or credentials, changing nothing', async () => {
    const insecure = await run(['twilio', 'connect', '--number', SPARE], relayEnv({ SMSRELAY_PUBLIC_URL: 'http://relay.example.com' }));
    expect([insecure.code, insecure.err]).toEqual([2, expect.stringContaining('SMS_ERR_PUBLIC_URL_INVALID')]);
    expect(insecure.err).toMatch(/https outside loopback/);
    const missing = await run(['twilio', 'connect', '--number', SPARE], relayEnv({ SMSRELAY_PUBLIC_URL: '' }));
    expect([missing.code, missing.err]).toEqual([2, expect.stringMatching(/SMSRELAY_PUBLIC_URL is not set/)]);
    expect((await number(SPARE)).sms_url).toBe('');
    const unknown = await run(['twilio', 'connect', '--number', '+14155559999'], relayEnv());
    expect([unknown.code, unknown.err]).toEqual([1, expect.stringContaining('SMS_ERR_SENDER_NOT_OWNED')]);
    const bad = await run(['twilio', 'connect', '--number', 'twelve'], relayEnv());
    expect([bad.code, bad.err]).toEqual([1, expect.stringContaining('SMS_ERR_INVALID_PHONE')]);
    const noCreds = await run(['twilio', 'connect'], relayEnv({ TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: '' }));
    expect([noCreds.code, noCreds.err]).toEqual([2, expect.stringContaining('no Twilio credentials')]);
    const wrongToken = await run(['twilio', 'connect', '--number', SPARE], relayEnv({ TWILIO_AUTH_TOKEN: 'wrong' }));
    expect([wrongToken.code, wrongToken.err]).toEqual([1, expect.stringContaining('Twilio answered')]);
  });
});

describe('smsrelay twilio connect --tenant', () => {
  it("uses the tenant's own Twilio account, not the installation's", async () => {
    const relay = await createSmsRelay({ databaseUrl: `sqlite:${join(dir, 'relay.db')}`, masterKey: MASTER_KEY, logLevel: 'silent' });
    try {
      await relay.tenants.create({ slug: 'acme', name: 'Acme', twilioAccountSid: ACCOUNT, twilioAuthToken: TOKEN });
    } finally {
      await relay.close();
    }
    // The installation's token is wrong: only the tenant's credentials can open the account.
    const env = relayEnv({ SMSRELAY_MASTER_KEY: MASTER_KEY, TWILIO_AUTH_TOKEN: 'the-installation-token-is-wrong' });
    const own = await run(['twilio', 'connect', '--tenant', 'acme', '--number', SPARE, '--dry-run'], env);
    expect(own.code, own.err).toBe(0);
    expect(own.out).toContain(`number ${SPARE}`);
    const installation = await run(['twilio', 'connect', '--number', SPARE, '--dry-run'], env);
    expect([installation.code, installation.err]).toEqual([1, expect.stringContaining('Twilio answered')]);
    const nobody = await run(['twilio', 'connect', '--tenant', 'nosuch', '--dry-run'], env);
    expect([nobody.code, nobody.err]).toEqual([1, expect.stringContaining("no tenant 'nosuch'")]);
  });
});

describe('smsrelay doctor', () => {
  it('passes every check on the connected installation', async () => {
    const r = await run(['doctor'], relayEnv());
    expect(r.code, r.out).toBe(0);
    for (const check of [
      'configuration',
      'database',
      'migrations',
      'public URL',
      'Twilio credentials',
      'clock',
      `sender ${FROM}`,
      `sender ${FROM} webhooks`,
      'emulator exposure',
    ]) {
      expect(r.out).toMatch(new RegExp(`^✓ ${check.replace('+', '\\+')}:`, 'm'));
    }
    expect(r.out).not.toContain('✗');
  });

  it('reports each broken configuration with its ✗ line and fix, and exits non-zero', async () => {
    // The spare number points elsewhere.
    const spare = await number(SPARE);
    await fetch(`${emulatorUrl}/2010-04-01/Accounts/${ACCOUNT}/IncomingPhoneNumbers/${spare.sid as string}.json`, {
      method: 'POST',
      headers: { ...twilioAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'SmsUrl=https%3A%2F%2Felsewhere.example.com%2Fsms',
    });
    // A database left at an older schema.
    const oldDb = join(dir, 'old.db');
    const db = await openDatabase(`sqlite:${oldDb}`);
    await migrateTo(db.kysely, '0004_default_tenant_env');
    await db.destroy();

    const cases: [string, Record<string, string>, RegExp][] = [
      ['bad credentials', { TWILIO_AUTH_TOKEN: 'not-the-token' }, /^✗ Twilio credentials: rejected for AC1{32} \(HTTP 401, 20003\)\n {4}fix: /m],
      ['sender not owned', { TWILIO_FROM_NUMBER: '+14155559999' }, /^✗ sender \+14155559999: not owned by AC1{32}\n {4}fix: /m],
      [
        'webhook pointing elsewhere',
        { TWILIO_FROM_NUMBER: SPARE },
        /^✗ sender \+14155550100 webhooks: SmsUrl is https:\/\/elsewhere\.example\.com\/sms, expected http:\/\/127\.0\.0\.1:\d+\/webhooks\/twilio\/inbound; StatusCallback is \(none\).*\n {4}fix: run `smsrelay twilio connect --number \+14155550100`/m,
      ],
      [
        'http public URL off loopback',
        { SMSRELAY_PUBLIC_URL: 'http://relay.example.com' },
        /^✗ public URL: SMSRELAY_PUBLIC_URL must be https outside loopback.*\n {4}fix: /m,
      ],
      [
        'pending migrations',
        { SMSRELAY_DATABASE_URL: `sqlite:${oldDb}` },
        /^✗ migrations: \d+ pending: 0005_mms_channel, 0006_hold_reason, .*\n {4}fix: run `smsrelay migrate`/m,
      ],
      ['unreachable database', { SMSRELAY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/smsrelay' }, /^✗ database: unreachable: .*ECONNREFUSED.*\n {4}fix: /m],
      ['invalid configuration', { SMSRELAY_PORT: 'abc' }, /^✗ configuration: SMSRELAY_PORT: expected an integer.*\n {4}fix: /m],
      [
        'emulator reached over plain http off loopback',
        { TWILIO_API_BASE_URL: 'http://10.255.255.1:9' },
        /^✗ emulator exposure: TWILIO_API_BASE_URL http:\/\/10\.255\.255\.1:9 is plain http to another host/m,
      ],
    ];
    const results = await Promise.all(cases.map(([, env]) => run(['doctor'], relayEnv(env))));
    cases.forEach(([name, , line], i) => {
      const r = results[i]!;
      expect(r.code, `${name}:\n${r.out}${r.err}`).toBe(1);
      expect(r.out, name).toMatch(line);
    });
  }, 60_000);
});
