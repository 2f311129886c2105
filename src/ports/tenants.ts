import type { Tx } from './tx.js';

// Tenants (and their Twilio credentials, the auth token encrypted by the caller).
export interface TenantRecord {
  id: string;
  slug: string;
  name: string;
  status: string;
  twilio_account_sid: string | null;
  twilio_auth_token_enc: string | null;
  /** When the auth token was last set (epoch ms); null for rows of before the audit log, or none. */
  twilio_auth_token_set_at: number | null;
  from_number: string | null;
  messaging_service_sid: string | null;
  whatsapp_from: string | null;
  default_region: string | null;
  /** JSON text. */
  settings: string;
  created_at: number;
  updated_at: number;
}

/** The fields of a tenant the platform admin changes (status: 'active' | 'disabled'). */
export type TenantChange = Partial<Pick<TenantRecord, 'name' | 'status'>>;

export interface TenantCredentials {
  twilio_account_sid: string | null;
  twilio_auth_token_enc: string | null;
  twilio_auth_token_set_at: number | null;
}

export interface TenantsRepository {
  /** Inserts the tenant; false when its slug is taken (nothing written). */
  insert(tx: Tx, row: TenantRecord): Promise<boolean>;
  /** Inserts unless the slug exists; returns the stored row either way. */
  insertIfMissing(row: TenantRecord): Promise<TenantRecord>;
  byId(id: string): Promise<TenantRecord | undefined>;
  bySlug(slug: string): Promise<TenantRecord | undefined>;
  /** Every tenant, oldest first. */
  list(): Promise<TenantRecord[]>;
  /**
   * The tenant that owns a Twilio account, enabled or not: a disabled tenant sends nothing new, but
   * the callbacks of what it sent before still belong to it.
   */
  activeByAccountSid(accountSid: string): Promise<TenantRecord | undefined>;
  /** Oldest first, after the (created_at, id) given. */
  page(limit: number, after: readonly [number, string] | null): Promise<TenantRecord[]>;
  /** False for an unknown tenant. */
  update(tx: Tx, id: string, change: TenantChange, now: number): Promise<boolean>;
  setCredentials(tx: Tx, id: string, creds: TenantCredentials, now: number): Promise<void>;
  /** Every stored encrypted secret (tenants' auth tokens), for a master key rotation. */
  encryptedSecrets(tx: Tx): Promise<{ id: string; twilio_auth_token_enc: string }[]>;
  setEncryptedToken(tx: Tx, id: string, enc: string): Promise<void>;
}
