// The consent ledger: append-only opt-in/opt-out events plus the current suppression per
// (tenant, number), and the checks every send makes against it (API accept, worker claim).
import { BatchedCheck, pairKey } from './batched-check.js';
import { csvCell } from '../core/csv.js';
import { AppError } from '../core/errors.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import { normalizeE164 } from '../core/phone.js';
import { SEND } from '../core/policy.js';
import type { Clock, ConsentRepository, ConversationsRepository, EventsPort, MessageRecord, Policy, Random, Tx, UnitOfWork } from '../ports.js';
import { newEvent } from './events.js';
import type { Tenant } from './tenants.js';

export type ConsentAction = 'opt_out' | 'opt_in';
/** web_form: an opt-in the host application collected on a form and recorded through the API. */
export type ConsentSource = 'keyword' | 'free_text' | 'api' | 'web_form' | 'admin' | 'provider';

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
  consent: ConsentRepository;
  /** A change of consent moves the contact's conversations between active and opted_out. */
  conversations: Pick<ConversationsRepository, 'setConsentStatus'>;
  write: UnitOfWork['write'];
  clock: Clock;
  random: Random;
  /** consent.opted_out / consent.opted_in, in the transaction of the change. */
  events: EventsPort;
}

/** What the worker's checks need of a message. */
type OutgoingMessage = Pick<MessageRecord, 'id' | 'tenant_id' | 'to_addr'>;

/** The number a suppression is keyed on: E.164 without a channel prefix (opt-out covers every channel). */
export function consentKey(addr: string): string {
  return addr.startsWith('whatsapp:') ? addr.slice(9) : addr;
}

const OPTED_OUT_MESSAGE = 'The recipient has opted out (replied STOP or revoked consent); the message was not sent.';
const HISTORY_LIMIT = 500;
const CSV_PAGE = 1000;
// The JSON list pages by up to the CSV export's page size.
const OPT_OUT_LIMIT = { default: 100, max: CSV_PAGE };

export class ConsentService {
  // Concurrent checks (the worker claims hundreds of rows at once) share one indexed query per tick.
  // Nothing is cached across ticks: a STOP is honoured by every check that starts after it commits.
  private readonly suppressed: BatchedCheck;

  constructor(private readonly d: ConsentServiceDeps) {
    this.suppressed = new BatchedCheck(async (tenants, phones) => {
      const rows = await d.consent.suppressedAmong(tenants, phones);
      return new Set(rows.map((r) => pairKey(r.tenant_id, r.phone)));
    });
  }

  isSuppressed(tenantId: string, addr: string): Promise<boolean> {
    return this.suppressed.has(tenantId, consentKey(addr));
  }

  /**
   * The first rule of the sending policy: an opted-out recipient is refused on accept (422 before
   * anything is stored), and a message queued before the STOP is failed locally at dispatch.
   */
  readonly policy: Policy = {
    decide: async (m, ctx) =>
      (await this.isSuppressed(m.tenantId, m.to))
        ? { action: 'refuse', code: 'SMS_ERR_RECIPIENT_OPTED_OUT', ...(ctx.stage === 'dispatch' ? { message: OPTED_OUT_MESSAGE } : {}) }
        : SEND,
  };

  /** Dispatcher.onRejected: Twilio's 21610 means the recipient opted out at the provider. */
  async onProviderRejected(row: OutgoingMessage, providerCode: number | null): Promise<void> {
    if (providerCode !== 21610) return;
    const now = this.d.clock.now().getTime();
    await this.d.write((tx) =>
      this.record(tx, {
        tenantId: row.tenant_id,
        phone: consentKey(row.to_addr),
        action: 'opt_out',
        source: 'provider',
        actor: 'provider',
        detail: '21610',
        messageId: row.id,
        now,
      }),
    );
  }

  /**
   * Appends a ledger event and updates the suppression and the contact's conversations. Returns
   * whether the current state changed (a second STOP records an event but changes nothing).
   */
  async record(tx: Tx, c: ConsentChange): Promise<{ changed: boolean; eventId: string }> {
    const eventId = this.d.random.id();
    await this.d.consent.appendEvent(tx, {
      id: eventId,
      tenant_id: c.tenantId,
      phone: c.phone,
      action: c.action,
      source: c.source,
      actor: c.actor,
      detail: c.detail,
      message_id: c.messageId,
      created_at: c.now,
    });
    const changed =
      c.action === 'opt_out'
        ? await this.d.consent.suppress(tx, { tenant_id: c.tenantId, phone: c.phone, source: c.source, reason: c.detail, event_id: eventId, created_at: c.now })
        : await this.d.consent.unsuppress(tx, c.tenantId, c.phone);
    if (changed) {
      await this.d.conversations.setConsentStatus(tx, c.tenantId, [c.phone, `whatsapp:${c.phone}`], c.action === 'opt_out' ? 'opted_out' : 'active', c.now);
      const data = {
        phone: c.phone,
        state: c.action === 'opt_out' ? 'opted_out' : 'opted_in',
        source: c.source,
        actor: c.actor,
        detail: c.detail,
        message_id: c.messageId,
        consent_event_id: eventId,
        created_at: new Date(c.now).toISOString(),
      };
      await this.d.events.append(tx, [newEvent(this.d.random, c.tenantId, c.action === 'opt_out' ? 'consent.opted_out' : 'consent.opted_in', c.now, data)]);
    }
    return { changed, eventId };
  }

  private phone(tenant: Tenant, input: unknown): string {
    if (typeof input !== 'string') throw new AppError('SMS_ERR_INVALID_PHONE', undefined, { field: 'phone' });
    const raw = input.trim().toLowerCase().startsWith('whatsapp:') ? input.trim().slice(9) : input;
    return normalizeE164(raw, { defaultRegion: tenant.defaultRegion, rejectFixedLine: false });
  }

  /** State and full history; 404 when this tenant has no consent record for the number. */
  async get(tenant: Tenant, input: string): Promise<ConsentResource> {
    const phone = this.phone(tenant, input);
    const [events, suppression] = await Promise.all([this.d.consent.history(tenant.id, phone, HISTORY_LIMIT), this.d.consent.suppression(tenant.id, phone)]);
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

  /** Opt in or out by API; `actor` is the API key id; `within` adds writes to its transaction (the audit entry). */
  async set(
    tenant: Tenant,
    input: { phone: string; action: ConsentAction; reason?: string | null; source?: 'api' | 'web_form' },
    actor: string,
    within?: (tx: Tx, phone: string) => Promise<void>,
  ): Promise<{ changed: boolean; consent: ConsentResource }> {
    const phone = this.phone(tenant, input.phone);
    if (input.action !== 'opt_out' && input.action !== 'opt_in')
      throw new AppError('SMS_ERR_VALIDATION', "action must be 'opt_out' or 'opt_in'.", { field: 'action' });
    const source = input.source ?? 'api';
    if (source !== 'api' && source !== 'web_form') throw new AppError('SMS_ERR_VALIDATION', "source must be 'api' or 'web_form'.", { field: 'source' });
    const now = this.d.clock.now().getTime();
    const { changed } = await this.d.write(async (tx) => {
      const r = await this.record(tx, {
        tenantId: tenant.id,
        phone,
        action: input.action,
        source,
        actor,
        detail: input.reason ?? null,
        messageId: null,
        now,
      });
      await within?.(tx, phone);
      return r;
    });
    return { changed, consent: await this.get(tenant, phone) };
  }

  /** Current opt-outs, newest first; the cursor is opaque. */
  async listOptOuts(tenant: Tenant, q: { limit?: number; cursor?: string }): Promise<{ data: OptOutResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit, OPT_OUT_LIMIT);
    const after = decodeCursor(q.cursor, ['number', 'string']);
    const rows = await this.d.consent.listSuppressions(tenant.id, after && { createdAt: after[0], phone: after[1] }, limit + 1);
    const p = page(rows, limit, (r) => [r.created_at, r.phone]);
    return {
      data: p.data.map((r) => ({ phone: r.phone, source: r.source, reason: r.reason, created_at: new Date(r.created_at).toISOString() })),
      next_cursor: p.next_cursor,
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
