// Tables of webhooks, conversations and the consent ledger (migration 0002).
import type { ConsentEventRecord, ConversationRecord, SuppressionRecord, WebhookEventRecord } from '../ports.js';
import type { Ms } from './columns.js';

/** Columns documented on the port's record. */
export type ConversationsTable = ConversationRecord;

/** Append-only consent ledger. */
export type ConsentEventsTable = ConsentEventRecord;

/** Current state: a row means "do not text this number". */
export type SuppressionsTable = SuppressionRecord;

/** Raw Twilio webhooks as received (signature checked), kept for audit and late matching. */
export type WebhookEventsTable = WebhookEventRecord;

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
