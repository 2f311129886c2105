// Contacts: what the host application knows about a number (name, locale, time zone, its own id, custom fields).
import type { Tx } from './tx.js';

export interface ContactRecord {
  tenant_id: string;
  /** E.164. */
  phone: string;
  name: string | null;
  /** BCP 47 language tag. */
  locale: string | null;
  /** IANA time zone name. */
  time_zone: string | null;
  /** The host application's id, e.g. `lead:42`. */
  external_ref: string | null;
  /** Custom fields, a JSON object. */
  fields: string;
  created_at: number;
  updated_at: number;
}

export interface ContactListQuery {
  tenantId: string;
  externalRef?: string;
  /** Case-insensitive substring of the name or the number. */
  q?: string;
  /** Only contacts whose number sorts after this one. */
  after?: string;
  limit: number;
}

export interface ContactsRepository {
  get(tenantId: string, phone: string): Promise<ContactRecord | undefined>;
  /** The contacts among these tenants and numbers (one query for a batch of sends). */
  getAmong(tenantIds: string[], phones: string[]): Promise<ContactRecord[]>;
  /** Inserts or replaces the contact (created_at kept); true when it was created. */
  put(tx: Tx, row: ContactRecord): Promise<boolean>;
  delete(tx: Tx, tenantId: string, phone: string): Promise<boolean>;
  list(q: ContactListQuery): Promise<ContactRecord[]>;
}
