// `smsrelay twilio connect` and `smsrelay doctor`: argument parsing and printing only; the work is
// in services/twilio-connect.ts and services/doctor.ts.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { AppError } from '../core/errors.js';
import { createLogger, createSmsRelay } from '../main.js';
import { ProviderError } from '../ports.js';
import type { CheckResult } from '../services/doctor.js';
import { connectTwilio, type ConnectResult, type ConnectTarget } from '../services/twilio-connect.js';
import { doctor, twilioAccount } from '../wiring/operations.js';

type Env = Record<string, string | undefined>;

const CONNECT_USAGE = `Usage: smsrelay twilio connect [--number +1…] [--messaging-service MG…] [--dry-run] [--tenant <slug>]

Points the number's SmsUrl and StatusCallback (IncomingPhoneNumbers), or the Messaging Service's
InboundRequestUrl and StatusCallback, at $SMSRELAY_PUBLIC_URL/webhooks/twilio/inbound and
…/webhooks/twilio/status, printing the values before and after. Without --number and
--messaging-service: TWILIO_FROM_NUMBER and TWILIO_MESSAGING_SERVICE_SID. --dry-run changes nothing.
Credentials: the tenant's own Twilio account (--tenant), else TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN.`;

function exit(msg: string, code: number): never {
  process.stderr.write(msg + '\n');
  process.exit(code);
}

function config(env: Env, command: string): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) exit(`smsrelay ${command}: invalid configuration: ${e.message}`, 2);
    throw e;
  }
}

/** The tenant's own Twilio account, else the installation's; exits when there is none. */
async function credentials(cfg: Config, tenantSlug: string | undefined): Promise<{ accountSid: string; authToken: string }> {
  if (tenantSlug !== undefined && tenantSlug !== 'default') {
    const relay = await createSmsRelay(cfg, { logger: createLogger(cfg.logLevel, 2) });
    try {
      const tenant = await relay.tenants.bySlug(tenantSlug);
      if (!tenant) exit(`smsrelay twilio connect: no tenant '${tenantSlug}'`, 1);
      const own = await relay.tenants.twilioCredentials(tenant.id);
      if (own) return own;
    } finally {
      await relay.close();
    }
  }
  const { accountSid, authToken } = cfg.twilio;
  if (!accountSid || !authToken) {
    exit(
      'smsrelay twilio connect: no Twilio credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN ' +
        '(with TWILIO_API_BASE_URL for a standalone `smsrelay emulator`); the built-in emulator needs no wiring.',
      2,
    );
  }
  return { accountSid, authToken };
}

function describe(r: ConnectResult): string {
  const title = r.target.kind === 'number' ? `number ${r.target.phoneNumber} (${r.sid})` : `Messaging Service ${r.sid}`;
  const width = Math.max(...Object.keys(r.before).map((k) => k.length));
  const lines = Object.keys(r.before).map((k) => {
    const before = r.before[k] ?? '(none)';
    const after = r.after[k] ?? '(none)';
    return `  ${k.padEnd(width)}  ${before}${before === after ? '  (unchanged)' : `  ->  ${after}`}`;
  });
  if (r.note) lines.push(`  note: ${r.note}`);
  return [title, ...lines].join('\n');
}

export async function runTwilioCommand(args: string[], env: Env): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'connect') exit(CONNECT_USAGE, 2);
  let values: { number?: string; 'messaging-service'?: string; 'dry-run'?: boolean; tenant?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        number: { type: 'string' },
        'messaging-service': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        tenant: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    exit(`smsrelay twilio connect: ${(e as Error).message}\n\n${CONNECT_USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(CONNECT_USAGE + '\n');
    return;
  }
  const cfg = config(env, 'twilio connect');
  const targets: ConnectTarget[] = [];
  const number = values.number ?? (values['messaging-service'] === undefined && cfg.twilio.fromNumber?.startsWith('+') ? cfg.twilio.fromNumber : undefined);
  const service = values['messaging-service'] ?? (values.number === undefined ? (cfg.twilio.messagingServiceSid ?? undefined) : undefined);
  if (number !== undefined) targets.push({ kind: 'number', phoneNumber: number });
  if (service !== undefined) targets.push({ kind: 'messaging-service', sid: service });
  const account = twilioAccount(cfg, await credentials(cfg, values.tenant));
  try {
    const results = await connectTwilio(account, { publicUrl: cfg.publicUrl, targets, dryRun: values['dry-run'] === true });
    process.stdout.write(results.map(describe).join('\n') + '\n');
    process.stdout.write(values['dry-run'] ? 'dry run: nothing was changed\n' : 'connected\n');
  } catch (e) {
    if (e instanceof AppError) exit(`smsrelay twilio connect: ${e.code}: ${e.message}`, e.code === 'SMS_ERR_PUBLIC_URL_INVALID' ? 2 : 1);
    if (e instanceof ProviderError) exit(`smsrelay twilio connect: Twilio answered: ${e.message}${e.providerCode ? ` (${e.providerCode})` : ''}`, 1);
    throw e;
  }
}

const MARK: Record<CheckResult['status'], string> = { ok: '✓', fail: '✗', skip: '–' };

function line(r: CheckResult): string {
  return `${MARK[r.status]} ${r.name}: ${r.detail}${r.fix ? `\n    fix: ${r.fix}` : ''}`;
}

export async function runDoctorCommand(args: string[], env: Env): Promise<void> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write('Usage: smsrelay doctor\n\nChecks the configuration, database, Twilio account, senders and webhooks; exits 1 on any ✗.\n');
    return;
  }
  if (args.length > 0) exit(`smsrelay doctor: unexpected arguments: ${args.join(' ')}`, 2);
  let cfg: Config;
  try {
    cfg = loadConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stdout.write(line({ name: 'configuration', status: 'fail', detail: e.message, fix: `fix ${e.variable} (see README, Configuration)` }) + '\n');
    process.exitCode = 1;
    return;
  }
  const results = await doctor(cfg);
  process.stdout.write(results.map(line).join('\n') + '\n');
  if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
}
