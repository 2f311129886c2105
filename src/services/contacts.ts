// Contacts: what the host application knows about a number. Templates read the locale and custom
// fields, quiet hours the time zone, through `get(tenantId, e164)`.
import { validateContact, type ContactInput } from '../core/contacts.js';
import { AppError } from '../core/errors.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import { normalizeE164 } from '../core/phone.js';
import type { Clock, ContactRecord, ContactsRepository, UnitOfWork } from '../ports.js';
import type { Tenant } from './tenants.js';

export interface ContactResource {
  phone: string;
  name: string | null;
  locale: string | null;
  time_zone: string | null;
  external_ref: string | null;
  fields: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** What other features read about a contact. */
export interface ContactProfile {
  locale: string | null;
  timezone: string | null;
  fields: Record<string, unknown>;
}

export interface ContactListInput {
  external_ref?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export interface ContactsDeps {
  contacts: ContactsRepository;
  write: UnitOfWork['write'];
  clock: Clock;
}

export const toContactResource = (r: ContactRecord): ContactResource => ({
  phone: r.phone,
  name: r.name,
  locale: r.locale,
  time_zone: r.time_zone,
  external_ref: r.external_ref,
  fields: JSON.parse(r.fields) as Record<string, unknown>,
  created_at: new Date(r.created_at).toISOString(),
  updated_at: new Date(r.updated_at).toISOString(),
});

export class ContactsService {
  constructor(private readonly d: ContactsDeps) {}

  /** The number in E.164 (national formats in the tenant's region); 400 naming `phone` otherwise. */
  e164(tenant: Tenant, phone: string): string {
    try {
      return normalizeE164(phone, { defaultRegion: tenant.defaultRegion, rejectFixedLine: false });
    } catch (e) {
      throw e instanceof AppError ? new AppError(e.code, e.message, { field: 'phone' }) : e;
    }
  }

  /** The contact's locale, time zone and custom fields; null when the number is not a contact. */
  async get(tenantId: string, e164: string): Promise<ContactProfile | null> {
    const r = await this.d.contacts.get(tenantId, e164);
    return r ? { locale: r.locale, timezone: r.time_zone, fields: JSON.parse(r.fields) as Record<string, unknown> } : null;
  }

  async read(tenant: Tenant, phone: string): Promise<ContactResource> {
    const r = await this.d.contacts.get(tenant.id, this.e164(tenant, phone));
    if (!r) throw new AppError('SMS_ERR_NOT_FOUND', 'Contact not found.');
    return toContactResource(r);
  }

  /** Creates or replaces the contact; `created` tells which. */
  async put(tenant: Tenant, phone: string, input: ContactInput): Promise<{ contact: ContactResource; created: boolean }> {
    const e164 = this.e164(tenant, phone);
    const v = validateContact(input);
    const now = this.d.clock.now().getTime();
    const row: ContactRecord = { tenant_id: tenant.id, phone: e164, ...v, fields: JSON.stringify(v.fields), created_at: now, updated_at: now };
    const created = await this.d.write((tx) => this.d.contacts.put(tx, row));
    const stored = await this.d.contacts.get(tenant.id, e164);
    return { contact: toContactResource(stored ?? row), created };
  }

  async delete(tenant: Tenant, phone: string): Promise<void> {
    const e164 = this.e164(tenant, phone);
    const gone = await this.d.write((tx) => this.d.contacts.delete(tx, tenant.id, e164));
    if (!gone) throw new AppError('SMS_ERR_NOT_FOUND', 'Contact not found.');
  }

  /** By number. */
  async list(tenant: Tenant, q: ContactListInput): Promise<{ data: ContactResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const after = decodeCursor(q.cursor, ['string']);
    const rows = await this.d.contacts.list({ tenantId: tenant.id, externalRef: q.external_ref, q: q.q, after: after?.[0], limit: limit + 1 });
    const p = page(rows, limit, (r) => [r.phone]);
    return { data: p.data.map(toContactResource), next_cursor: p.next_cursor };
  }
}
