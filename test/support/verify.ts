// A relay for verification tests: like test/support/relay.ts, plus a controllable clock, verify
// settings, a captured log, a chosen verify backend (twilio = a Verify Service created on the
// embedded emulator), and the option to share another relay's database.
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig, type VerifyConfig } from '../../src/config.js';
import { createSmsRelay, type SmsRelay } from '../../src/main.js';
import type { TwilioProvider } from '../../src/providers/twilio.js';
import type { Backend } from './backends.js';
import { waitFor } from './relay.js';

export const SECRET = 'test-verify-secret-0123456789abcdefghijklmnop';

export interface TestClock {
  now(): Date;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms) => {
      offset += ms;
    },
  };
}

export interface VerifyRelay {
  relay: SmsRelay;
  url: string;
  apiKey: string;
  clock: TestClock;
  db: { url: string; schema?: string };
  /** Every log line written so far (JSON text). */
  logs: string[];
  api(
    path: string,
    init?: { body?: unknown; rawBody?: string; headers?: Record<string, string>; key?: string | null; method?: string },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Waits for the next SMS to `to` after `seen` earlier ones and returns the code in it. */
  codeFor(to: string, seen: number): Promise<string>;
  inbox(to: string): number;
  setSettings(s: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

// At most this many requests in flight per test process: hundreds of fresh sockets at once on a
// loaded machine end in ECONNRESET in the client, which says nothing about the relay.
const MAX_IN_FLIGHT = 48;
let inFlight = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => waiting.push(r));
  inFlight++;
  try {
    return await fn();
  } finally {
    inFlight--;
    waiting.shift()?.();
  }
}

export const verifyDefaults: VerifyConfig = loadConfig({}).verify;

export async function startVerifyRelay(
  backend: Backend,
  label: string,
  opts: { verifyBackend?: 'local' | 'twilio'; verify?: Partial<VerifyConfig>; shareWith?: VerifyRelay } = {},
): Promise<VerifyRelay> {
  const created = opts.shareWith ? null : await backend.create(label);
  const db = opts.shareWith?.db ?? { url: created!.url, schema: created!.schema };
  const clock = opts.shareWith?.clock ?? testClock();
  const logs: string[] = [];
  const logger = pino(
    { level: 'info', redact: { paths: ['req.headers.authorization', 'code', 'body'], censor: '[redacted]' } },
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  );
  const relay = await createSmsRelay(
    {
      host: '127.0.0.1',
      port: 0,
      databaseUrl: db.url,
      logLevel: 'info',
      worker: { pollIntervalMs: 20, backoffBaseMs: 10, backoffMaxMs: 100, settleDelayMs: 0 },
      verify: { ...verifyDefaults, secret: SECRET, ...opts.verify },
    },
    { schema: db.schema, logger, clock },
  );
  const apiKey = opts.shareWith?.apiKey ?? (await relay.apiKeys.create(relay.defaultTenant.id, 'test', ['admin'])).key;
  const url = await relay.listen();
  relay.startWorker();

  const t: VerifyRelay = {
    relay,
    url,
    apiKey,
    clock,
    db,
    logs,
    async api(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.key !== null) headers.authorization = `Bearer ${init.key ?? apiKey}`;
      let body = init.rawBody;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await limited(() =>
        fetch(url + path, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body }).then(async (r) => ({ r, text: await r.text() })),
      );
      const text = res.text;
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      return { status: res.r.status, body: parsed, headers: res.r.headers };
    },
    inbox: (to) => relay.emulator!.messages({ to }).length,
    async codeFor(to, seen) {
      const msg = await waitFor(() => relay.emulator!.messages({ to })[seen], 10_000);
      // The only digits in every template (app names in tests have none).
      const m = /(?<!\d)(\d{4,10})(?!\d)/.exec(msg.body);
      if (!m) throw new Error(`no code in ${JSON.stringify(msg.body)}`);
      return m[1];
    },
    async setSettings(s) {
      // Replaces the stored document (as the test means it), then drops the service's short cache.
      await relay.repos.settings.update(relay.defaultTenant.id, () => s, Date.now());
      relay.settings.invalidate(relay.defaultTenant.id);
    },
    async close() {
      await relay.close();
      await created?.drop();
    },
  };

  if (opts.verifyBackend === 'twilio') {
    const client = (relay.provider as TwilioProvider).twilio;
    const service = await client.verify.v2.services.create({ friendlyName: 'Acme' });
    await t.setSettings({ verify_backend: 'twilio', verify_service_sid: service.sid });
  }
  return t;
}

/** A code of the same length that is not `code`. */
export function wrongCode(code: string, i = 0): string {
  let n = (BigInt(code) + 1n + BigInt(i)) % 10n ** BigInt(code.length);
  if (n.toString().padStart(code.length, '0') === code) n = (n + 1n) % 10n ** BigInt(code.length);
  return n.toString().padStart(code.length, '0');
}

let counter = 0;
/** A fresh valid US number per call; `exchange` picks the prefix (+1 415 555 by default). */
export function freshNumber(area = '415', exchange = '555'): string {
  counter++;
  return `+1${area}${exchange}${2000 + counter}`;
}
