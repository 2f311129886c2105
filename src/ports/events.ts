// The events outbox (written in the same transaction as the state change that causes it), the
// tenants' webhook endpoints, and the deliveries of events to them with every attempt.
import type { Tx } from './tx.js';

/** One event. `data` is JSON: the resource as the API returns it (message events: the row, see services/events.ts). */
export interface EventRecord {
  /** Time-ordered (UUIDv7): the order of the event log and the stream. */
  id: string;
  tenant_id: string;
  type: string;
  occurred_at: number;
  data: string;
}

export interface EventListQuery {
  tenantId: string;
  types?: string[];
  /** occurred_at >= since */
  since?: number;
  /** id > after (oldest first). */
  after?: string;
  limit: number;
}

/** The one way every feature raises events: `append` joins the caller's transaction. */
export interface EventsPort {
  append(tx: Tx, events: EventRecord[]): Promise<void>;
}

export interface EventsRepository extends EventsPort {
  list(q: EventListQuery): Promise<EventRecord[]>;
  get(tenantId: string, id: string): Promise<EventRecord | undefined>;
  /**
   * Events of every tenant with id > after (oldest first), for the in-process feed (the stream,
   * `relay.on`); `after` null = from the newest minus nothing (only new ones).
   */
  feed(after: string | null, limit: number): Promise<EventRecord[]>;
  /**
   * Fans out up to `limit` events not yet fanned out: one delivery row per (event, matching
   * enabled endpoint), created in one statement, and the events marked, in one transaction (rows
   * claimed with SKIP LOCKED on PostgreSQL). Returns how many events were fanned out.
   */
  fanOut(limit: number, now: number, newId: () => string, matches: (patterns: string[], type: string) => boolean): Promise<number>;
  deleteOlderThan(before: number, limit: number): Promise<number>;
}

export interface WebhookEndpointRecord {
  id: string;
  tenant_id: string;
  url: string;
  /** JSON array of patterns (exact types, `group.*`, `*`). */
  event_types: string;
  enabled: number;
  description: string | null;
  /** The signing secret (`whsec_…`), encrypted when a master key is configured. */
  secret: string;
  /** The secret before the last rotation, still signed with until `previous_secret_expires_at`. */
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  /** Why the relay disabled it ('gone': the endpoint answered 410; 'failing': failures for too long). */
  disabled_reason: string | null;
  /** Start of the current run of failed attempts (null after a success). */
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveryRecord {
  id: string;
  tenant_id: string;
  event_id: string;
  endpoint_id: string;
  /** pending | succeeded | failed (the retry schedule ran out) */
  status: string;
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  locked_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookAttemptRecord {
  id: string;
  tenant_id: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  attempted_at: number;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  /** The start of the response body, at most 1 KB. */
  response_excerpt: string | null;
  success: number;
}

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery {
  delivery: WebhookDeliveryRecord;
  event: EventRecord;
  endpoint: WebhookEndpointRecord;
}

export interface DeliveryOutcome {
  attempt: WebhookAttemptRecord;
  /** null: succeeded or given up (see status). */
  nextAttemptAt: number | null;
  status: 'pending' | 'succeeded' | 'failed';
}

/** One signed POST of an event to an endpoint. */
export interface WebhookPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface WebhookResponse {
  /** null: no HTTP answer (refused address, connection error, timeout). */
  status: number | null;
  error: string | null;
  /** The start of the response body (at most 1 KB). */
  excerpt: string | null;
  latencyMs: number;
}

/** HTTP to the host application, with the SSRF guard: addresses are checked when resolved, and connected to as checked. */
export interface WebhookTransport {
  /** Why the URL may not be used (refused address, unresolvable host, scheme), or null. */
  check(url: string): Promise<string | null>;
  post(p: WebhookPost): Promise<WebhookResponse>;
}

export interface WebhookEndpointsRepository {
  insert(row: WebhookEndpointRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<WebhookEndpointRecord | undefined>;
  list(tenantId: string): Promise<WebhookEndpointRecord[]>;
  update(
    tenantId: string,
    id: string,
    set: Partial<Omit<WebhookEndpointRecord, 'id' | 'tenant_id' | 'created_at'>>,
  ): Promise<WebhookEndpointRecord | undefined>;
  delete(tenantId: string, id: string): Promise<boolean>;
  attempts(tenantId: string, endpointId: string, before: string | null, limit: number): Promise<WebhookAttemptRecord[]>;
  /**
   * Leases up to `limit` due deliveries of enabled endpoints not in `exclude` to `workerId`, in one
   * statement (FOR UPDATE SKIP LOCKED on PostgreSQL).
   */
  claimDue(workerId: string, now: number, leaseMs: number, limit: number, exclude: string[]): Promise<ClaimedDelivery[]>;
  /** Gives leases back (deliveries claimed beyond an endpoint's concurrency). */
  release(workerId: string, ids: string[]): Promise<void>;
  /** Records attempts and their deliveries' next state in one transaction; endpoints' failure runs follow. */
  record(workerId: string, outcomes: DeliveryOutcome[], now: number): Promise<void>;
  /** Disables an endpoint (410, or failing too long) and appends the alert event in one transaction. */
  disable(tenantId: string, id: string, reason: string, now: number, alert: EventRecord | null): Promise<boolean>;
  /** Redelivery: a pending delivery of the event to each of its tenant's matching enabled endpoints (or reset ones). */
  redeliver(event: EventRecord, endpoints: WebhookEndpointRecord[], now: number, newId: () => string): Promise<number>;
  /** Deliveries still to make (every tenant) and the creation time of the oldest: the metrics' backlog gauge. */
  backlog(): Promise<{ pending: number; oldestCreatedAt: number | null }>;
}
