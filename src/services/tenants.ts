import type { Cipher } from '../core/cipher.js';
import { AppError } from '../core/errors.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import type { TenantSettings } from '../core/settings.js';
import type { Clock, Random, TenantRecord, TenantsRepository, UnitOfWork } from '../ports.js';
import { REDACTED, SYSTEM_ACTOR, type Actor, type AuditLog } from './audit.js';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  fromNumber: string | null;
  messagingServiceSid: string | null;
  whatsappFrom: string | null;
  /** ISO 3166 alpha-2 region of national-format numbers (the settings document always has one). */
  defaultRegion: string;
  /** False when the platform admin disabled the tenant (its `status` is 'disabled'). */
  enabled: boolean;
}

/** A tenant as the platform admin's API shows it. */
export interface TenantResource {
  id: string;
  slug: string;
  name: string;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

/** A tenant sends unless the platform admin disabled it (its status): the one rule for every reader. */
const isEnabled = (r: TenantRecord): boolean => r.status !== 'disabled';

export function tenantResource(r: TenantRecord): TenantResource {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    enabled: isEnabled(r),
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
  };
}

/**
 * A tenant as services see it: its identity, and its senders and region from its settings document
 * (stored values over this process's environment defaults: a process start never writes its
 * environment into the database, so processes with different environments each keep theirs).
 */
export function toTenant(r: TenantRecord, s: TenantSettings): Tenant {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    fromNumber: s.from_number,
    messagingServiceSid: s.messaging_service_sid,
    whatsappFrom: s.whatsapp_from,
    defaultRegion: s.default_region,
    enabled: isEnabled(r),
  };
}

export interface NewTenant {
  slug: string;
  name: string;
  twilioAccountSid?: string | null;
  twilioAuthToken?: string | null;
  fromNumber?: string | null;
  messagingServiceSid?: string | null;
  defaultRegion?: string | null;
  /** Tenant settings (auto-reply, keyword lists and replies …), stored as JSON. */
  settings?: Record<string, unknown>;
  enabled?: boolean;
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NAME_MAX = 200;

/** The AAD that binds an encrypted auth token to its tenant row. */
export const tokenAad = (tenantId: string) => `tenant:${tenantId}:twilio_auth_token`;

const CACHE_MS = 5_000;

export interface TenantsServiceDeps {
  tenants: TenantsRepository;
  write: UnitOfWork['write'];
  audit: AuditLog;
  clock: Clock;
  random: Random;
  /** Encrypts stored Twilio auth tokens (SMSRELAY_MASTER_KEY); null when none is configured. */
  cipher: Cipher | null;
  /** Senders and region come from the settings document (cached there, cleared on write). */
  settings: { get(tenantId: string): Promise<TenantSettings> };
}

/** Tenants are read on every request: a short in-process cache keeps that off the database. */
export class TenantsService {
  private cache = new Map<string, { row: TenantRecord; until: number }>();
  private credentialsCache = new Map<string, { creds: { accountSid: string; authToken: string } | null; until: number }>();

  constructor(private readonly d: TenantsServiceDeps) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /** A tenant with its own Twilio account; the auth token is stored encrypted (SMSRELAY_MASTER_KEY). */
  async create(t: NewTenant, actor: Actor = SYSTEM_ACTOR): Promise<Tenant> {
    return this.view(await this.createRecord(t, actor));
  }

  /** The platform admin's create: the tenant as its API shows it. */
  async createResource(t: NewTenant, actor: Actor): Promise<TenantResource> {
    return tenantResource(await this.createRecord(t, actor));
  }

  private async createRecord(t: NewTenant, actor: Actor): Promise<TenantRecord> {
    if (typeof t.slug !== 'string' || !SLUG.test(t.slug))
      throw new AppError('SMS_ERR_VALIDATION', 'slug must be 1-63 lowercase letters, digits or dashes.', { field: 'slug' });
    assertName(t.name);
    if (t.twilioAccountSid != null && !/^AC[0-9a-fA-F]{32}$/.test(t.twilioAccountSid)) {
      throw new AppError('SMS_ERR_VALIDATION', "twilioAccountSid must be 'AC' followed by 32 hex characters.", { field: 'twilioAccountSid' });
    }
    if ((t.twilioAccountSid == null) !== (t.twilioAuthToken == null)) {
      throw new AppError('SMS_ERR_VALIDATION', 'A Twilio account SID and auth token are set together.', { field: 'twilioAuthToken' });
    }
    if (t.defaultRegion != null && !/^[A-Z]{2}$/.test(t.defaultRegion)) {
      throw new AppError('SMS_ERR_VALIDATION', 'defaultRegion must be an ISO-3166 alpha-2 region such as US, IN or MX.', { field: 'defaultRegion' });
    }
    if (t.twilioAuthToken != null && !this.d.cipher) throw new AppError('SMS_ERR_VALIDATION', 'SMSRELAY_MASTER_KEY must be set to store Twilio auth tokens.');
    const id = this.d.random.id();
    const now = this.now();
    const row: TenantRecord = {
      id,
      slug: t.slug,
      name: t.name,
      status: t.enabled === false ? 'disabled' : 'active',
      twilio_account_sid: t.twilioAccountSid ?? null,
      twilio_auth_token_enc: t.twilioAuthToken != null ? this.d.cipher!.encrypt(t.twilioAuthToken, tokenAad(id)) : null,
      twilio_auth_token_set_at: t.twilioAuthToken != null ? now : null,
      from_number: t.fromNumber ?? null,
      messaging_service_sid: t.messagingServiceSid ?? null,
      whatsapp_from: null,
      default_region: t.defaultRegion ?? null,
      settings: JSON.stringify(t.settings ?? {}),
      created_at: now,
      updated_at: now,
    };
    await this.d.write(async (tx) => {
      if (!(await this.d.tenants.insert(tx, row))) throw new AppError('SMS_ERR_TENANT_EXISTS', `A tenant '${t.slug}' already exists.`, { field: 'slug' });
      const changes: Record<string, unknown> = { slug: row.slug, name: row.name, enabled: row.status === 'active' };
      if (row.twilio_account_sid) Object.assign(changes, { twilio_account_sid: row.twilio_account_sid, twilio_auth_token: REDACTED });
      await this.d.audit.record(tx, { tenantId: id, actor, action: 'tenant.create', target: id, changes, platform: true });
    });
    return row;
  }

  /** The platform admin's change of a tenant's name or enabled flag. */
  async update(id: string, patch: { name?: string; enabled?: boolean }, actor: Actor): Promise<TenantResource> {
    if (patch.name !== undefined) assertName(patch.name);
    const change: { name?: string; status?: string } = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.enabled !== undefined) change.status = patch.enabled ? 'active' : 'disabled';
    const now = this.now();
    await this.d.write(async (tx) => {
      if (!(await this.d.tenants.update(tx, id, change, now))) throw new AppError('SMS_ERR_TENANT_NOT_FOUND');
      await this.d.audit.record(tx, { tenantId: id, actor, action: 'tenant.update', target: id, changes: { ...patch }, platform: true });
    });
    this.invalidate(id);
    return tenantResource((await this.d.tenants.byId(id))!);
  }

  /** Every tenant for the platform admin, oldest first, paged. */
  async page(q: { limit?: number; cursor?: string }): Promise<{ data: TenantResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const after = decodeCursor(q.cursor, ['number', 'string']);
    const p = page(await this.d.tenants.page(limit + 1, after), limit, (r) => [r.created_at, r.id]);
    return { data: p.data.map(tenantResource), next_cursor: p.next_cursor };
  }

  async resource(idOrSlug: string): Promise<TenantResource> {
    const r = (await this.d.tenants.byId(idOrSlug)) ?? (await this.d.tenants.bySlug(idOrSlug));
    if (!r) throw new AppError('SMS_ERR_TENANT_NOT_FOUND');
    return tenantResource(r);
  }

  /** Forgets cached rows and credentials (after a change of the tenant). */
  invalidate(id: string): void {
    this.cache.delete(id);
    this.credentialsCache.delete(id);
  }

  /**
   * The single-tenant install's tenant: created if missing, with no settings of its own (this
   * process's environment supplies their defaults when they are read; see core/settings.ts).
   */
  async ensureDefault(): Promise<Tenant> {
    const now = this.now();
    const row = await this.d.tenants.insertIfMissing({
      id: this.d.random.id(),
      slug: 'default',
      name: 'Default',
      status: 'active',
      twilio_account_sid: null,
      twilio_auth_token_enc: null,
      twilio_auth_token_set_at: null,
      from_number: null,
      messaging_service_sid: null,
      whatsapp_from: null,
      default_region: null,
      settings: '{}',
      created_at: now,
      updated_at: now,
    });
    return this.view(row);
  }

  /**
   * A tenant's own Twilio account, decrypted; null when it sends through the installation's
   * account. Cached briefly like tenants, and never part of the Tenant object that services pass around.
   */
  async twilioCredentials(tenantId: string): Promise<{ accountSid: string; authToken: string } | null> {
    const now = this.now();
    const hit = this.credentialsCache.get(tenantId);
    if (hit && hit.until > now) return hit.creds;
    const r = await this.d.tenants.byId(tenantId);
    const creds =
      r?.twilio_account_sid && r.twilio_auth_token_enc && this.d.cipher
        ? { accountSid: r.twilio_account_sid, authToken: this.d.cipher.decrypt(r.twilio_auth_token_enc, tokenAad(r.id)) }
        : null;
    this.credentialsCache.set(tenantId, { creds, until: now + CACHE_MS });
    return creds;
  }

  /** Every tenant, oldest first. */
  async list(): Promise<Tenant[]> {
    const rows = await this.d.tenants.list();
    return Promise.all(rows.map((r) => this.view(r)));
  }

  async bySlug(slug: string): Promise<Tenant | undefined> {
    const r = await this.d.tenants.bySlug(slug);
    return r ? this.view(r) : undefined;
  }

  async byId(id: string): Promise<Tenant | undefined> {
    const hit = this.cache.get(id);
    const now = this.now();
    if (hit && hit.until > now) return this.view(hit.row);
    const r = await this.d.tenants.byId(id);
    if (!r) return undefined;
    this.cache.set(id, { row: r, until: now + CACHE_MS });
    return this.view(r);
  }

  /**
   * A disabled tenant's sends are refused and its queued messages held (not failed) until it is
   * enabled again. Other processes see the change within the tenant cache time. The library's entry
   * to `update` (the same write and audit entry as PATCH /v1/tenants/:id).
   */
  async setEnabled(id: string, enabled: boolean, actor: Actor = SYSTEM_ACTOR): Promise<void> {
    await this.update(id, { enabled }, actor);
  }

  /** Read on every send (the policy's first check): from the tenant cache. */
  async isEnabled(id: string): Promise<boolean> {
    const hit = this.cache.get(id);
    const now = this.now();
    if (hit && hit.until > now) return isEnabled(hit.row);
    const r = await this.d.tenants.byId(id);
    if (!r) return false;
    this.cache.set(id, { row: r, until: now + CACHE_MS });
    return isEnabled(r);
  }

  private async view(r: TenantRecord): Promise<Tenant> {
    return toTenant(r, await this.d.settings.get(r.id));
  }
}

function assertName(name: unknown): void {
  if (typeof name !== 'string' || name.trim() === '' || name.length > NAME_MAX)
    throw new AppError('SMS_ERR_VALIDATION', `name must be a non-empty string of at most ${NAME_MAX} characters.`, { field: 'name' });
}
