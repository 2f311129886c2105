import type { Store, TenantRow } from '../storage/store.js';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  fromNumber: string | null;
  messagingServiceSid: string | null;
  whatsappFrom: string | null;
  defaultRegion: string | null;
}

export function toTenant(r: TenantRow): Tenant {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    fromNumber: r.from_number,
    messagingServiceSid: r.messaging_service_sid,
    whatsappFrom: r.whatsapp_from,
    defaultRegion: r.default_region,
  };
}

export interface DefaultTenantSettings {
  fromNumber: string | null;
  messagingServiceSid: string | null;
  whatsappFrom: string | null;
  defaultRegion: string;
}

const CACHE_MS = 5_000;

/** Tenants are read on every request: a short in-process cache keeps that off the database. */
export class TenantsService {
  private cache = new Map<string, { tenant: Tenant; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly newId: () => string,
    private readonly now: () => number,
  ) {}

  /**
   * The single-tenant install's tenant, built from env config. Its sender settings follow the
   * configuration on every start, so changing TWILIO_FROM_NUMBER takes effect on restart.
   */
  async ensureDefault(s: DefaultTenantSettings): Promise<Tenant> {
    const now = this.now();
    await this.store.insertTenantIfMissing({
      id: this.newId(),
      slug: 'default',
      name: 'Default',
      status: 'active',
      twilio_account_sid: null,
      twilio_auth_token_enc: null,
      from_number: s.fromNumber,
      messaging_service_sid: s.messagingServiceSid,
      whatsapp_from: s.whatsappFrom,
      default_region: s.defaultRegion,
      settings: '{}',
      created_at: now,
      updated_at: now,
    });
    await this.store.kysely
      .updateTable('tenants')
      .set({ from_number: s.fromNumber, messaging_service_sid: s.messagingServiceSid, whatsapp_from: s.whatsappFrom, default_region: s.defaultRegion, updated_at: now })
      .where('slug', '=', 'default')
      .execute();
    return toTenant((await this.store.getTenantBySlug('default'))!);
  }

  async bySlug(slug: string): Promise<Tenant | undefined> {
    const r = await this.store.getTenantBySlug(slug);
    return r ? toTenant(r) : undefined;
  }

  async byId(id: string): Promise<Tenant | undefined> {
    const hit = this.cache.get(id);
    const now = this.now();
    if (hit && hit.until > now) return hit.tenant;
    const r = await this.store.getTenant(id);
    if (!r) return undefined;
    const tenant = toTenant(r);
    this.cache.set(id, { tenant, until: now + CACHE_MS });
    return tenant;
  }
}
