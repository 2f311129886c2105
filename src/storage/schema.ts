// Row types shared by the SQLite and PostgreSQL schemas. Times are epoch milliseconds (integer /
// bigint) in both databases: one representation, comparable and indexable, no driver-specific
// Date handling. JSON columns are text.
import type { ColumnType, Generated } from 'kysely';
import type { ConversationTables } from './schema-conversations.js';
import type { VerifyTables } from './schema-verify.js';

export type { Ms } from './columns.js';
import type { Ms } from './columns.js';

export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  status: string;
  twilio_account_sid: string | null;
  twilio_auth_token_enc: string | null;
  from_number: string | null;
  messaging_service_sid: string | null;
  whatsapp_from: string | null;
  default_region: string | null;
  settings: string;
  created_at: Ms;
  updated_at: Ms;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string;
  created_at: Ms;
  last_used_at: Ms | null;
  revoked_at: Ms | null;
}

export interface MessagesTable {
  id: string;
  tenant_id: string;
  direction: string;
  channel: string;
  to_addr: string;
  from_addr: string | null;
  messaging_service_sid: string | null;
  body: string | null;
  media_urls: string | null;
  encoding: string | null;
  segments: number;
  status: string;
  provider_sid: string | null;
  error_code: string | null;
  provider_code: number | null;
  error_message: string | null;
  price: string | null;
  price_unit: string | null;
  attempts: number;
  max_attempts: number;
  next_attempt_at: Ms | null;
  locked_until: Ms | null;
  locked_by: string | null;
  /** Set while a provider call is (or may be) in flight; a claim that finds it set must settle first. */
  in_flight_since: Ms | null;
  send_at: Ms | null;
  hold_reason: string | null;
  expires_at: Ms | null;
  validity_period: number | null;
  idempotency_key: string | null;
  conversation_id: string | null;
  metadata: string | null;
  sensitive: ColumnType<number, number | undefined, number>;
  created_at: Ms;
  updated_at: Ms;
  sent_at: Ms | null;
}

export interface MessageEventsTable {
  id: Generated<number>;
  message_id: string;
  tenant_id: string;
  status: string;
  source: string;
  error_code: string | null;
  provider_code: number | null;
  data: string | null;
  created_at: Ms;
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
}
