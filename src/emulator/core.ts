// The emulator's state and the life of a message: pacing per sender, the status progression on
// the shared scheduler, prices, opt-outs and signed status callbacks.
import { normalizeRecipient } from '../core/phone.js';
import { countSegments } from '../core/segments.js';
import { Chaos } from './chaos.js';
import { asyncErrorMessage } from './errors.js';
import { Scheduler } from './scheduler.js';
import { addHistory, addWebhook, historyWith, MessageStore, NONE, type Delivery, type Msg, type SenderQueue } from './store.js';
import type { EmulatorLogger, EmulatorOptions, FailureScript, MessageDirection, MessageSource, MessageStatus } from './types.js';
import { DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_NUMBERS } from './defaults.js';
import { newIncomingNumber, newMessagingService, type IncomingNumber, type MessagingService } from './account-state.js';
import { sid } from './util.js';
import { VerifyState } from './verify-state.js';
import { WebhookClient } from './webhooks.js';

const DEFAULT_RATES: Record<string, string> = { US: '0.0079', CA: '0.0079', '*': '0.0500' };
const FINAL: ReadonlySet<MessageStatus> = new Set(['delivered', 'undelivered', 'failed', 'canceled', 'received']);

// Scheduler lanes of the fixed-delay steps (sending → sent, sent → delivered).
const LANE_SENT = 0;
const LANE_DLR = 1;
const LANES = 2;

const silentLogger: EmulatorLogger = { info() {}, warn() {} };

export interface Recipient {
  /** E.164, or whatsapp:+E.164. */
  address: string;
  e164: string;
  country: string | undefined;
  type: string | undefined;
}

export interface OutboundInput {
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  media: string[];
  statusCallback: string | null;
  validityPeriod: number;
  sendAt: Date | null;
  direction: MessageDirection;
  source: MessageSource;
  counted: boolean;
  country: string | undefined;
  lineType: string | undefined;
  /** Fails right after creation with this code (e.g. a TwiML reply to an opted-out handset: 21610). */
  failCode?: number;
}

export class Core {
  readonly accountSid: string;
  readonly authToken: string;
  /** Accepted `Authorization` header values, precomputed so auth is one Set lookup. */
  readonly authHeaders = new Set<string>();
  readonly apiKeySids: string[];
  readonly numbers: string[];
  /** Owned number → the configured string itself (so messages share it instead of holding a parsed copy). */
  readonly owned: Map<string, string>;
  readonly senderIds: Set<string>;
  readonly messagingServiceSids: string[];
  readonly msSet: Set<string>;
  publicBaseUrl: string | null;
  defaultStatusCallback: string | null;
  /** Where inbound messages go when neither the number nor its Messaging Service names a URL. */
  inboundUrl: string | null;
  /** The owned numbers as IncomingPhoneNumber resources, by E.164. */
  readonly phoneNumbers: Map<string, IncomingNumber>;
  /** The Messaging Services, by MG… sid. */
  readonly services: Map<string, MessagingService>;
  /** When this emulator started: the Account's creation date. */
  readonly startedAt: number;
  readonly delays: { queuedToSending: number; sendingToSent: number; sentToDelivered: number };
  readonly mps: number;
  readonly queueLimit: number;
  readonly maxMessages: number;
  readonly rates: Record<string, string>;
  private readonly rateUnits = new Map<string, number>();
  readonly advancedOptOut: boolean;
  readonly clock: { now(): Date };
  /** Epoch ms of the emulator's clock (no Date allocation with the real clock). */
  readonly nowMs: () => number;
  readonly logger: EmulatorLogger;
  readonly onApiRequest: EmulatorOptions['onApiRequest'];
  readonly callbacksDefault: boolean;

  readonly store: MessageStore;
  readonly scheduler: Scheduler<Msg>;
  readonly webhooks: WebhookClient;
  readonly chaos: Chaos;
  readonly verify = new VerifyState();
  /** `${ownedNumber}|${handset}` pairs where the handset texted STOP. */
  readonly optOuts = new Set<string>();
  readonly scripts = new Map<string, FailureScript>();
  private senders = new Map<string, SenderQueue>();
  private seq = 0;
  private recipients = new Map<string, Recipient | null>();

  constructor(opts: EmulatorOptions) {
    this.accountSid = opts.accountSid ?? DEFAULT_ACCOUNT_SID;
    this.authToken = opts.authToken ?? DEFAULT_AUTH_TOKEN;
    if (!/^AC[0-9a-fA-F]{32}$/.test(this.accountSid)) throw new Error('accountSid must be AC followed by 32 hex digits');
    if (!this.authToken) throw new Error('authToken must not be empty');
    this.authHeaders.add(basic(this.accountSid, this.authToken));
    this.apiKeySids = [];
    for (const k of opts.apiKeys ?? []) {
      if (!/^SK[0-9a-fA-F]{32}$/.test(k.sid) || !k.secret) throw new Error('apiKeys need an SK… sid and a secret');
      this.authHeaders.add(basic(k.sid, k.secret));
      this.apiKeySids.push(k.sid);
    }
    this.numbers = [...(opts.numbers ?? DEFAULT_NUMBERS)];
    if (this.numbers.length === 0) throw new Error('numbers must not be empty');
    for (const n of this.numbers) if (!/^\+[1-9]\d{1,14}$/.test(n)) throw new Error(`owned number ${n} is not E.164`);
    this.owned = new Map(this.numbers.map((n) => [n, n]));
    this.senderIds = new Set(opts.senderIds ?? []);
    for (const s of this.senderIds) if (!/^[A-Za-z0-9 ]{1,11}$/.test(s)) throw new Error(`sender ID ${s} is not 1-11 letters, digits or spaces`);
    this.messagingServiceSids = opts.messagingServiceSids ? [...opts.messagingServiceSids] : [sid('MG')];
    for (const s of this.messagingServiceSids) if (!/^MG[0-9a-fA-F]{32}$/.test(s)) throw new Error(`${s} is not a Messaging Service SID`);
    this.msSet = new Set(this.messagingServiceSids);
    this.publicBaseUrl = opts.publicBaseUrl ? trimSlash(opts.publicBaseUrl) : null;
    this.defaultStatusCallback = opts.defaultStatusCallback ?? null;
    this.inboundUrl = opts.inboundUrl ?? null;
    this.delays = { queuedToSending: 50, sendingToSent: 100, sentToDelivered: 200, ...opts.delays };
    this.mps = positive(opts.mps ?? 100_000, 'mps');
    this.queueLimit = positive(opts.queueLimit ?? 36_000, 'queueLimit');
    this.maxMessages = positive(opts.maxMessages ?? 100_000, 'maxMessages');
    this.rates = { ...DEFAULT_RATES, ...opts.rates };
    for (const [country, rate] of Object.entries(this.rates)) {
      const units = Math.round(Number(rate) * 100_000);
      if (!Number.isFinite(units) || units < 0) throw new Error(`rate for ${country} must be a decimal string`);
      this.rateUnits.set(country, units);
    }
    this.advancedOptOut = opts.advancedOptOut ?? false;
    const clock = opts.clock;
    this.clock = clock ?? { now: () => new Date() };
    this.nowMs = clock ? () => clock.now().getTime() : Date.now;
    this.logger = opts.logger ?? silentLogger;
    this.onApiRequest = opts.onApiRequest;
    this.callbacksDefault = opts.callbacks ?? true;
    for (const [n, script] of Object.entries(opts.scripts ?? {})) this.setScript(n, script);
    this.startedAt = this.nowMs();
    const perNumber = opts.inboundUrls ?? {};
    for (const n of Object.keys(perNumber)) if (!this.owned.has(n)) throw new Error(`inboundUrls: ${n} is not an owned number`);
    this.phoneNumbers = new Map(this.numbers.map((n) => [n, newIncomingNumber(n, perNumber[n] ?? null, this.startedAt)]));
    this.services = new Map(this.messagingServiceSids.map((s) => [s, newMessagingService(s, this.startedAt)]));
    this.store = new MessageStore(this.maxMessages);
    this.scheduler = new Scheduler<Msg>(
      LANES,
      (m) => this.advance(m),
      (e) => this.logger.warn({ err: String(e) }, 'emulator: scheduled step failed'),
    );
    this.webhooks = new WebhookClient(() => this.authToken);
    this.chaos = new Chaos(this.callbacksDefault, opts.chaos);
  }

  now(): Date {
    return this.clock.now();
  }

  /**
   * Where a message texted to an owned number is POSTed: its Messaging Service's InboundRequestUrl
   * when the service does not defer to the number (UseInboundWebhookOnNumber false), else the
   * number's SmsUrl; the emulator-wide inboundUrl when the one that applies is not set.
   */
  inboundUrlFor(owned: string): string | null {
    const service = this.services.get(this.messagingServiceSids[0]!);
    if (service && !service.useInboundWebhookOnNumber) return service.inboundRequestUrl ?? this.inboundUrl;
    return this.phoneNumbers.get(owned)?.smsUrl ?? this.inboundUrl;
  }

  /** A create without StatusCallback: its Messaging Service's, else the emulator-wide default. */
  statusCallbackFor(messagingServiceSid: string | null): string | null {
    return (messagingServiceSid === null ? null : this.services.get(messagingServiceSid)?.statusCallback) ?? this.defaultStatusCallback;
  }

  /** Normalised recipient or null when invalid; memoised because the same numbers repeat. */
  recipient(input: string): Recipient | null {
    let r = this.recipients.get(input);
    if (r !== undefined) return r;
    const channel = input.slice(0, 9).toLowerCase() === 'whatsapp:' ? 'whatsapp' : 'sms';
    try {
      const n = normalizeRecipient(input, channel, { defaultRegion: 'US', rejectFixedLine: false });
      r = { address: n.address, e164: n.e164, country: n.country, type: n.type };
    } catch {
      r = null;
    }
    if (this.recipients.size >= 10_000) this.recipients.clear();
    this.recipients.set(input, r);
    return r;
  }

  setScript(number: string, script: FailureScript): void {
    const outcomes = ['delivered', 'sent', 'undelivered', 'failed'];
    if (typeof script !== 'object' || script === null || !outcomes.includes(script.outcome)) {
      throw new Error(`outcome must be one of ${outcomes.join(', ')}`);
    }
    if (script.errorCode !== undefined && !Number.isInteger(script.errorCode)) throw new Error('errorCode must be an integer');
    if (script.times !== undefined && !(Number.isInteger(script.times) && script.times > 0)) throw new Error('times must be a positive integer');
    const s: FailureScript = { outcome: script.outcome };
    if (script.errorCode !== undefined) s.errorCode = script.errorCode;
    if (script.times !== undefined) s.times = script.times;
    this.scripts.set(number, s);
  }

  isOptedOut(from: string | null, to: string): boolean {
    if (this.optOuts.size === 0) return false;
    if (from !== null) return this.optOuts.has(from + '|' + to);
    // A Messaging Service sends from its pool: a STOP to any pool number blocks it.
    for (const n of this.numbers) if (this.optOuts.has(n + '|' + to)) return true;
    return false;
  }

  /** True when `from` already has queueLimit messages waiting. */
  queueFull(from: string): boolean {
    const q = this.senders.get(from);
    return q !== undefined && q.waiting >= this.queueLimit;
  }

  /** Sticky sender of a Messaging Service: the same recipient always gets the same pool number. */
  pickSender(to: string): string {
    let h = 0;
    for (let i = 0; i < to.length; i++) h = (h * 31 + to.charCodeAt(i)) | 0;
    return this.numbers[Math.abs(h) % this.numbers.length]!;
  }

  /** A new message: what differs comes from the caller, the rest starts at its initial value. */
  private newMsg(
    f: Pick<
      Msg,
      | 'direction'
      | 'source'
      | 'from'
      | 'to'
      | 'body'
      | 'media'
      | 'mediaSids'
      | 'messagingServiceSid'
      | 'status'
      | 'country'
      | 'priceUnit'
      | 'dateSent'
      | 'sendAt'
      | 'validityPeriod'
      | 'statusCallback'
      | 'history'
      | 'counted'
    >,
    now: number,
  ): Msg {
    const seg = countSegments(f.body);
    return {
      seq: this.seq++,
      sid: sid(f.media.length > 0 ? 'MM' : 'SM'),
      direction: f.direction,
      source: f.source,
      from: f.from,
      to: f.to,
      body: f.body,
      createdBody: f.body,
      media: f.media.length > 0 ? f.media : NONE,
      mediaSids: f.mediaSids,
      messagingServiceSid: f.messagingServiceSid,
      status: f.status,
      errorCode: null,
      errorMessage: null,
      segments: Math.max(1, seg.segments),
      encoding: seg.encoding,
      country: f.country,
      price: null,
      priceUnit: f.priceUnit,
      dateCreated: now,
      dateUpdated: now,
      dateSent: f.dateSent,
      sendAt: f.sendAt,
      validityPeriod: f.validityPeriod,
      statusCallback: f.statusCallback,
      history: f.history,
      webhooks: NONE,
      counted: f.counted,
      deleted: false,
      outcome: 'delivered',
      outcomeCode: null,
      pending: null,
      queue: null,
      held: null,
      queuedMs: 0,
    };
  }

  createOutbound(p: OutboundInput): Msg {
    const now = this.nowMs();
    const m = this.newMsg(
      {
        direction: p.direction,
        source: p.source,
        from: p.from,
        to: p.to,
        body: p.body,
        media: p.media,
        mediaSids: NONE,
        messagingServiceSid: p.messagingServiceSid,
        status: 'queued',
        country: p.country,
        priceUnit: null,
        dateSent: null,
        sendAt: p.sendAt === null ? null : p.sendAt.getTime(),
        validityPeriod: p.validityPeriod,
        statusCallback: p.statusCallback,
        history: [],
        counted: p.counted,
      },
      now,
    );
    this.applyScript(m, p.lineType);
    this.store.add(m);
    if (p.failCode !== undefined) {
      addHistory(m, 'queued', now);
      this.finishFailure(m, 'failed', p.failCode);
      return m;
    }
    if (p.sendAt) {
      m.status = 'scheduled';
      m.pending = this.scheduler.at(Date.now() + (p.sendAt.getTime() - now), m);
    } else if (p.messagingServiceSid) {
      m.status = 'accepted';
      m.pending = this.scheduler.at(Date.now(), m);
    } else {
      // Twilio's create examples carry date_sent from the start; list filters on DateSent rely on it.
      m.dateSent = now;
      this.enqueue(m, p.from!);
    }
    addHistory(m, m.status, now);
    return m;
  }

  /** An inbound message from a handset (status received, no progression). */
  createInbound(from: string, to: string, body: string, media: string[], country: string | undefined): Msg {
    const now = this.nowMs();
    const m = this.newMsg(
      {
        direction: 'inbound',
        source: 'handset',
        from,
        to,
        body,
        media,
        mediaSids: media.length > 0 ? media.map(() => sid('ME')) : NONE,
        messagingServiceSid: this.messagingServiceSids[0] ?? null,
        status: 'received',
        country,
        priceUnit: 'USD',
        dateSent: now,
        sendAt: null,
        validityPeriod: 0,
        statusCallback: null,
        history: historyWith('received', now),
        counted: false,
      },
      now,
    );
    m.price = this.price(m);
    this.store.add(m);
    return m;
  }

  /** Only scheduled messages can be canceled: they hold no sender queue slot. */
  cancel(m: Msg): void {
    if (m.pending) m.pending.cancelled = true;
    m.pending = null;
    this.transition(m, 'canceled');
  }

  isFinal(m: Msg): boolean {
    return FINAL.has(m.status) || (m.status === 'sent' && m.outcome === 'sent');
  }

  reset(): void {
    this.scheduler.clear();
    this.store.clear();
    this.senders.clear();
    this.optOuts.clear();
    this.verify.clear();
  }

  private applyScript(m: Msg, lineType: string | undefined): void {
    const script = this.scripts.get(m.to);
    if (script) {
      m.outcome = script.outcome;
      m.outcomeCode = script.errorCode ?? (script.outcome === 'undelivered' ? 30003 : script.outcome === 'failed' ? 30008 : null);
      if (script.times !== undefined) {
        if (script.times <= 1) this.scripts.delete(m.to);
        else script.times--;
      }
    } else if (lineType === 'FIXED_LINE') {
      // Carriers cannot deliver SMS to landlines.
      m.outcome = 'undelivered';
      m.outcomeCode = 30006;
    }
  }

  /** The next step of a message, when it is due. Each step schedules the following one. */
  private advance(m: Msg): void {
    m.pending = null;
    switch (m.status) {
      case 'scheduled':
      case 'accepted':
        this.release(m);
        return;
      case 'queued':
        m.queue!.waiting--;
        m.queue = null;
        this.dispatch(m);
        return;
      case 'sending':
        this.carrier(m);
        return;
      case 'sent':
        if (m.outcome === 'undelivered') this.finishFailure(m, 'undelivered', m.outcomeCode ?? 30003);
        else {
          m.price = this.price(m);
          this.transition(m, 'delivered');
        }
        return;
      default:
        return;
    }
  }

  /** accepted/scheduled → queued: a Messaging Service picks its sender now. */
  private release(m: Msg): void {
    if (m.from === null) m.from = this.pickSender(m.to);
    if (m.sendAt !== null) m.dateSent = this.nowMs();
    if (this.queueFull(m.from)) {
      this.finishFailure(m, 'failed', 30001);
      return;
    }
    this.transition(m, 'queued');
    this.enqueue(m, m.from);
  }

  private enqueue(m: Msg, from: string): void {
    let q = this.senders.get(from);
    if (!q) {
      q = { nextFree: 0, waiting: 0 };
      this.senders.set(from, q);
    }
    const now = Date.now();
    const dispatchAt = Math.max(now + this.delays.queuedToSending, q.nextFree);
    q.nextFree = dispatchAt + (m.segments * 1000) / this.mps;
    q.waiting++;
    m.queue = q;
    m.queuedMs = now;
    m.pending = this.scheduler.at(dispatchAt, m);
  }

  private dispatch(m: Msg): void {
    if (Date.now() - m.queuedMs > m.validityPeriod * 1000) {
      this.finishFailure(m, 'failed', 30036);
      return;
    }
    this.transition(m, 'sending');
    this.scheduler.inLane(LANE_SENT, Date.now() + this.delays.sendingToSent, m);
  }

  private carrier(m: Msg): void {
    if (m.outcome === 'failed') {
      this.finishFailure(m, 'failed', m.outcomeCode ?? 30008);
      return;
    }
    if (m.outcome === 'sent') m.price = this.price(m);
    this.transition(m, 'sent');
    if (m.outcome !== 'sent') this.scheduler.inLane(LANE_DLR, Date.now() + this.delays.sentToDelivered, m);
  }

  private finishFailure(m: Msg, status: 'failed' | 'undelivered', code: number): void {
    m.pending = null;
    m.errorCode = code;
    m.errorMessage = asyncErrorMessage(code);
    // Failed messages are not charged; undelivered ones are.
    if (status === 'undelivered') m.price = this.price(m);
    else m.priceUnit = 'USD';
    this.transition(m, status);
  }

  private price(m: Msg): string {
    m.priceUnit = 'USD';
    const units = this.rateUnits.get(m.country ?? '') ?? this.rateUnits.get('*') ?? 0;
    return '-' + ((units * m.segments) / 100_000).toFixed(5);
  }

  private transition(m: Msg, status: MessageStatus): void {
    const now = this.nowMs();
    m.status = status;
    m.dateUpdated = now;
    addHistory(m, status, now);
    this.emitStatus(m);
  }

  /** Twilio calls back on every status change after creation (not for the initial status). */
  private emitStatus(m: Msg): void {
    const url = m.statusCallback;
    if (url === null || !this.chaos.callbacksOn) return;
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      From: m.from ?? '',
      MessageSid: m.sid,
      MessageStatus: m.status,
      SmsSid: m.sid,
      SmsStatus: m.status,
      To: m.to,
    };
    if (m.messagingServiceSid) params.MessagingServiceSid = m.messagingServiceSid;
    if (m.errorCode !== null && (m.status === 'failed' || m.status === 'undelivered')) params.ErrorCode = String(m.errorCode);
    if (m.status === 'delivered' || m.status === 'undelivered') params.RawDlrDoneDate = rawDlrDate(m.dateUpdated);
    const status = m.status;
    const record = (d: Delivery): void => addWebhook(m, d);
    const send = (chaos?: Delivery['chaos']): Promise<unknown> =>
      this.webhooks.send({ kind: 'status', url, params, messageStatus: status, keepBody: false, record, ...(chaos ? { chaos } : {}) });
    const held = m.held;
    m.held = null;
    const { chaos } = this;
    if (chaos.dropRate > 0 && Math.random() < chaos.dropRate) {
      record({
        kind: 'status',
        url: url.split('#', 1)[0]!,
        messageStatus: status,
        attempt: 0,
        token: '',
        statusCode: null,
        error: null,
        durationMs: 0,
        at: Date.now(),
        chaos: 'dropped',
      });
      held?.();
      return;
    }
    if (chaos.reorderRate > 0 && !this.isFinal(m) && Math.random() < chaos.reorderRate) {
      m.held = () => void send('reordered');
      held?.();
      return;
    }
    const sent = send();
    // A held (reordered) callback goes out once this later one has been answered.
    if (held) void sent.then(held);
    if (chaos.duplicateRate > 0 && Math.random() < chaos.duplicateRate) void send('duplicate');
  }
}

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(user + ':' + password).toString('base64');
}

export function trimSlash(u: string): string {
  return u.endsWith('/') ? u.slice(0, -1) : u;
}

function positive(v: number, name: string): number {
  if (!(typeof v === 'number' && v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
}

/** RawDlrDoneDate: YYMMDDhhmm, UTC here (carriers vary). */
function rawDlrDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
}
