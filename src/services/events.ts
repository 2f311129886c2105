// Events for the host application: how they are made (every feature appends them through the
// EventsPort in the transaction of its state change), how they read (the API resource), and the
// event log (GET /v1/events) with redelivery to webhook endpoints.
import { AppError } from '../core/errors.js';
import { EVENT_TYPES, isEventPattern, matchesEventType, type EventType } from '../core/events.js';
import { decodeCursor, encodeCursor, pageLimit } from '../core/pagination.js';
import type { Clock, EventRecord, EventsRepository, MessageRecord, Random, WebhookEndpointsRepository } from '../ports.js';
import { toMessageResource } from './message-resource.js';
import type { Tenant } from './tenants.js';

/** An event as the API, webhooks, the stream and `relay.on` show it (the Standard Webhooks payload). */
export interface EventResource {
  id: string;
  type: string;
  occurred_at: string;
  /** The tenant's id. */
  tenant: string;
  data: Record<string, unknown>;
}

/** A new event for EventsPort.append: `data` is the resource as the API returns it (never a secret or a code). */
export function newEvent(random: Random, tenantId: string, type: EventType, occurredAt: number, data: Record<string, unknown>): EventRecord {
  return { id: random.id(), tenant_id: tenantId, type, occurred_at: occurredAt, data: JSON.stringify(data) };
}

/**
 * Message events are stored as the committed row (storage writes them inside the status
 * transition, where the API resource is not at hand) and shown as the message resource with its
 * conversation; every other event's data is stored as shown.
 */
export function toEventResource(e: EventRecord): EventResource {
  const raw = JSON.parse(e.data) as Record<string, unknown>;
  const data = e.type.startsWith('message.')
    ? { ...toMessageResource(raw as unknown as MessageRecord), conversation_id: (raw.conversation_id as string | null) ?? null }
    : raw;
  return { id: e.id, type: e.type, occurred_at: new Date(e.occurred_at).toISOString(), tenant: e.tenant_id, data };
}

/** The in-process feed of committed events (worker/event-feed.ts): the stream and `relay.on` read it. */
export interface EventSource {
  subscribe(fn: (events: EventRecord[]) => void): () => void;
}

export interface EventListInput {
  /** Comma-separated types or patterns (`message.*`). */
  type?: string;
  since?: string;
  cursor?: string;
  limit?: number;
}

export interface EventsServiceDeps {
  events: EventsRepository;
  endpoints: WebhookEndpointsRepository;
  clock: Clock;
  random: Random;
  /** Told when deliveries were queued (wakes the delivery worker). */
  onQueued(): void;
}

const ID = /^[0-9a-f-]{36}$/;

/** Parses `type=` (exact types and `group.*`, comma-separated) into the exact types it names. */
export function parseTypes(input: string | undefined): string[] | undefined {
  if (input === undefined || input === '') return undefined;
  const parts = input.split(',').map((s) => s.trim());
  for (const p of parts) if (!isEventPattern(p)) throw new AppError('SMS_ERR_VALIDATION', `Unknown event type '${p.slice(0, 64)}'.`, { field: 'type' });
  if (parts.includes('*')) return undefined;
  return EVENT_TYPES.filter((t) => matchesEventType(parts, t));
}

export class EventsService {
  constructor(private readonly d: EventsServiceDeps) {}

  /**
   * Oldest first from `since` / the cursor. `next_cursor` always points after the last event
   * returned (or stays the given one), so a poller keeps it and asks again; `has_more` says whether
   * more are there now.
   */
  async list(tenant: Tenant, q: EventListInput): Promise<{ data: EventResource[]; next_cursor: string | null; has_more: boolean }> {
    const limit = pageLimit(q.limit);
    const after = decodeCursor(q.cursor, ['string']);
    let since: number | undefined;
    if (q.since !== undefined && q.since !== '') {
      since = Date.parse(q.since);
      if (Number.isNaN(since)) throw new AppError('SMS_ERR_VALIDATION', 'since must be an ISO-8601 time.', { field: 'since' });
    }
    const rows = await this.d.events.list({ tenantId: tenant.id, types: parseTypes(q.type), since, after: after?.[0], limit: limit + 1 });
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    return { data: data.map(toEventResource), next_cursor: last ? encodeCursor([last.id]) : (q.cursor ?? null), has_more: rows.length > limit };
  }

  /** Events after `lastEventId` (the stream's resume), oldest first; a malformed id resumes from now. */
  async after(tenant: Tenant, lastEventId: string, types: string[] | undefined, limit: number): Promise<EventRecord[]> {
    if (!ID.test(lastEventId)) return [];
    return this.d.events.list({ tenantId: tenant.id, types, after: lastEventId, limit });
  }

  async get(tenant: Tenant, id: string): Promise<EventResource> {
    return toEventResource(await this.row(tenant, id));
  }

  private async row(tenant: Tenant, id: string): Promise<EventRecord> {
    const r = typeof id === 'string' && ID.test(id) ? await this.d.events.get(tenant.id, id) : undefined;
    if (!r) throw new AppError('SMS_ERR_NOT_FOUND', 'Event not found.', { id: String(id).slice(0, 64) });
    return r;
  }

  /** Sends the event again to every enabled endpoint of the tenant subscribed to its type (or to one). */
  async redeliver(tenant: Tenant, id: string, endpointId?: string): Promise<{ event_id: string; endpoints: number }> {
    const event = await this.row(tenant, id);
    const all = await this.d.endpoints.list(tenant.id);
    const targets = all.filter(
      (e) => e.enabled === 1 && (endpointId === undefined ? matchesEventType(JSON.parse(e.event_types) as string[], event.type) : e.id === endpointId),
    );
    if (endpointId !== undefined && targets.length === 0)
      throw new AppError('SMS_ERR_NOT_FOUND', 'No enabled webhook endpoint with this id.', { field: 'endpoint_id' });
    const n = await this.d.endpoints.redeliver(event, targets, this.d.clock.now().getTime(), () => this.d.random.id());
    if (n > 0) this.d.onQueued();
    return { event_id: event.id, endpoints: n };
  }
}
