// Shared helpers of the emulator tests: the official twilio client pointed at the emulator (with
// every answer checked against the OpenAPI specs), a webhook receiver, polling.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import twilio from 'twilio';
import type RequestClientBase from 'twilio/lib/base/RequestClient.js';
import { createEmulator, type EmulatorInstance, type EmulatorOptions } from '../../src/emulator/index.js';
import { findOperation, matchPath, requestValidator, responseValidator } from './openapi.js';

type RequestOptions<T> = RequestClientBase.RequestOptions<T>;

/**
 * The client's RequestClient with every call sent to `baseUrl` (path and query kept) over a
 * keep-alive http agent. `onResponse` sees each raw answer.
 */
export class EmulatorRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string,
    private readonly onResponse?: (method: string, path: string, status: number, body: unknown) => void,
  ) {
    super({ keepAlive: true, timeout: 10_000 });
    this.axios.defaults.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  override async request<T>(opts: RequestOptions<T>): Promise<{ statusCode: number; body: T; headers: any }> {
    const u = new URL(opts.uri);
    const res = await super.request<T>({ ...opts, uri: this.baseUrl + u.pathname + u.search });
    this.onResponse?.(opts.method.toUpperCase(), u.pathname, res.statusCode, res.body);
    return res;
  }
}

/** Validates an answer against the spec of the operation its path belongs to. */
export function validateAnswer(method: string, path: string, status: number, body: unknown): void {
  const { spec, path: template } = matchPath(path);
  responseValidator(spec, template, method, status)(body);
}

/** Validates the parameters the emulator received for an operation (its onApiRequest hook). */
export function validateRequest(operationId: string, params: Record<string, string | string[]>): void {
  const { spec, path, method } = findOperation(operationId);
  requestValidator(spec, path, method)(params);
}

export interface TestEmulator {
  emulator: EmulatorInstance;
  base: string;
  client: twilio.Twilio;
  /** Spec violations seen in requests (onApiRequest) and answers (client); tests assert it stays empty. */
  drift: string[];
  close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<TestEmulator> {
  const drift: string[] = [];
  const emulator = createEmulator({
    delays: { queuedToSending: 5, sendingToSent: 5, sentToDelivered: 5 },
    ...opts,
    onApiRequest: (op, params) => {
      try {
        validateRequest(op, params);
      } catch (e) {
        drift.push((e as Error).message);
      }
      opts.onApiRequest?.(op, params);
    },
  });
  const base = await emulator.listen(0);
  const client = twilio(emulator.accountSid, emulator.authToken, {
    httpClient: new EmulatorRequestClient(base, (method, path, status, body) => {
      try {
        validateAnswer(method, path, status, body);
      } catch (e) {
        drift.push((e as Error).message);
      }
    }),
  });
  return { emulator, base, client, drift, close: () => emulator.close() };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  params: Record<string, string>;
  at: number;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1:0 answering 204 unless `respond` answers itself (or returns
 * 'later' and answers afterwards); 'destroy' drops the connection after the request was read.
 */
export async function startReceiver(
  // biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing
  respond?: (r: ReceivedRequest, res: http.ServerResponse) => void | 'destroy' | 'later',
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const r: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawBody: raw,
        params: parseQuery(raw) as Record<string, string>,
        at: Date.now(),
      };
      requests.push(r);
      const how = respond?.(r, res);
      if (how === 'destroy') {
        req.socket.destroy();
        return;
      }
      if (how !== 'later' && !res.headersSent) {
        res.writeHead(204);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function waitFor<T>(fn: () => T | undefined | null | false, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** JSON over fetch for /emulator/api; `basic` adds Twilio credentials. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') };
}
