// Message records in a fixed-size ring (memory stays bounded under benchmarks) with a SID index
// kept in step with evictions.
import type { Task } from './scheduler.js';
import type { EmulatedMessage, MessageDirection, MessageSource, MessageStatus, StatusChange, WebhookDelivery } from './types.js';

/** Shared by every message without media or webhooks: up to 100 000 records are kept, each allocation counts for GC. */
export const NONE: readonly never[] = Object.freeze([]);

/** A webhook attempt as recorded: like WebhookDelivery with `at` in epoch ms (Dates only in snapshots). */
export interface Delivery extends Omit<WebhookDelivery, 'at'> {
  at: number;
}

const STATUSES: readonly MessageStatus[] = ['accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'canceled', 'received'];
const STATUS_INDEX = new Map(STATUSES.map((s, i) => [s, i]));

/** Pacing state of one sender: when it can send again and how many messages wait. */
export interface SenderQueue {
  nextFree: number;
  waiting: number;
}

export interface Msg {
  seq: number;
  sid: string;
  direction: MessageDirection;
  source: MessageSource;
  from: string | null;
  to: string;
  body: string;
  /** Body at creation, for createCount after a redaction. */
  createdBody: string;
  media: readonly string[];
  /** ME… sids of inbound media (served as redirects to the handset's URLs). */
  mediaSids: readonly string[];
  messagingServiceSid: string | null;
  status: MessageStatus;
  errorCode: number | null;
  errorMessage: string | null;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
  /** ISO country of the recipient, for the price. */
  country: string | undefined;
  price: string | null;
  priceUnit: string | null;
  dateCreated: number;
  dateUpdated: number;
  dateSent: number | null;
  sendAt: number | null;
  validityPeriod: number;
  /** Real time (ms) it entered its sender's queue; ValidityPeriod counts from here. */
  queuedMs: number;
  statusCallback: string | null;
  /**
   * Status changes as flat numbers [status index, epoch ms, …]: one array of doubles instead of an
   * object per change keeps the retained messages cheap for the GC. Use addHistory.
   */
  history: number[];
  /** NONE until the first delivery: use addWebhook. */
  webhooks: readonly Delivery[];
  /** Made by a Messages API create (what createCount counts). */
  counted: boolean;
  /** Removed through the API: gone from fetch/list, still counted. */
  deleted: boolean;
  /** How the progression ends. */
  outcome: 'delivered' | 'sent' | 'undelivered' | 'failed';
  outcomeCode: number | null;
  /** The next step while it waits in the scheduler's heap (accepted, scheduled, queued), so that a cancel can stop it. */
  pending: Task<Msg> | null;
  /** Its sender's queue while it waits there. */
  queue: SenderQueue | null;
  /** Chaos: a status callback held back until the next one is sent. */
  held: (() => void) | null;
}

export class MessageStore {
  // Grown by push until full (a preallocated `new Array(100_000)` is a slow dictionary-mode array).
  private ring: Msg[] = [];
  private head = 0;
  private count = 0;
  private readonly bySid = new Map<string, Msg>();

  constructor(private readonly cap: number) {}

  add(m: Msg): void {
    if (this.count === this.cap) {
      const old = this.ring[this.head]!;
      this.bySid.delete(old.sid);
      this.ring[this.head] = m;
      this.head = (this.head + 1) % this.cap;
    } else {
      this.ring.push(m);
      this.count++;
    }
    this.bySid.set(m.sid, m);
  }

  get(sid: string): Msg | undefined {
    return this.bySid.get(sid);
  }

  remove(m: Msg): void {
    m.deleted = true;
    this.bySid.delete(m.sid);
  }

  /** Newest first, deleted ones included; stop by returning false. */
  scanNewest(fn: (m: Msg) => unknown): void {
    for (let k = this.count - 1; k >= 0; k--) {
      if (fn(this.ring[(this.head + k) % this.cap]!) === false) return;
    }
  }

  /** Oldest first, deleted ones included. */
  scanOldest(fn: (m: Msg) => void): void {
    for (let k = 0; k < this.count; k++) fn(this.ring[(this.head + k) % this.cap]!);
  }

  clear(): void {
    this.ring = [];
    this.head = 0;
    this.count = 0;
    this.bySid.clear();
  }
}

export function addWebhook(m: Msg, d: Delivery): void {
  if (m.webhooks === NONE) m.webhooks = [d];
  else (m.webhooks as Delivery[]).push(d);
}

export function addHistory(m: Msg, status: MessageStatus, at: number): void {
  m.history.push(STATUS_INDEX.get(status)!, at);
}

/** A history holding one change. */
export function historyWith(status: MessageStatus, at: number): number[] {
  return [STATUS_INDEX.get(status)!, at];
}

export function snapshot(m: Msg, accountSid: string): EmulatedMessage {
  return {
    sid: m.sid,
    accountSid,
    direction: m.direction,
    source: m.source,
    from: m.from,
    to: m.to,
    body: m.body,
    media: m.media.slice(),
    messagingServiceSid: m.messagingServiceSid,
    status: m.status,
    errorCode: m.errorCode,
    errorMessage: m.errorMessage,
    segments: m.segments,
    encoding: m.encoding,
    price: m.price,
    priceUnit: m.priceUnit,
    dateCreated: new Date(m.dateCreated),
    dateUpdated: new Date(m.dateUpdated),
    dateSent: m.dateSent === null ? null : new Date(m.dateSent),
    sendAt: m.sendAt === null ? null : new Date(m.sendAt),
    statusCallback: m.statusCallback,
    history: historyOf(m),
    webhooks: m.webhooks.map((w) => ({ ...w, at: new Date(w.at) })),
  };
}

function historyOf(m: Msg): StatusChange[] {
  const out: StatusChange[] = [];
  for (let i = 0; i < m.history.length; i += 2) {
    const status = STATUSES[m.history[i]!]!;
    // Only the failure itself carries the error code.
    const errorCode = status === 'failed' || status === 'undelivered' ? m.errorCode : null;
    out.push({ status, at: new Date(m.history[i + 1]!), errorCode });
  }
  return out;
}
