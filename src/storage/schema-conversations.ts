// Tables of webhooks, conversations and the consent ledger (migration 0002).
import type { Ms } from './columns.js';

export interface ConversationsTable {
  id: string;
  tenant_id: string;
  /** The contact's number (E.164, or whatsapp:+E164). */
  contact_addr: string;
  /** Our number the contact texted. */
  our_addr: string;
  /** active | opted_out | blocked | closed */
  status: string;
  unread_count: number;
  last_message_at: Ms;
  last_read_at: Ms | null;
  /** 1 when a human should look (e.g. a free-text revocation). */
  needs_attention: number;
  attention_reason: string | null;
  /** Optional link to the host application's entity. */
  external_ref: string | null;
  created_at: Ms;
  updated_at: Ms;
}

/** Append-only consent ledger. */
export interface ConsentEventsTable {
  id: string;
  tenant_id: string;
  /** E.164 without channel prefix. */
  phone: string;
  /** opt_out | opt_in */
  action: string;
  /** keyword | free_text | api | admin | provider */
  source: string;
  /** Who: 'contact', an API key id, 'provider'. */
  actor: string | null;
  /** The keyword or phrase, the API reason or the provider code. */
  detail: string | null;
  message_id: string | null;
  created_at: Ms;
}

/** Current state: a row means "do not text this number". */
export interface SuppressionsTable {
  tenant_id: string;
  phone: string;
  source: string;
  reason: string | null;
  event_id: string;
  created_at: Ms;
}

/** Raw Twilio webhooks as received (signature checked), kept for audit and late matching. */
export interface WebhookEventsTable {
  id: string;
  tenant_id: string;
  /** status | inbound */
  kind: string;
  message_sid: string;
  message_status: string;
  idempotency_token: string | null;
  /** Raw form fields (JSON text). */
  params: string | null;
  /** The message the callback belongs to; null until its SID is known. */
  message_id: string | null;
  created_at: Ms;
}

/** When the reconciler asks the provider about a message next (backing off per check). */
export interface ReconcileChecksTable {
  message_id: string;
  next_check_at: Ms;
  checks: number;
}

export interface ConversationTables {
  conversations: ConversationsTable;
  consent_events: ConsentEventsTable;
  suppressions: SuppressionsTable;
  webhook_events: WebhookEventsTable;
  reconcile_checks: ReconcileChecksTable;
}
