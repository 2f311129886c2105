// Tenants' webhook endpoints: where events go, which ones, and the signing secret (Standard
// Webhooks `whsec_…`, shown once; a rotation keeps the previous one signing for 24 hours).
import { AppError } from '../core/errors.js';
import type { Cipher } from '../core/cipher.js';
import { isEventPattern } from '../core/events.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import type { Clock, Random, WebhookAttemptRecord, WebhookEndpointRecord, WebhookEndpointsRepository, WebhookTransport } from '../ports.js';
import type { Tenant } from './tenants.js';

export interface WebhookEndpointResource {
  id: string;
  url: string;
  event_types: string[];
  enabled: boolean;
  description: string | null;
  /** 'gone' (the endpoint answered 410) or 'failing' (it failed for too long), when the relay disabled it. */
  disabled_reason: string | null;
  /** Until when the previous secret still signs (after a rotation). */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookAttemptResource {
  id: string;
  event_id: string;
  attempted_at: string;
  status_code: number | null;
  success: boolean;
  error: string | null;
  latency_ms: number;
  response_excerpt: string | null;
}

export interface EndpointInput {
  url?: unknown;
  event_types?: unknown;
  enabled?: unknown;
  description?: unknown;
}

export interface WebhookEndpointsDeps {
  endpoints: WebhookEndpointsRepository;
  transport: Pick<WebhookTransport, 'check'>;
  /** Encrypts secrets at rest when a master key is configured (else they are stored as is). */
  cipher: Cipher | null;
  clock: Clock;
  random: Random;
  /** Told when endpoints change (the delivery worker drops its cached state). */
  onChanged?(): void;
}

const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;
const MAX_ENDPOINTS = 20;
const ID = /^[0-9a-f-]{36}$/;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const bad = (field: string, message: string) => new AppError('SMS_ERR_VALIDATION', message, { field });

export function toEndpointResource(r: WebhookEndpointRecord, now: number): WebhookEndpointResource {
  return {
    id: r.id,
    url: r.url,
    event_types: JSON.parse(r.event_types) as string[],
    enabled: r.enabled === 1,
    description: r.description,
    disabled_reason: r.disabled_reason,
    previous_secret_expires_at: r.previous_secret_expires_at !== null && r.previous_secret_expires_at > now ? iso(r.previous_secret_expires_at) : null,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
}

function toAttemptResource(a: WebhookAttemptRecord): WebhookAttemptResource {
  return {
    id: a.id,
    event_id: a.event_id,
    attempted_at: iso(a.attempted_at)!,
    status_code: a.status_code,
    success: a.success === 1,
    error: a.error,
    latency_ms: a.latency_ms,
    response_excerpt: a.response_excerpt,
  };
}

export class WebhookEndpointsService {
  constructor(private readonly d: WebhookEndpointsDeps) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  private newSecret(): string {
    return `whsec_${this.d.random.bytes(24).toString('base64')}`;
  }

  private seal(id: string, secret: string): string {
    return this.d.cipher ? this.d.cipher.encrypt(secret, `webhook_endpoint:${id}`) : secret;
  }

  private open(id: string, stored: string): string {
    return this.d.cipher && !stored.startsWith('whsec_') ? this.d.cipher.decrypt(stored, `webhook_endpoint:${id}`) : stored;
  }

  /** The secrets that sign a delivery now: the current one, and the previous one during its overlap. */
  signingSecrets(r: WebhookEndpointRecord, now: number): string[] {
    const out = [this.open(r.id, r.secret)];
    if (r.previous_secret !== null && r.previous_secret_expires_at !== null && r.previous_secret_expires_at > now) out.push(this.open(r.id, r.previous_secret));
    return out;
  }

  private async url(input: unknown): Promise<string> {
    if (typeof input !== 'string' || input.length === 0 || input.length > 2048) throw bad('url', 'url must be an http(s) URL of at most 2048 characters');
    const refusal = await this.d.transport.check(input);
    if (refusal) throw new AppError('SMS_ERR_WEBHOOK_URL_REFUSED', `This URL cannot receive webhooks: ${refusal}.`, { field: 'url' });
    return new URL(input).toString();
  }

  private types(input: unknown): string[] {
    if (!Array.isArray(input) || input.length === 0 || input.length > 50 || !input.every((t) => typeof t === 'string'))
      throw bad('event_types', "event_types must be a list of 1 to 50 event types ('message.delivered', 'message.*' or '*')");
    const unknown = (input as string[]).find((t) => !isEventPattern(t));
    if (unknown !== undefined) throw bad('event_types', `Unknown event type '${unknown.slice(0, 64)}'.`);
    return [...new Set(input as string[])];
  }

  private description(input: unknown): string | null {
    if (input === undefined || input === null) return null;
    if (typeof input !== 'string' || input.length > 500) throw bad('description', 'description must be a string of at most 500 characters');
    return input;
  }

  private enabled(input: unknown): boolean {
    if (typeof input !== 'boolean') throw bad('enabled', 'enabled must be true or false');
    return input;
  }

  async create(tenant: Tenant, input: EndpointInput): Promise<WebhookEndpointResource & { secret: string }> {
    if (input === null || typeof input !== 'object') throw bad('body', 'The request body must be a JSON object.');
    const url = await this.url(input.url);
    const types = this.types(input.event_types ?? ['*']);
    const description = this.description(input.description);
    const enabled = input.enabled === undefined ? true : this.enabled(input.enabled);
    if ((await this.d.endpoints.list(tenant.id)).length >= MAX_ENDPOINTS)
      throw new AppError('SMS_ERR_VALIDATION', `A tenant has at most ${MAX_ENDPOINTS} webhook endpoints.`, { field: 'url' });
    const now = this.now();
    const id = this.d.random.id();
    const secret = this.newSecret();
    const row: WebhookEndpointRecord = {
      id,
      tenant_id: tenant.id,
      url,
      event_types: JSON.stringify(types),
      enabled: enabled ? 1 : 0,
      description,
      secret: this.seal(id, secret),
      previous_secret: null,
      previous_secret_expires_at: null,
      disabled_reason: null,
      failing_since: null,
      created_at: now,
      updated_at: now,
    };
    await this.d.endpoints.insert(row);
    this.d.onChanged?.();
    return { ...toEndpointResource(row, now), secret };
  }

  async list(tenant: Tenant): Promise<{ data: WebhookEndpointResource[] }> {
    const now = this.now();
    return { data: (await this.d.endpoints.list(tenant.id)).map((r) => toEndpointResource(r, now)) };
  }

  private async row(tenant: Tenant, id: string): Promise<WebhookEndpointRecord> {
    const r = typeof id === 'string' && ID.test(id) ? await this.d.endpoints.get(tenant.id, id) : undefined;
    if (!r) throw new AppError('SMS_ERR_NOT_FOUND', 'Webhook endpoint not found.', { id: String(id).slice(0, 64) });
    return r;
  }

  async get(tenant: Tenant, id: string): Promise<WebhookEndpointResource> {
    return toEndpointResource(await this.row(tenant, id), this.now());
  }

  async update(tenant: Tenant, id: string, input: EndpointInput): Promise<WebhookEndpointResource> {
    if (input === null || typeof input !== 'object') throw bad('body', 'The request body must be a JSON object.');
    await this.row(tenant, id);
    const now = this.now();
    const set: Partial<WebhookEndpointRecord> = { updated_at: now };
    if (input.url !== undefined) set.url = await this.url(input.url);
    if (input.event_types !== undefined) set.event_types = JSON.stringify(this.types(input.event_types));
    if (input.description !== undefined) set.description = this.description(input.description);
    if (input.enabled !== undefined) {
      set.enabled = this.enabled(input.enabled) ? 1 : 0;
      // Enabling again starts afresh: no reason, no run of failures.
      if (set.enabled === 1) Object.assign(set, { disabled_reason: null, failing_since: null });
    }
    const r = await this.d.endpoints.update(tenant.id, id, set);
    if (!r) throw new AppError('SMS_ERR_NOT_FOUND', 'Webhook endpoint not found.', { id });
    this.d.onChanged?.();
    return toEndpointResource(r, now);
  }

  async delete(tenant: Tenant, id: string): Promise<void> {
    await this.row(tenant, id);
    if (!(await this.d.endpoints.delete(tenant.id, id))) throw new AppError('SMS_ERR_NOT_FOUND', 'Webhook endpoint not found.', { id });
    this.d.onChanged?.();
  }

  /** A new secret (shown once); the current one keeps signing, next to it, for 24 hours. */
  async rotateSecret(tenant: Tenant, id: string): Promise<WebhookEndpointResource & { secret: string }> {
    const cur = await this.row(tenant, id);
    const now = this.now();
    const secret = this.newSecret();
    const r = await this.d.endpoints.update(tenant.id, id, {
      secret: this.seal(id, secret),
      previous_secret: cur.secret,
      previous_secret_expires_at: now + ROTATION_OVERLAP_MS,
      updated_at: now,
    });
    if (!r) throw new AppError('SMS_ERR_NOT_FOUND', 'Webhook endpoint not found.', { id });
    this.d.onChanged?.();
    return { ...toEndpointResource(r, now), secret };
  }

  /** Attempts to deliver to the endpoint, newest first. */
  async attempts(tenant: Tenant, id: string, q: { limit?: number; cursor?: string }): Promise<{ data: WebhookAttemptResource[]; next_cursor: string | null }> {
    await this.row(tenant, id);
    const limit = pageLimit(q.limit);
    const before = decodeCursor(q.cursor, ['string']);
    const rows = await this.d.endpoints.attempts(tenant.id, id, before?.[0] ?? null, limit + 1);
    const p = page(rows, limit, (r) => [r.id]);
    return { data: p.data.map(toAttemptResource), next_cursor: p.next_cursor };
  }
}
