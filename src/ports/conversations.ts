// Conversations (one thread per tenant, our number and contact) and what inbound messages write.
import type { MessageRecord } from './messages.js';
import type { Tx } from './tx.js';

export interface ConversationRecord {
  id: string;
  tenant_id: string;
  /** The contact's number (E.164, or whatsapp:+E164). */
  contact_addr: string;
  /** Our number the contact texted. */
  our_addr: string;
  /** active | opted_out | blocked | closed */
  status: string;
  unread_count: number;
  last_message_at: number;
  last_read_at: number | null;
  /** 1 when a human should look (e.g. a free-text revocation). */
  needs_attention: number;
  attention_reason: string | null;
  external_ref: string | null;
  created_at: number;
  updated_at: number;
}

export interface ConversationListQuery {
  tenantId: string;
  status?: string;
  unread?: boolean;
  needsAttention?: boolean;
  externalRef?: string;
  /** Most recent activity first; only rows after this (last_message_at, id) position. */
  after: { lastMessageAt: number; id: string } | null;
  limit: number;
}

export interface ThreadQuery {
  tenantId: string;
  conversation: Pick<ConversationRecord, 'id' | 'contact_addr' | 'our_addr'>;
  /** Only messages with a smaller id (newest first). */
  beforeId: string | null;
  limit: number;
}

export interface ConversationsRepository {
  list(q: ConversationListQuery): Promise<ConversationRecord[]>;
  get(tenantId: string, id: string): Promise<ConversationRecord | undefined>;
  /** Unread count to 0, read now. */
  markRead(tx: Tx, tenantId: string, id: string, now: number): Promise<void>;
  /**
   * Inserts the conversation, or, when (tenant, our number, contact) has one, counts one more unread
   * message in it at `row.last_message_at` (raising its attention flag when `row` raises it).
   * A closed conversation opens again. Returns the conversation's id and status.
   */
  upsertForInbound(tx: Tx, row: ConversationRecord): Promise<{ id: string; status: string }>;
  /** Sets the status and/or external reference; false when the tenant has no such conversation. */
  update(tx: Tx, tenantId: string, id: string, changes: { status?: string; external_ref?: string | null }, now: number): Promise<boolean>;
  /** The blocked conversations' contacts among these tenants and contact addresses. */
  blockedAmong(tenantIds: string[], contactAddrs: string[]): Promise<{ tenant_id: string; contact_addr: string }[]>;
  /** The contact's active or opted-out conversations (any channel) take `status`; blocked and closed ones stay. */
  setConsentStatus(tx: Tx, tenantId: string, contactAddrs: string[], status: 'active' | 'opted_out', now: number): Promise<void>;
  /** An active conversation shows an opt-out that was recorded elsewhere (API, provider). */
  markOptedOutIfActive(tx: Tx, id: string): Promise<void>;
  /**
   * Messages table (belongs to the messages repository once there is one): the thread newest first,
   * inbound messages of the conversation plus everything sent to the contact from its number.
   */
  listThreadMessages(q: ThreadQuery): Promise<MessageRecord[]>;
}

/**
 * The inbound webhook log (de-duplication and the link to the stored message); the message and its
 * first event go through the messages repository, the conversation and consent through theirs.
 */
export interface InboundRepository {
  /** Logs the webhook once per (tenant, MessageSid); false when it was logged before (a retry). */
  logInboundWebhook(tx: Tx, e: { id: string; tenantId: string; messageSid: string; idempotencyToken: string | null; now: number }): Promise<boolean>;
  linkInboundWebhook(tx: Tx, tenantId: string, messageSid: string, messageId: string): Promise<void>;
}
