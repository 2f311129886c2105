// Two-way conversations: the inbox (threads with unread counts), a thread's messages and replies
// from the conversation's number (through the normal send path, so consent is enforced there).
import type { Actor, AuditLog } from './audit.js';
import { AppError } from '../core/errors.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import { SEND } from '../core/policy.js';
import type { Clock, ConsentRepository, ConversationRecord, ConversationsRepository, Policy, UnitOfWork } from '../ports.js';
import { BatchedCheck, pairKey } from './batched-check.js';
import { consentKey } from './consent.js';
import { toMessageResource, type MessageResource } from './message-resource.js';
import type { MessagesService, SendResult } from './messages.js';
import type { Tenant } from './tenants.js';

export interface ConversationResource {
  id: string;
  contact: string;
  our_number: string;
  status: string;
  unread_count: number;
  needs_attention: boolean;
  attention_reason: string | null;
  /** The host application's entity, e.g. lead:42. */
  external_ref: string | null;
  last_message_at: string;
  last_read_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ConversationListInput {
  status?: string;
  external_ref?: string;
  unread?: boolean;
  needs_attention?: boolean;
  limit?: number;
  cursor?: string;
}

export interface ConversationUpdate {
  status?: 'active' | 'closed' | 'blocked';
  external_ref?: string | null;
}

const WHATSAPP = 'whatsapp:';

export interface ReplyInput {
  body?: string | null;
  media_urls?: string[] | null;
  metadata?: Record<string, unknown> | null;
}

export interface ConversationsDeps {
  conversations: ConversationsRepository;
  write: UnitOfWork['write'];
  messages: MessagesService;
  suppressions: Pick<ConsentRepository, 'isSuppressed'>;
  clock: Clock;
  audit: Pick<AuditLog, 'record'>;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const ID = /^[0-9a-f-]{36}$/;

export function toConversationResource(r: ConversationRecord): ConversationResource {
  return {
    id: r.id,
    contact: r.contact_addr,
    our_number: r.our_addr,
    status: r.status,
    unread_count: r.unread_count,
    needs_attention: r.needs_attention === 1,
    attention_reason: r.attention_reason,
    external_ref: r.external_ref,
    last_message_at: iso(r.last_message_at)!,
    last_read_at: iso(r.last_read_at),
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
}

export class ConversationsService {
  constructor(private readonly d: ConversationsDeps) {}

  /** Most recent activity first. */
  async list(tenant: Tenant, q: ConversationListInput): Promise<{ data: ConversationResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const after = decodeCursor(q.cursor, ['number', 'string']);
    const rows = await this.d.conversations.list({
      tenantId: tenant.id,
      status: q.status,
      unread: q.unread,
      needsAttention: q.needs_attention,
      externalRef: q.external_ref,
      after: after && { lastMessageAt: after[0], id: after[1] },
      limit: limit + 1,
    });
    const p = page(rows, limit, (r) => [r.last_message_at, r.id]);
    return { data: p.data.map(toConversationResource), next_cursor: p.next_cursor };
  }

  private async row(tenant: Tenant, id: string): Promise<ConversationRecord> {
    const r = typeof id === 'string' && ID.test(id) ? await this.d.conversations.get(tenant.id, id) : undefined;
    if (!r) throw new AppError('SMS_ERR_NOT_FOUND', 'Conversation not found.', { id: String(id).slice(0, 64) });
    return r;
  }

  async get(tenant: Tenant, id: string): Promise<ConversationResource> {
    return toConversationResource(await this.row(tenant, id));
  }

  /**
   * The thread, newest first: inbound messages of the conversation plus everything we sent to the
   * contact from the conversation's number (replies and sends through /v1/messages alike).
   */
  async thread(tenant: Tenant, id: string, q: { limit?: number; cursor?: string }): Promise<{ data: MessageResource[]; next_cursor: string | null }> {
    const c = await this.row(tenant, id);
    const limit = pageLimit(q.limit);
    const before = decodeCursor(q.cursor, ['string']);
    const rows = await this.d.conversations.listThreadMessages({ tenantId: tenant.id, conversation: c, beforeId: before?.[0] ?? null, limit: limit + 1 });
    const p = page(rows, limit, (r) => [r.id]);
    return { data: p.data.map(toMessageResource), next_cursor: p.next_cursor };
  }

  /** Sends from the conversation's number to its contact; 422 SMS_ERR_RECIPIENT_OPTED_OUT after a STOP. */
  async reply(tenant: Tenant, id: string, input: ReplyInput, idempotencyKey?: string): Promise<SendResult> {
    const c = await this.row(tenant, id);
    if (c.status === 'blocked' || c.status === 'closed') throw new AppError('SMS_ERR_INVALID_STATE', `The conversation is ${c.status}.`, { status: c.status });
    const whatsapp = c.contact_addr.startsWith('whatsapp:');
    return this.d.messages.send(
      tenant,
      {
        to: c.contact_addr,
        from: c.our_addr,
        body: input.body ?? null,
        media_urls: input.media_urls ?? null,
        channel: whatsapp ? 'whatsapp' : input.media_urls?.length ? 'mms' : 'sms',
        metadata: input.metadata ?? null,
      },
      { idempotencyKey },
    );
  }

  /**
   * Links the host application's entity and/or moves the conversation: close, block (inbound is
   * still stored, auto-replies stop, sends to the contact are refused) or reopen ('active'; an
   * opted-out contact's conversation reopens as opted_out).
   */
  async update(tenant: Tenant, id: string, input: ConversationUpdate, actor: Actor): Promise<ConversationResource> {
    const c = await this.row(tenant, id);
    const now = this.d.clock.now().getTime();
    await this.d.write(async (tx) => {
      const changes: { status?: string; external_ref?: string | null } = {};
      if (input.external_ref !== undefined) changes.external_ref = input.external_ref;
      if (input.status !== undefined && input.status !== c.status && !(input.status === 'active' && c.status === 'opted_out')) changes.status = input.status;
      if (Object.keys(changes).length > 0) {
        await this.d.conversations.update(tx, tenant.id, c.id, changes, now);
        await this.d.audit.record(tx, { tenantId: tenant.id, actor, action: 'conversation.update', target: c.id, changes });
      }
      if (changes.status === 'active' && (await this.d.suppressions.isSuppressed(tx, tenant.id, consentKey(c.contact_addr)))) {
        await this.d.conversations.markOptedOutIfActive(tx, c.id);
      }
    });
    return this.get(tenant, id);
  }

  async markRead(tenant: Tenant, id: string): Promise<ConversationResource> {
    const c = await this.row(tenant, id);
    const now = this.d.clock.now().getTime();
    await this.d.write((tx) => this.d.conversations.markRead(tx, tenant.id, c.id, now));
    return this.get(tenant, id);
  }
}

/**
 * A sending-policy rule: messages to a contact whose conversation is blocked are refused (on accept
 * and at dispatch). A number is blocked on every channel: its SMS and WhatsApp threads are one contact.
 */
export function blockedContactPolicy(conversations: Pick<ConversationsRepository, 'blockedAmong'>): Policy {
  const check = new BatchedCheck(async (tenantIds, numbers) => {
    const rows = await conversations.blockedAmong(tenantIds, [...numbers, ...numbers.map((n) => `${WHATSAPP}${n}`)]);
    return new Set(rows.map((r) => pairKey(r.tenant_id, consentKey(r.contact_addr))));
  });
  return {
    decide: async (m) => ((await check.has(m.tenantId, consentKey(m.to))) ? { action: 'refuse', code: 'SMS_ERR_CONVERSATION_BLOCKED' } : SEND),
  };
}
