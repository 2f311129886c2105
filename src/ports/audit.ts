// The audit log: who changed what, written in the same transaction as the change.
import type { Tx } from './tx.js';

export interface AuditRecord {
  id: string;
  /** The tenant the change concerns. */
  tenant_id: string;
  /** 1: a platform action (tenants created or changed), visible to `tenants:admin` keys. */
  platform: number;
  /** The API key that made the change (null: the library or the CLI). */
  actor_key_id: string | null;
  /** The tenant of that key. */
  actor_tenant_id: string | null;
  /** The slug of the tenant a `tenants:admin` key acted on behalf of (Smsrelay-Tenant header), else null. */
  on_behalf_of: string | null;
  /** e.g. settings.update, api_key.create, api_key.revoke, tenant.create, tenant.update, consent.set */
  action: string;
  /** Id of the changed resource (key id, tenant id, phone number …), when there is one. */
  target: string | null;
  /** JSON text: field names and new values, secrets as "[redacted]". */
  changes: string;
  created_at: number;
}

export interface AuditListQuery {
  tenantId: string;
  /** Also platform actions of every tenant (a `tenants:admin` key). */
  includePlatform: boolean;
  limit: number;
  /** Newest first: rows strictly before this (created_at, id). */
  before: readonly [number, string] | null;
}

export interface AuditRepository {
  /** Appends an entry inside the caller's transaction. */
  record(tx: Tx, row: AuditRecord): Promise<void>;
  /** Newest first; `limit` rows at most. */
  list(q: AuditListQuery): Promise<AuditRecord[]>;
}
