// Row types shared by the SQLite and PostgreSQL schemas. Times are epoch milliseconds (integer /
// bigint) in both databases: one representation, comparable and indexable, no driver-specific
// Date handling. JSON columns are text.
import type { ColumnType, Generated } from 'kysely';
import type { ApiKeyRecord, MessageRecord, NewMessageEventRecord, TenantRecord } from '../ports.js';
import type { ConversationTables } from './schema-conversations.js';
import type { LimitsTables } from './schema-limits.js';
import type { VerifyTables } from './schema-verify.js';

export type { Ms } from './columns.js';
import type { Ms } from './columns.js';

/** `enabled` has a column default (rows written before migration 0009 are enabled). */
export type TenantsTable = Omit<TenantRecord, 'enabled'> & { enabled: Generated<number> };

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

export interface Database extends ConversationTables, VerifyTables, LimitsTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  messages: MessagesTable;
  message_events: MessageEventsTable;
  idempotency_keys: IdempotencyKeysTable;
}
