import http from 'node:http';
import https from 'node:https';
import twilio from 'twilio';
import type RequestClientBase from 'twilio/lib/base/RequestClient.js';
import { ProviderError } from '../ports.js';

type RequestOptions<T> = RequestClientBase.RequestOptions<T>;
export interface HttpResponse<T> {
  statusCode: number;
  body: T;
  headers: http.IncomingHttpHeaders;
}

function retryAfterMs(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/** Twilio's form encoding: PascalCase keys as given, arrays as repeated keys (qs arrayFormat "repeat"). */
function encodeForm(data: object, into = new URLSearchParams()): URLSearchParams {
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) into.append(k, String(x));
    else into.append(k, String(v));
  }
  return into;
}

/**
 * The transport under the official twilio client. The client builds and parses every request;
 * this class only moves bytes: one keep-alive agent and `http.request`, instead of the default
 * RequestClient's per-call axios pipeline, which costs more CPU than the rest of a send (measured
 * in bench/README.md). It also points all Twilio hosts at one origin when configured (the
 * emulator), and turns 429 answers into a transient ProviderError with Retry-After, which the
 * client's RestException would drop.
 */
export class TwilioHttpClient extends twilio.RequestClient {
  private readonly agent: http.Agent;
  private readonly base: URL | null;
  /** The `Date` header of the latest answer (doctor's clock check). */
  lastDate: Date | null = null;

  constructor(baseUrl: string | null, opts: { timeoutMs: number; maxSockets: number }) {
    super({ timeout: opts.timeoutMs, keepAlive: true });
    this.base = baseUrl ? new URL(baseUrl) : null;
    const secure = (this.base?.protocol ?? 'https:') === 'https:';
    this.agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: opts.maxSockets });
    this.defaultTimeout = opts.timeoutMs;
  }

  override request<T>(opts: RequestOptions<T>): Promise<HttpResponse<T>> {
    const target = new URL(opts.uri);
    const url = this.base ? new URL(target.pathname + target.search, this.base) : target;
    if (opts.params) {
      const q = encodeForm(opts.params as object, url.searchParams);
      url.search = q.toString();
    }
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string>), Connection: 'keep-alive' };
    if (opts.username && opts.password) headers.Authorization = 'Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
    let payload: string | undefined;
    if (opts.data && opts.method !== 'get') {
      payload = headers['Content-Type'] === 'application/json' ? JSON.stringify(opts.data) : encodeForm(opts.data as object).toString();
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const timeout = opts.timeout ?? this.defaultTimeout;
    const mod = url.protocol === 'https:' ? https : http;

    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method: opts.method.toUpperCase(), headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = (res.headers['content-type'] ?? '').includes('json') && text.length > 0;
          let body: unknown = text;
          try {
            if (json) body = JSON.parse(text);
          } catch {
            // Leave it as text: the client raises its own error for an unreadable answer.
          }
          const statusCode = res.statusCode ?? 0;
          const date = res.headers.date ? new Date(res.headers.date) : null;
          this.lastDate = date && !Number.isNaN(date.getTime()) ? date : null;
          if (statusCode === 429) {
            const b = body as { code?: number; message?: string };
            reject(
              new ProviderError(
                'transient',
                b?.message ?? 'Too many requests',
                b?.code ?? 20429,
                429,
                retryAfterMs(res.headers['retry-after'] as string | undefined),
              ),
            );
            return;
          }
          resolve({ statusCode, body: body as T, headers: res.headers });
        });
      });
      req.setTimeout(timeout, () => req.destroy(Object.assign(new Error(`no answer within ${timeout} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
