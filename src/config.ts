// The config loader: the only module that reads the environment (the CLI passes `process.env` in).
// Everything else receives a validated `Config` object.
import { DEFAULT_RETRY_SCHEDULE_MS } from './core/events.js';

export type ProviderMode = 'twilio' | 'emulator' | 'disabled';

export interface TwilioConfig {
  accountSid: string | null;
  authToken: string | null;
  /** Secondary auth token accepted on webhooks during a token rotation. */
  secondaryAuthToken: string | null;
  fromNumber: string | null;
  messagingServiceSid: string | null;
  whatsappNumber: string | null;
  apiBaseUrl: string | null;
  verifyServiceSid: string | null;
}

export interface WorkerConfig {
  enabled: boolean;
  concurrency: number;
  batchSize: number;
  pollIntervalMs: number;
  leaseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long after an ambiguous outcome the provider is asked whether the message exists. */
  settleDelayMs: number;
  /** Pace senders not in `sender_rates` at their type's rate; null: only with real Twilio (the emulator has no limit). */
  pacingDefaults: boolean | null;
}

/** A sliding-window limit: at most `max` events per `windowS` seconds. */
export interface WindowLimit {
  max: number;
  windowS: number;
}

export interface VerifyConfig {
  /** Backend of tenants whose settings do not name one. */
  backend: 'local' | 'twilio';
  /** HMAC key of local codes; when null, main.ts keeps a generated one in `${dataDir}/verify-secret`. */
  secret: string | null;
  ttlS: number;
  maxChecks: number;
  maxSends: number;
  appName: string;
  limitNumber: WindowLimit;
  limitIp: WindowLimit;
  limitTenant: WindowLimit;
  limitPrefix: WindowLimit;
  /** A prefix is blocked when, over `blockWindowS`, at least `blockMinStarts` verifications converted below `blockMinConversion` (0 = off). */
  blockMinStarts: number;
  blockMinConversion: number;
  blockWindowS: number;
  blockCooldownS: number;
}

export interface ReconcilerConfig {
  enabled: boolean;
  /** Messages in a non-terminal provider state for longer than this are fetched from the provider. */
  minAgeMs: number;
  intervalMs: number;
  batchSize: number;
  /** How often status callbacks that arrived before their message's SID was stored are matched again. */
  attachIntervalMs: number;
}

// --- usage, lookups, contacts, privacy ---
export interface DataConfig {
  /** How often the usage rollup counts changed messages. */
  usageIntervalMs: number;
  /** How long after its last change a final message without a price is fetched for it. */
  priceDelayMs: number;
  priceIntervalMs: number;
  priceBatchSize: number;
  /** How often retention redacts old messages (per-tenant `retention_days`). */
  retentionIntervalMs: number;
}

// --- sending limits and caps ---
/** Defaults of the settings document's limits (see core/settings.ts). */
export interface PolicyConfig {
  /** TWILIO_MAX_DAILY_SENDS: the default tenant's daily cap (null: none). */
  dailyCap: number | null;
  /** REMINDER_COOLDOWN_MINUTES: every tenant's default cooldown per recipient (transactional, marketing). */
  cooldownMinutes: number;
}

export interface InboundConfig {
  /** Auto-reply text of the default tenant (null: off). Other tenants set it in their settings. */
  autoReply: string | null;
  /** Who answers STOP/START/HELP: 'provider' (Twilio's built-in opt-out handling) or 'relay' (TwiML). */
  keywordReplies: 'provider' | 'relay';
}

/** Events to the host application: webhooks, the stream, `relay.on`. */
export interface EventsConfig {
  /** Deliver webhooks to loopback/private/link-local addresses, over http too (development, tests). */
  allowPrivate: boolean;
  /** Delay before each attempt (the first is the first delivery), ms; jittered ±20 %. */
  retryScheduleMs: number[];
  /** A 2xx within this time is a success. */
  timeoutMs: number;
  /** Deliveries in flight at once per endpoint (per process), and in all. */
  perEndpointConcurrency: number;
  concurrency: number;
  /** An endpoint failing for this long is disabled (and an alert event raised). */
  disableAfterMs: number;
  /** How often the delivery worker and the in-process feed (stream, relay.on) look for new events. */
  pollIntervalMs: number;
  /** SSE comment lines that keep idle streams open through proxies. */
  heartbeatMs: number;
  /** Events older than this are deleted (their deliveries are done by then). */
  retentionDays: number;
}

/** The embedded emulator (used when no Twilio credentials are configured). */
export interface EmulatorConfig {
  /** Who may use its pages, admin API and Twilio paths: loopback clients only, or also others with `token`. */
  access: 'loopback' | 'token';
  token: string | null;
  /** Messages kept in memory (the inbox's history). */
  maxMessages: number;
}

/** GET /metrics (Prometheus). */
export interface MetricsConfig {
  /** When set, scrapes need `Authorization: Bearer <token>`; when null, only loopback clients are answered. */
  token: string | null;
  /** Adds a `tenant` label to the message counters (one series per tenant). */
  tenantLabel: boolean;
}

// --- admin console ---
/** Sign-in sessions of the admin console (/admin). */
export interface ConsoleConfig {
  /** A session unused for this long ends (SMSRELAY_CONSOLE_IDLE_MINUTES, default 30). */
  sessionIdleMs: number;
  /** A session ends this long after sign-in however it is used (SMSRELAY_CONSOLE_SESSION_HOURS, default 12). */
  sessionMaxMs: number;
}

export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  dataDir: string;
  apiKey: string | null;
  /** The relay the HTTP-speaking CLI commands (`smsrelay campaigns …`) talk to (SMSRELAY_URL; default the local port). */
  apiUrl: string;
  defaultRegion: string;
  rejectFixedLine: boolean;
  publicUrl: string | null;
  trustProxy: boolean;
  logLevel: string;
  bodyLimitBytes: number;
  defaultValidityPeriodS: number;
  provider: ProviderMode;
  twilio: TwilioConfig;
  worker: WorkerConfig;
  verify: VerifyConfig;
  reconciler: ReconcilerConfig;
  data: DataConfig;
  inbound: InboundConfig;
  policy: PolicyConfig;
  emulator: EmulatorConfig;
  metrics: MetricsConfig;
  events: EventsConfig;
  console: ConsoleConfig;
  /** 32-byte key (hex or base64) that encrypts tenants' Twilio auth tokens (AES-256-GCM). */
  masterKey: string | null;
  /** The master key before a rotation (`smsrelay keys rotate-master`): still accepted for reading until every secret is re-encrypted. */
  masterKeyPrevious: string | null;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    value?: string,
  ) {
    super(`${variable}: expected ${expected}${value === undefined ? '' : `, got ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, ...names: string[]): string | null {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return null;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === null) return def;
  if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `an integer between ${min} and ${max}`, v);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `an integer between ${min} and ${max}`, v);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const v = str(env, name);
  if (v === null) return def;
  const l = v.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(l)) return true;
  if (['0', 'false', 'no', 'off'].includes(l)) return false;
  throw new ConfigError(name, 'true or false', v);
}

function matching(env: Env, names: string[], re: RegExp, expected: string): string | null {
  const v = str(env, ...names);
  if (v !== null && !re.test(v)) throw new ConfigError(names.find((n) => str(env, n) !== null) ?? names[0], expected, v);
  return v;
}

function masterKey(env: Env, name = 'SMSRELAY_MASTER_KEY'): string | null {
  const v = str(env, name);
  if (v === null) return null;
  if (!isMasterKey(v)) throw new ConfigError(name, '32 bytes as 64 hex characters or base64 (openssl rand -base64 32)');
  return v;
}

/** 32 bytes as 64 hex characters or base64. */
export function isMasterKey(v: string): boolean {
  return (/^[0-9a-fA-F]{64}$/.test(v) ? 32 : Buffer.from(v, 'base64').length) === 32;
}

function keywordReplies(env: Env): 'provider' | 'relay' {
  const v = (str(env, 'SMSRELAY_KEYWORD_REPLIES') ?? 'provider').toLowerCase();
  if (v !== 'provider' && v !== 'relay') throw new ConfigError('SMSRELAY_KEYWORD_REPLIES', "'provider' or 'relay'", v);
  return v;
}

/** SMSRELAY_EMULATOR_ACCESS / SMSRELAY_EMULATOR_TOKEN; also used by `smsrelay emulator`. */
export function loadEmulatorAccess(env: Env): Pick<EmulatorConfig, 'access' | 'token'> {
  const access = (str(env, 'SMSRELAY_EMULATOR_ACCESS') ?? 'loopback').toLowerCase();
  if (access !== 'loopback' && access !== 'token') throw new ConfigError('SMSRELAY_EMULATOR_ACCESS', "'loopback' or 'token'", access);
  const token = str(env, 'SMSRELAY_EMULATOR_TOKEN');
  if (access === 'token' && (token === null || token.length < 24))
    throw new ConfigError('SMSRELAY_EMULATOR_TOKEN', 'at least 24 characters (required with SMSRELAY_EMULATOR_ACCESS=token)');
  // Opening the emulator to the network must be explicit: a token alone does not do it.
  if (access === 'loopback' && token !== null) throw new ConfigError('SMSRELAY_EMULATOR_TOKEN', 'SMSRELAY_EMULATOR_ACCESS=token to be set with it');
  return { access, token };
}

function metricsConfig(env: Env): MetricsConfig {
  const token = str(env, 'SMSRELAY_METRICS_TOKEN');
  if (token !== null && token.length < 24) throw new ConfigError('SMSRELAY_METRICS_TOKEN', 'at least 24 characters');
  return { token, tenantLabel: bool(env, 'SMSRELAY_METRICS_TENANT_LABEL', false) };
}

function url(env: Env, name: string): string | null {
  const v = str(env, name);
  if (v === null) return null;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError(name, 'an http(s) URL', v);
  }
  return v.replace(/\/+$/, '');
}

/** Comma-separated seconds (decimals allowed), e.g. '0,5,300'. */
function schedule(env: Env, name: string, def: number[]): number[] {
  const v = str(env, name);
  if (v === null) return def;
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length < 1 || parts.length > 20 || parts.some((p) => !/^\d{1,6}(\.\d{1,3})?$/.test(p)))
    throw new ConfigError(name, "1 to 20 comma-separated delays in seconds such as '0,5,300,1800'", v);
  return parts.map((p) => Math.round(Number(p) * 1000));
}

/** 'max/seconds', e.g. '5/600'. */
function windowLimit(env: Env, name: string, def: WindowLimit): WindowLimit {
  const v = str(env, name);
  if (v === null) return def;
  const m = /^(\d{1,7})\/(\d{1,7})$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new ConfigError(name, "'max/seconds' such as 5/600", v);
  return { max: Number(m[1]), windowS: Number(m[2]) };
}

function loadVerifyConfig(env: Env, verifyServiceSid: string | null): VerifyConfig {
  const backend = str(env, 'SMSRELAY_VERIFY_BACKEND') ?? (verifyServiceSid ? 'twilio' : 'local');
  if (backend !== 'local' && backend !== 'twilio') throw new ConfigError('SMSRELAY_VERIFY_BACKEND', "'local' or 'twilio'", backend);
  const secret = str(env, 'SMSRELAY_VERIFY_SECRET');
  if (secret !== null && secret.length < 32) throw new ConfigError('SMSRELAY_VERIFY_SECRET', 'at least 32 characters');
  return {
    backend,
    secret,
    // Twilio Verify allows 2 minutes to 24 hours; so do we.
    ttlS: int(env, 'SMSRELAY_VERIFY_TTL_SECONDS', 600, 120, 86_400),
    maxChecks: int(env, 'SMSRELAY_VERIFY_MAX_CHECKS', 5, 1, 10),
    maxSends: int(env, 'SMSRELAY_VERIFY_MAX_SENDS', 5, 1, 10),
    appName: str(env, 'SMSRELAY_VERIFY_APP_NAME') ?? 'smsrelay',
    limitNumber: windowLimit(env, 'SMSRELAY_VERIFY_LIMIT_NUMBER', { max: 5, windowS: 600 }),
    limitIp: windowLimit(env, 'SMSRELAY_VERIFY_LIMIT_IP', { max: 20, windowS: 3600 }),
    limitTenant: windowLimit(env, 'SMSRELAY_VERIFY_LIMIT_TENANT', { max: 2000, windowS: 3600 }),
    limitPrefix: windowLimit(env, 'SMSRELAY_VERIFY_LIMIT_PREFIX', { max: 100, windowS: 3600 }),
    blockMinStarts: int(env, 'SMSRELAY_VERIFY_BLOCK_MIN_STARTS', 30, 1, 1_000_000),
    blockMinConversion: int(env, 'SMSRELAY_VERIFY_BLOCK_MIN_CONVERSION_PERCENT', 10, 0, 100) / 100,
    blockWindowS: int(env, 'SMSRELAY_VERIFY_BLOCK_WINDOW_SECONDS', 3600, 60, 7 * 86_400),
    blockCooldownS: int(env, 'SMSRELAY_VERIFY_BLOCK_COOLDOWN_SECONDS', 12 * 3600, 60, 30 * 86_400),
  };
}

export function loadConfig(env: Env): Config {
  const accountSid = matching(env, ['TWILIO_ACCOUNT_SID'], /^AC[0-9a-fA-F]{32}$/, "a Twilio Account SID ('AC' + 32 hex characters)");
  const authToken = str(env, 'TWILIO_AUTH_TOKEN');
  if ((accountSid === null) !== (authToken === null)) {
    throw new ConfigError(
      accountSid === null ? 'TWILIO_ACCOUNT_SID' : 'TWILIO_AUTH_TOKEN',
      'to be set together with ' + (accountSid === null ? 'TWILIO_AUTH_TOKEN' : 'TWILIO_ACCOUNT_SID'),
    );
  }
  const enabled = bool(env, 'TWILIO_ENABLED', true);
  const provider: ProviderMode = !enabled ? 'disabled' : accountSid ? 'twilio' : 'emulator';

  const region = (str(env, 'SMSRELAY_DEFAULT_REGION') ?? 'US').toUpperCase();
  if (!/^[A-Z]{2}$/.test(region)) throw new ConfigError('SMSRELAY_DEFAULT_REGION', 'an ISO-3166 alpha-2 region such as US, IN or MX', region);

  const databaseUrl = str(env, 'SMSRELAY_DATABASE_URL', 'DATABASE_URL') ?? 'sqlite:./data/smsrelay.db';
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    throw new ConfigError('SMSRELAY_DATABASE_URL', "'sqlite:<path>' or 'postgres://…'", databaseUrl.replace(/\/\/[^@]*@/, '//***@'));
  }

  const apiKey = str(env, 'SMSRELAY_API_KEY');
  if (apiKey !== null && apiKey.length < 20) throw new ConfigError('SMSRELAY_API_KEY', 'at least 20 characters');

  const verifyServiceSid = matching(env, ['TWILIO_VERIFY_SERVICE_SID'], /^VA[0-9a-fA-F]{32}$/, "a Verify Service SID ('VA' + 32 hex characters)");

  return {
    host: str(env, 'SMSRELAY_HOST', 'HOST') ?? '127.0.0.1',
    port: int(env, str(env, 'SMSRELAY_PORT') !== null ? 'SMSRELAY_PORT' : 'PORT', 3000, 0, 65535),
    databaseUrl,
    dataDir: str(env, 'SMSRELAY_DATA_DIR') ?? './data',
    apiKey,
    apiUrl: url(env, 'SMSRELAY_URL') ?? `http://127.0.0.1:${int(env, str(env, 'SMSRELAY_PORT') !== null ? 'SMSRELAY_PORT' : 'PORT', 3000, 0, 65535)}`,
    defaultRegion: region,
    rejectFixedLine: bool(env, 'SMSRELAY_REJECT_FIXED_LINE', true),
    publicUrl: url(env, 'SMSRELAY_PUBLIC_URL'),
    trustProxy: bool(env, 'SMSRELAY_TRUST_PROXY', false),
    logLevel: str(env, 'SMSRELAY_LOG_LEVEL', 'LOG_LEVEL') ?? 'info',
    bodyLimitBytes: int(env, 'SMSRELAY_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    defaultValidityPeriodS: int(env, 'SMSRELAY_DEFAULT_VALIDITY_PERIOD', 36_000, 1, 36_000),
    provider,
    twilio: {
      accountSid,
      authToken,
      secondaryAuthToken: str(env, 'TWILIO_SECONDARY_AUTH_TOKEN'),
      fromNumber: matching(
        env,
        ['TWILIO_FROM_NUMBER', 'TWILIO_PHONE_NUMBER'],
        /^(\+[1-9]\d{3,14}|[A-Za-z0-9 ]{1,11})$/,
        'an E.164 number such as +14155552671 or an alphanumeric sender ID',
      ),
      messagingServiceSid: matching(env, ['TWILIO_MESSAGING_SERVICE_SID'], /^MG[0-9a-fA-F]{32}$/, "a Messaging Service SID ('MG' + 32 hex characters)"),
      whatsappNumber: matching(env, ['TWILIO_WHATSAPP_NUMBER'], /^(whatsapp:)?\+[1-9]\d{3,14}$/, 'an E.164 number, optionally prefixed with whatsapp:'),
      apiBaseUrl: url(env, 'TWILIO_API_BASE_URL'),
      verifyServiceSid,
    },
    worker: {
      enabled: bool(env, 'SMSRELAY_WORKER', true),
      concurrency: int(env, 'SMSRELAY_WORKER_CONCURRENCY', 32, 1, 1000),
      batchSize: int(env, 'SMSRELAY_WORKER_BATCH_SIZE', 200, 1, 5000),
      pollIntervalMs: int(env, 'SMSRELAY_WORKER_POLL_MS', 250, 10, 60_000),
      leaseMs: int(env, 'SMSRELAY_LEASE_SECONDS', 60, 5, 3600) * 1000,
      maxAttempts: int(env, 'SMSRELAY_MAX_ATTEMPTS', 5, 1, 100),
      backoffBaseMs: int(env, 'SMSRELAY_BACKOFF_BASE_MS', 1000, 1, 3_600_000),
      backoffMaxMs: int(env, 'SMSRELAY_BACKOFF_MAX_MS', 300_000, 1, 86_400_000),
      settleDelayMs: int(env, 'SMSRELAY_SETTLE_DELAY_MS', 2000, 0, 3_600_000),
      pacingDefaults: str(env, 'SMSRELAY_PACING_DEFAULTS') === null ? null : bool(env, 'SMSRELAY_PACING_DEFAULTS', false),
    },
    verify: loadVerifyConfig(env, verifyServiceSid),
    reconciler: {
      enabled: bool(env, 'SMSRELAY_RECONCILER', true),
      minAgeMs: int(env, 'SMSRELAY_RECONCILE_AGE_SECONDS', 300, 1, 7 * 86_400) * 1000,
      intervalMs: int(env, 'SMSRELAY_RECONCILE_INTERVAL_MS', 30_000, 10, 3_600_000),
      batchSize: int(env, 'SMSRELAY_RECONCILE_BATCH_SIZE', 100, 1, 1000),
      attachIntervalMs: int(env, 'SMSRELAY_CALLBACK_ATTACH_MS', 1000, 10, 600_000),
    },
    data: {
      usageIntervalMs: int(env, 'SMSRELAY_USAGE_INTERVAL_MS', 5000, 10, 3_600_000),
      priceDelayMs: int(env, 'SMSRELAY_PRICE_DELAY_SECONDS', 60, 0, 86_400) * 1000,
      priceIntervalMs: int(env, 'SMSRELAY_PRICE_INTERVAL_MS', 30_000, 10, 3_600_000),
      priceBatchSize: int(env, 'SMSRELAY_PRICE_BATCH_SIZE', 100, 1, 1000),
      retentionIntervalMs: int(env, 'SMSRELAY_RETENTION_INTERVAL_MS', 600_000, 10, 86_400_000),
    },
    policy: {
      dailyCap: str(env, 'TWILIO_MAX_DAILY_SENDS') === null ? null : int(env, 'TWILIO_MAX_DAILY_SENDS', 0, 0, 1_000_000_000),
      cooldownMinutes: int(env, 'REMINDER_COOLDOWN_MINUTES', 0, 0, 7 * 24 * 60),
    },
    inbound: {
      autoReply: str(env, 'SMSRELAY_AUTO_REPLY'),
      keywordReplies: keywordReplies(env),
    },
    emulator: {
      ...loadEmulatorAccess(env),
      maxMessages: int(env, 'SMSRELAY_EMULATOR_MAX_MESSAGES', 2_000, 1, 1_000_000),
    },
    metrics: metricsConfig(env),
    events: {
      allowPrivate: bool(env, 'SMSRELAY_WEBHOOK_ALLOW_PRIVATE', false),
      retryScheduleMs: schedule(env, 'SMSRELAY_WEBHOOK_RETRY_SCHEDULE', DEFAULT_RETRY_SCHEDULE_MS),
      timeoutMs: int(env, 'SMSRELAY_WEBHOOK_TIMEOUT_MS', 15_000, 100, 60_000),
      perEndpointConcurrency: int(env, 'SMSRELAY_WEBHOOK_ENDPOINT_CONCURRENCY', 4, 1, 100),
      concurrency: int(env, 'SMSRELAY_WEBHOOK_CONCURRENCY', 32, 1, 1000),
      disableAfterMs: int(env, 'SMSRELAY_WEBHOOK_DISABLE_AFTER_HOURS', 72, 1, 24 * 30) * 3_600_000,
      pollIntervalMs: int(env, 'SMSRELAY_EVENTS_POLL_MS', 200, 10, 60_000),
      heartbeatMs: int(env, 'SMSRELAY_EVENTS_HEARTBEAT_MS', 15_000, 100, 300_000),
      retentionDays: int(env, 'SMSRELAY_EVENTS_RETENTION_DAYS', 30, 1, 3650),
    },
    console: {
      sessionIdleMs: int(env, 'SMSRELAY_CONSOLE_IDLE_MINUTES', 30, 1, 24 * 60) * 60_000,
      sessionMaxMs: int(env, 'SMSRELAY_CONSOLE_SESSION_HOURS', 12, 1, 30 * 24) * 3_600_000,
    },
    masterKey: masterKey(env),
    masterKeyPrevious: masterKey(env, 'SMSRELAY_MASTER_KEY_PREVIOUS'),
  };
}
