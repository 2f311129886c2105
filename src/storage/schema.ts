// Row types shared by the SQLite and PostgreSQL schemas. Times are epoch milliseconds (integer /
// bigint) in both databases: one representation, comparable and indexable, no driver-specific
// Date handling. JSON columns are text.
import type { ColumnType, Generated } from 'kysely';
import type {
  ApiKeyRecord,
  AuditRecord,
  EventRecord,
  MessageRecord,
  NewMessageEventRecord,
  SenderPaceRecord,
  TemplateVersionRecord,
  TenantRecord,
  WebhookAttemptRecord,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
} from '../ports.js';
import type { ConversationTables } from './schema-conversations.js';
import type { VerifyTables } from './schema-verify.js';

export type { Ms } from './columns.js';
import type { Ms } from './columns.js';

export type TenantsTable = TenantRecord;

export type ApiKeysTable = ApiKeyRecord;

/** `sensitive` may be left out of an insert (default 0). */
export interface MessagesTable extends Omit<MessageRecord, 'sensitive'> {
  sensitive: ColumnType<number, number | undefined, number>;
}

export interface MessageEventsTable extends NewMessageEventRecord {
  id: Generated<number>;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  request_hash: string;
  /** null while the first request is still running. */
  response_status: number | null;
  response_body: string | null;
  created_at: Ms;
  expires_at: Ms;
}

/** One row per template name: its latest version; `deleted_at` marks a soft delete (migration 0008). */
export interface TemplatesTable {
  tenant_id: string;
  name: string;
  current_version: number;
  created_at: Ms;
  updated_at: Ms;
  deleted_at: Ms | null;
}

export type TemplateVersionsTable = TemplateVersionRecord;

/** The events outbox (migration 0011); fanout_pending defaults to 1. */
export interface EventsTable extends EventRecord {
  fanout_pending: ColumnType<number, number | undefined, number>;
}

export interface Database extends ConversationTables, VerifyTables {
  templates: TemplatesTable;
  template_versions: TemplateVersionsTable;
  events: EventsTable;
  webhook_endpoints: WebhookEndpointRecord;
  webhook_deliveries: WebhookDeliveryRecord;
  webhook_attempts: WebhookAttemptRecord;
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  messages: MessagesTable;
  message_events: MessageEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  audit_log: AuditRecord;
  sender_pace: SenderPaceRecord;
}
