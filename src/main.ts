// The one place that picks adapters and wires services together. The CLI and the library entry
// both come through here; nothing below reads the environment.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { uuidv7 } from 'uuidv7';
import { loadConfig, type Config } from './config.js';
import { Cipher } from './core/cipher.js';
import { BUILTIN_SETTINGS, type TenantSettings } from './core/settings.js';
import { createEmulator, isLoopback } from './emulator/index.js';
import type { Emulator, EmulatorOptions } from './emulator/types.js';
import { createHttpApp } from './http/app.js';
import { systemClock, systemRandom, type Clock, type Provider, type Policy, type ProviderFor, type Random, type Repositories } from './ports.js';
import { tenantProviders } from './providers/tenant-providers.js';
import { twilioSignatures } from './providers/twilio-signatures.js';
import { TwilioProvider } from './providers/twilio.js';
import { twimlReplies } from './providers/twiml.js';
import { ApiKeysService } from './services/api-keys.js';
import { ConsentService } from './services/consent.js';
import { ConversationsService } from './services/conversations.js';
import { InboundService } from './services/inbound.js';
import { createPolicy } from './services/policy.js';
import { SettingsService } from './services/settings.js';
import { StatusCallbacksService } from './services/status-callbacks.js';
import { WebhookAuth } from './services/webhooks.js';
import { MessagesService, type ListInput, type SendInput, type SendOptions } from './services/messages.js';
import { TenantsService, type Tenant } from './services/tenants.js';
import { VerificationsService } from './services/verifications.js';
import { LocalVerifyBackend } from './services/verifications/local-backend.js';
import { ProviderVerifyBackend } from './services/verifications/provider-backend.js';
import { openDatabase, type Db } from './storage/db.js';
import { createRepositories } from './storage/index.js';
import { migrateToLatest } from './storage/migrate.js';
import { kx } from './storage/tx.js';
import { Dispatcher } from './worker/dispatcher.js';
import { PeriodicRunner } from './worker/periodic.js';
import { Reconciler } from './worker/reconciler.js';

export const VERSION = '0.1.0';
const HOUSEKEEPING_MS = 10 * 60 * 1000;
/** The emulator's default owned number, used as the sender when nothing else is configured. */
export const EMULATOR_FROM = '+15005550006';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object | null ? DeepPartial<NonNullable<T[K]>> | T[K] : T[K] };

export interface SmsRelayOptions {
  logger?: Logger;
  clock?: Clock;
  random?: Random;
  /** Replaces the configured provider (tests with a scripted provider, embedding with your own). */
  provider?: Provider;
  /** PostgreSQL schema to use (tests). */
  schema?: string;
  /** Run migrations on open (default true). */
  migrate?: boolean;
  /**
   * Told about every SQL statement this relay runs (BEGIN/COMMIT included), with its duration in ms:
   * for counting statements per message in benchmarks. Off (no cost) when not given.
   */
  onQuery?: (sql: string, durationMs: number) => void;
  /**
   * Sending-policy rules of the embedding application, asked after consent on accept and again
   * before each send: each answers send, hold (until, reason) or refuse (an SMS_ERR_ code).
   */
  policies?: Policy[];
}

/** pino JSON logs; `fd` 2 keeps one-shot CLI commands' stdout for their own output. */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authToken', 'auth_token', 'apiKey', 'key', 'code', 'body'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd, sync: fd === 2 }),
  );
}

/** Applies pending migrations and closes the connection; returns the names applied. */
export async function runMigrations(config: Config, schema?: string): Promise<string[]> {
  const db = await openDatabase(config.databaseUrl, { schema });
  try {
    return await migrateToLatest(db.kysely);
  } finally {
    await db.destroy();
  }
}

export function resolveConfig(overrides: DeepPartial<Config> | Config = {}): Config {
  const base = loadConfig({});
  const o = overrides as DeepPartial<Config>;
  const twilio = { ...base.twilio, ...(o.twilio as Partial<Config['twilio']>) };
  return {
    ...base,
    ...(o as Partial<Config>),
    // As in the loader: credentials given here mean real Twilio (or the API base URL given with them).
    provider: o.provider ?? (twilio.accountSid && twilio.authToken ? 'twilio' : 'emulator'),
    twilio,
    worker: { ...base.worker, ...(o.worker as Partial<Config['worker']>) },
    reconciler: { ...base.reconciler, ...(o.reconciler as Partial<Config['reconciler']>) },
    inbound: { ...base.inbound, ...(o.inbound as Partial<Config['inbound']>) },
    emulator: { ...base.emulator, ...(o.emulator as Partial<Config['emulator']>) },
    verify: { ...base.verify, ...(o.verify as Partial<Config['verify']>) },
  };
}

export interface SmsRelay {
  readonly config: Config;
  readonly logger: Logger;
  /** The database handle, for diagnostics and tests (test/support/db.ts); services go through `repos`. */
  readonly db: Db;
  /** Every repository (the storage port), for embedding and tests. */
  readonly repos: Repositories;
  readonly tenants: TenantsService;
  /** Tenants' settings documents (stored values over the environment's defaults). */
  readonly settings: SettingsService;
  readonly apiKeys: ApiKeysService;
  readonly messages: MessagesService;
  readonly verifications: VerificationsService;
  readonly defaultTenant: Tenant;
  readonly emulator: Emulator | null;
  /** The outbox dispatcher (not started until `startWorker`). */
  readonly worker: Dispatcher | null;
  /** Converges stale provider statuses and late-matched callbacks (started with the worker). */
  readonly reconciler: Reconciler | null;
  readonly consent: ConsentService;
  readonly conversations: ConversationsService;
  readonly statusCallbacks: StatusCallbacksService;
  /** Drops cached webhook credentials (after tenants' Twilio credentials changed). */
  readonly webhookAuth: WebhookAuth;
  readonly provider: Provider | null;
  /** Default-tenant shortcuts for embedding. */
  send(input: SendInput, opts?: SendOptions): ReturnType<MessagesService['send']>;
  get(id: string): ReturnType<MessagesService['get']>;
  list(q?: ListInput): ReturnType<MessagesService['list']>;
  cancel(id: string): ReturnType<MessagesService['cancel']>;
  startWorker(): void;
  /** Builds the HTTP app (and mounts the embedded emulator on it). */
  http(): Promise<FastifyInstance>;
  /** Listens on the configured host/port; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds smsrelay from config: database (migrated), services, provider and worker. With no Twilio
 * credentials the emulator is the provider: mounted on the HTTP port by `listen()`, or on its own
 * loopback port when smsrelay is embedded without HTTP.
 */
export async function createSmsRelay(overrides: DeepPartial<Config> | Config = {}, opts: SmsRelayOptions = {}): Promise<SmsRelay> {
  const config = resolveConfig(overrides);
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const now = () => clock.now().getTime();

  const db = await openDatabase(config.databaseUrl, { schema: opts.schema, warn: (m, o) => logger.warn(o, m), onQuery: opts.onQuery });
  if (opts.migrate !== false) {
    const applied = await migrateToLatest(db.kysely);
    if (applied.length) logger.info({ applied }, 'database migrations applied');
  }
  const repos = createRepositories(db);
  const cipher = config.masterKey ? new Cipher(config.masterKey, random) : null;
  const apiKeys = new ApiKeysService({ keys: repos.apiKeys, clock, random });

  const emulator = config.provider === 'emulator' && !opts.provider ? createEmulator(embeddedEmulatorOptions(config, logger)) : null;
  if (config.provider === 'emulator' && !opts.provider) {
    logger.warn('No Twilio credentials configured: using the built-in Twilio emulator. NOTHING IS SENT TO REAL PHONES.');
  }
  if (config.provider === 'disabled') {
    logger.warn('TWILIO_ENABLED=false: messages are accepted and logged, and NOTHING IS SENT.');
  }

  const settings = new SettingsService({ repo: repos.settings, clock, defaults: settingsDefaults(config, config.provider === 'emulator') });
  const tenants = new TenantsService({ tenants: repos.tenants, clock, random, cipher, settings });
  const defaultTenant = await tenants.ensureDefault();

  let worker: Dispatcher | null = null;
  let reconciler: Reconciler | null = null;
  let provider: Provider | null = opts.provider ?? null;
  const consent = new ConsentService({
    consent: repos.consent,
    conversations: repos.conversations,
    write: repos.write,
    clock,
    random,
    defaultRegion: config.defaultRegion,
  });
  const policy = createPolicy([consent.policy, ...(opts.policies ?? [])]);
  const messages = new MessagesService({
    messages: repos.messages,
    write: repos.write,
    batch: repos.batch,
    clock,
    random,
    defaultRegion: config.defaultRegion,
    rejectFixedLine: config.rejectFixedLine,
    maxAttempts: config.worker.maxAttempts,
    defaultValidityPeriodS: config.defaultValidityPeriodS,
    sendingEnabled: config.provider !== 'disabled',
    onEnqueued: () => worker?.wake(),
    policy,
    settings,
  });
  const verifications = new VerificationsService({
    write: repos.write,
    verifications: repos.verifications,
    counters: repos.counters,
    settings,
    clock,
    random,
    logger,
    config: config.verify,
    defaultRegion: config.defaultRegion,
    rejectFixedLine: config.rejectFixedLine,
    backends: {
      local: new LocalVerifyBackend({ messages, random, secret: verifySecret(config, random), ttlS: config.verify.ttlS }),
      // Twilio Verify on the installation's account, when its provider has it (the emulator's does).
      twilio: new ProviderVerifyBackend({ provider: () => provider?.verify ?? null }),
    },
  });

  // Tenants with their own Twilio account send through it (real Twilio, credentials readable with
  // the master key); with the embedded emulator or an injected provider (one account by
  // construction) everyone uses that one. Status callbacks are matched by the same rule.
  const tenantAccounts = !emulator && !opts.provider && cipher !== null;
  const statusCallbacks = new StatusCallbacksService({
    messages: repos.messages,
    webhookEvents: repos.webhookEvents,
    write: repos.write,
    batch: repos.batch,
    clock,
    random,
    consent,
    installationTenantId: defaultTenant.id,
    tenantAccounts,
  });
  const inbound = new InboundService({
    inbound: repos.inbound,
    conversations: repos.conversations,
    suppressions: repos.consent,
    write: repos.write,
    twiml: twimlReplies,
    clock,
    random,
    consent,
    settings,
  });
  const conversations = new ConversationsService({ conversations: repos.conversations, write: repos.write, messages, clock });
  // Webhooks for the default tenant are signed with the configured account's token (or the
  // embedded emulator's); other tenants' tokens come from their rows.
  const webhookAuth = new WebhookAuth({
    tenants: repos.tenants,
    cipher,
    defaults: {
      tenantId: defaultTenant.id,
      accountSid: emulator ? emulator.accountSid : config.twilio.accountSid,
      tokens: [emulator ? emulator.authToken : config.twilio.authToken, config.twilio.secondaryAuthToken].filter((t): t is string => !!t),
    },
    signatures: twilioSignatures,
    clock,
  });
  const providerFor = (p: Provider): ProviderFor =>
    !tenantAccounts
      ? async () => p
      : tenantProviders(p, {
          credentials: (tenantId) => tenants.twilioCredentials(tenantId),
          create: (accountSid, authToken) =>
            new TwilioProvider({ accountSid, authToken, apiBaseUrl: config.twilio.apiBaseUrl, maxSockets: Math.max(8, config.worker.concurrency) }),
        });
  // Every loop on a timer (reconciliation, late callbacks, housekeeping) runs here, started with the worker.
  const periodic = new PeriodicRunner({ random, onError: (task, e) => logger.error({ err: e }, `${task} failed`) });
  // Idempotency keys are kept 24 h; the workers delete expired ones (any worker may).
  periodic.add({ name: 'idempotency key cleanup', intervalMs: HOUSEKEEPING_MS, runAtStart: true, run: () => repos.messages.deleteExpiredIdempotencyKeys(now()) });
  // The outbox dispatcher and the reconciler share one provider lookup.
  const makeRunners = (p: Provider) => {
    const pf = providerFor(p);
    worker = new Dispatcher({
      messages: repos.messages,
      write: repos.write,
      providerFor: pf,
      clock,
      config: config.worker,
      logger,
      statusCallback: config.publicUrl ? `${config.publicUrl}/webhooks/twilio/status` : null,
      policy,
      settings,
      onRejected: (row, code) => consent.onProviderRejected(row, code),
    });
    reconciler = new Reconciler({ reconcile: repos.reconcile, messages: repos.messages, write: repos.write, providerFor: pf, clock, config: config.reconciler, logger, statusCallbacks });
    for (const task of reconciler.tasks()) periodic.add(task);
  };
  const twilioProvider = (baseUrl: string | null) =>
    new TwilioProvider({
      accountSid: emulator ? emulator.accountSid : config.twilio.accountSid!,
      authToken: emulator ? emulator.authToken : config.twilio.authToken!,
      apiBaseUrl: baseUrl,
      maxSockets: Math.max(8, config.worker.concurrency),
    });
  if (!provider && config.provider === 'twilio') provider = twilioProvider(config.twilio.apiBaseUrl);
  if (provider) makeRunners(provider);

  let app: FastifyInstance | null = null;
  let workerWanted = false;

  // The embedded emulator needs a port before the provider can call it: the HTTP port when
  // listening, else its own loopback port.
  const attachEmulator = async (baseUrl: string | null) => {
    if (!emulator || provider) return;
    let url = baseUrl;
    if (!url) {
      url = await emulator.listen(0, '127.0.0.1');
    }
    emulator.setPublicBaseUrl(url);
    if (baseUrl) {
      // The relay's own webhooks answer the embedded emulator (signed with its auth token).
      emulator.setInboundUrl(`${baseUrl}/webhooks/twilio/inbound`);
      emulator.setDefaultStatusCallback(`${baseUrl}/webhooks/twilio/status`);
    }
    provider = twilioProvider(url);
    makeRunners(provider);
    if (workerWanted) worker!.start();
  };

  const relay: SmsRelay = {
    config,
    logger,
    db,
    repos,
    tenants,
    settings,
    apiKeys,
    messages,
    verifications,
    defaultTenant,
    emulator,
    get worker() {
      return worker;
    },
    get reconciler() {
      return reconciler;
    },
    consent,
    conversations,
    statusCallbacks,
    webhookAuth,
    get provider() {
      return provider;
    },
    send: (input, o) => messages.send(defaultTenant, input, o),
    get: (id) => messages.get(defaultTenant, id),
    list: (q = {}) => messages.list(defaultTenant, q),
    cancel: (id) => messages.cancel(defaultTenant, id),
    startWorker() {
      workerWanted = true;
      periodic.start();
      if (worker) worker.start();
      else if (emulator && !app) void attachEmulator(null);
    },
    async http() {
      if (!app) {
        app = await createHttpApp({
          health: repos.health,
          messages,
          verifications,
          apiKeys,
          tenants,
          logger,
          bodyLimitBytes: config.bodyLimitBytes,
          trustProxy: config.trustProxy,
          version: VERSION,
          mount: emulator ? (req, res) => emulator.handle(req, res) : undefined,
          webhooks: { auth: webhookAuth, statusCallbacks, inbound, publicUrl: config.publicUrl },
          conversations,
          consent,
        });
      }
      return app;
    },
    async listen() {
      const a = await relay.http();
      await a.listen({ host: config.host, port: config.port });
      const addr = a.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const local = `http://127.0.0.1:${port}`;
      await attachEmulator(local);
      if (emulator) logger.info({ access: config.emulator.access, host: config.host }, emulator.accessDescription);
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    async close() {
      await periodic.stop();
      await worker?.stop();
      if (app) await app.close();
      if (emulator) await emulator.close().catch(() => undefined);
      await db.destroy();
    },
  };
  return relay;
}

/**
 * The embedded emulator owns every sender the configuration names, so each channel works without
 * Twilio. Listening beyond loopback, its auth token is random: the default one is published, and
 * the relay's webhooks accept the emulator's token, so it would let anyone forge signed webhooks.
 */
function embeddedEmulatorOptions(config: Config, logger: Logger): EmulatorOptions {
  const { fromNumber, whatsappNumber, messagingServiceSid } = config.twilio;
  const numbers = new Set([EMULATOR_FROM]);
  const senderIds: string[] = [];
  if (fromNumber?.startsWith('+')) numbers.add(fromNumber);
  else if (fromNumber) senderIds.push(fromNumber);
  if (whatsappNumber) numbers.add(whatsappNumber.replace(/^whatsapp:/, ''));
  return {
    numbers: [...numbers],
    senderIds,
    ...(messagingServiceSid ? { messagingServiceSids: [messagingServiceSid] } : {}),
    ...(isLoopback(config.host) ? {} : { authToken: randomBytes(16).toString('hex') }),
    access: config.emulator.access === 'token' ? { mode: 'token', token: config.emulator.token! } : { mode: 'loopback' },
    maxMessages: config.emulator.maxMessages,
    logger: { info: (o, m) => logger.info(o, m), warn: (o, m) => logger.warn(o, m) },
  };
}

/**
 * The settings document's defaults. The environment supplies the default tenant's at read time
 * (senders, auto-reply), and installation-wide ones (region, keyword handling, Verify) to every
 * tenant; a tenant's stored values win.
 */
function settingsDefaults(config: Config, embeddedEmulator: boolean): (slug: string) => TenantSettings {
  const installation: TenantSettings = {
    ...BUILTIN_SETTINGS,
    default_region: config.defaultRegion,
    keyword_replies: config.inbound.keywordReplies,
    verify_backend: config.verify.backend,
    verify_service_sid: config.twilio.verifyServiceSid,
    verify_app_name: config.verify.appName,
  };
  const defaultTenant: TenantSettings = {
    ...installation,
    from_number: config.twilio.fromNumber ?? (embeddedEmulator ? EMULATOR_FROM : null),
    messaging_service_sid: config.twilio.messagingServiceSid,
    whatsapp_from: config.twilio.whatsappNumber,
    auto_reply: config.inbound.autoReply,
  };
  return (slug) => (slug === 'default' ? defaultTenant : installation);
}

/**
 * The HMAC key of local verification codes: SMSRELAY_VERIFY_SECRET, else one generated at first use
 * into data/verify-secret (mode 0600). Lazy, so installs that never send a code write no file.
 * Several processes sharing a database need the same secret: set SMSRELAY_VERIFY_SECRET there.
 */
function verifySecret(config: Config, random: Random): () => Buffer {
  let secret: Buffer | null = config.verify.secret ? Buffer.from(config.verify.secret) : null;
  return () => {
    if (secret) return secret;
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const path = join(config.dataDir, 'verify-secret');
    try {
      // 'wx': of two processes starting together, one writes and both read the same file.
      writeFileSync(path, random.bytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = readFileSync(path, 'utf8').trim();
    if (text.length < 32) throw new Error(`${path} holds no usable secret (at least 32 characters expected)`);
    secret = Buffer.from(text);
    return secret;
  };
}

/**
 * First start without SMSRELAY_API_KEY: writes a generated admin key to data/initial-api-key
 * (mode 0600) and returns its path. Returns null when keys already exist or one is configured.
 */
export async function ensureInitialApiKey(relay: SmsRelay): Promise<string | null> {
  const { config, apiKeys, defaultTenant } = relay;
  if (config.apiKey) {
    await apiKeys.ensure(defaultTenant.id, 'SMSRELAY_API_KEY', config.apiKey, ['admin']);
    return null;
  }
  if (await apiKeys.hasAnyKey(defaultTenant.id)) return null;
  const { key } = await apiKeys.create(defaultTenant.id, 'initial', ['admin']);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const path = join(config.dataDir, 'initial-api-key');
  writeFileSync(path, key + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return existsSync(path) ? path : null;
}
