// Outgoing webhooks (status callbacks, inbound messages) signed the way Twilio signs them, with
// Twilio's connection overrides (#ct, #rt, #tt, #rc, #rp) and its default retry policy: one retry,
// on connection failure only, with the same I-Twilio-Idempotency-Token.
import https from 'node:https';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { KeepAliveClient, type AttemptResult, type FailureClass } from './http-client.js';
import type { Delivery } from './store.js';
import { uuid } from './util.js';

interface Overrides {
  rc: number;
  rp: Set<FailureClass>;
  ct: number;
  rt: number;
  tt: number;
}

export interface WebhookRequest {
  kind: Delivery['kind'];
  /** As configured; a `#…` fragment carries connection overrides and is neither called nor signed. */
  url: string;
  params: Record<string, string>;
  messageStatus: string;
  /** Inbound webhooks keep the answer (TwiML); status callbacks discard it. */
  keepBody: boolean;
  record: (d: Delivery) => void;
  chaos?: Delivery['chaos'];
}

export interface WebhookResult {
  statusCode: number | null;
  body: string;
  error: string | null;
}

const MAX_ANSWER_BYTES = 64 * 1024;
const SPACE = /%20/g;
const UNRESERVED = /^[\w.~-]*$/;
// node:https errors counted as connection failures ("ct"), as the lean client counts them: a
// reset before any response byte included, since a keep-alive socket closed by the receiver looks
// exactly like that and Twilio would have opened a fresh connection.
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'connect-timeout',
]);

function clamp(v: string | undefined, min: number, max: number, dflt: number): number {
  const n = Number(v);
  return v === undefined || !Number.isInteger(n) ? dflt : Math.min(max, Math.max(min, n));
}

/** Twilio's URL-fragment connection overrides (docs/twilio-reference.md §7). */
function parseOverrides(fragment: string): Overrides {
  const kv: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of fragment.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) kv[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const rp = new Set<FailureClass>();
  for (const p of (kv.rp ?? 'ct').split(',')) {
    if (p === 'all') for (const x of ['ct', 'rt', '4xx', '5xx'] as const) rp.add(x);
    else if (p === 'ct' || p === 'rt' || p === '4xx' || p === '5xx') rp.add(p);
  }
  return {
    ct: clamp(kv.ct, 100, 10_000, 5_000),
    rt: clamp(kv.rt, 100, 15_000, 15_000),
    tt: clamp(kv.tt, 100, 15_000, 15_000),
    rc: clamp(kv.rc, 0, 5, 1),
    rp,
  };
}

function formEncode(params: Record<string, string>): string {
  let s = '';
  for (const k in params) {
    if (s) s += '&';
    s += formValue(k) + '=' + formValue(params[k]!);
  }
  return s;
}

/** Most values (SIDs, statuses, codes) need no escaping; testing that is cheaper than encoding. */
function formValue(v: string): string {
  if (UNRESERVED.test(v)) return v;
  const e = encodeURIComponent(v);
  return e.includes('%20') ? e.replace(SPACE, '+') : e;
}

/** The form body and headers of one webhook request, signed over `url` (no fragment) and every parameter. */
export function signedRequest(
  authToken: string,
  url: string,
  params: Record<string, string>,
  idempotencyToken: string,
): { body: string; headers: Record<string, string> } {
  const body = formEncode(params);
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'TwilioProxy/1.1',
      'x-home-region': 'us1',
      'x-twilio-signature': getExpectedTwilioSignature(authToken, url, params),
      'i-twilio-idempotency-token': idempotencyToken,
    },
  };
}

interface Target {
  url: string;
  overrides: Overrides;
  /** Plain http goes through the lean keep-alive client; https through node:https. */
  tls: boolean;
  host: string;
  port: number;
  /** "POST <path> HTTP/1.1" and Host, for the lean client. */
  requestLine: string;
}

export class WebhookClient {
  private readonly client = new KeepAliveClient();
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
  // Callback URLs repeat; parsing each once keeps URL work off the per-callback path.
  private readonly targets = new Map<string, Target | null>();
  private closed = false;

  constructor(private readonly authToken: () => string) {}

  /** Delivers with retries; never rejects. */
  async send(req: WebhookRequest): Promise<WebhookResult> {
    const target = this.target(req.url);
    if (!target) {
      const d = this.delivery(req, req.url.split('#', 1)[0]!, 1, '', null, 'invalid-url', 0);
      req.record(d);
      return { statusCode: null, body: '', error: 'invalid-url' };
    }
    const token = uuid();
    const { body, headers } = signedRequest(this.authToken(), target.url, req.params, token);
    const started = Date.now();
    const { overrides } = target;
    let head = '';
    if (!target.tls) {
      head = target.requestLine;
      for (const k in headers) if (k !== 'content-length') head += `\r\n${k}: ${headers[k]!}`;
    }
    for (let attempt = 1; ; attempt++) {
      const t0 = Date.now();
      const r = target.tls
        ? await this.attemptTls(target, headers, body, req.keepBody)
        : await this.client.post({
            host: target.host,
            port: target.port,
            head,
            body,
            keepBody: req.keepBody,
            connectTimeoutMs: overrides.ct,
            readTimeoutMs: overrides.rt,
          });
      req.record(this.delivery(req, target.url, attempt, token, r.statusCode, r.error, Date.now() - t0));
      const retry = r.failure !== null && overrides.rp.has(r.failure) && attempt <= overrides.rc && Date.now() - started < overrides.tt && !this.closed;
      if (!retry) return { statusCode: r.statusCode, body: r.body, error: r.error };
    }
  }

  close(): void {
    this.closed = true;
    this.client.close();
    this.httpsAgent.destroy();
  }

  private target(raw: string): Target | null {
    let t = this.targets.get(raw);
    if (t !== undefined) return t;
    const hash = raw.indexOf('#');
    const url = hash === -1 ? raw : raw.slice(0, hash);
    t = null;
    try {
      const u = new URL(url);
      if (u.protocol === 'http:' || u.protocol === 'https:') {
        const tls = u.protocol === 'https:';
        t = {
          url,
          overrides: parseOverrides(hash === -1 ? '' : raw.slice(hash + 1)),
          tls,
          host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: u.port ? Number(u.port) : tls ? 443 : 80,
          requestLine: `POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}`,
        };
      }
    } catch {
      t = null;
    }
    if (this.targets.size >= 1000) this.targets.clear();
    this.targets.set(raw, t);
    return t;
  }

  private delivery(
    req: WebhookRequest,
    url: string,
    attempt: number,
    token: string,
    statusCode: number | null,
    error: string | null,
    durationMs: number,
  ): Delivery {
    const d: Delivery = { kind: req.kind, url, messageStatus: req.messageStatus, attempt, token, statusCode, error, durationMs, at: Date.now() };
    if (req.chaos) d.chaos = req.chaos;
    return d;
  }

  private attemptTls(target: Target, headers: Record<string, string>, body: string, keepBody: boolean): Promise<AttemptResult> {
    const { overrides } = target;
    return new Promise((resolve) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | null = null;
      const finish = (r: AttemptResult): void => {
        if (settled) return;
        settled = true;
        if (connectTimer) clearTimeout(connectTimer);
        resolve(r);
      };
      const fail = (error: string, failure: FailureClass): void => finish({ statusCode: null, body: '', error, failure });
      let req: ReturnType<typeof https.request>;
      try {
        req = https.request(target.url, { method: 'POST', headers, agent: this.httpsAgent });
      } catch (e) {
        fail((e as NodeJS.ErrnoException).code ?? 'request-error', 'ct');
        return;
      }
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => req.destroy(Object.assign(new Error('connect timeout'), { code: 'connect-timeout' })), overrides.ct);
        socket.once('connect', () => {
          if (connectTimer) clearTimeout(connectTimer);
          connectTimer = null;
        });
      });
      req.setTimeout(overrides.rt, () => req.destroy(Object.assign(new Error('read timeout'), { code: 'read-timeout' })));
      req.on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code ?? 'error';
        fail(code, CONNECT_ERRORS.has(code) ? 'ct' : 'rt');
      });
      req.on('response', (res) => {
        const statusCode = res.statusCode ?? 0;
        const failure: FailureClass | null = statusCode >= 500 ? '5xx' : statusCode >= 400 ? '4xx' : null;
        if (!keepBody) {
          res.resume();
          res.on('end', () => finish({ statusCode, body: '', error: null, failure }));
          res.on('error', () => finish({ statusCode, body: '', error: null, failure }));
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < MAX_ANSWER_BYTES) text += c;
        });
        res.on('end', () => finish({ statusCode, body: text, error: null, failure }));
        res.on('error', () => finish({ statusCode, body: text, error: 'read-error', failure: 'rt' }));
      });
      req.end(body);
    });
  }
}
