// /emulator/api/*: JSON endpoints for tests and the web inbox (documented in README.md).
import type { Core } from './core.js';
import { handsetSends } from './handsets.js';
import { snapshot, type Msg } from './store.js';
import type { ChaosUpdate, FailureScript } from './types.js';
import { firstValue, type Reply } from './util.js';

export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function badRequest(message: string): AdminError {
  return new AdminError(400, 'bad_request', message);
}

function optionalUrl(v: unknown, name: string): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') throw badRequest(`${name} must be a URL string or null`);
  try {
    const u = new URL(v.split('#', 1)[0]!);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw badRequest(`${name} must be an http(s) URL`);
  }
  return v;
}

function parseSince(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw badRequest('since must be an ISO date or epoch milliseconds');
  return t;
}

export class AdminApi {
  constructor(private readonly core: Core) {}

  /** A phone number from a query string, where an unencoded '+' arrives as a space. */
  number(v: string | undefined): string | undefined {
    if (v === undefined || v === '') return undefined;
    const raw = v.startsWith(' ') ? '+' + v.trimStart() : v;
    return this.core.recipient(raw)?.address ?? raw;
  }

  /** `base`: the public base URL for this request (media URLs, config). */
  async handle(method: string, parts: string[], query: Record<string, string | string[]>, body: unknown, base: string): Promise<Reply> {
    const [a, b, c] = parts;
    const allow = (...methods: string[]): void => {
      if (!methods.includes(method)) throw new AdminError(405, 'method_not_allowed', `${method} is not allowed here; use ${methods.join(', ')}`);
    };
    if (a === 'messages' && b === undefined) {
      allow('GET', 'DELETE');
      if (method === 'DELETE') {
        this.core.reset();
        return { status: 204 };
      }
      return { status: 200, body: { messages: this.list(query) } };
    }
    if (a === 'messages' && b === 'latest' && c === undefined) {
      allow('GET');
      const all = this.list(query);
      const m = all[all.length - 1];
      if (!m) throw new AdminError(404, 'not_found', 'no message matches');
      return { status: 200, body: m };
    }
    if (a === 'messages' && b !== undefined && c === undefined) {
      allow('GET');
      const m = this.core.store.get(b);
      if (!m) throw new AdminError(404, 'not_found', `no message ${b}`);
      return { status: 200, body: snapshot(m, this.core.accountSid) };
    }
    if (a === 'counts' && b === undefined) {
      allow('GET');
      const to = this.number(firstValue(query.to));
      if (!to) throw badRequest('to is required');
      const text = firstValue(query.body);
      return { status: 200, body: { to, body: text ?? null, count: this.count(to, text) } };
    }
    if (a === 'numbers' && b === undefined) {
      allow('GET');
      return { status: 200, body: this.numbers() };
    }
    if (a === 'config' && b === undefined) {
      allow('GET', 'PUT');
      if (method === 'PUT') this.updateConfig(body);
      return { status: 200, body: this.config(base) };
    }
    if (a === 'chaos' && b === undefined) {
      allow('GET', 'PUT', 'DELETE');
      if (method === 'PUT') {
        try {
          this.core.chaos.update(body as ChaosUpdate);
        } catch (e) {
          throw badRequest((e as Error).message);
        }
      } else if (method === 'DELETE') this.core.chaos.reset(this.core.callbacksDefault);
      return { status: 200, body: this.core.chaos.settings };
    }
    if (a === 'scripts' && b === undefined) {
      allow('GET');
      return { status: 200, body: { scripts: Object.fromEntries(this.core.scripts) } };
    }
    if (a === 'scripts' && b !== undefined && c === undefined) {
      allow('PUT', 'DELETE');
      const n = this.number(b)!;
      if (method === 'DELETE') {
        this.core.scripts.delete(n);
        return { status: 204 };
      }
      try {
        this.core.setScript(n, body as FailureScript);
      } catch (e) {
        throw badRequest((e as Error).message);
      }
      return { status: 200, body: { number: n, script: this.core.scripts.get(n) } };
    }
    if (a === 'handsets' && b !== undefined && c === 'messages' && parts.length === 3) {
      allow('POST');
      return this.handsetMessage(b, body, base);
    }
    throw new AdminError(404, 'not_found', `no endpoint /emulator/api/${parts.join('/')}`);
  }

  /** Newest last. */
  list(query: Record<string, string | string[]>): ReturnType<typeof snapshot>[] {
    const to = this.number(firstValue(query.to));
    const from = this.number(firstValue(query.from));
    const handset = this.number(firstValue(query.handset));
    const owned = this.number(firstValue(query.number));
    const direction = firstValue(query.direction);
    const since = parseSince(firstValue(query.since));
    const limitRaw = firstValue(query.limit);
    const limit = limitRaw === undefined ? Infinity : Number(limitRaw);
    if (!(limit > 0)) throw badRequest('limit must be a positive number');
    const out: Msg[] = [];
    this.core.store.scanNewest((m) => {
      if (out.length >= limit) return false;
      if (m.deleted) return;
      if (since !== null && m.dateCreated < since) return;
      if (to !== undefined && m.to !== to) return;
      if (from !== undefined && m.from !== from) return;
      if (direction !== undefined && m.direction !== direction) return;
      const inbound = m.direction === 'inbound';
      if (handset !== undefined && (inbound ? m.from : m.to) !== handset) return;
      if (owned !== undefined && (inbound ? m.to : m.from) !== owned) return;
      out.push(m);
    });
    return out.reverse().map((m) => snapshot(m, this.core.accountSid));
  }

  count(to: string, body?: string): number {
    let n = 0;
    this.core.store.scanOldest((m) => {
      if (m.counted && m.to === to && (body === undefined || m.createdBody === body)) n++;
    });
    return n;
  }

  private numbers(): unknown {
    const core = this.core;
    const threads = new Map<string, Map<string, { messages: number; last: Msg }>>();
    core.store.scanOldest((m) => {
      if (m.deleted) return;
      const inbound = m.direction === 'inbound';
      const handset = inbound ? m.from : m.to;
      const owned = (inbound ? m.to : m.from) ?? 'messaging-service';
      if (handset === null) return;
      let t = threads.get(handset);
      if (!t) {
        t = new Map();
        threads.set(handset, t);
      }
      const s = t.get(owned);
      if (s) {
        s.messages++;
        s.last = m;
      } else t.set(owned, { messages: 1, last: m });
    });
    return {
      owned: core.numbers.map((n) => ({
        number: n,
        inboundUrl: core.inboundUrlFor(n),
        messagingServiceSids: core.messagingServiceSids,
      })),
      handsets: [...threads].map(([handset, t]) => ({
        number: handset,
        threads: [...t].map(([owned, s]) => ({
          with: owned,
          messages: s.messages,
          optedOut: core.optOuts.has(owned + '|' + handset),
          last: { sid: s.last.sid, direction: s.last.direction, body: s.last.body, status: s.last.status, at: new Date(s.last.dateCreated) },
        })),
      })),
    };
  }

  private config(base: string): unknown {
    const core = this.core;
    return {
      accountSid: core.accountSid,
      apiKeySids: core.apiKeySids,
      numbers: core.numbers,
      messagingServiceSids: core.messagingServiceSids,
      publicBaseUrl: base,
      inboundUrl: core.inboundUrl,
      inboundUrls: Object.fromEntries([...core.phoneNumbers.values()].filter((n) => n.smsUrl !== null).map((n) => [n.phoneNumber, n.smsUrl])),
      defaultStatusCallback: core.defaultStatusCallback,
      callbacks: core.chaos.settings.callbacks,
      delays: core.delays,
      mps: core.mps,
      queueLimit: core.queueLimit,
      maxMessages: core.maxMessages,
      rates: core.rates,
      advancedOptOut: core.advancedOptOut,
    };
  }

  private updateConfig(body: unknown): void {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('expected a JSON object');
    const u = body as Record<string, unknown>;
    const known = new Set(['publicBaseUrl', 'inboundUrl', 'inboundUrls', 'defaultStatusCallback']);
    for (const k of Object.keys(u)) if (!known.has(k)) throw badRequest(`${k} cannot be changed; settable: ${[...known].join(', ')}`);
    // Validate everything first so a bad field changes nothing.
    const base = u.publicBaseUrl === undefined ? undefined : optionalUrl(u.publicBaseUrl, 'publicBaseUrl');
    const inbound = u.inboundUrl === undefined ? undefined : optionalUrl(u.inboundUrl, 'inboundUrl');
    const callback = u.defaultStatusCallback === undefined ? undefined : optionalUrl(u.defaultStatusCallback, 'defaultStatusCallback');
    const perNumber: [string, string | null][] = [];
    if (u.inboundUrls !== undefined) {
      if (typeof u.inboundUrls !== 'object' || u.inboundUrls === null) throw badRequest('inboundUrls must be an object');
      for (const [n, url] of Object.entries(u.inboundUrls)) {
        if (!this.core.owned.has(n)) throw badRequest(`${n} is not an owned number`);
        perNumber.push([n, optionalUrl(url, `inboundUrls.${n}`)]);
      }
    }
    if (base !== undefined && base !== null) this.core.publicBaseUrl = base.replace(/\/$/, '');
    if (inbound !== undefined) this.core.inboundUrl = inbound;
    if (callback !== undefined) this.core.defaultStatusCallback = callback;
    // A number's inbound URL is its IncomingPhoneNumber's SmsUrl.
    for (const [n, url] of perNumber) this.core.phoneNumbers.get(n)!.smsUrl = url;
  }

  private async handsetMessage(rawHandset: string, body: unknown, base: string): Promise<Reply> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('expected a JSON object { to, body, media? }');
    const p = body as { to?: unknown; body?: unknown; media?: unknown };
    const handset = this.core.recipient(rawHandset);
    if (!handset || handset.address !== handset.e164) throw badRequest(`${rawHandset} is not a valid phone number`);
    if (typeof p.to !== 'string') throw badRequest('to (an owned number) is required');
    const owned = this.core.recipient(p.to)?.e164;
    if (!owned || !this.core.owned.has(owned)) throw badRequest(`${p.to} is not an owned number (${this.core.numbers.join(', ')})`);
    if (owned === handset.e164) throw badRequest('a number cannot text itself');
    const text = p.body === undefined ? '' : p.body;
    if (typeof text !== 'string' || text.length > 1600) throw badRequest('body must be a string of at most 1600 characters');
    const media = p.media === undefined ? [] : p.media;
    if (!Array.isArray(media) || media.length > 10 || !media.every((u) => typeof u === 'string' && /^https?:\/\/\S+$/.test(u))) {
      throw badRequest('media must be a list of at most 10 http(s) URLs');
    }
    if (text === '' && media.length === 0) throw badRequest('body or media is required');
    const r = await handsetSends(this.core, handset.e164, owned, text, media as string[], handset.country, base);
    const acc = this.core.accountSid;
    const message = snapshot(r.message, acc);
    return {
      status: 201,
      body: {
        message,
        autoReply: r.autoReply ? snapshot(r.autoReply, acc) : null,
        replies: r.replies.map((m) => snapshot(m, acc)),
        webhook: message.webhooks[message.webhooks.length - 1] ?? null,
        webhookError: r.webhookError,
      },
    };
  }
}
