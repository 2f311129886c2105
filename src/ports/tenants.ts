// Tenants (and their Twilio credentials, the auth token encrypted by the caller).
export interface TenantRecord {
  id: string;
  slug: string;
  name: string;
  status: string;
  twilio_account_sid: string | null;
  twilio_auth_token_enc: string | null;
  from_number: string | null;
  messaging_service_sid: string | null;
  whatsapp_from: string | null;
  default_region: string | null;
  /** JSON text. */
  settings: string;
  /** 1: sends; 0: disabled (sends refused, queued messages held). */
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface TenantsRepository {
  insert(row: TenantRecord): Promise<void>;
  /** Inserts unless the slug exists; returns the stored row either way. */
  insertIfMissing(row: TenantRecord): Promise<TenantRecord>;
  byId(id: string): Promise<TenantRecord | undefined>;
  bySlug(slug: string): Promise<TenantRecord | undefined>;
  /** Every tenant, oldest first. */
  list(): Promise<TenantRecord[]>;
  /** The active tenant that owns a Twilio account. */
  activeByAccountSid(accountSid: string): Promise<TenantRecord | undefined>;
  /** Whether a row was changed. */
  setEnabled(id: string, enabled: boolean, now: number): Promise<boolean>;
}
