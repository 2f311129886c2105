// HTTP front of the emulator. Plain node:http with a hand-written router: Fastify's routing, hooks
// and serializers cost too much for the throughput target (messages create at >= 70 % of a bare
// node:http server), and the emulator must also mount inside another server via handle().
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { AccessGate } from './access.js';
import { AdminApi, AdminError } from './admin.js';
import type { ChaosDecision } from './chaos.js';
import { Core, trimSlash } from './core.js';
import { TwilioError, notFound, twilioErrorBody } from './errors.js';
import { serveInbox } from './inbox/index.js';
import { lookupPhoneNumber } from './lookup.js';
import { MessagesApi } from './messages.js';
import { NumbersApi } from './numbers.js';
import { snapshot } from './store.js';
import type { ChaosEndpoint, ChaosUpdate, EmulatedMessage, Emulator, EmulatorOptions } from './types.js';
import { rawHeader, readBody, sendJson, sendTooLarge, type Reply } from './util.js';
import { VerifyApi } from './verify.js';

type Params = Record<string, string | string[]>;
type Product = 'api' | 'verify' | 'lookup' | 'messaging';

interface Route {
  op: string;
  endpoint: ChaosEndpoint;
  run: (params: Params) => Reply;
}

const API_PREFIX = '/2010-04-01/Accounts/';
const ADMIN_PREFIX = '/emulator/api/';
const WWW_AUTH = { 'www-authenticate': 'Basic realm="Twilio API"' };

export class EmulatorServer implements Emulator {
  private readonly core: Core;
  private readonly messagesApi: MessagesApi;
  private readonly verifyApi: VerifyApi;
  private readonly numbersApi: NumbersApi;
  private readonly admin: AdminApi;
  private readonly gate: AccessGate;
  /** The hot path (create, list) is matched by one string compare and served by shared route objects. */
  private readonly messagesPath: string;
  private readonly createRoute: Route;
  private readonly listRoute: Route;
  /** Lookup v2 fetches per number (tests check that a cached lookup is paid for once). */
  private readonly lookups = new Map<string, number>();
  private server: http.Server | null = null;
  /** Chaos 'hang' answers held open until close(). */
  private readonly hanging = new Set<ServerResponse>();
  /** The emulated account's creation time. */

  constructor(opts: EmulatorOptions = {}) {
    this.core = new Core(opts);
    this.messagesApi = new MessagesApi(this.core);
    this.verifyApi = new VerifyApi(this.core);
    this.numbersApi = new NumbersApi(this.core);
    this.admin = new AdminApi(this.core);
    this.gate = new AccessGate(opts.access ?? { mode: 'loopback' }, this.core.authToken);
    this.messagesPath = `${API_PREFIX}${this.core.accountSid}/Messages.json`;
    this.createRoute = { op: 'CreateMessage', endpoint: 'messages.create', run: (p) => this.messagesApi.create(p) };
    this.listRoute = { op: 'ListMessage', endpoint: 'messages.list', run: (q) => this.messagesApi.list(q) };
  }

  get accountSid(): string {
    return this.core.accountSid;
  }

  get authToken(): string {
    return this.core.authToken;
  }

  get accessDescription(): string {
    return this.gate.describe();
  }

  /** The messaging service SIDs (one is generated when none was given). */
  get messagingServiceSids(): readonly string[] {
    return this.core.messagingServiceSids;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url;
    if (url === undefined) return false;
    if (url.startsWith(API_PREFIX)) {
      if (this.gate.admit(req, res, 'twilio')) this.twilio(req, res, url, 'api');
      return true;
    }
    if (url.startsWith('/v1/Services') && (url.length === 12 || url[12] === '/' || url[12] === '?')) {
      if (this.gate.admit(req, res, 'twilio')) this.twilio(req, res, url, 'messaging');
      return true;
    }
    if (url.startsWith('/v2/')) {
      if (url.startsWith('/v2/Services') && (url.length === 12 || url[12] === '/' || url[12] === '?')) {
        if (this.gate.admit(req, res, 'twilio')) this.twilio(req, res, url, 'verify');
        return true;
      }
      if (url.startsWith('/v2/PhoneNumbers/')) {
        if (this.gate.admit(req, res, 'twilio')) this.twilio(req, res, url, 'lookup');
        return true;
      }
      return false;
    }
    if (url === '/emulator' || url.startsWith('/emulator/') || url.startsWith('/emulator?')) {
      if (this.gate.admit(req, res, url.startsWith(ADMIN_PREFIX) ? 'api' : 'page')) this.adminRequest(req, res, url);
      return true;
    }
    return false;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('the emulator is already listening');
    const server = http.createServer((req, res) => {
      if (!this.handle(req, res)) sendJson(res, 404, twilioErrorBody(404, 20404, `The requested resource ${req.url ?? ''} was not found`));
    });
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const base = `http://${shown}:${addr.port}`;
    this.core.publicBaseUrl ??= base;
    this.core.logger.info({ url: base, accountSid: this.core.accountSid }, 'twilio emulator listening');
    return base;
  }

  async close(): Promise<void> {
    this.core.scheduler.clear();
    this.core.webhooks.close();
    for (const res of this.hanging) res.socket?.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = null;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  setPublicBaseUrl(url: string): void {
    this.core.publicBaseUrl = trimSlash(url);
  }

  setInboundUrl(url: string | null, number?: string): void {
    if (number === undefined) this.core.inboundUrl = url;
    else {
      const n = this.core.phoneNumbers.get(number);
      if (!n) throw new Error(`${number} is not an owned number`);
      n.smsUrl = url;
    }
  }

  setDefaultStatusCallback(url: string | null): void {
    this.core.defaultStatusCallback = url;
  }

  messages(filter: { to?: string; since?: Date } = {}): EmulatedMessage[] {
    const to = filter.to === undefined ? undefined : (this.core.recipient(filter.to)?.address ?? filter.to);
    const since = filter.since?.getTime() ?? -Infinity;
    const out: EmulatedMessage[] = [];
    this.core.store.scanOldest((m) => {
      if (m.deleted || (to !== undefined && m.to !== to) || m.dateCreated < since) return;
      out.push(snapshot(m, this.core.accountSid));
    });
    return out;
  }

  lookupCount(phoneNumber: string): number {
    return this.lookups.get(phoneNumber) ?? 0;
  }

  createCount(to: string, body?: string): number {
    return this.admin.count(this.core.recipient(to)?.address ?? to, body);
  }

  reset(): void {
    this.lookups.clear();
    this.core.reset();
  }

  setChaos(c: ChaosUpdate): void {
    this.core.chaos.update(c);
  }

  private base(req: IncomingMessage): string {
    return this.core.publicBaseUrl ?? `http://${req.headers.host ?? '127.0.0.1'}`;
  }

  private twilio(req: IncomingMessage, res: ServerResponse, url: string, product: Product): void {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const core = this.core;
    if (product === 'api' && method === 'GET' && path.includes('/Media/')) {
      const media = this.mediaRedirect(path);
      if (media !== null) {
        res.writeHead(302, { location: media, 'content-length': 0 });
        res.end();
        return;
      }
    }
    if (!core.authHeaders.has(rawHeader(req, 'authorization') ?? '')) {
      sendJson(res, 401, twilioErrorBody(401, 20003, 'Authenticate'), WWW_AUTH);
      return;
    }
    let route: Route;
    try {
      route = this.route(product, path, method, req);
    } catch (e) {
      this.fail(res, e, 0);
      return;
    }
    if (method === 'POST') {
      readBody(req, (r) => {
        if (!r.ok) {
          if (r.reason === 'too_large') sendTooLarge(res, twilioErrorBody(413, 20413, 'Request entity too large: the body exceeds 1 MB'));
          return;
        }
        this.run(req, res, route, parseQuery(r.body) as Params);
      });
    } else {
      this.run(req, res, route, q === -1 ? {} : (parseQuery(url.slice(q + 1)) as Params));
    }
  }

  private run(req: IncomingMessage, res: ServerResponse, route: Route, params: Params): void {
    const core = this.core;
    if (core.onApiRequest) {
      try {
        core.onApiRequest(route.op, params);
      } catch (e) {
        sendJson(res, 500, twilioErrorBody(500, 20500, `onApiRequest rejected ${route.op}: ${(e as Error).message}`));
        return;
      }
    }
    const decision: ChaosDecision = core.chaos.decide(route.endpoint);
    const latency = core.chaos.latency();
    if (decision !== null) {
      if (decision.kind === 'hang') {
        this.hanging.add(res);
        res.once('close', () => this.hanging.delete(res));
        return;
      }
      if (decision.kind === '429') {
        const body = twilioErrorBody(429, 20429, 'Too Many Requests');
        this.answer(res, { status: 429, body, headers: { 'retry-after': String(decision.retryAfter) } }, latency);
        return;
      }
      if (decision.kind === 'error') {
        const e = decision.error;
        this.answer(res, { status: e.status, body: twilioErrorBody(e.status, e.code, e.message ?? `Emulated error ${e.code}`) }, latency);
        return;
      }
    }
    let reply: Reply;
    try {
      reply = route.run(params);
    } catch (e) {
      if (decision?.kind === 'reset') req.socket.destroy();
      else this.fail(res, e, latency);
      return;
    }
    // The ambiguous outcome: the work is done (a create recorded its message), the client gets no answer.
    if (decision?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    this.answer(res, reply, latency);
  }

  private answer(res: ServerResponse, reply: Reply, latency: number): void {
    const send = (): void => {
      if (reply.status !== 204) sendJson(res, reply.status, reply.body, reply.headers, reply.json);
      else if (!res.headersSent && !res.destroyed) {
        res.writeHead(204);
        res.end();
      }
    };
    if (latency > 0) setTimeout(send, latency);
    else send();
  }

  private fail(res: ServerResponse, e: unknown, latency: number): void {
    if (e instanceof TwilioError) {
      this.answer(res, { status: e.status, body: twilioErrorBody(e.status, e.code, e.message), ...(e.headers ? { headers: e.headers } : {}) }, latency);
      return;
    }
    this.core.logger.warn({ err: String(e) }, 'emulator: request failed');
    this.answer(res, { status: 500, body: twilioErrorBody(500, 20500, 'Internal Server Error') }, latency);
  }

  private route(product: Product, path: string, method: string, req: IncomingMessage): Route {
    if (path === this.messagesPath) {
      if (method === 'POST') return this.createRoute;
      if (method === 'GET') return this.listRoute;
    }
    const parts = path.split('/');
    const notAllowed = (): TwilioError => new TwilioError(405, 20004, 'Method not allowed');
    if (product === 'lookup') {
      // ['', 'v2', 'PhoneNumbers', number]
      if (parts.length !== 4 || !parts[3]) throw notFound(path);
      if (method !== 'GET') throw notAllowed();
      const number = safeDecode(parts[3]);
      return {
        op: 'FetchPhoneNumber',
        endpoint: 'lookup',
        run: (q) => {
          this.lookups.set(number, (this.lookups.get(number) ?? 0) + 1);
          return lookupPhoneNumber(number, q, this.base(req));
        },
      };
    }
    if (product === 'verify') {
      // ['', 'v2', 'Services', VA?, 'Verifications' | 'VerificationCheck', ref?]
      const v = this.verifyApi;
      const base = this.base(req);
      const [, , , service, sub, ref, extra] = parts;
      if (service === undefined || service === '') {
        if (method === 'POST') return { op: 'CreateService', endpoint: 'verify.services', run: (p) => v.createService(p, base) };
        if (method === 'GET') return { op: 'ListService', endpoint: 'verify.services', run: () => v.listServices(base) };
        throw notAllowed();
      }
      if (sub === undefined) {
        if (method !== 'GET') throw notAllowed();
        return { op: 'FetchService', endpoint: 'verify.services', run: () => v.fetchService(service, base) };
      }
      if (sub === 'Verifications' && ref === undefined) {
        if (method !== 'POST') throw notAllowed();
        return { op: 'CreateVerification', endpoint: 'verify.verifications', run: (p) => v.createVerification(service, p, base) };
      }
      if (sub === 'Verifications' && ref && extra === undefined) {
        const r = safeDecode(ref);
        if (method === 'GET') return { op: 'FetchVerification', endpoint: 'verify.verifications', run: () => v.fetchVerification(service, r, base) };
        if (method === 'POST') return { op: 'UpdateVerification', endpoint: 'verify.verifications', run: (p) => v.updateVerification(service, r, p, base) };
        throw notAllowed();
      }
      if (sub === 'VerificationCheck' && ref === undefined) {
        if (method !== 'POST') throw notAllowed();
        return { op: 'CreateVerificationCheck', endpoint: 'verify.checks', run: (p) => v.check(service, p) };
      }
      throw notFound(path);
    }
    const n = this.numbersApi;
    if (product === 'messaging') {
      // ['', 'v1', 'Services', MG…, 'PhoneNumbers'?]: the services the emulator was configured with.
      const [, , , service, sub, extra] = parts;
      if (!service) throw notFound(path);
      const base = this.base(req);
      if (sub === undefined) {
        if (method === 'GET') return { op: 'messaging_v1:FetchService', endpoint: 'messaging.services', run: () => n.fetchService(service, base) };
        if (method === 'POST') return { op: 'messaging_v1:UpdateService', endpoint: 'messaging.services', run: (p) => n.updateService(service, p, base) };
        throw notAllowed();
      }
      if (sub === 'PhoneNumbers' && extra === undefined) {
        if (method !== 'GET') throw notAllowed();
        return { op: 'messaging_v1:ListPhoneNumber', endpoint: 'messaging.services', run: () => n.listServiceNumbers(service, base) };
      }
      throw notFound(path);
    }
    // ['', '2010-04-01', 'Accounts', 'AC….json']: the account itself.
    if (parts.length === 4) {
      if (parts[3] !== `${this.core.accountSid}.json`) throw new TwilioError(401, 20003, 'Authenticate', WWW_AUTH);
      if (method !== 'GET') throw notAllowed();
      return { op: 'FetchAccount', endpoint: 'accounts', run: () => n.fetchAccount() };
    }
    // ['', '2010-04-01', 'Accounts', AC, 'Messages.json'] or [..., 'Messages', 'SM….json']
    const account = parts[3];
    if (account !== this.core.accountSid) throw new TwilioError(401, 20003, 'Authenticate', WWW_AUTH);
    if (parts.length === 5 && parts[4] === 'IncomingPhoneNumbers.json') {
      if (method !== 'GET') throw notAllowed();
      return { op: 'ListIncomingPhoneNumber', endpoint: 'numbers', run: (q) => n.list(q) };
    }
    if (parts.length === 6 && parts[4] === 'IncomingPhoneNumbers' && parts[5]!.endsWith('.json')) {
      const sid = parts[5]!.slice(0, -5);
      if (method === 'GET') return { op: 'FetchIncomingPhoneNumber', endpoint: 'numbers', run: () => n.fetch(sid, path) };
      if (method === 'POST') return { op: 'UpdateIncomingPhoneNumber', endpoint: 'numbers', run: (p) => n.update(sid, p, path) };
      throw notAllowed();
    }
    const m = this.messagesApi;
    if (parts.length === 5 && parts[4] === 'Messages.json') throw notAllowed();
    if (parts.length === 6 && parts[4] === 'Messages' && parts[5]!.endsWith('.json')) {
      const sid = parts[5]!.slice(0, -5);
      if (method === 'GET') return { op: 'FetchMessage', endpoint: 'messages.fetch', run: () => m.fetch(sid, path) };
      if (method === 'POST') return { op: 'UpdateMessage', endpoint: 'messages.update', run: (p) => m.update(sid, p, path) };
      if (method === 'DELETE') return { op: 'DeleteMessage', endpoint: 'messages.delete', run: () => m.delete(sid, path) };
      throw notAllowed();
    }
    throw notFound(path);
  }

  /** /2010-04-01/Accounts/AC…/Messages/MM…/Media/ME… → the handset's media URL. */
  private mediaRedirect(path: string): string | null {
    const parts = path.split('/');
    if (parts.length !== 8 || parts[4] !== 'Messages' || parts[6] !== 'Media' || parts[3] !== this.core.accountSid) return null;
    const me = parts[7]!.endsWith('.json') ? parts[7]!.slice(0, -5) : parts[7]!;
    return this.messagesApi.mediaUrl(parts[5]!, me);
  }

  private adminRequest(req: IncomingMessage, res: ServerResponse, url: string): void {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? {} : (parseQuery(url.slice(q + 1)) as Params);
    const method = req.method ?? 'GET';
    const adminError = (status: number, code: string, message: string): void => sendJson(res, status, { error: { code, message } });
    if (!path.startsWith(ADMIN_PREFIX)) {
      if (serveInbox(req, res, path)) return;
      adminError(404, 'not_found', `no endpoint ${path}`);
      return;
    }
    const parts = path.slice(ADMIN_PREFIX.length).split('/').map(safeDecode);
    const dispatch = (body: unknown): void => {
      this.admin.handle(method, parts, query, body, this.base(req)).then(
        (r) => this.answer(res, r, 0),
        (e: unknown) => {
          if (e instanceof AdminError) adminError(e.status, e.code, e.message);
          else {
            this.core.logger.warn({ err: String(e) }, 'emulator: admin request failed');
            adminError(500, 'internal', 'internal error');
          }
        },
      );
    };
    if (method !== 'POST' && method !== 'PUT') {
      dispatch(undefined);
      return;
    }
    readBody(req, (r) => {
      if (!r.ok) {
        if (r.reason === 'too_large') sendTooLarge(res, { error: { code: 'payload_too_large', message: 'the body exceeds 1 MB' } });
        return;
      }
      let body: unknown;
      try {
        body = r.body === '' ? {} : JSON.parse(r.body);
      } catch {
        adminError(400, 'invalid_json', 'the body is not valid JSON');
        return;
      }
      dispatch(body);
    });
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
