import type { Cipher } from '../core/cipher.js';
import { AppError } from '../core/errors.js';
import type { Clock, Random, TenantRecord, TenantsRepository } from '../ports.js';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  fromNumber: string | null;
  messagingServiceSid: string | null;
  whatsappFrom: string | null;
  defaultRegion: string | null;
}

/**
 * A tenant row as services see it. The default tenant's sender settings and region come from this
 * process's environment unless a value is stored in its row (stored values win): a process start
 * never writes its environment into the database, so processes with different environments that
 * share one database each keep their own defaults.
 */
export function toTenant(r: TenantRecord, envDefaults: DefaultTenantSettings | null = null): Tenant {
  const env = r.slug === 'default' ? envDefaults : null;
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    fromNumber: r.from_number ?? env?.fromNumber ?? null,
    messagingServiceSid: r.messaging_service_sid ?? env?.messagingServiceSid ?? null,
    whatsappFrom: r.whatsapp_from ?? env?.whatsappFrom ?? null,
    defaultRegion: r.default_region ?? env?.defaultRegion ?? null,
  };
}

export interface DefaultTenantSettings {
  fromNumber: string | null;
  messagingServiceSid: string | null;
  whatsappFrom: string | null;
  defaultRegion: string;
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
}

/** The AAD that binds an encrypted auth token to its tenant row. */
export const tokenAad = (tenantId: string) => `tenant:${tenantId}:twilio_auth_token`;

const CACHE_MS = 5_000;

export interface TenantsServiceDeps {
  tenants: TenantsRepository;
  clock: Clock;
  random: Random;
  /** Encrypts stored Twilio auth tokens (SMSRELAY_MASTER_KEY); null when none is configured. */
  cipher: Cipher | null;
}

/** Tenants are read on every request: a short in-process cache keeps that off the database. */
export class TenantsService {
  private cache = new Map<string, { tenant: Tenant; until: number }>();
  private credentialsCache = new Map<string, { creds: { accountSid: string; authToken: string } | null; until: number }>();
  /** The environment's defaults for the default tenant, given by ensureDefault. */
  private envDefaults: DefaultTenantSettings | null = null;

  constructor(private readonly d: TenantsServiceDeps) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /** A tenant with its own Twilio account; the auth token is stored encrypted (SMSRELAY_MASTER_KEY). */
  async create(t: NewTenant): Promise<Tenant> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(t.slug)) throw new AppError('SMS_ERR_VALIDATION', 'slug must be 1-63 lowercase letters, digits or dashes.', { field: 'slug' });
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
    await this.d.tenants.insert({
      id,
      slug: t.slug,
      name: t.name,
      status: 'active',
      twilio_account_sid: t.twilioAccountSid ?? null,
      twilio_auth_token_enc: t.twilioAuthToken != null ? this.d.cipher!.encrypt(t.twilioAuthToken, tokenAad(id)) : null,
      from_number: t.fromNumber ?? null,
      messaging_service_sid: t.messagingServiceSid ?? null,
      whatsapp_from: null,
      default_region: t.defaultRegion ?? null,
      settings: JSON.stringify(t.settings ?? {}),
      created_at: now,
      updated_at: now,
    });
    return toTenant((await this.d.tenants.byId(id))!, this.envDefaults);
  }

  /**
   * The single-tenant install's tenant: created if missing, with no sender settings of its own.
   * `s` (this process's environment) supplies them when the tenant is read; see toTenant.
   */
  async ensureDefault(s: DefaultTenantSettings): Promise<Tenant> {
    this.envDefaults = s;
    this.cache.clear();
    const now = this.now();
    const row = await this.d.tenants.insertIfMissing({
      id: this.d.random.id(),
      slug: 'default',
      name: 'Default',
      status: 'active',
      twilio_account_sid: null,
      twilio_auth_token_enc: null,
      from_number: null,
      messaging_service_sid: null,
      whatsapp_from: null,
      default_region: null,
      settings: '{}',
      created_at: now,
      updated_at: now,
    });
    return toTenant(row, s);
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
    return rows.map((r) => toTenant(r, this.envDefaults));
  }

  async bySlug(slug: string): Promise<Tenant | undefined> {
    const r = await this.d.tenants.bySlug(slug);
    return r ? toTenant(r, this.envDefaults) : undefined;
  }

  async byId(id: string): Promise<Tenant | undefined> {
    const hit = this.cache.get(id);
    const now = this.now();
    if (hit && hit.until > now) return hit.tenant;
    const r = await this.d.tenants.byId(id);
    if (!r) return undefined;
    const tenant = toTenant(r, this.envDefaults);
    this.cache.set(id, { tenant, until: now + CACHE_MS });
    return tenant;
  }
}
