import { spawn, type ChildProcess } from 'node:child_process';
import type { Config } from '../../src/config.js';
import { createLogger, createSmsRelay, type SmsRelay, type SmsRelayOptions } from '../../src/main.js';
import type { Backend } from './backends.js';

export interface TestRelay {
  relay: SmsRelay;
  url: string;
  apiKey: string;
  /** PostgreSQL schema of this relay (undefined on SQLite). */
  schema?: string;
  /** fetch against the relay with the admin key. */
  api(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string; key?: string | null },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

type Overrides = Partial<Omit<Config, 'worker' | 'twilio'>> & { worker?: Partial<Config['worker']>; twilio?: Partial<Config['twilio']> };

/** A relay on a random port with the embedded emulator and a fast worker, over real sockets. */
export async function startRelay(
  backend: Backend,
  label: string,
  overrides: Overrides = {},
  opts: { worker?: boolean; relay?: Omit<SmsRelayOptions, 'schema' | 'logger'>; logger?: SmsRelayOptions['logger'] } = {},
): Promise<TestRelay> {
  const db = await backend.create(label);
  const relay = await createSmsRelay(
    {
      host: '127.0.0.1',
      port: 0,
      databaseUrl: db.url,
      logLevel: 'silent',
      ...overrides,
      worker: { pollIntervalMs: 20, backoffBaseMs: 10, backoffMaxMs: 100, settleDelayMs: 0, ...overrides.worker },
      twilio: { ...overrides.twilio },
    },
    { ...opts.relay, schema: db.schema, logger: opts.logger ?? createLogger(process.env.SMSRELAY_TEST_LOG ?? 'silent') },
  );
  const { key } = await relay.apiKeys.create(relay.defaultTenant.id, 'test', ['admin']);
  const url = await relay.listen();
  if (opts.worker !== false) relay.startWorker();
  return {
    relay,
    url,
    apiKey: key,
    schema: db.schema,
    async api(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.key !== null) headers.authorization = `Bearer ${init.key ?? key}`;
      let body: string | undefined = init.rawBody;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await relay.close();
      await db.drop();
    },
  };
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`waitFor: timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * A `smsrelay worker` process (the built CLI) on the relay's database, its PostgreSQL schema
 * included (as a connection option in the URL), sending to the relay's emulator.
 */
export function spawnWorker(t: TestRelay, env: Record<string, string> = {}): ChildProcess {
  const base = t.relay.config.databaseUrl;
  const url = t.schema ? `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${t.schema}`)}` : base;
  return spawn(process.execPath, ['dist/cli/main.js', 'worker'], {
    env: {
      PATH: process.env.PATH,
      SMSRELAY_DATABASE_URL: url,
      TWILIO_ACCOUNT_SID: t.relay.emulator!.accountSid,
      TWILIO_AUTH_TOKEN: t.relay.emulator!.authToken,
      TWILIO_API_BASE_URL: t.url,
      SMSRELAY_LEASE_SECONDS: '5',
      SMSRELAY_LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: 'ignore',
  });
}
