// The messages aggregate: the outbox (one row per message, both directions), its event history,
// the idempotency keys of the send API, and the one writer of message status (`transition`).
import type { Tx } from './tx.js';

export interface MessageRecord {
  id: string;
  tenant_id: string;
  direction: string;
  channel: string;
  to_addr: string;
  from_addr: string | null;
  messaging_service_sid: string | null;
  body: string | null;
  media_urls: string | null;
  encoding: string | null;
  segments: number;
  status: string;
  provider_sid: string | null;
  error_code: string | null;
  provider_code: number | null;
  error_message: string | null;
  price: string | null;
  price_unit: string | null;
  attempts: number;
  max_attempts: number;
  next_attempt_at: number | null;
  locked_until: number | null;
  locked_by: string | null;
  /** Set while a provider call is (or may be) in flight; a claim that finds it set must settle first. */
  in_flight_since: number | null;
  send_at: number | null;
  /** Why the sending policy held the message (then `scheduled` until `send_at`). */
  hold_reason: string | null;
  expires_at: number | null;
  validity_period: number | null;
  idempotency_key: string | null;
  conversation_id: string | null;
  metadata: string | null;
  /** transactional | marketing | otp (core/categories.ts). */
  category: string;
  /** The template (and its version) the body was rendered from. */
  template_name: string | null;
  template_version: number | null;
  /** Length (UTF-16 units) of the body before the length policy truncated it; null when it was not. */
  truncated_from: number | null;
  /** The recipient's IANA time zone given on the send request (quiet hours); null: from the number. */
  recipient_timezone: string | null;
  sensitive: number;
  /** 1 when `price` is an estimate (core/pricing.ts), not the provider's; storage defaults it to 0. */
  price_estimated?: number;
  /** The other party's ISO country, fixed when usage first counts the message. */
  country?: string | null;
  /** 1 when counted against the sending limits (on accept, or at dispatch); storage defaults it to 0. */
  metered?: number;
  /** When retention or an erasure redacted the body and media URLs. */
  redacted_at?: number | null;
  /** The campaign that created the message (issue 14); absent or null for any other message. */
  campaign_id?: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

/** One entry of a message's history (every status change, with its source). */
export interface NewMessageEventRecord {
  message_id: string;
  tenant_id: string;
  status: string;
  source: string;
  error_code: string | null;
  provider_code: number | null;
  data: string | null;
  created_at: number;
}

export interface MessageEventRecord extends NewMessageEventRecord {
  id: number;
}

export interface MessageListQuery {
  tenantId: string;
  status?: string;
  to?: string;
  since?: number;
  until?: number;
  category?: string;
  /** A template's name. */
  template?: string;
  /** A campaign's id. */
  campaign?: string;
  /** Return rows after this one in the list's order (created_at, then id, newest first). */
  before?: { createdAt: number; id: string };
  limit: number;
}

/** Where an event comes from, and what it carries beyond the status move itself. */
export interface EventSpec {
  source: string;
  /** Defaults to the provider_code the move sets (else null). */
  provider_code?: number | null;
  /** Serialized as JSON. */
  data?: Record<string, unknown> | null;
}

/** A new message and the source of its first event. */
export interface NewMessage {
  row: MessageRecord;
  event: EventSpec;
}

/** The columns a status move may set besides `status`. */
export type MessageChanges = Partial<Omit<MessageRecord, 'id' | 'tenant_id' | 'direction' | 'status'>> & { status: string };

/**
 * Which messages a status callback signed by an account may touch: those of the signing tenant,
 * every message (one account sends for everyone), or those of tenants without their own Twilio
 * credentials (they send through the installation's account).
 */
export type SignerScope = { tenantId: string } | { all: true } | { withoutOwnAccount: true };

/**
 * The message as the caller read it in this transaction: when its status cannot move to the target,
 * the move is recorded (record 'always') without another statement.
 */
export interface SeenMessage {
  tenant_id: string;
  to_addr: string;
  status: string;
}

/**
 * One status move. Guards are ANDed: the message must be able to move to `set.status` from its
 * current status (forward-only, src/core/status.ts), unless `leasedBy` is given (a worker writing
 * the outcome of its own claim); `cancelable` additionally requires that nothing can have reached
 * the provider yet (no in-flight marker, no live lease).
 */
export interface StatusMove {
  target: { id: string; tenantId?: string; seen?: SeenMessage } | { providerSid: string; scope: SignerScope };
  set: MessageChanges;
  leasedBy?: string;
  cancelable?: boolean;
  at: number;
  event: EventSpec;
  /**
   * 'moved' (default): the event is appended when the message moved. 'always' (id targets only):
   * also when it did not; the event's data then says `applied: false` and the status `kept`.
   */
  record?: 'moved' | 'always';
}

export interface MoveResult {
  moved: boolean;
  /** The message, when it moved or (record 'always') exists. */
  message?: MovedMessage;
}

export interface MovedMessage {
  id: string;
  tenant_id: string;
  to_addr: string;
  status: string;
  /** Present when it moved (what metrics and logs need, from the same statement). */
  provider_sid?: string | null;
  category?: string;
  channel?: string;
}

/** A status callback's raw row (`webhook_events`), recorded with its move by `transitionCallbacks`. */
export interface RawCallback {
  id: string;
  /** The tenant whose account signed the callback. */
  tenant_id: string;
  message_sid: string;
  message_status: string;
  idempotency_token: string | null;
  /** The raw form fields (JSON text); kept only while no message matches the SID. */
  params: string;
  created_at: number;
}

export interface CallbackResult extends MoveResult {
  /** Its raw row was new (false: a duplicate of a callback recorded before). */
  isNew: boolean;
  /** The message it names, when new, unmoved, and one the signer may touch. */
  found?: SeenMessage & { id: string };
  /** The unmoved callback's not-applied event was written with it (else the caller observes `found`). */
  recorded: boolean;
}

export type IdempotencyOutcome = { kind: 'new' } | { kind: 'replay'; status: number; body: string } | { kind: 'mismatch' };

export interface IdempotentAnswer {
  tenantId: string;
  key: string;
  requestHash: string;
  status: number;
  body: string;
  now: number;
  ttlMs: number;
}

/** An accepted request: its message, recorded under its idempotency key when it has one. */
export interface AcceptItem {
  message: NewMessage;
  idempotency?: IdempotentAnswer;
}

export interface MessagesRepository {
  /** Inserts messages with their first events (set-based: one statement per table). */
  insert(tx: Tx, messages: NewMessage[]): Promise<void>;
  /** Inserts a received message with its first event; false when one with its provider SID is already stored. */
  insertReceived(tx: Tx, message: NewMessage): Promise<boolean>;
  /**
   * The send API's first write for a batch of requests: records each idempotent answer unless a live
   * entry exists (then that entry decides: same request → replay, other request → mismatch); a
   * request without a key is new. Outcomes in input order; the caller inserts the new messages.
   */
  claimKeys(tx: Tx, items: AcceptItem[]): Promise<IdempotencyOutcome[]>;
  /**
   * claimKeys, then the insert of the new requests' messages. On PostgreSQL the writes are one
   * statement (`singleAccept`); replays and mismatches are read after it.
   */
  accept(tx: Tx, items: AcceptItem[]): Promise<IdempotencyOutcome[]>;
  readonly singleAccept: boolean;
  /** Replaces answers recorded by `claimKeys` in `tx` (the policy held the message: its answer says so). */
  rewriteAnswers(tx: Tx, answers: IdempotentAnswer[]): Promise<void>;
  /** Forgets answers recorded by `claimKeys` in `tx` (the policy refused the request: a retry is judged anew). */
  forgetAnswers(tx: Tx, keys: { tenantId: string; key: string }[]): Promise<void>;
  get(tenantId: string, id: string): Promise<MessageRecord | undefined>;
  list(q: MessageListQuery): Promise<MessageRecord[]>;
  events(messageId: string): Promise<MessageEventRecord[]>;
  /**
   * The one writer of message status: applies forward-only moves (in input order for moves of one
   * message) and appends their events. Results in input order.
   */
  transition(tx: Tx, moves: StatusMove[]): Promise<MoveResult[]>;
  /**
   * A round of status callbacks (moves by provider SID, at most one per SID, record 'always', with
   * their raw rows in input order): the moves as `transition`, and each raw row de-duplicated, its
   * fields kept only when no message matches. On PostgreSQL a round of one shape is one statement,
   * not-applied events of out-of-order callbacks included (`oneStatement`).
   */
  transitionCallbacks(tx: Tx, moves: StatusMove[], raws: RawCallback[]): Promise<CallbackResult[]>;
  /** Whether `transitionCallbacks(moves)` issues a single statement. */
  oneStatement(moves: StatusMove[]): boolean;
  /** transition in the next group commit of its own; resolves after it committed. */
  commitTransition(moves: StatusMove[]): Promise<MoveResult[]>;
  /**
   * Leases up to `limit` due messages to `workerId` and marks them in flight in the same statement,
   * so a crash after this commit can never lead to a blind resend.
   */
  claimDue(workerId: string, now: number, leaseMs: number, limit: number): Promise<MessageRecord[]>;
  /**
   * Gives back claimed messages that were never started (graceful stop); their in-flight marker is
   * cleared only when this claim set it.
   */
  releaseLeases(workerId: string, claims: { id: string; claimedAt: number }[], now: number): Promise<void>;
  /** Whether a provider SID already belongs to a message (settling ambiguous sends). */
  providerSidTaken(sid: string): Promise<boolean>;
  /** A live idempotency entry's request hash (an invalid request under a used key is a mismatch). */
  idempotencyHash(tenantId: string, key: string, now: number): Promise<string | undefined>;
  deleteExpiredIdempotencyKeys(now: number): Promise<number>;
  /**
   * Outbox depth (pending and scheduled messages) and the earliest next attempt among them, in one
   * statement served by the partial outbox index (metrics, read on scrape).
   */
  outboxStats(): Promise<{ depth: number; earliestAttemptAt: number | null }>;
  /** One tenant's outbox: counts by status (pending, scheduled) and the oldest pending message's created_at. */
  tenantOutbox(tenantId: string): Promise<{ pending: number; scheduled: number; oldestPendingAt: number | null }>;
}
