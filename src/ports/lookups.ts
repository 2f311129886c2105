// Number lookups: facts read from libphonenumber's data files (time zones, original carrier) and
// the cache of paid Twilio Lookup answers.
import type { Tx } from './tx.js';

export interface PhoneFacts {
  /** IANA time zone names of the number's region (empty when unknown). */
  timeZones(e164: string): Promise<string[]>;
  /** The carrier the number range was assigned to (not necessarily the current one), null when unknown. */
  carrier(e164: string): Promise<string | null>;
}

export interface LookupCacheRecord {
  tenant_id: string;
  phone: string;
  /** The provider's answer, JSON. */
  data: string;
  fetched_at: number;
}

export interface LookupCacheRepository {
  get(tenantId: string, phone: string): Promise<LookupCacheRecord | undefined>;
  put(tx: Tx, row: LookupCacheRecord): Promise<void>;
}
