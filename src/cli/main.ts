#!/usr/bin/env node
// smsrelay command line: argument parsing only; the work is done by main.ts and the services.
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { ConfigError, isMasterKey, loadConfig, type Config } from '../config.js';
import { AppError } from '../core/errors.js';
import { isMessageStatus, isTerminal } from '../core/status.js';
import { createLogger, createSmsRelay, ensureInitialApiKey, runMigrations, type SmsRelay } from '../main.js';
import { SCOPES } from '../services/api-keys.js';

const USAGE = `Usage: smsrelay <command> [options]

Commands:
  serve [--no-worker]        HTTP API (and the outbox worker unless --no-worker)
  worker                     the outbox worker alone (needs TWILIO_* credentials: a shared provider)
  migrate                    apply database migrations and exit
  send --to <phone> --body <text> [--from <sender>] [--channel sms|mms|whatsapp] [--tenant <slug>] [--wait <seconds>]
                             queue one message and wait (default 30 s) for its final status; with the
                             built-in emulator a running \`smsrelay serve\` on the same database sends it
  tenants create --slug <slug> --name <name> [--region XX]
  tenants list
  keys create --tenant default --scopes ${SCOPES.join(',')} [--name <name>]
  keys list --tenant default
  keys revoke --tenant default <id-or-prefix>
  keys rotate-master --new-key <32 bytes, hex or base64>
                             re-encrypts every stored secret under the new master key in one
                             transaction (reads with SMSRELAY_MASTER_KEY and SMSRELAY_MASTER_KEY_PREVIOUS)
  emulator [--port 4010] ...  the Twilio emulator on its own (see --help of that command)
  twilio connect [--number +1…] [--messaging-service MG…] [--dry-run] [--tenant <slug>]
                             point the number's / Messaging Service's webhooks at SMSRELAY_PUBLIC_URL
  campaigns create|watch|start|pause|resume|cancel|export …
                             bulk sends through a running relay's API (see \`smsrelay campaigns\`)
  doctor                     check configuration, database, Twilio account, senders, webhooks, clock
  help                       this text

Configuration comes from the environment (see README): SMSRELAY_DATABASE_URL, PORT, TWILIO_*, …`;

function fail(msg: string, code = 2): never {
  process.stderr.write(msg + '\n');
  process.exit(code);
}

function config(): Config {
  try {
    return loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) fail(`smsrelay: invalid configuration: ${e.message}`);
    throw e;
  }
}

/** SIGTERM/SIGINT: stop claiming, finish in-flight sends, close, exit. A second signal exits at once. */
function onShutdown(relay: SmsRelay): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    relay.logger.info({ signal }, 'shutting down: finishing in-flight sends');
    relay
      .close()
      .then(() => process.exit(0))
      .catch((e) => {
        relay.logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * The long-running processes (serve, worker) let V8's old generation grow by half its live size
 * between full collections, not up to 4x as it does on a machine with a few GB of memory: a
 * 1,000,000-row upload otherwise took the server's RSS from ~175 to 260-300 MB (old space up to
 * 167 MB before a full GC, ~45 MB of it live). V8's own factor on memory-constrained devices is
 * 1.3-2. It is read at each collection, so it applies when set at start; `node
 * --heap-growing-percent=N dist/cli/main.js …` overrides it (bench/README.md, campaigns).
 */
const HEAP_GROWING_PERCENT = 50;
function boundHeapGrowth(): void {
  if (!process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

async function serve(args: string[]): Promise<void> {
  boundHeapGrowth();
  const { values } = parseArgs({ args, options: { 'no-worker': { type: 'boolean', default: false } } });
  const cfg = config();
  const relay = await createSmsRelay(cfg);
  const keyPath = await ensureInitialApiKey(relay);
  const url = await relay.listen();
  if (!values['no-worker'] && cfg.worker.enabled) relay.startWorker();
  onShutdown(relay);
  relay.logger.info(
    { url, database: relay.repos.health.dialect, provider: relay.emulator ? 'emulator' : cfg.provider, worker: !values['no-worker'] && cfg.worker.enabled },
    `smsrelay listening on ${url}`,
  );
  if (keyPath) relay.logger.warn({ path: keyPath }, `An admin API key was generated; it is in ${keyPath} (readable only by this user).`);
  relay.logger.info(`Admin console: ${url}/admin  API docs: ${url}/docs${relay.emulator ? `  Emulator inbox: ${url}/emulator` : ''}`);
}

async function worker(): Promise<void> {
  boundHeapGrowth();
  const cfg = config();
  // With no credentials the worker's provider would be an emulator of its own that nobody else
  // sees: messages would be "sent" where no server, inbox or status callback can follow them.
  if (cfg.provider === 'emulator') {
    fail(
      'smsrelay worker: no Twilio credentials, so it would send into a private emulator of its own. ' +
        'Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (real Twilio, or a shared `smsrelay emulator` with TWILIO_API_BASE_URL), ' +
        'or run `smsrelay serve`, whose worker sends through its built-in emulator.',
    );
  }
  const relay = await createSmsRelay(cfg);
  relay.startWorker();
  onShutdown(relay);
  relay.logger.info({ database: relay.repos.health.dialect }, 'smsrelay worker started');
}

async function migrate(): Promise<void> {
  const cfg = config();
  try {
    const applied = await runMigrations(cfg);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } catch (e) {
    fail(`smsrelay migrate: ${e instanceof Error ? e.message : String(e)}`, 1);
  }
}

const DEFAULT_WAIT_SECONDS = 30;
const isFinal = (status: string) => isMessageStatus(status) && isTerminal(status);

async function send(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: 'string' },
      body: { type: 'string' },
      from: { type: 'string' },
      channel: { type: 'string' },
      tenant: { type: 'string', default: 'default' },
      wait: { type: 'string', default: String(DEFAULT_WAIT_SECONDS) },
    },
  });
  if (!values.to) fail('smsrelay send: --to is required');
  const waitSeconds = Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) fail(`smsrelay send: --wait expects seconds (a number ≥ 0), got '${values.wait}'`);
  const cfg = config();
  const relay = await createSmsRelay(cfg, { logger: createLogger(cfg.logLevel, 2) });
  try {
    const tenant = await relay.tenants.bySlug(values.tenant!);
    if (!tenant) fail(`smsrelay send: no tenant '${values.tenant}'`);
    const r = await relay.messages.send(tenant, {
      to: values.to!,
      body: values.body,
      from: values.from,
      channel: values.channel as 'sms' | 'mms' | 'whatsapp' | undefined,
    });
    // With a shared provider (Twilio, or an emulator named by TWILIO_API_BASE_URL) this process may
    // send it itself: claims are exactly-once. The built-in emulator is private to each process, so
    // the message is only queued here and the running server's worker (polling the outbox) sends it
    // through the server's emulator, where its inbox and status callbacks are.
    if (!relay.emulator) relay.startWorker();
    let m = r.message;
    const deadline = Date.now() + waitSeconds * 1000;
    while (!isFinal(m.status) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      m = await relay.messages.get(tenant, m.id);
    }
    process.stdout.write(JSON.stringify(m, null, 2) + '\n');
    if (isFinal(m.status)) {
      if (m.status !== 'delivered' && m.status !== 'read') process.exitCode = 1;
    } else if (waitSeconds > 0) {
      const why =
        m.status === 'pending'
          ? relay.emulator
            ? 'no worker picked it up: is `smsrelay serve` (npm start) running with its worker on this database? It sends what this command queued.'
            : 'it is still in the outbox (the provider may be refusing it for now; a worker retries it).'
          : 'the provider has it but reported no final status yet (callbacks need SMSRELAY_PUBLIC_URL; the reconciler catches up later).';
      process.stderr.write(`smsrelay send: message ${m.id} is still '${m.status}' after ${waitSeconds} s: ${why}\n`);
      process.exitCode = 1;
    }
  } catch (e) {
    if (e instanceof AppError) fail(`smsrelay send: ${e.code}: ${e.message}`, 1);
    throw e;
  } finally {
    await relay.close();
  }
}

async function tenants(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: { slug: { type: 'string' }, name: { type: 'string' }, region: { type: 'string' } } });
  if (sub !== 'create' && sub !== 'list') fail(USAGE);
  if (sub === 'create' && (!values.slug || !values.name)) fail('smsrelay tenants create: --slug and --name are required');
  const cfg = config();
  const relay = await createSmsRelay(cfg, { logger: createLogger(cfg.logLevel, 2) });
  try {
    if (sub === 'list') {
      process.stdout.write(JSON.stringify(await relay.tenants.list(), null, 2) + '\n');
      return;
    }
    if (await relay.tenants.bySlug(values.slug!)) fail(`smsrelay tenants create: a tenant '${values.slug}' already exists`, 1);
    const t = await relay.tenants.create({ slug: values.slug!, name: values.name!, defaultRegion: values.region?.toUpperCase() });
    process.stderr.write(
      `created tenant '${t.slug}'; give it an API key with: smsrelay keys create --tenant ${t.slug} --scopes messages:write,messages:read\n`,
    );
    process.stdout.write(JSON.stringify(t, null, 2) + '\n');
  } catch (e) {
    if (e instanceof AppError) fail(`smsrelay tenants: ${e.code}: ${e.message}`, 1);
    throw e;
  } finally {
    await relay.close();
  }
}

async function keys(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { tenant: { type: 'string', default: 'default' }, scopes: { type: 'string' }, name: { type: 'string' }, 'new-key': { type: 'string' } },
  });
  if (sub === 'rotate-master') return rotateMaster(values['new-key']);
  const cfg = config();
  const relay = await createSmsRelay(cfg, { logger: createLogger(cfg.logLevel, 2) });
  try {
    const tenant = await relay.tenants.bySlug(values.tenant!);
    if (!tenant) fail(`smsrelay keys: no tenant '${values.tenant}'`);
    if (sub === 'create') {
      const scopes = (values.scopes ?? 'messages:write,messages:read')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const { key, info } = await relay.apiKeys.create(tenant.id, values.name ?? 'cli', scopes);
      process.stderr.write(`created key ${info.id} (${info.prefix}…) with scopes ${info.scopes.join(', ')}; store it now, it is not shown again:\n`);
      process.stdout.write(key + '\n');
    } else if (sub === 'list') {
      process.stdout.write(JSON.stringify(await relay.apiKeys.list(tenant.id), null, 2) + '\n');
    } else if (sub === 'revoke') {
      if (!positionals[0]) fail('smsrelay keys revoke: give the key id or prefix');
      if (!(await relay.apiKeys.revoke(tenant.id, positionals[0]))) fail(`smsrelay keys revoke: no active key '${positionals[0]}'`, 1);
      process.stdout.write(`revoked ${positionals[0]}\n`);
    } else {
      fail(USAGE);
    }
  } catch (e) {
    if (e instanceof AppError) fail(`smsrelay keys: ${e.message}`, 1);
    throw e;
  } finally {
    await relay.close();
  }
}

async function rotateMaster(newKey: string | undefined): Promise<void> {
  if (!newKey || !isMasterKey(newKey)) fail('smsrelay keys rotate-master: --new-key must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)');
  const cfg = config();
  if (!cfg.masterKey) fail('smsrelay keys rotate-master: SMSRELAY_MASTER_KEY (the current key) must be set to read the stored secrets');
  const relay = await createSmsRelay(cfg, { logger: createLogger(cfg.logLevel, 2) });
  try {
    const r = await relay.rotateMasterKey(newKey!, (i, total) => process.stderr.write(`re-encrypting secret ${i + 1}/${total}\n`));
    process.stdout.write(
      `re-encrypted ${r.reencrypted} secret(s) under the new key (${r.alreadyCurrent} already were). ` +
        'Now set SMSRELAY_MASTER_KEY to the new key; the old one can be dropped once every process runs with it.\n',
    );
  } catch (e) {
    fail(`smsrelay keys rotate-master: nothing was changed: ${e instanceof Error ? e.message : String(e)}`, 1);
  } finally {
    await relay.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return serve(rest);
    case 'worker':
      return worker();
    case 'migrate':
      return migrate();
    case 'send':
      return send(rest);
    case 'tenants':
      return tenants(rest);
    case 'keys':
      return keys(rest);
    case 'emulator': {
      const { runEmulatorCommand } = await import('./emulator-command.js');
      return runEmulatorCommand(rest, process.env);
    }
    case 'twilio': {
      const { runTwilioCommand } = await import('./ops-commands.js');
      return runTwilioCommand(rest, process.env);
    }
    case 'campaigns': {
      const { runCampaignsCommand } = await import('./campaigns-command.js');
      return runCampaignsCommand(rest, process.env);
    }
    case 'doctor': {
      const { runDoctorCommand } = await import('./ops-commands.js');
      return runDoctorCommand(rest, process.env);
    }
    case undefined:
      // No command is a mistake (as in a script with an empty variable): say how, and fail.
      return fail(USAGE);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      fail(`smsrelay: unknown command '${cmd}'\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`smsrelay: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
