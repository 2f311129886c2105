// The emulator's web inbox (/emulator): a handset's-eye view of the emulator's messages, its
// webhooks and its chaos settings. Bundled by scripts/build-web.js; served by src/emulator/inbox.
// Message bodies are untrusted: they reach the DOM only through textContent and attributes.
import { type Child, fill, h } from '../lib/dom.js';

type IconName = 'clock' | 'check' | 'double' | 'cross';
interface StatusEntry {
  status: string;
  at: string;
  errorCode: number | null;
}
interface WebhookRecord {
  kind: 'inbound' | 'status';
  url: string;
  at: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  attempt: number;
  chaos: string | null;
  messageStatus: string;
  token: string;
}
interface Message {
  sid: string;
  direction: 'inbound' | 'outbound-api' | 'outbound-reply';
  source: 'twiml' | 'auto-reply' | 'verify' | 'api' | 'handset';
  from: string | null;
  to: string;
  body: string;
  media: string[];
  status: string;
  segments: number;
  encoding: string;
  history: StatusEntry[];
  webhooks: WebhookRecord[];
  dateCreated: string;
  dateUpdated: string;
  sendAt: string | null;
  errorCode: number | null;
  errorMessage: string | null;
  messagingServiceSid: string | null;
  price: string | null;
  priceUnit: string;
  statusCallback: string | null;
}
interface ThreadSummary {
  with: string;
  messages: number;
  optedOut: boolean;
  last: { sid: string; at: string; body: string; direction: string };
}
interface Numbers {
  owned: { number: string; inboundUrl: string | null }[];
  handsets: { number: string; threads: ThreadSummary[] }[];
}
interface Fault {
  rate: number;
  next: number;
  endpoints: string[] | null;
}
interface ErrorRule {
  rate: number;
  status: number;
  code: number;
}
interface Chaos {
  errors: Record<string, ErrorRule>;
  latencyMs: number;
  jitterMs: number;
  burst429: { next: number; retryAfter: number };
  hang: Fault;
  reset: Fault;
  callbacks: 'on' | 'off';
  dropCallbacksRate: number;
  duplicateCallbacksRate: number;
  reorderCallbacksRate: number;
}
interface SendResult {
  message: Message;
  webhook: { statusCode: number | null; error: string | null; durationMs: number } | null;
  replies: unknown[];
  autoReply: boolean;
  webhookError: string | null;
}
interface Route {
  kind: 'number' | 'handset';
  phone: string;
  peer: string | null;
}
interface ThreadKey {
  handset: string;
  owned: string;
}
interface Thread {
  id: string;
  byId: Map<string, Message>;
  /** Arrival order. */
  seq: Map<string, number>;
  /** Rendered nodes by key, with the signature of what they show. */
  nodes: Map<string, { sig: string; el: HTMLElement }>;
  loaded: boolean;
  stale: boolean;
}

const API = '/emulator/api';
const POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000;
// A final message can still gain webhook records (callback retries): keep re-fetching it this long.
const SETTLE_MS = 60000;
const FIRST_LOAD_LIMIT = 500;
const MAX_LISTED_HANDSETS = 200;
const SAMPLE_HANDSET = '+14155552671';
const FINAL = new Set<string>(['delivered', 'undelivered', 'failed', 'canceled', 'received']);
const ENDPOINTS = [
  'messages.create',
  'messages.fetch',
  'messages.list',
  'messages.update',
  'messages.delete',
  'verify.services',
  'verify.verifications',
  'verify.checks',
  'lookup',
];
const ERROR_KEYS = ['*', 'messages.*', 'verify.*'].concat(ENDPOINTS);
const SOURCE_LABEL: Record<string, string> = { twiml: 'TwiML reply', 'auto-reply': 'Twilio auto-reply', verify: 'Verify code', api: '', handset: '' };
const DIRECTION_LABEL: Record<string, string> = { inbound: 'Inbound', 'outbound-api': 'Outbound (API)', 'outbound-reply': 'Outbound (reply)' };
const STATUS: Record<string, [IconName, string]> = {
  accepted: ['clock', 'Accepted'],
  scheduled: ['clock', 'Scheduled'],
  queued: ['clock', 'Queued'],
  sending: ['clock', 'Sending'],
  sent: ['check', 'Sent'],
  delivered: ['double', 'Delivered'],
  received: ['double', 'Received'],
  undelivered: ['cross', 'Undelivered'],
  failed: ['cross', 'Failed'],
  canceled: ['cross', 'Canceled'],
};
const ICONS: Record<IconName, string[]> = {
  clock: ['M8 2.5a5.5 5.5 0 1 1 0 11a5.5 5.5 0 1 1 0-11z', 'M8 5v3.2l2.1 1.3'],
  check: ['M3 8.6l3 3 7-7.4'],
  double: ['M1 8.6l3 3 7-7.4', 'M8.2 11.3l.3.3 7-7.4'],
  cross: ['M4.5 4.5l7 7', 'M11.5 4.5l-7 7'],
};

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = {
  account: $('account'),
  live: $('live'),
  liveText: $('live-text'),
  chaosBadge: $('chaos-badge'),
  callbacksOff: $('callbacks-off'),
  reset: $('reset'),
  navOwned: $('nav-owned'),
  navHandsets: $('nav-handsets'),
  handsetCount: $('handset-count'),
  newHandset: $<HTMLFormElement>('new-handset'),
  newHandsetNumber: $<HTMLInputElement>('new-handset-number'),
  pageHead: $('page-head'),
  threadList: $('thread-list'),
  phoneHead: $('phone-head'),
  messages: $('messages'),
  compose: $<HTMLFormElement>('compose'),
  from: $<HTMLInputElement>('compose-from'),
  to: $<HTMLSelectElement>('compose-to'),
  body: $<HTMLTextAreaElement>('compose-body'),
  media: $<HTMLInputElement>('compose-media'),
  send: $<HTMLButtonElement>('compose-send'),
  count: $('compose-count'),
  composeStatus: $('compose-status'),
  tabMessage: $('tab-message'),
  tabChaos: $('tab-chaos'),
  paneMessage: $('pane-message'),
  paneChaos: $<HTMLFormElement>('pane-chaos'),
};

const state: {
  config: { accountSid: string } | null;
  numbers: Numbers;
  numbersSig: string;
  route: Route | null;
  thread: Thread | null;
  selected: string | null;
  pinned: boolean;
  inspectorSig: string;
  chaos: Chaos | null;
  chaosSig: string;
  chaosDirty: boolean;
  tab: 'message' | 'chaos';
} = {
  config: null,
  numbers: { owned: [], handsets: [] },
  numbersSig: '',
  route: null,

  thread: null,
  selected: null,
  pinned: false,
  inspectorSig: '',
  chaos: null,
  chaosSig: '',
  chaosDirty: false,
  tab: 'message',
};

// ---- DOM helpers (web/lib/dom.ts): data only ever goes through textContent / attributes, never innerHTML.
function icon(name: IconName): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  for (const d of ICONS[name]) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', 'currentColor');
    p.setAttribute('stroke-width', '1.7');
    p.setAttribute('stroke-linecap', 'round');
    p.setAttribute('stroke-linejoin', 'round');
    svg.append(p);
  }
  return svg;
}
/** Only http(s) URLs become links or image sources (a body could carry javascript:). */
function safeUrl(u: string): string | null {
  try {
    const url = new URL(u);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---- Formatting
const pad = (n: number, w?: number): string => String(n).padStart(w || 2, '0');
const time = (d: string | number): string => {
  const t = new Date(d);
  return pad(t.getHours()) + ':' + pad(t.getMinutes()) + ':' + pad(t.getSeconds());
};
const timeMs = (d: string | number): string => time(d) + '.' + pad(new Date(d).getMilliseconds(), 3);
const dayKey = (d: string | number): string => {
  const t = new Date(d);
  return t.getFullYear() + '-' + pad(t.getMonth() + 1) + '-' + pad(t.getDate());
};
function dayLabel(d: string | number): string {
  const k = dayKey(d);
  if (k === dayKey(Date.now())) return 'Today';
  if (k === dayKey(Date.now() - 86400000)) return 'Yesterday';
  return new Date(d).toLocaleDateString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
}
const shortTime = (d: string): string =>
  dayKey(d) === dayKey(Date.now()) ? time(d).slice(0, 5) : new Date(d).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
const plural = (n: number, one: string, many: string): string => n + ' ' + (n === 1 ? one : many);
const peerLabel = (n: string): string => (n === 'messaging-service' ? 'Messaging Service' : n);
const initials = (n: string): string => (n === 'messaging-service' ? 'MS' : String(n).replace(/\D/g, '').slice(-2) || '?');
const segLabel = (m: Message): string => plural(m.segments, 'segment', 'segments') + ' · ' + m.encoding;

// ---- API
// biome-ignore lint/suspicious/noExplicitAny: the emulator's JSON answers; each caller knows its shape
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(API + path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    throw new Error('HTTP ' + res.status + ': not JSON');
  }
  if (!res.ok) throw new Error(data?.error ? data.error.message : 'HTTP ' + res.status);
  return data;
}

// ---- Routing: #/numbers/{owned}[/{handset}] and #/handsets/{handset}[/{owned}]; /emulator/numbers/… deep links too.
const enc = (s: string): string => encodeURIComponent(s).replace(/%2B/g, '+');
const dec = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
const hashFor = (r: Route): string => '#/' + (r.kind === 'number' ? 'numbers' : 'handsets') + '/' + enc(r.phone) + (r.peer ? '/' + enc(r.peer) : '');
function parseRoute(): Route | null {
  let raw = location.hash.replace(/^#\/?/, '');
  if (!raw) {
    const m = location.pathname.match(/^\/emulator\/(.+)$/);
    if (m) raw = m[1]!;
  }
  const parts = raw.split('/').filter(Boolean).map(dec);
  if ((parts[0] === 'numbers' || parts[0] === 'handsets') && parts[1])
    return { kind: parts[0] === 'numbers' ? 'number' : 'handset', phone: parts[1], peer: parts[2] || null };
  return null;
}
function navigate(r: Route): void {
  const hash = hashFor(r);
  if (location.hash === hash) onRoute();
  else location.hash = hash;
}
function onRoute() {
  let r = parseRoute();
  if (!r && state.numbers.owned[0]) r = { kind: 'number', phone: state.numbers.owned[0].number, peer: null };
  if (r && location.pathname !== '/emulator') history.replaceState(null, '', '/emulator' + hashFor(r));
  const before = state.route;
  state.route = r;
  if (!before || !r || before.kind !== r.kind || before.phone !== r.phone) setupCompose();
  render();
  poke();
}

// ---- Threads
function threadsFor(r: Pick<Route, 'kind' | 'phone'> | null): { peer: string; messages: number; optedOut: boolean; last: ThreadSummary['last'] }[] {
  const out: ReturnType<typeof threadsFor> = [];
  if (!r) return out;
  for (const hs of state.numbers.handsets) {
    for (const t of hs.threads) {
      if (r.kind === 'handset' && hs.number === r.phone) out.push({ peer: t.with, messages: t.messages, optedOut: t.optedOut, last: t.last });
      else if (r.kind === 'number' && t.with === r.phone) out.push({ peer: hs.number, messages: t.messages, optedOut: t.optedOut, last: t.last });
    }
  }
  return out.sort((a, b) => Date.parse(b.last.at) - Date.parse(a.last.at));
}
/** The conversation shown: the route's peer, else the most recent one (a handset defaults to the first owned number). */
function currentPeer(): string | null {
  const r = state.route;
  if (!r) return null;
  if (r.peer) return r.peer;
  const ts = threadsFor(r);
  if (ts[0]) return ts[0].peer;
  return r.kind === 'handset' && state.numbers.owned[0] ? state.numbers.owned[0].number : null;
}
function currentKey(): ThreadKey | null {
  const r = state.route;
  const peer = currentPeer();
  if (!r || !peer) return null;
  return r.kind === 'handset' ? { handset: r.phone, owned: peer } : { handset: peer, owned: r.phone };
}
function threadInfo(key: ThreadKey): ThreadSummary | null {
  const hs = state.numbers.handsets.find((x) => x.number === key.handset);
  return hs ? hs.threads.find((t) => t.with === key.owned) || null : null;
}
/** Seen from the page's phone: did it send this message? */
function mine(m: Message): boolean {
  const inbound = m.direction === 'inbound';
  return state.route?.kind === 'handset' ? inbound : !inbound;
}
function settled(m: Message, now: number): boolean {
  if (!FINAL.has(m.status)) return false;
  let last = Date.parse(m.dateUpdated);
  for (const w of m.webhooks) last = Math.max(last, Date.parse(w.at));
  return now - last > SETTLE_MS;
}
/** Creation time from which to re-fetch: the oldest message that may still change, else the newest one. */
function watermark(t: Thread): string | null {
  let oldestLive = Infinity;
  let newest = -Infinity;
  const now = Date.now();
  for (const m of t.byId.values()) {
    const created = Date.parse(m.dateCreated);
    newest = Math.max(newest, created);
    if (!settled(m, now)) oldestLive = Math.min(oldestLive, created);
  }
  const v = oldestLive !== Infinity ? oldestLive : newest;
  return v === -Infinity ? null : String(v);
}
async function refreshThread(): Promise<void> {
  const key = currentKey();
  if (!key) {
    state.thread = null;
    return;
  }
  const id = key.handset + '|' + key.owned;
  let t = state.thread;
  if (!t || t.id !== id) {
    t = state.thread = { id, byId: new Map(), seq: new Map(), nodes: new Map(), loaded: false, stale: false };
    forceBottom = true;
  }
  const info = threadInfo(key);
  // Fewer messages than we hold: a reset, a delete or the ring buffer dropped some.
  if (t.stale || (t.loaded && t.byId.size > (info ? info.messages : 0))) {
    t.byId.clear();
    t.seq.clear();
    t.loaded = false;
    t.stale = false;
  }
  const q = new URLSearchParams({ handset: key.handset });
  const viaService = key.owned === 'messaging-service';
  if (!viaService) q.set('number', key.owned);
  const since = t.loaded ? watermark(t) : null;
  if (since) q.set('since', since);
  else q.set('limit', String(FIRST_LOAD_LIMIT));
  const data: { messages: Message[] } = await api('GET', '/messages?' + q.toString());
  if (state.thread !== t) return;
  for (const m of data.messages) {
    if (viaService && (m.direction === 'inbound' || m.from !== null)) continue;
    // Server order breaks ties between messages created in the same millisecond (STOP, then its reply).
    if (!t.seq.has(m.sid)) t.seq.set(m.sid, t.seq.size);
    t.byId.set(m.sid, m);
  }
  t.loaded = true;
  if (info && !t.byId.has(info.last.sid)) t.stale = true;
}

// ---- Rendering
// Lists are rebuilt only when their data changed: a rebuild under the pointer can swallow a click.
let chromeSig = '';
function render() {
  const sig = state.numbersSig + '|' + (state.route ? hashFor(state.route) : '') + '|' + currentPeer() + '|' + dayKey(Date.now());
  if (sig !== chromeSig) {
    chromeSig = sig;
    renderSidebar();
    renderThreads();
    renderPhoneHead();
  }
  renderPhone();
  renderInspector();
}

function navItem(kind: Route['kind'], number: string, sub: string, count: number, active: boolean | null, testid: string): HTMLLIElement {
  return h(
    'li',
    null,
    h(
      'a',
      { href: hashFor({ kind, phone: number, peer: null }), class: active ? 'active' : '', testid, 'data-number': number },
      h('span', { class: 'avatar ' + (kind === 'number' ? 'owned' : 'handset'), text: initials(number) }),
      h('span', { class: 'nav-text' }, h('span', { class: 'nav-num', text: number }), h('span', { class: 'nav-sub', text: sub })),
      count ? h('span', { class: 'count', text: String(count) }) : null,
    ),
  );
}
function renderSidebar() {
  const r = state.route;
  const owned = state.numbers.owned.map((o) => {
    const ts = threadsFor({ kind: 'number', phone: o.number });
    const total = ts.reduce((n, t) => n + t.messages, 0);
    const sub = ts.length ? plural(ts.length, 'conversation', 'conversations') : 'No messages yet';
    return navItem('number', o.number, sub, total, r && r.kind === 'number' && r.phone === o.number, 'nav-number');
  });
  fill(el.navOwned, owned);
  // Most recent first; a load test can create thousands of handsets, so only the newest are listed.
  const all = state.numbers.handsets
    .map((hs) => {
      let last: ThreadSummary['last'] | null = null;
      let total = 0;
      for (const t of hs.threads) {
        total += t.messages;
        if (!last || Date.parse(t.last.at) > Date.parse(last.at)) last = t.last;
      }
      return { number: hs.number, last, total };
    })
    .sort((a, b) => Date.parse(b.last?.at ?? '') - Date.parse(a.last?.at ?? ''));
  const shown = all.slice(0, MAX_LISTED_HANDSETS);
  const current = r && r.kind === 'handset' ? all.find((x) => x.number === r.phone) : null;
  if (r && r.kind === 'handset' && !(current && shown.includes(current))) shown.unshift(current || { number: r.phone, last: null, total: 0 });
  const items = shown.map((x) =>
    navItem(
      'handset',
      x.number,
      x.last ? x.last.body || '(media)' : 'New conversation',
      x.total,
      r && r.kind === 'handset' && r.phone === x.number,
      'nav-handset',
    ),
  );
  if (!all.length && !items.length) items.push(h('li', { class: 'empty-note', text: 'Phones that text your numbers appear here.' }));
  if (all.length > MAX_LISTED_HANDSETS)
    items.push(h('li', { class: 'empty-note', text: 'and ' + (all.length - MAX_LISTED_HANDSETS) + ' more: open one by number below.' }));
  fill(el.navHandsets, items);
  el.handsetCount.textContent = all.length ? String(all.length) : '';
}

function renderThreads() {
  const r = state.route;
  if (!r) {
    fill(el.pageHead, h('h1', { text: 'Loading…' }));
    fill(el.threadList);
    return;
  }
  const head: Child[] = [
    h('div', { class: 'kind', text: r.kind === 'number' ? 'Your Twilio number' : 'Simulated handset' }),
    h('h1', { text: r.phone, testid: 'page-title' }),
  ];
  if (r.kind === 'number') {
    const o = state.numbers.owned.find((x) => x.number === r.phone);
    if (o?.inboundUrl)
      head.push(
        h(
          'div',
          { class: 'hook', title: 'Messages texted to this number are POSTed here (signed)' },
          'Inbound webhook → ',
          h('span', { class: 'mono', text: o.inboundUrl }),
        ),
      );
    else if (o) head.push(h('div', { class: 'hook' }, h('span', { class: 'tag warn', text: 'No inbound webhook' })));
    else head.push(h('div', { class: 'hook' }, h('span', { class: 'tag bad', text: 'Not an owned number' })));
  }
  fill(el.pageHead, head);
  const peer = currentPeer();
  const threads = threadsFor(r);
  const items = threads.slice(0, MAX_LISTED_HANDSETS).map((t) => {
    const kind = r.kind === 'number' ? 'handset' : 'number';
    const fromPage = (t.last.direction === 'inbound') === (r.kind === 'handset');
    return h(
      'li',
      null,
      h(
        'a',
        { href: hashFor({ kind: r.kind, phone: r.phone, peer: t.peer }), class: t.peer === peer ? 'active' : '', testid: 'thread', 'data-peer': t.peer },
        h('span', { class: 'avatar small ' + (kind === 'number' ? 'owned' : 'handset'), text: initials(t.peer) }),
        h(
          'span',
          { class: 'nav-text' },
          h('span', { class: 'thread-top' }, h('b', { text: peerLabel(t.peer) }), h('time', { text: shortTime(t.last.at) })),
          h(
            'span',
            { class: 'nav-sub' },
            t.optedOut ? h('span', { class: 'tag bad', title: 'Opted out', text: 'STOP' }) : null,
            (fromPage ? 'You: ' : '') + (t.last.body || '(media)'),
          ),
        ),
      ),
    );
  });
  if (!items.length)
    items.push(h('li', { class: 'empty-note', text: r.kind === 'number' ? 'No conversations yet. Text this number from a handset.' : 'No messages yet.' }));
  if (threads.length > MAX_LISTED_HANDSETS)
    items.push(h('li', { class: 'empty-note', text: 'and ' + (threads.length - MAX_LISTED_HANDSETS) + ' older conversations.' }));
  fill(el.threadList, items);
}

function statusView(m: Message): HTMLSpanElement {
  const s = STATUS[m.status] || ['clock', m.status];
  const cls = s[0] === 'clock' ? 'pending' : m.status;
  const hist = m.history.map((x) => x.status + '  ' + timeMs(x.at) + (x.errorCode ? '  (' + x.errorCode + ')' : '')).join('\n');
  const last = m.history[m.history.length - 1];
  return h(
    'span',
    { class: 'status ' + cls, testid: 'bubble-status', title: hist },
    icon(s[0]),
    s[1],
    last ? h('span', { class: 'muted', text: ' ' + time(last.at) }) : null,
  );
}
function hookChips(m: Message): HTMLSpanElement[] {
  return m.webhooks.map((w) => {
    const ok = w.statusCode !== null && w.statusCode >= 200 && w.statusCode < 300;
    const label =
      (w.kind === 'inbound' ? 'webhook' : w.messageStatus) + ' ' + (w.statusCode !== null ? w.statusCode : 'ERR') + (w.chaos ? ' · ' + w.chaos : '');
    return h('span', {
      class: 'hook-chip' + (w.chaos ? ' warn' : ok ? '' : ' bad'),
      testid: 'bubble-webhook',
      title: w.url + '\n' + (w.error || 'HTTP ' + w.statusCode) + ', ' + w.durationMs + ' ms, attempt ' + w.attempt,
      text: label,
    });
  });
}
function mediaView(urls: string[]): HTMLDivElement | null {
  if (!urls.length) return null;
  return h(
    'div',
    { class: 'media' },
    urls.map((u) => {
      const safe = safeUrl(u);
      if (!safe) return h('span', { class: 'file', text: u });
      if (/\.(png|jpe?g|gif|webp|avif|bmp|svg)([?#]|$)/i.test(new URL(safe).pathname)) {
        return h(
          'a',
          { href: safe, target: '_blank', rel: 'noopener noreferrer' },
          h('img', { src: safe, alt: 'attachment', loading: 'lazy', referrerpolicy: 'no-referrer', onload: keepBottom }),
        );
      }
      return h('a', { class: 'file', href: safe, target: '_blank', rel: 'noopener noreferrer', text: new URL(safe).pathname.split('/').pop() || safe });
    }),
  );
}
function bubble(m: Message): HTMLDivElement {
  const failed = m.status === 'failed' || m.status === 'undelivered';
  const source = SOURCE_LABEL[m.source];
  return h(
    'div',
    {
      class: 'msg ' + (mine(m) ? 'mine' : 'theirs') + (failed ? ' failed' : '') + (m.sid === state.selected && state.pinned ? ' selected' : ''),
      testid: 'bubble',
      'data-sid': m.sid,
      'data-direction': m.direction,
      'data-source': m.source,
      'data-status': m.status,
      onclick: () => select(m.sid),
    },
    source ? h('div', { class: 'source', text: source }) : null,
    h('div', { class: 'bubble' }, mediaView(m.media), m.body ? h('span', { class: 'text', testid: 'bubble-body', text: m.body }) : null),
    m.errorCode ? h('div', { class: 'err-line', text: 'Error ' + m.errorCode + (m.errorMessage ? ' · ' + m.errorMessage : '') }) : null,
    h('div', { class: 'meta' }, statusView(m), h('span', { testid: 'bubble-segments', text: segLabel(m) }), hookChips(m)),
  );
}
function sortedMessages(): Message[] {
  const t = state.thread;
  return t
    ? [...t.byId.values()].sort((a, b) => Date.parse(a.dateCreated) - Date.parse(b.dateCreated) || (t.seq.get(a.sid) ?? 0) - (t.seq.get(b.sid) ?? 0))
    : [];
}
let stickToBottom = true;
/** Set when a thread opens or the user sends: show the newest message. */
let forceBottom = true;
function keepBottom() {
  if (stickToBottom) el.messages.scrollTop = el.messages.scrollHeight;
}
function renderPhoneHead() {
  const r = state.route;
  const key = currentKey();
  const peer = currentPeer();
  const info = key ? threadInfo(key) : null;
  if (!r || !peer) {
    fill(
      el.phoneHead,
      h(
        'div',
        { class: 'who' },
        h('b', { text: r ? 'New conversation' : 'Loading…' }),
        h('small', { text: r ? 'Text ' + r.phone + ' from a simulated handset below.' : '' }),
      ),
    );
  } else {
    const peerKind = r.kind === 'number' ? 'handset' : 'owned';
    fill(
      el.phoneHead,
      h('span', { class: 'avatar ' + peerKind, text: initials(peer) }),
      h(
        'div',
        { class: 'who' },
        h('b', { text: peerLabel(peer), testid: 'phone-peer' }),
        h('small', { text: (peerKind === 'owned' ? 'Your number' : 'Handset') + (info ? ' · ' + plural(info.messages, 'message', 'messages') : '') }),
      ),
      info?.optedOut ? h('span', { class: 'tag bad', title: 'The handset texted STOP; replies fail with 21610 until START', text: 'Opted out' }) : null,
    );
  }
}
function renderPhone() {
  const r = state.route;
  const key = currentKey();
  const t = state.thread;
  if (key && !(t?.loaded && t.id === key.handset + '|' + key.owned)) {
    fill(el.messages);
    return;
  }
  const list = sortedMessages();
  if (!state.pinned || !list.some((m) => m.sid === state.selected)) {
    state.pinned = false;
    state.selected = list.at(-1)?.sid ?? null;
  }
  const box = el.messages;
  if (!list.length) {
    const empty = h(
      'div',
      { class: 'empty' },
      h(
        'div',
        null,
        h('b', { text: 'No messages yet' }),
        r && r.kind === 'number' ? 'Use the form below to text this number as a handset.' : 'Send the first message below.',
      ),
    );
    box.replaceChildren(empty);
    if (state.thread) state.thread.nodes.clear();
    return;
  }
  stickToBottom = forceBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 48;
  forceBottom = false;
  if (!t) return;
  const used: Thread['nodes'] = new Map();
  const wanted: HTMLElement[] = [];
  const node = (k: string, sig: string, build: () => HTMLElement): void => {
    const cached = t.nodes.get(k);
    const n = cached && cached.sig === sig ? cached : { sig, el: build() };
    used.set(k, n);
    wanted.push(n.el);
  };
  let day: string | null = null;
  for (const m of list) {
    const d = dayKey(m.dateCreated);
    if (d !== day) {
      day = d;
      const label = dayLabel(m.dateCreated);
      node('day:' + d, label, () => h('div', { class: 'day', text: label }));
    }
    node(m.sid, JSON.stringify(m) + (m.sid === state.selected && state.pinned) + r?.kind, () => bubble(m));
  }
  const changed = wanted.length !== box.children.length || wanted.some((n, i) => box.children[i] !== n);
  t.nodes = used;
  if (changed) {
    const top = box.scrollTop;
    box.replaceChildren(...wanted);
    if (stickToBottom) keepBottom();
    else box.scrollTop = top;
  }
}
function select(sid: string): void {
  state.selected = sid;
  state.pinned = true;
  renderPhone();
  showTab('message');
  renderInspector();
}

// ---- Inspector
function kv(rows: ([string, unknown] | [string, unknown, string])[]): HTMLDListElement {
  return h(
    'dl',
    { class: 'kv' },
    rows
      .filter((x) => x && x[1] !== null && x[1] !== undefined && x[1] !== '')
      .map((x) => [h('dt', { text: x[0] }), h('dd', { class: x[2] || '', text: String(x[1]) })]),
  );
}
function renderInspector() {
  const t = state.thread;
  const m = t && state.selected ? t.byId.get(state.selected) : null;
  const sig = m ? JSON.stringify(m) : 'none';
  if (sig === state.inspectorSig) return;
  state.inspectorSig = sig;
  const pane = el.paneMessage;
  if (!m) {
    fill(pane, h('div', { class: 'placeholder', text: 'Select a message to see its status history and webhooks.' }));
    return;
  }
  const bad = m.status === 'failed' || m.status === 'undelivered';
  const history = m.history.map((x, i) => {
    const prev = i > 0 ? Date.parse(m.history[i - 1]!.at) : null;
    const delta = prev === null ? '' : ' (+' + (Date.parse(x.at) - prev) + ' ms)';
    return h(
      'li',
      { class: x.errorCode ? 'bad' : '' },
      h('b', { text: x.status }),
      x.errorCode ? ' · ' + x.errorCode : '',
      h('div', { class: 'when', text: timeMs(x.at) + delta }),
    );
  });
  const hooks = m.webhooks.map((w) => {
    const ok = w.statusCode !== null && w.statusCode >= 200 && w.statusCode < 300;
    return h(
      'tr',
      { testid: 'webhook-row' },
      h('td', null, h('span', { class: 'code' + (ok ? '' : ' bad'), text: w.statusCode !== null ? String(w.statusCode) : 'ERR' })),
      h(
        'td',
        null,
        h(
          'div',
          null,
          h('b', { text: w.kind === 'inbound' ? 'Inbound message' : 'Status: ' + w.messageStatus }),
          ' · attempt ' + w.attempt + ' · ' + w.durationMs + ' ms',
          w.chaos ? h('span', { class: 'tag warn', text: w.chaos }) : null,
        ),
        w.error ? h('div', { class: 'err-line', text: w.error }) : null,
        h('div', { class: 'url mono', text: w.url }),
        h('div', { class: 'url', text: timeMs(w.at) + ' · token ' + w.token }),
      ),
    );
  });
  fill(
    pane,
    h(
      'div',
      { class: 'row' },
      h('span', {
        class: 'tag ' + (bad ? 'bad' : FINAL.has(m.status) ? 'ok' : 'accent'),
        testid: 'inspector-status',
        text: (STATUS[m.status] ?? ['clock', m.status])[1],
      }),
      h('span', { class: 'muted', text: DIRECTION_LABEL[m.direction] + (SOURCE_LABEL[m.source] ? ' · ' + SOURCE_LABEL[m.source] : '') }),
    ),
    m.body ? h('div', { class: 'body-box', text: m.body }) : null,
    h('h3', { text: 'Details' }),
    kv([
      ['SID', m.sid, 'mono'],
      ['From', m.from === null ? 'Messaging Service (picking a sender)' : m.from],
      ['To', m.to],
      ['Service', m.messagingServiceSid, 'mono'],
      ['Segments', m.segments + ' (' + m.encoding + ', ' + plural([...m.body].length, 'character', 'characters') + ')'],
      ['Price', m.price === null ? null : m.price + ' ' + m.priceUnit],
      ['Error', m.errorCode ? m.errorCode + (m.errorMessage ? ' · ' + m.errorMessage : '') : null],
      ['Created', new Date(m.dateCreated).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) + ' ' + timeMs(m.dateCreated)],
      [
        'Send at',
        m.sendAt ? new Date(m.sendAt).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) + ' ' + time(m.sendAt) : null,
      ],
      ['Callback', m.statusCallback, 'mono'],
    ]),
    m.media.length
      ? [
          h('h3', { text: 'Media' }),
          h(
            'ul',
            null,
            m.media.map((u) => h('li', { class: 'mono', text: u })),
          ),
        ]
      : null,
    h('h3', { text: 'Status history' }),
    h('ul', { class: 'timeline', testid: 'inspector-history' }, history),
    h('h3', { text: 'Webhooks (' + m.webhooks.length + ')' }),
    m.webhooks.length
      ? h('table', { class: 'hooks', testid: 'inspector-webhooks' }, h('tbody', null, hooks))
      : h('div', {
          class: 'muted',
          text: m.direction === 'inbound' ? 'No inbound webhook was called.' : m.statusCallback ? 'None yet.' : 'No status callback URL.',
        }),
  );
}

function showTab(tab: 'message' | 'chaos'): void {
  state.tab = tab;
  el.tabMessage.classList.toggle('active', tab === 'message');
  el.tabChaos.classList.toggle('active', tab === 'chaos');
  el.tabMessage.setAttribute('aria-selected', String(tab === 'message'));
  el.tabChaos.setAttribute('aria-selected', String(tab === 'chaos'));
  el.paneMessage.classList.toggle('hidden', tab !== 'message');
  el.paneChaos.classList.toggle('hidden', tab !== 'chaos');
  if (tab === 'chaos' && !state.chaosDirty) renderChaos();
}

// ---- Chaos
function chaosActive(c: Chaos): boolean {
  const fault = (f: Fault): boolean => f.rate > 0 || f.next > 0;
  return (
    Object.keys(c.errors).length > 0 ||
    c.latencyMs > 0 ||
    c.jitterMs > 0 ||
    c.burst429.next > 0 ||
    fault(c.hang) ||
    fault(c.reset) ||
    c.dropCallbacksRate > 0 ||
    c.duplicateCallbacksRate > 0 ||
    c.reorderCallbacksRate > 0
  );
}
function applyChaos(c: Chaos): void {
  const sig = JSON.stringify(c);
  const on = chaosActive(c);
  el.chaosBadge.classList.toggle('hidden', !on);
  el.callbacksOff.classList.toggle('hidden', c.callbacks === 'on');
  fill(el.tabChaos, 'Chaos', on ? h('span', { class: 'dot' }) : null);
  if (sig === state.chaosSig) return;
  state.chaos = c;
  state.chaosSig = sig;
  if (state.tab === 'chaos' && !state.chaosDirty) renderChaos();
}
const pct = (rate: number): string => String(Math.round(rate * 1000) / 10);
const num = (input: HTMLInputElement): number => Number(input.value === '' ? 0 : input.value);
const numInput = (value: string | number, attrs?: Record<string, string>): HTMLInputElement =>
  h('input', { class: 'field sm num', type: 'number', value: String(value), min: '0', ...attrs });
interface RuleRow {
  key: string;
  rate: HTMLInputElement;
  status: HTMLInputElement;
  code: HTMLInputElement;
  el: HTMLElement;
}
interface ChaosForm {
  rules: RuleRow[];
  hangEndpoints: HTMLInputElement[];
  resetEndpoints: HTMLInputElement[];
  latency: HTMLInputElement;
  jitter: HTMLInputElement;
  burstNext: HTMLInputElement;
  burstRetry: HTMLInputElement;
  hangRate: HTMLInputElement;
  hangNext: HTMLInputElement;
  resetRate: HTMLInputElement;
  resetNext: HTMLInputElement;
  callbacks: HTMLInputElement;
  drop: HTMLInputElement;
  duplicate: HTMLInputElement;
  reorder: HTMLInputElement;
  msg: HTMLSpanElement;
}
let chaosForm: ChaosForm | null = null;
function renderChaos() {
  const c = state.chaos;
  if (!c) return;
  let rules: RuleRow[] = [];
  const unit = (text: string): HTMLSpanElement => h('span', { class: 'unit', text });
  const line = (label: string, ...controls: Child[]): HTMLDivElement =>
    h('div', { class: 'line' }, h('span', { class: 'line-label', text: label }), h('span', { class: 'line-ctl' }, controls));
  const section = (title: string, hint: string | null, ...children: Child[]): HTMLElement =>
    h('section', { class: 'chaos-sec' }, h('h3', { text: title }), hint ? h('p', { class: 'hint', text: hint }) : null, children);
  const rulesBox = h('div', { testid: 'chaos-rules' });
  const showRules = (): void =>
    fill(rulesBox, rules.length ? rules.map((x) => x.el) : h('p', { class: 'hint', text: 'No error rules: every request is answered normally.' }));
  const addRule = (key: string, rule: ErrorRule): void => {
    const row: RuleRow = {
      key,
      rate: numInput(pct(rule.rate), { max: '100', 'aria-label': key + ' error rate %' }),
      status: numInput(rule.status, { min: '400', max: '599', 'aria-label': key + ' HTTP status' }),
      code: numInput(rule.code, { 'aria-label': key + ' Twilio error code', class: 'field sm num wide' }),
      el: h('div', null),
    };
    const remove = () => {
      rules = rules.filter((x) => x !== row);
      showRules();
      dirty();
    };
    row.el = h(
      'div',
      { class: 'rule', testid: 'chaos-rule', 'data-key': key },
      h(
        'div',
        { class: 'rule-head' },
        h('span', { class: 'mono', text: key === '*' ? '* (every endpoint)' : key }),
        h('button', { class: 'icon-btn', type: 'button', title: 'Remove rule', 'aria-label': 'Remove ' + key, text: '✕', onclick: remove }),
      ),
      h('div', { class: 'rule-body' }, row.rate, unit('% answer HTTP'), row.status, unit('code'), row.code),
    );
    rules = rules.filter((x) => x.key !== key).concat(row);
    showRules();
  };
  for (const [k, rule] of Object.entries(c.errors)) addRule(k, rule);
  showRules();
  const newKey = h(
    'select',
    { class: 'field sm', 'aria-label': 'Endpoint of a new rule' },
    ERROR_KEYS.map((k) => h('option', { value: k, text: k === '*' ? '* (every endpoint)' : k })),
  );
  newKey.value = 'messages.create';
  const endpointsPicker = (fault: Fault, boxes: HTMLInputElement[]): HTMLDetailsElement => {
    for (const e of ENDPOINTS) {
      const cb = h('input', { type: 'checkbox', value: e });
      cb.checked = !!fault.endpoints && fault.endpoints.includes(e);
      boxes.push(cb);
    }
    const summary = fault.endpoints ? fault.endpoints.join(', ') : 'every endpoint';
    return h(
      'details',
      { class: 'eps' },
      h('summary', { text: 'Applies to: ' + summary }),
      h(
        'div',
        { class: 'endpoints', title: 'None checked = every endpoint' },
        boxes.map((cb) => h('label', null, cb, cb.value)),
      ),
    );
  };
  const callbacks = h('input', { type: 'checkbox', class: 'toggle', testid: 'chaos-callbacks', 'aria-label': 'Send status callbacks' });
  callbacks.checked = c.callbacks === 'on';
  const f: ChaosForm = {
    get rules() {
      return rules;
    },
    hangEndpoints: [],
    resetEndpoints: [],
    latency: numInput(c.latencyMs, { step: '10', 'aria-label': 'latency ms' }),
    jitter: numInput(c.jitterMs, { step: '10', 'aria-label': 'jitter ms' }),
    burstNext: numInput(c.burst429.next, { 'aria-label': '429 burst count' }),
    burstRetry: numInput(c.burst429.retryAfter, { 'aria-label': 'Retry-After seconds' }),
    hangRate: numInput(pct(c.hang.rate), { max: '100', 'aria-label': 'hang rate %' }),
    hangNext: numInput(c.hang.next, { 'aria-label': 'hang next requests' }),
    resetRate: numInput(pct(c.reset.rate), { max: '100', 'aria-label': 'reset rate %' }),
    resetNext: numInput(c.reset.next, { 'aria-label': 'reset next requests' }),
    callbacks,

    drop: numInput(pct(c.dropCallbacksRate), { max: '100', 'aria-label': 'drop rate %' }),
    duplicate: numInput(pct(c.duplicateCallbacksRate), { max: '100', 'aria-label': 'duplicate rate %' }),
    reorder: numInput(pct(c.reorderCallbacksRate), { max: '100', 'aria-label': 'reorder rate %' }),
    msg: h('span', { class: 'chaos-msg', role: 'status', testid: 'chaos-message' }),
  };
  const callbacksLabel = h('span', { text: callbacks.checked ? 'On' : 'Off' });
  callbacks.addEventListener('change', () => {
    callbacksLabel.textContent = callbacks.checked ? 'On' : 'Off';
  });
  chaosForm = f;
  fill(
    el.paneChaos,
    h('p', { class: 'hint', text: 'Faults injected into the Twilio API and its status callbacks. This page and /emulator/api are never affected.' }),
    section(
      'API errors',
      null,
      rulesBox,
      h(
        'div',
        { class: 'line-ctl' },
        newKey,
        h('button', {
          class: 'btn small',
          type: 'button',
          text: 'Add rule',
          testid: 'chaos-add-rule',
          onclick: () => {
            addRule(newKey.value, { rate: 1, status: 500, code: 20500 });
            dirty();
          },
        }),
      ),
    ),
    section(
      'Timing',
      null,
      line('Latency', f.latency, unit('ms ±'), f.jitter, unit('ms jitter')),
      line('429 burst', f.burstNext, unit('next requests')),
      line('Retry-After', f.burstRetry, unit('seconds')),
    ),
    section(
      'Connection faults',
      'Hang: never answer. Reset: do the work, then drop the connection (the ambiguous outcome).',
      line('Hang', f.hangRate, unit('% + next'), f.hangNext),
      endpointsPicker(c.hang, f.hangEndpoints),
      line('Reset', f.resetRate, unit('% + next'), f.resetNext),
      endpointsPicker(c.reset, f.resetEndpoints),
    ),
    section(
      'Status callbacks',
      null,
      line('Send', h('label', { class: 'switch' }, f.callbacks, callbacksLabel)),
      line('Drop', f.drop, unit('%')),
      line('Duplicate', f.duplicate, unit('%')),
      line('Reorder', f.reorder, unit('%')),
    ),
    h(
      'div',
      { class: 'chaos-actions' },
      h('button', { class: 'btn primary', type: 'submit', text: 'Apply', testid: 'chaos-apply' }),
      h('button', { class: 'btn', type: 'button', text: 'Restore defaults', testid: 'chaos-clear', onclick: () => saveChaos('DELETE') }),
      f.msg,
    ),
  );
  state.chaosDirty = false;
}
function dirty() {
  state.chaosDirty = true;
}
function collectChaos(f: ChaosForm, current: Chaos): Chaos {
  const errors: Record<string, ErrorRule | null> = {};
  // Rules removed in the form are deleted with null.
  for (const k of Object.keys(current.errors)) errors[k] = null;
  for (const r of f.rules) errors[r.key] = { rate: num(r.rate) / 100, status: num(r.status), code: num(r.code) };
  const endpoints = (boxes: HTMLInputElement[]): string[] | null => {
    const on = boxes.filter((b) => b.checked).map((b) => b.value);
    return on.length ? on : null;
  };
  return {
    // Removed rules travel as null (the PUT's way to delete them).
    errors: errors as Record<string, ErrorRule>,
    latencyMs: num(f.latency),
    jitterMs: num(f.jitter),
    burst429: { next: num(f.burstNext), retryAfter: num(f.burstRetry) },
    hang: { rate: num(f.hangRate) / 100, next: num(f.hangNext), endpoints: endpoints(f.hangEndpoints) },
    reset: { rate: num(f.resetRate) / 100, next: num(f.resetNext), endpoints: endpoints(f.resetEndpoints) },
    callbacks: f.callbacks.checked ? 'on' : 'off',
    dropCallbacksRate: num(f.drop) / 100,
    duplicateCallbacksRate: num(f.duplicate) / 100,
    reorderCallbacksRate: num(f.reorder) / 100,
  };
}
async function saveChaos(method: 'PUT' | 'DELETE', body?: Chaos): Promise<void> {
  try {
    const c = await api(method, '/chaos', body);
    state.chaosDirty = false;
    state.chaosSig = '';
    applyChaos(c);
    renderChaos();
    if (!chaosForm) return;
    chaosForm.msg.className = 'chaos-msg ok';
    chaosForm.msg.textContent = method === 'DELETE' ? 'Defaults restored.' : 'Applied.';
  } catch (err) {
    if (!chaosForm) return;
    chaosForm.msg.className = 'chaos-msg bad';
    chaosForm.msg.textContent = errorText(err);
  }
}

// ---- Compose: a simulated handset texts an owned number.
function option(value: string): HTMLOptionElement {
  return h('option', { value, text: value });
}
function setupCompose() {
  const r = state.route;
  if (!r) return;
  const owned = state.numbers.owned.map((o) => o.number);
  if (r.kind === 'handset') {
    el.from.value = r.phone;
    el.from.readOnly = true;
    el.to.replaceChildren(...owned.map(option));
    el.to.disabled = owned.length < 2;
    const peer = currentPeer();
    if (peer && owned.includes(peer)) el.to.value = peer;
  } else {
    el.from.readOnly = false;
    el.from.value = currentPeer() || el.from.value || SAMPLE_HANDSET;
    el.to.replaceChildren(option(r.phone));
    el.to.disabled = true;
  }
}
/** Follows the open conversation (a click in the thread list) without overwriting what is being typed. */
function syncCompose() {
  const r = state.route;
  const peer = currentPeer();
  if (!r || !peer) return;
  if (r.kind === 'handset') {
    if (el.to.options.length !== state.numbers.owned.length) setupCompose();
    if (document.activeElement !== el.to && state.numbers.owned.some((o) => o.number === peer)) el.to.value = peer;
  } else if (document.activeElement !== el.from && peer !== 'messaging-service' && el.from.dataset.peer !== peer) {
    el.from.value = peer;
    el.from.dataset.peer = peer;
  }
}
function composeNote(text: string, bad?: boolean): void {
  el.composeStatus.textContent = text;
  el.composeStatus.className = 'compose-status' + (bad ? ' bad' : '');
}
function describe(res: SendResult): string {
  const parts = ['Sent ' + time(res.message.dateCreated)];
  if (res.webhook)
    parts.push('webhook ' + (res.webhook.statusCode !== null ? res.webhook.statusCode : res.webhook.error) + ' in ' + res.webhook.durationMs + ' ms');
  else parts.push('no inbound webhook configured');
  if (res.replies.length) parts.push(plural(res.replies.length, 'TwiML reply', 'TwiML replies'));
  if (res.autoReply) parts.push('Twilio answered the keyword');
  if (res.webhookError) parts.push('webhook failed: ' + res.webhookError);
  return parts.join(' · ');
}
async function send(e: SubmitEvent): Promise<void> {
  e.preventDefault();
  const from = el.from.value.trim();
  const to = el.to.value;
  const body = el.body.value;
  const media = el.media.value.split(/[\s,]+/).filter(Boolean);
  if (!from) return composeNote('Enter the handset number to text from.', true);
  if (!body.trim() && !media.length) return composeNote('Type a message or add a media URL.', true);
  el.send.disabled = true;
  composeNote('Sending…');
  try {
    const res: SendResult = await api('POST', '/handsets/' + encodeURIComponent(from) + '/messages', media.length ? { to, body, media } : { to, body });
    el.body.value = '';
    el.media.value = '';
    autosize();
    composeNote(describe(res), !!res.webhookError);
    const m = res.message;
    forceBottom = true;
    navigate(state.route?.kind === 'handset' ? { kind: 'handset', phone: m.from ?? '', peer: m.to } : { kind: 'number', phone: m.to, peer: m.from });
  } catch (err) {
    composeNote(errorText(err), true);
  } finally {
    el.send.disabled = false;
  }
}
function autosize(): void {
  el.body.style.height = 'auto';
  el.body.style.height = Math.min(el.body.scrollHeight + 2, 140) + 'px';
  el.count.textContent = plural([...el.body.value].length, 'char', 'chars');
}

// ---- Polling: one request chain at a time; poke() runs the next tick now.
let timer: ReturnType<typeof setTimeout> | undefined;
let busy = false;
let again = false;
function setLive(ok: boolean, err?: unknown): void {
  el.live.classList.toggle('off', !ok);
  el.liveText.textContent = ok ? 'Live' : 'Offline, retrying';
  el.live.title = ok ? 'Updated ' + time(Date.now()) : errorText(err);
}
function applyNumbers(n: Numbers): void {
  const sig = JSON.stringify(n);
  if (sig === state.numbersSig) return;
  state.numbersSig = sig;
  const firstLoad = !state.numbers.owned.length;
  state.numbers = n;
  if (firstLoad) onRoute();
}
async function tick(): Promise<void> {
  clearTimeout(timer);
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  const started = Date.now();
  try {
    if (!state.config) {
      const config: { accountSid: string } = await api('GET', '/config');
      state.config = config;
      el.account.textContent = config.accountSid;
    }
    const [numbers, chaos] = await Promise.all([api('GET', '/numbers'), api('GET', '/chaos')]);
    applyNumbers(numbers);
    applyChaos(chaos);
    await refreshThread();
    syncCompose();
    render();
    setLive(true);
  } catch (err) {
    setLive(false, err);
  }
  busy = false;
  if (again) {
    again = false;
    tick();
    return;
  }
  // A slow answer means a busy emulator (a load test, a huge store): poll less, do not add to it.
  timer = setTimeout(tick, Math.max(document.hidden ? HIDDEN_POLL_MS : POLL_MS, 4 * (Date.now() - started)));
}
const poke = () => tick();

// ---- Wiring
window.addEventListener('hashchange', onRoute);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) poke();
});
el.compose.addEventListener('submit', send);
el.body.addEventListener('input', autosize);
el.body.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    el.compose.requestSubmit();
  }
});
el.tabMessage.addEventListener('click', () => showTab('message'));
el.tabChaos.addEventListener('click', () => showTab('chaos'));
el.chaosBadge.addEventListener('click', () => showTab('chaos'));
el.paneChaos.addEventListener('input', dirty);
el.paneChaos.addEventListener('submit', (e) => {
  e.preventDefault();
  if (chaosForm && state.chaos) void saveChaos('PUT', collectChaos(chaosForm, state.chaos));
});
el.newHandset.addEventListener('submit', (e) => {
  e.preventDefault();
  const n = el.newHandsetNumber.value.replace(/[\s()-]/g, '');
  if (!n) return;
  el.newHandsetNumber.value = '';
  navigate({ kind: 'handset', phone: n, peer: null });
});
el.reset.addEventListener('click', async () => {
  if (!confirm('Delete every message, count, opt-out and verification in the emulator? Configuration, scripts and chaos stay.')) return;
  try {
    await api('DELETE', '/messages');
    state.thread = null;
    composeNote('Emulator reset.');
  } catch (err) {
    composeNote(errorText(err), true);
  }
  poke();
});
autosize();
tick();
