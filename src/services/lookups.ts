// Number lookups: offline facts from libphonenumber, and Twilio Lookup v2's line type and carrier
// on request — a paid call, so its answer is kept per tenant and number for 30 days.
import { AppError } from '../core/errors.js';
import { offlineFacts, type OfflineFacts } from '../core/lookup.js';
import { ProviderError, type Clock, type LineTypeInfo, type LookupCacheRepository, type PhoneFacts, type ProviderFor, type UnitOfWork } from '../ports.js';
import type { Tenant } from './tenants.js';

export const LOOKUP_CACHE_MS = 30 * 24 * 60 * 60 * 1000;

export interface LookupResource extends OfflineFacts {
  /** The number as given. */
  input: string;
  time_zones: string[];
  /** The carrier the number range was assigned to (libphonenumber's data; the number may have been ported since). */
  carrier: string | null;
  line_type_intelligence?: LineTypeInfo & { fetched_at: string; cached: boolean };
}

export interface LookupsDeps {
  cache: LookupCacheRepository;
  facts: PhoneFacts;
  write: UnitOfWork['write'];
  clock: Clock;
  /** The provider per tenant, or null when sending is disabled. */
  providerFor: () => ProviderFor | null;
}

export class LookupsService {
  constructor(private readonly d: LookupsDeps) {}

  async lookup(tenant: Tenant, input: string, opts: { lineType: boolean }): Promise<LookupResource> {
    const facts = offlineFacts(input, tenant.defaultRegion);
    const out: LookupResource = { input, ...facts, time_zones: [], carrier: null };
    if (!facts.valid || facts.e164 === null) return out;
    const [zones, carrier] = await Promise.all([this.d.facts.timeZones(facts.e164), this.d.facts.carrier(facts.e164)]);
    out.time_zones = zones;
    out.carrier = carrier;
    if (opts.lineType) out.line_type_intelligence = await this.lineType(tenant, facts.e164);
    return out;
  }

  private async lineType(tenant: Tenant, e164: string): Promise<NonNullable<LookupResource['line_type_intelligence']>> {
    const now = this.d.clock.now().getTime();
    const hit = await this.d.cache.get(tenant.id, e164);
    if (hit && now - hit.fetched_at < LOOKUP_CACHE_MS) {
      return { ...(JSON.parse(hit.data) as LineTypeInfo), fetched_at: new Date(hit.fetched_at).toISOString(), cached: true };
    }
    const providerFor = this.d.providerFor();
    const provider = providerFor ? await providerFor(tenant.id) : null;
    if (!provider?.lookup) throw new AppError('SMS_ERR_LOOKUP_UNAVAILABLE');
    let info: LineTypeInfo;
    try {
      info = await provider.lookup.lineType(e164);
    } catch (e) {
      if (e instanceof ProviderError && e.kind === 'permanent') {
        throw new AppError('SMS_ERR_PROVIDER_REJECTED', `Twilio Lookup refused the request${e.providerCode ? ` (${e.providerCode})` : ''}.`);
      }
      throw new AppError('SMS_ERR_PROVIDER_UNAVAILABLE', 'Twilio Lookup could not be reached; try again.');
    }
    await this.d.write((tx) => this.d.cache.put(tx, { tenant_id: tenant.id, phone: e164, data: JSON.stringify(info), fetched_at: now }));
    return { ...info, fetched_at: new Date(now).toISOString(), cached: false };
  }
}
