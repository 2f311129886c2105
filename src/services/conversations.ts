// Two-way conversations: the inbox (threads with unread counts), a thread's messages and replies
// from the conversation's number (through the normal send path, so consent is enforced there).
import type { Selectable } from 'kysely';
import { AppError } from '../core/errors.js';
import type { Clock } from '../ports.js';
import type { ConversationsTable } from '../storage/schema-conversations.js';
import type { Store } from '../storage/store.js';
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
  last_message_at: string;
  last_read_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ConversationListInput {
  status?: string;
  unread?: boolean;
  needs_attention?: boolean;
  limit?: number;
  cursor?: string;
}

export interface ReplyInput {
  body?: string | null;
  media_urls?: string[] | null;
  metadata?: Record<string, unknown> | null;
}

type Row = Selectable<ConversationsTable>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const ID = /^[0-9a-f-]{36}$/;

export function toConversationResource(r: Row): ConversationResource {
  return {
    id: r.id,
    contact: r.contact_addr,
    our_number: r.our_addr,
    status: r.status,
    unread_count: r.unread_count,
    needs_attention: r.needs_attention === 1,
    attention_reason: r.attention_reason,
    last_message_at: iso(r.last_message_at)!,
    last_read_at: iso(r.last_read_at),
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
}

function badCursor(): AppError {
  return new AppError('SMS_ERR_VALIDATION', 'cursor is not valid', { field: 'cursor' });
}

function limitOf(v: number | undefined, dflt: number): number {
  const limit = v ?? dflt;
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new AppError('SMS_ERR_VALIDATION', 'limit must be an integer between 1 and 200', { field: 'limit' });
  return limit;
}

export class ConversationsService {
  constructor(
    private readonly store: Store,
    private readonly messages: MessagesService,
    private readonly clock: Clock,
  ) {}

  /** Most recent activity first. */
  async list(tenant: Tenant, q: ConversationListInput): Promise<{ data: ConversationResource[]; next_cursor: string | null }> {
    const limit = limitOf(q.limit, 50);
    let query = this.store.kysely.selectFrom('conversations').selectAll().where('tenant_id', '=', tenant.id);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.unread === true) query = query.where('unread_count', '>', 0);
    if (q.unread === false) query = query.where('unread_count', '=', 0);
    if (q.needs_attention !== undefined) query = query.where('needs_attention', '=', q.needs_attention ? 1 : 0);
    if (q.cursor) {
      const m = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(Buffer.from(q.cursor, 'base64url').toString('utf8'));
      if (!m) throw badCursor();
      const at = Number(m[1]);
      const id = m[2]!;
      query = query.where((eb) => eb.or([eb('last_message_at', '<', at), eb.and([eb('last_message_at', '=', at), eb('id', '<', id)])]));
    }
    const rows = await query.orderBy('last_message_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(toConversationResource),
      next_cursor: rows.length > limit && last ? Buffer.from(`${last.last_message_at}:${last.id}`).toString('base64url') : null,
    };
  }

  private async row(tenant: Tenant, id: string): Promise<Row> {
    const r = typeof id === 'string' && ID.test(id) ? await this.store.kysely.selectFrom('conversations').selectAll().where('tenant_id', '=', tenant.id).where('id', '=', id).executeTakeFirst() : undefined;
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
    const limit = limitOf(q.limit, 50);
    let before: string | null = null;
    if (q.cursor) {
      before = Buffer.from(q.cursor, 'base64url').toString('utf8');
      if (!ID.test(before)) throw badCursor();
    }
    const k = this.store.kysely;
    let inbound = k.selectFrom('messages').selectAll().where('conversation_id', '=', c.id).where('tenant_id', '=', tenant.id);
    let outbound = k.selectFrom('messages').selectAll().where('tenant_id', '=', tenant.id).where('to_addr', '=', c.contact_addr).where('from_addr', '=', c.our_addr).where('direction', '=', 'outbound');
    if (before) {
      inbound = inbound.where('id', '<', before);
      outbound = outbound.where('id', '<', before);
    }
    // Two indexed queries merged here rather than one OR that neither database can index well.
    const [a, b] = await Promise.all([inbound.orderBy('id', 'desc').limit(limit + 1).execute(), outbound.orderBy('id', 'desc').limit(limit + 1).execute()]);
    const rows = [...a, ...b].sort((x, y) => (x.id < y.id ? 1 : x.id > y.id ? -1 : 0)).slice(0, limit + 1);
    const page = rows.slice(0, limit);
    return { data: page.map(toMessageResource), next_cursor: rows.length > limit ? Buffer.from(page[page.length - 1]!.id).toString('base64url') : null };
  }

  /** Sends from the conversation's number to its contact; 422 SMS_ERR_RECIPIENT_OPTED_OUT after a STOP. */
  async reply(tenant: Tenant, id: string, input: ReplyInput, idempotencyKey?: string): Promise<SendResult> {
    const c = await this.row(tenant, id);
    if (c.status === 'blocked' || c.status === 'closed') throw new AppError('SMS_ERR_INVALID_STATE', `The conversation is ${c.status}.`, { status: c.status });
    const whatsapp = c.contact_addr.startsWith('whatsapp:');
    return this.messages.send(
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

  async markRead(tenant: Tenant, id: string): Promise<ConversationResource> {
    const c = await this.row(tenant, id);
    const now = this.clock.now().getTime();
    await this.store.write((trx) => trx.updateTable('conversations').set({ unread_count: 0, last_read_at: now, updated_at: now }).where('id', '=', c.id).where('tenant_id', '=', tenant.id).execute());
    return this.get(tenant, id);
  }
}
