// The one place that picks adapters and wires services together (the per-feature factories are in
// wiring/). The CLI and the library entry both come through here; nothing below reads the environment.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { loadConfig, type Config } from './config.js';
import { Cipher } from './core/cipher.js';
import type { Emulator } from './emulator/types.js';
import { systemClock, systemRandom, type Clock, type Provider, type Policy, type Random, type Repositories } from './ports.js';
import { ApiKeysService } from './services/api-keys.js';
import { ConsoleSessionsService } from './services/console-sessions.js';
import { AuditLog } from './services/audit.js';
import { rotateMasterKey, type RotationResult } from './services/master-key.js';
import { TenantConfigService } from './services/tenant-config.js';
import { TestSendService } from './services/test-send.js';
import type { AlertsService } from './services/alerts.js';
import type { ConsentService } from './services/consent.js';
import type { ConversationsService } from './services/conversations.js';
import type { EventsService } from './services/events.js';
import type { WebhookEndpointsService } from './services/webhook-endpoints.js';
import { SettingsService } from './services/settings.js';
import type { StatusCallbacksService } from './services/status-callbacks.js';
import type { TemplatesService } from './services/templates.js';
import type { WebhookAuth } from './services/webhooks.js';
import type { MessagesService, ListInput, SendInput, SendOptions } from './services/messages.js';
import { TenantsService, type Tenant } from './services/tenants.js';
import type { VerificationsService } from './services/verifications.js';
import { openDatabase, type Db } from './storage/db.js';
import { createRepositories } from './storage/index.js';
import { migrateToLatest } from './storage/migrate.js';
import type { PrometheusMetrics } from './metrics/prometheus.js';
import type { Dispatcher } from './worker/dispatcher.js';
import type { Reconciler } from './worker/reconciler.js';
import { WebHost } from './wiring/http.js';
import { createEvents, type EventHandler } from './wiring/events.js';
import { Data } from './wiring/data.js';
import { createMessaging } from './wiring/messaging.js';
import { createMetrics } from './wiring/metrics.js';
import { ProviderHub } from './wiring/provider.js';
import { Runners } from './wiring/runners.js';
import { createCampaigns } from './wiring/campaigns.js';
import { CampaignStates, type CampaignsService } from './services/campaigns.js';
import { settingsDefaults } from './wiring/settings.js';
import { createVerifications } from './wiring/verification.js';

export const VERSION = '0.1.0';
export { EMULATOR_FROM } from './wiring/provider.js';

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
  /** How long `POST /v1/settings/test` waits for a final status (default 15 s). */
  testSendTimeoutMs?: number;
}

/**
 * pino JSON logs; `fd` 2 keeps one-shot CLI commands' stdout for their own output; a stream gets
 * the lines instead (tests read them to show that no secret is logged).
 */
export function createLogger(level: string, fd: 1 | 2 | pino.DestinationStream = 1): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authToken', 'auth_token', 'apiKey', 'key', 'code', 'body'],
        censor: '[redacted]',
      },
    },
    typeof fd === 'number' ? pino.destination({ fd, sync: fd === 2 }) : fd,
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
    data: { ...base.data, ...(o.data as Partial<Config['data']>) },
    inbound: { ...base.inbound, ...(o.inbound as Partial<Config['inbound']>) },
    policy: { ...base.policy, ...(o.policy as Partial<Config['policy']>) },
    emulator: { ...base.emulator, ...(o.emulator as Partial<Config['emulator']>) },
    verify: { ...base.verify, ...(o.verify as Partial<Config['verify']>) },
    metrics: { ...base.metrics, ...(o.metrics as Partial<Config['metrics']>) },
    events: { ...base.events, ...(o.events as Partial<Config['events']>) },
    console: { ...base.console, ...(o.console as Partial<Config['console']>) },
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
  /** The audit log (`audit.record(tx, entry)` inside the transaction of a change). */
  readonly audit: AuditLog;
  /** A tenant's settings and Twilio credentials as the API reads and changes them. */
  readonly tenantConfig: TenantConfigService;
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
  /** Message templates (versions, rendering, previews). */
  readonly templates: TemplatesService;
  /** Alerts (daily cap threshold, cap reached) and the sending policy's counts of a day. */
  readonly alerts: AlertsService;
  readonly statusCallbacks: StatusCallbacksService;
  /** Drops cached webhook credentials (after tenants' Twilio credentials changed). */
  readonly webhookAuth: WebhookAuth;
  readonly provider: Provider | null;
  /** This relay's metrics (what GET /metrics serves): `render()` gives the Prometheus text. */
  readonly metrics: Pick<PrometheusMetrics, 'render' | 'contentType' | 'eventBacklog' | 'eventDelivery'>;
  /** The event log (every tenant's events, redelivery). */
  readonly events: EventsService;
  readonly webhookEndpoints: WebhookEndpointsService;
  /**
   * Calls `handler` with each event of any tenant whose type matches `pattern` ('message.delivered',
   * 'message.*', '*') once it is committed; returns a function that unsubscribes.
   */
  on(pattern: string, handler: EventHandler): () => void;
  /** Usage and cost, lookups, contacts and privacy. */
  readonly data: Data;
  /** Campaigns: audiences, estimates, start/pause/resume/cancel (the dispatcher runs with the worker). */
  readonly campaigns: CampaignsService;
  /** Default-tenant shortcuts for embedding. */
  send(input: SendInput, opts?: SendOptions): ReturnType<MessagesService['send']>;
  get(id: string): ReturnType<MessagesService['get']>;
  list(q?: ListInput): ReturnType<MessagesService['list']>;
  cancel(id: string): ReturnType<MessagesService['cancel']>;
  startWorker(): void;
  /**
   * Re-encrypts every stored secret under `newKey` in one transaction (`smsrelay keys
   * rotate-master`); `onRow` hears of each one before it is rewritten.
   */
  rotateMasterKey(newKey: string, onRow?: (index: number, total: number) => void): Promise<RotationResult>;
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

  const db = await openDatabase(config.databaseUrl, { schema: opts.schema, warn: (m, o) => logger.warn(o, m), onQuery: opts.onQuery });
  if (opts.migrate !== false) {
    const applied = await migrateToLatest(db.kysely);
    if (applied.length) logger.info({ applied }, 'database migrations applied');
  }
  const repos = createRepositories(db, () => random.id());
  const previousKeys = config.masterKeyPrevious ? [config.masterKeyPrevious] : [];
  const cipher = config.masterKey ? new Cipher(config.masterKey, random, previousKeys) : null;
  const audit = new AuditLog({ repo: repos.audit, clock, random });
  const apiKeys = new ApiKeysService({ keys: repos.apiKeys, write: repos.write, audit, clock, random });
  const consoleSessions = new ConsoleSessionsService({
    sessions: repos.consoleSessions,
    write: repos.write,
    audit,
    apiKeys,
    clock,
    random,
    config: { idleMs: config.console.sessionIdleMs, maxMs: config.console.sessionMaxMs },
  });
  const settings = new SettingsService({ repo: repos.settings, clock, defaults: settingsDefaults(config, config.provider === 'emulator') });
  const tenants = new TenantsService({ tenants: repos.tenants, write: repos.write, audit, clock, random, cipher, settings });
  // One registry per relay: several relays may share a process.
  const metrics = createMetrics(config, repos, clock);
  const hub = new ProviderHub({ config, logger, tenants, cipher, injected: opts.provider, metrics });
  const defaultTenant = await tenants.ensureDefault();

  const common = { config, logger, repos, clock, random, settings, metrics };
  // `runners` is built below; nothing is enqueued before this function returns.
  const campaignStates = new CampaignStates({ campaigns: repos.campaigns, monotonic: () => performance.now() });
  const messaging = createMessaging({
    ...common,
    cipher,
    audit,
    tenants,
    defaultTenant,
    hub,
    policies: opts.policies ?? [],
    campaignPolicy: campaignStates.policy,
    onEnqueued: () => runners.wake(),
  });
  const { messages, consent, statusCallbacks } = messaging;
  const verifications = createVerifications({ ...common, messages, provider: () => hub.current() });
  const data = new Data({ config, logger, repos, clock, random, hub, settings, messages, audit, alerts: messaging.alerts });
  const events = createEvents({ ...common, cipher, version: VERSION });
  const campaigns = createCampaigns({ ...common, tenants, messages, templates: messaging.templates, states: campaignStates });
  const runners = new Runners({
    ...common,
    hub,
    policy: messaging.policy,
    consent,
    statusCallbacks,
    eventDelivery: events.delivery,
    data,
    campaignDispatcher: campaigns.dispatcher,
  });
  const tenantConfig = new TenantConfigService({
    settings,
    tenants,
    tenantRows: repos.tenants,
    audit,
    cipher,
    checkAccount: hub.checkAccount,
    onCredentialsChanged: () => messaging.webhookAuth.invalidate(),
    clock,
  });
  const testSend = new TestSendService({ messages, clock, timeoutMs: opts.testSendTimeoutMs ?? 15_000 });
  const web = new WebHost({
    config,
    logger,
    version: VERSION,
    repos,
    apiKeys,
    tenants,
    verifications,
    messaging,
    hub,
    audit,
    tenantConfig,
    testSend,
    metrics,
    events,
    data,
    consoleSessions,
    campaigns: campaigns.service,
  });

  return {
    config,
    logger,
    db,
    repos,
    tenants,
    settings,
    apiKeys,
    audit,
    tenantConfig,
    messages,
    verifications,
    defaultTenant,
    emulator: hub.emulator,
    metrics,
    get worker() {
      return runners.worker;
    },
    get reconciler() {
      return runners.reconciler;
    },
    consent,
    conversations: messaging.conversations,
    templates: messaging.templates,
    alerts: messaging.alerts,
    statusCallbacks,
    webhookAuth: messaging.webhookAuth,
    get provider() {
      return hub.current();
    },
    data,
    campaigns: campaigns.service,
    send: (input, o) => messages.send(defaultTenant, input, o),
    get: (id) => messages.get(defaultTenant, id),
    list: (q = {}) => messages.list(defaultTenant, q),
    cancel: (id) => messages.cancel(defaultTenant, id),
    startWorker() {
      runners.start();
      // Without the HTTP app (which attaches it when listening) the emulator gets its own port.
      if (!runners.worker && !web.hasApp) void hub.attach(null);
    },
    rotateMasterKey: (newKey, onRow) =>
      rotateMasterKey(
        { tenants: repos.tenants, write: repos.write },
        new Cipher(
          newKey,
          random,
          [config.masterKey, ...previousKeys].filter((k): k is string => !!k),
        ),
        onRow,
      ),
    events: events.service,
    webhookEndpoints: events.endpoints,
    on: (pattern, handler) => events.on(pattern, handler),
    http: () => web.app(),
    listen: () => web.listen(),
    async close() {
      await runners.stop();
      await web.close();
      await events.stop();
      if (hub.emulator) await hub.emulator.close().catch(() => undefined);
      await db.destroy();
    },
  };
}

/**
 * First start without SMSRELAY_API_KEY: writes a generated admin key to data/initial-api-key
 * (mode 0600) and returns its path. Returns null when keys already exist or one is configured.
 */
export async function ensureInitialApiKey(relay: SmsRelay): Promise<string | null> {
  const { config, apiKeys, defaultTenant } = relay;
  // The installation's first key is its platform admin too (tenants, acting on behalf of them).
  const scopes = ['admin', 'tenants:admin'];
  if (config.apiKey) {
    await apiKeys.ensure(defaultTenant.id, 'SMSRELAY_API_KEY', config.apiKey, scopes);
    return null;
  }
  if (await apiKeys.hasAnyKey(defaultTenant.id)) return null;
  const { key } = await apiKeys.create(defaultTenant.id, 'initial', scopes);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const path = join(config.dataDir, 'initial-api-key');
  writeFileSync(path, key + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return existsSync(path) ? path : null;
}
