// Row types shared by the SQLite and PostgreSQL schemas. Times are epoch milliseconds (integer /
// bigint) in both databases: one representation, comparable and indexable, no driver-specific
// Date handling. JSON columns are text.
import type { ColumnType, Generated } from 'kysely';
import type {
  ApiKeyRecord,
  AuditRecord,
  ConsoleSessionRecord,
  CampaignRecipientRecord,
  CampaignRecord,
  ContactRecord,
  EventRecord,
  LookupCacheRecord,
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
import type { LimitsTables } from './schema-limits.js';
import type { VerifyTables } from './schema-verify.js';

export type { Ms } from './columns.js';
import type { Ms } from './columns.js';

/** `enabled` has a column default (rows written before migration 0009 are enabled). */
export type TenantsTable = Omit<TenantRecord, 'enabled'> & { enabled: Generated<number> };

export type ApiKeysTable = ApiKeyRecord;

/** `sensitive` may be left out of an insert (default 0). */
export interface MessagesTable extends Omit<MessageRecord, 'sensitive' | 'price_estimated' | 'metered'> {
  metered: ColumnType<number, number | undefined, number>;
  sensitive: ColumnType<number, number | undefined, number>;
  price_estimated: ColumnType<number, number | undefined, number>;
  /** What the usage rollup counts for the message (storage/repositories/usage.ts). */
  usage_status: ColumnType<string | null, string | null | undefined, string | null>;
  usage_price: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface UsageRollupTable {
  tenant_id: string;
  bucket: Ms;
  status: string;
  channel: string;
  country: string;
  category: string;
  messages: number;
  segments: number;
  cost_actual: number;
  cost_estimated: number;
}

export type LookupCacheTable = LookupCacheRecord;

export type ContactsTable = ContactRecord;

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

export interface Database extends ConversationTables, VerifyTables, LimitsTables {
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
  usage_rollup: UsageRollupTable;
  usage_rollup_day: UsageRollupTable;
  lookup_cache: LookupCacheTable;
  contacts: ContactsTable;
  // --- admin console ---
  console_sessions: ConsoleSessionRecord;
  // --- campaigns ---
  campaigns: CampaignRecord;
  campaign_recipients: CampaignRecipientRecord;
}
