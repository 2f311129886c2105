// The consent ledger: append-only opt-in/opt-out events plus the current suppression per
// (tenant, number), and the checks every send makes against it (API accept, worker claim).
import type { Transaction } from 'kysely';
import { AppError } from '../core/errors.js';
import { normalizeE164 } from '../core/phone.js';
import type { Clock } from '../ports.js';
import type { Database } from '../storage/schema.js';
import type { MessageRow, Store } from '../storage/store.js';
import type { Tenant } from './tenants.js';

export type ConsentAction = 'opt_out' | 'opt_in';
export type ConsentSource = 'keyword' | 'free_text' | 'api' | 'admin' | 'provider';

export interface ConsentChange {
  tenantId: string;
  phone: string;
  action: ConsentAction;
  source: ConsentSource;
  actor: string | null;
  detail: string | null;
  messageId: string | null;
  now: number;
}

export interface ConsentEventResource {
  id: string;
  action: ConsentAction;
  source: string;
  actor: string | null;
  detail: string | null;
  message_id: string | null;
  created_at: string;
}

export interface ConsentResource {
  phone: string;
  state: 'opted_out' | 'opted_in';
  suppressed: boolean;
  since: string | null;
  history: ConsentEventResource[];
}

export interface OptOutResource {
  phone: string;
  source: string;
  reason: string | null;
  created_at: string;
}

export interface ConsentServiceDeps {
  store: Store;
  clock: Clock;
  newId: () => string;
  defaultRegion: string;
}

/** The number a suppression is keyed on: E.164 without a channel prefix (opt-out covers every channel). */
export function consentKey(addr: string): string {
  return addr.startsWith('whatsapp:') ? addr.slice(9) : addr;
}

const OPTED_OUT_MESSAGE = 'The recipient has opted out (replied STOP or revoked consent); the message was not sent.';
const MAX_BATCH = 500;
const CSV_PAGE = 1000;

interface PendingCheck {
  tenantId: string;
  phone: string;
  waiters: { resolve(v: boolean): void; reject(e: unknown): void }[];
}

export class ConsentService {
  // Concurrent checks (the worker claims hundreds of rows at once) share one indexed query per tick.
  // Nothing is cached across ticks: a STOP is honoured by every check that starts after it commits.
  private pending = new Map<string, PendingCheck>();
  private scheduled = false;

  constructor(private readonly d: ConsentServiceDeps) {}

  isSuppressed(tenantId: string, addr: string): Promise<boolean> {
    const phone = consentKey(addr);
    const key = `${tenantId}\u0000${phone}`;
    return new Promise((resolve, reject) => {
      let p = this.pending.get(key);
      if (!p) {
        p = { tenantId, phone, waiters: [] };
        this.pending.set(key, p);
      }
      p.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = [...this.pending.values()].slice(0, MAX_BATCH);
    for (const p of batch) this.pending.delete(`${p.tenantId}\u0000${p.phone}`);
    if (this.pending.size > 0) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    try {
      const tenants = [...new Set(batch.map((p) => p.tenantId))];
      const phones = [...new Set(batch.map((p) => p.phone))];
      const rows = await this.d.store.kysely
        .selectFrom('suppressions')
        .select(['tenant_id', 'phone'])
        .where('tenant_id', 'in', tenants)
        .where('phone', 'in', phones)
        .execute();
      const hit = new Set(rows.map((r) => `${r.tenant_id}\u0000${r.phone}`));
      for (const p of batch) {
        const v = hit.has(`${p.tenantId}\u0000${p.phone}`);
        p.waiters.forEach((w) => w.resolve(v));
      }
    } catch (e) {
      for (const p of batch) p.waiters.forEach((w) => w.reject(e));
    }
  }

  /** MessagesService.beforeAccept: 422 before anything is stored. */
  async assertCanSend(tenant: Tenant, to: string): Promise<void> {
    if (await this.isSuppressed(tenant.id, to)) throw new AppError('SMS_ERR_RECIPIENT_OPTED_OUT', undefined, { field: 'to' });
  }

  /** Dispatcher.beforeSend: a message queued before the STOP is failed locally, never sent. */
  async checkBeforeSend(row: MessageRow): Promise<{ code: string; message: string } | null> {
    return (await this.isSuppressed(row.tenant_id, row.to_addr)) ? { code: 'SMS_ERR_RECIPIENT_OPTED_OUT', message: OPTED_OUT_MESSAGE } : null;
  }

  /** Dispatcher.onRejected: Twilio's 21610 means the recipient opted out at the provider. */
  async onProviderRejected(row: MessageRow, providerCode: number | null): Promise<void> {
    if (providerCode !== 21610) return;
    const now = this.d.clock.now().getTime();
    await this.d.store.write((trx) =>
      this.record(trx, { tenantId: row.tenant_id, phone: consentKey(row.to_addr), action: 'opt_out', source: 'provider', actor: 'provider', detail: '21610', messageId: row.id, now }),
    );
  }

  /**
   * Appends a ledger event and updates the suppression and the contact's conversations. Returns
   * whether the current state changed (a second STOP records an event but changes nothing).
   */
  async record(trx: Transaction<Database>, c: ConsentChange): Promise<{ changed: boolean; eventId: string }> {
    const eventId = this.d.newId();
    await trx
      .insertInto('consent_events')
      .values({ id: eventId, tenant_id: c.tenantId, phone: c.phone, action: c.action, source: c.source, actor: c.actor, detail: c.detail, message_id: c.messageId, created_at: c.now })
      .execute();
    let changed: boolean;
    if (c.action === 'opt_out') {
      const r = await trx
        .insertInto('suppressions')
        .values({ tenant_id: c.tenantId, phone: c.phone, source: c.source, reason: c.detail, event_id: eventId, created_at: c.now })
        .onConflict((oc) => oc.columns(['tenant_id', 'phone']).doNothing())
        .executeTakeFirst();
      changed = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    } else {
      const r = await trx.deleteFrom('suppressions').where('tenant_id', '=', c.tenantId).where('phone', '=', c.phone).executeTakeFirst();
      changed = Number(r.numDeletedRows) > 0;
    }
    if (changed) {
      await trx
        .updateTable('conversations')
        .set({ status: c.action === 'opt_out' ? 'opted_out' : 'active', updated_at: c.now })
        .where('tenant_id', '=', c.tenantId)
        .where('contact_addr', 'in', [c.phone, `whatsapp:${c.phone}`])
        .where('status', 'in', ['active', 'opted_out'])
        .execute();
    }
    return { changed, eventId };
  }

  private phone(tenant: Tenant, input: unknown): string {
    if (typeof input !== 'string') throw new AppError('SMS_ERR_INVALID_PHONE', undefined, { field: 'phone' });
    const raw = input.trim().toLowerCase().startsWith('whatsapp:') ? input.trim().slice(9) : input;
    return normalizeE164(raw, { defaultRegion: tenant.defaultRegion ?? this.d.defaultRegion, rejectFixedLine: false });
  }

  /** State and full history; 404 when this tenant has no consent record for the number. */
  async get(tenant: Tenant, input: string): Promise<ConsentResource> {
    const phone = this.phone(tenant, input);
    const [events, suppression] = await Promise.all([
      this.d.store.kysely.selectFrom('consent_events').selectAll().where('tenant_id', '=', tenant.id).where('phone', '=', phone).orderBy('id', 'desc').limit(500).execute(),
      this.d.store.kysely.selectFrom('suppressions').selectAll().where('tenant_id', '=', tenant.id).where('phone', '=', phone).executeTakeFirst(),
    ]);
    if (events.length === 0 && !suppression) throw new AppError('SMS_ERR_NOT_FOUND', 'No consent record for this number.');
    const last = events.find((e) => e.action === (suppression ? 'opt_out' : 'opt_in'));
    return {
      phone,
      state: suppression ? 'opted_out' : 'opted_in',
      suppressed: suppression !== undefined,
      since: suppression ? new Date(suppression.created_at).toISOString() : last ? new Date(last.created_at).toISOString() : null,
      history: events.map((e) => ({
        id: e.id,
        action: e.action as ConsentAction,
        source: e.source,
        actor: e.actor,
        detail: e.detail,
        message_id: e.message_id,
        created_at: new Date(e.created_at).toISOString(),
      })),
    };
  }

  /** Opt in or out by API; `actor` is the API key id. */
  async set(tenant: Tenant, input: { phone: string; action: ConsentAction; reason?: string | null }, actor: string): Promise<{ changed: boolean; consent: ConsentResource }> {
    const phone = this.phone(tenant, input.phone);
    if (input.action !== 'opt_out' && input.action !== 'opt_in') throw new AppError('SMS_ERR_VALIDATION', "action must be 'opt_out' or 'opt_in'.", { field: 'action' });
    const now = this.d.clock.now().getTime();
    const { changed } = await this.d.store.write((trx) =>
      this.record(trx, { tenantId: tenant.id, phone, action: input.action, source: 'api', actor, detail: input.reason ?? null, messageId: null, now }),
    );
    return { changed, consent: await this.get(tenant, phone) };
  }

  /** Current opt-outs, newest first; the cursor is opaque. */
  async listOptOuts(tenant: Tenant, q: { limit?: number; cursor?: string }): Promise<{ data: OptOutResource[]; next_cursor: string | null }> {
    const limit = q.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > CSV_PAGE) throw new AppError('SMS_ERR_VALIDATION', `limit must be an integer between 1 and ${CSV_PAGE}`, { field: 'limit' });
    let query = this.d.store.kysely.selectFrom('suppressions').selectAll().where('tenant_id', '=', tenant.id);
    if (q.cursor) {
      const m = /^(\d{1,15}):(\+\d{1,20})$/.exec(Buffer.from(q.cursor, 'base64url').toString('utf8'));
      if (!m) throw new AppError('SMS_ERR_VALIDATION', 'cursor is not valid', { field: 'cursor' });
      const at = Number(m[1]);
      const phone = m[2]!;
      query = query.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('phone', '<', phone)])]));
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('phone', 'desc').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => ({ phone: r.phone, source: r.source, reason: r.reason, created_at: new Date(r.created_at).toISOString() })),
      next_cursor: rows.length > limit && last ? Buffer.from(`${last.created_at}:${last.phone}`).toString('base64url') : null,
    };
  }

  /** Every current opt-out as CSV, page by page. */
  async *optOutsCsv(tenant: Tenant): AsyncGenerator<string> {
    yield 'phone,source,reason,opted_out_at\r\n';
    let cursor: string | undefined;
    do {
      const page = await this.listOptOuts(tenant, { limit: CSV_PAGE, cursor });
      let chunk = '';
      for (const r of page.data) chunk += [r.phone, r.source, r.reason ?? '', r.created_at].map(csvCell).join(',') + '\r\n';
      if (chunk) yield chunk;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }
}

// A phone number (E.164, or WhatsApp's whatsapp:+E164) is data, never a formula: digits only.
const PHONE_CELL = /^(whatsapp:)?\+[1-9]\d{1,14}$/;

/**
 * One CSV cell, safe to open in a spreadsheet: a leading =, +, -, @, tab or CR would start a
 * formula, so such cells get a leading apostrophe (OWASP "CSV injection") — except a phone
 * number, which stays as is so the export re-imports; quotes, commas and line breaks are quoted.
 */
export function csvCell(v: string): string {
  let s = /^[=+\-@\t\r]/.test(v) && !PHONE_CELL.test(v) ? `'${v}` : v;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}
