// The config loader: the only module that reads the environment (the CLI passes `process.env` in).
// Everything else receives a validated `Config` object.

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
}

export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  dataDir: string;
  apiKey: string | null;
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
}

export class ConfigError extends Error {
  constructor(readonly variable: string, expected: string, value?: string) {
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

export function loadConfig(env: Env): Config {
  const accountSid = matching(env, ['TWILIO_ACCOUNT_SID'], /^AC[0-9a-fA-F]{32}$/, "a Twilio Account SID ('AC' + 32 hex characters)");
  const authToken = str(env, 'TWILIO_AUTH_TOKEN');
  if ((accountSid === null) !== (authToken === null)) {
    throw new ConfigError(accountSid === null ? 'TWILIO_ACCOUNT_SID' : 'TWILIO_AUTH_TOKEN', 'to be set together with ' + (accountSid === null ? 'TWILIO_AUTH_TOKEN' : 'TWILIO_ACCOUNT_SID'));
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

  return {
    host: str(env, 'SMSRELAY_HOST', 'HOST') ?? '127.0.0.1',
    port: int(env, str(env, 'SMSRELAY_PORT') !== null ? 'SMSRELAY_PORT' : 'PORT', 3000, 0, 65535),
    databaseUrl,
    dataDir: str(env, 'SMSRELAY_DATA_DIR') ?? './data',
    apiKey,
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
      fromNumber: matching(env, ['TWILIO_FROM_NUMBER', 'TWILIO_PHONE_NUMBER'], /^(\+[1-9]\d{3,14}|[A-Za-z0-9 ]{1,11})$/, 'an E.164 number such as +14155552671 or an alphanumeric sender ID'),
      messagingServiceSid: matching(env, ['TWILIO_MESSAGING_SERVICE_SID'], /^MG[0-9a-fA-F]{32}$/, "a Messaging Service SID ('MG' + 32 hex characters)"),
      whatsappNumber: matching(env, ['TWILIO_WHATSAPP_NUMBER'], /^(whatsapp:)?\+[1-9]\d{3,14}$/, 'an E.164 number, optionally prefixed with whatsapp:'),
      apiBaseUrl: url(env, 'TWILIO_API_BASE_URL'),
      verifyServiceSid: matching(env, ['TWILIO_VERIFY_SERVICE_SID'], /^VA[0-9a-fA-F]{32}$/, "a Verify Service SID ('VA' + 32 hex characters)"),
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
    },
  };
}
