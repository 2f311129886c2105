// Message records in a fixed-size ring (memory stays bounded under benchmarks) with a SID index
// kept in step with evictions.
import type { Task } from './scheduler.js';
import type { EmulatedMessage, MessageDirection, MessageSource, MessageStatus, WebhookDelivery } from './types.js';

/** Shared by every message without media or webhooks: up to 100 000 records are kept, each allocation counts for GC. */
export const NONE: readonly never[] = Object.freeze([]);

/** A status change; times are epoch ms internally (Dates only in snapshots). */
export interface Change {
  status: MessageStatus;
  at: number;
  errorCode: number | null;
}

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
  history: Change[];
  /** NONE until the first delivery: use addWebhook. */
  webhooks: readonly WebhookDelivery[];
  /** Made by a Messages API create (what createCount counts). */
  counted: boolean;
  /** Removed through the API: gone from fetch/list, still counted. */
  deleted: boolean;
  /** How the progression ends. */
  outcome: 'delivered' | 'sent' | 'undelivered' | 'failed';
  outcomeCode: number | null;
  /** The next progression step, so that a cancel can stop it. */
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
  scanNewest(fn: (m: Msg) => boolean | void): void {
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

export function addWebhook(m: Msg, d: WebhookDelivery): void {
  if (m.webhooks === NONE) m.webhooks = [d];
  else (m.webhooks as WebhookDelivery[]).push(d);
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
    history: m.history.map((h) => ({ status: h.status, at: new Date(h.at), errorCode: h.errorCode })),
    webhooks: m.webhooks.map((w) => ({ ...w })),
  };
}
