// Privacy: per-tenant retention (bodies and media URLs redacted after `retention_days`), a number's
// erasure (bodies redacted, the number replaced by a keyed hash; consent proof and usage counts
// kept) and the export of everything held about a number.
import type { Actor, AuditLog } from './audit.js';
import { createHmac } from 'node:crypto';
import { AppError } from '../core/errors.js';
import { countryOfAddress } from '../core/usage.js';
import type { Clock, ErasureCounts, PrivacyRepository, UnitOfWork } from '../ports.js';
import { toContactResource, type ContactResource, type ContactsService } from './contacts.js';
import { toConversationResource, type ConversationResource } from './conversations.js';
import { toMessageResource, type MessageResource } from './message-resource.js';
import type { MessagesService } from './messages.js';
import type { SettingsService } from './settings.js';
import type { Tenant } from './tenants.js';

const DAY_MS = 86_400_000;
const RETENTION_BATCH = 500;
const RETENTION_MAX_BATCHES = 20;
const EXPORT_MESSAGES = 10_000;

export interface PrivacyDeps {
  privacy: PrivacyRepository;
  write: UnitOfWork['write'];
  clock: Clock;
  settings: Pick<SettingsService, 'get'>;
  contacts: Pick<ContactsService, 'e164'>;
  messages: Pick<MessagesService, 'cancel'>;
  audit: Pick<AuditLog, 'record'>;
  /** Every tenant's id (retention runs per tenant). */
  tenantIds(): Promise<string[]>;
  /** The installation's HMAC secret (the erased number's replacement is keyed with it, so it cannot be recomputed without it). */
  secret(): Buffer;
}

export interface ErasureResult extends ErasureCounts {
  /** What replaces the number from now on. */
  replacement: string;
  /** Messages to the number that were still waiting and were canceled first. */
  canceled: number;
}

export interface NumberExport {
  phone: string;
  exported_at: string;
  contact: ContactResource | null;
  conversations: ConversationResource[];
  messages: (MessageResource & {
    events: { status: string; source: string; error_code: string | null; provider_code: number | null; data: unknown; created_at: string }[];
  })[];
  /** True when there were more messages than the export holds (the newest are included). */
  messages_truncated: boolean;
  consent: {
    suppressed: boolean;
    events: { action: string; source: string; actor: string | null; detail: string | null; message_id: string | null; created_at: string }[];
  };
  lookup: Record<string, unknown> | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class PrivacyService {
  constructor(private readonly d: PrivacyDeps) {}

  /** One retention pass over every tenant that set `retention_days`; returns how many messages were redacted. */
  async retentionPass(): Promise<number> {
    let total = 0;
    for (const tenantId of await this.d.tenantIds()) {
      const days = (await this.d.settings.get(tenantId)).retention_days;
      if (days === null) continue;
      const now = this.d.clock.now().getTime();
      for (let i = 0; i < RETENTION_MAX_BATCHES; i++) {
        const n = await this.d.write((tx) => this.d.privacy.redactOlderThan(tx, tenantId, now - days * DAY_MS, now, RETENTION_BATCH));
        total += n;
        if (n < RETENTION_BATCH) break;
      }
    }
    return total;
  }

  /** The keyed hash that replaces an erased number (same number, same replacement, per installation). */
  replacementOf(e164: string): string {
    return `erased:${createHmac('sha256', this.d.secret()).update(`erase\u0000${e164}`).digest('hex').slice(0, 32)}`;
  }

  async erase(tenant: Tenant, phone: string, actor: Actor): Promise<ErasureResult> {
    const e164 = this.d.contacts.e164(tenant, phone);
    // Messages still waiting would otherwise go out to a hash: they are canceled first.
    let canceled = 0;
    for (const id of await this.d.privacy.waitingTo(tenant.id, e164)) {
      try {
        await this.d.messages.cancel(tenant, id);
        canceled++;
      } catch (e) {
        // Claimed by a worker meanwhile: it is being sent; its number is replaced below like the others'.
        if (!(e instanceof AppError)) throw e;
      }
    }
    const replacement = this.replacementOf(e164);
    const now = this.d.clock.now().getTime();
    const counts = await this.d.write(async (tx) => {
      const c = await this.d.privacy.erase(tx, { tenantId: tenant.id, phone: e164, replacement, country: countryOfAddress(e164), now });
      // The audit entry names the replacement, never the number it erased.
      await this.d.audit.record(tx, { tenantId: tenant.id, actor, action: 'contact.erase', target: replacement, changes: { ...c, canceled } });
      return c;
    });
    return { ...counts, replacement, canceled };
  }

  async export(tenant: Tenant, phone: string): Promise<NumberExport> {
    const e164 = this.d.contacts.e164(tenant, phone);
    const h = await this.d.privacy.held(tenant.id, e164, EXPORT_MESSAGES + 1);
    const eventsOf = new Map<string, NumberExport['messages'][number]['events']>();
    for (const ev of h.events) {
      const list = eventsOf.get(ev.message_id) ?? [];
      list.push({
        status: ev.status,
        source: ev.source,
        error_code: ev.error_code,
        provider_code: ev.provider_code,
        data: ev.data === null ? null : (JSON.parse(ev.data) as unknown),
        created_at: iso(ev.created_at),
      });
      eventsOf.set(ev.message_id, list);
    }
    return {
      phone: e164,
      exported_at: iso(this.d.clock.now().getTime()),
      contact: h.contact ? toContactResource(h.contact) : null,
      conversations: h.conversations.map(toConversationResource),
      messages: h.messages.slice(0, EXPORT_MESSAGES).map((m) => ({ ...toMessageResource(m), events: eventsOf.get(m.id) ?? [] })),
      messages_truncated: h.messages.length > EXPORT_MESSAGES,
      consent: {
        suppressed: h.suppression !== undefined,
        events: h.consentEvents.map((c) => ({
          action: c.action,
          source: c.source,
          actor: c.actor,
          detail: c.detail,
          message_id: c.message_id,
          created_at: iso(c.created_at),
        })),
      },
      lookup: h.lookup ? { ...(JSON.parse(h.lookup.data) as Record<string, unknown>), fetched_at: iso(h.lookup.fetched_at) } : null,
    };
  }
}
