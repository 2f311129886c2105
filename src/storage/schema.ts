// Row types shared by the SQLite and PostgreSQL schemas. Times are epoch milliseconds (integer /
// bigint) in both databases: one representation, comparable and indexable, no driver-specific
// Date handling. JSON columns are text.
import type { ColumnType, Generated } from 'kysely';
import type { ApiKeyRecord, ContactRecord, LookupCacheRecord, MessageRecord, NewMessageEventRecord, TenantRecord } from '../ports.js';
import type { ConversationTables } from './schema-conversations.js';
import type { VerifyTables } from './schema-verify.js';

export type { Ms } from './columns.js';
import type { Ms } from './columns.js';

export type TenantsTable = TenantRecord;

export type ApiKeysTable = ApiKeyRecord;

/** `sensitive` may be left out of an insert (default 0). */
export interface MessagesTable extends Omit<MessageRecord, 'sensitive' | 'price_estimated'> {
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

export interface Database extends ConversationTables, VerifyTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  messages: MessagesTable;
  message_events: MessageEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  usage_rollup: UsageRollupTable;
  usage_rollup_day: UsageRollupTable;
  lookup_cache: LookupCacheTable;
  contacts: ContactsTable;
}
