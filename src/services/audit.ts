// The audit log of changes made through the API: who (API key, and the tenant it acted on behalf
// of), when, what (field names and new values, secrets redacted). Entries are written by the
// caller inside the transaction of the change itself: `audit.record(tx, entry)`.
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import type { AuditRepository, Clock, Random, Tx } from '../ports.js';

/** Who makes a change: an API key (null for the library and the CLI), and whom it acts for. */
export interface Actor {
  keyId: string | null;
  /** The tenant of the key. */
  tenantId: string | null;
  /** The slug given in the Smsrelay-Tenant header by a `tenants:admin` key, else null. */
  onBehalfOf: string | null;
}

export const SYSTEM_ACTOR: Actor = { keyId: null, tenantId: null, onBehalfOf: null };

export interface AuditEntry {
  /** The tenant the change concerns. */
  tenantId: string;
  actor: Actor;
  action: string;
  target?: string | null;
  /** Field names and new values; pass secrets through `redacted`. */
  changes: Record<string, unknown>;
  /** A platform action (tenants), listed to `tenants:admin` keys of any tenant. */
  platform?: boolean;
}

/** What the audit log shows in place of a secret's value. */
export const REDACTED = '[redacted]';

export interface AuditResource {
  id: string;
  tenant_id: string;
  platform: boolean;
  actor_key_id: string | null;
  actor_tenant_id: string | null;
  on_behalf_of: string | null;
  action: string;
  target: string | null;
  changes: Record<string, unknown>;
  created_at: string;
}

export class AuditLog {
  constructor(private readonly d: { repo: AuditRepository; clock: Clock; random: Random }) {}

  /** Appends an entry inside the transaction of the change it describes. */
  record(tx: Tx, e: AuditEntry): Promise<void> {
    return this.d.repo.record(tx, {
      id: this.d.random.id(),
      tenant_id: e.tenantId,
      platform: e.platform ? 1 : 0,
      actor_key_id: e.actor.keyId,
      actor_tenant_id: e.actor.tenantId,
      on_behalf_of: e.actor.onBehalfOf,
      action: e.action,
      target: e.target ?? null,
      changes: JSON.stringify(e.changes),
      created_at: this.d.clock.now().getTime(),
    });
  }

  /** A tenant's entries, newest first; `includePlatform` adds every tenant's platform actions. */
  async list(
    tenantId: string,
    includePlatform: boolean,
    q: { limit?: number; cursor?: string },
  ): Promise<{ data: AuditResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const before = decodeCursor(q.cursor, ['number', 'string']);
    const rows = await this.d.repo.list({ tenantId, includePlatform, limit: limit + 1, before });
    const p = page(rows, limit, (r) => [r.created_at, r.id]);
    return {
      data: p.data.map((r) => ({
        id: r.id,
        tenant_id: r.tenant_id,
        platform: r.platform === 1,
        actor_key_id: r.actor_key_id,
        actor_tenant_id: r.actor_tenant_id,
        on_behalf_of: r.on_behalf_of,
        action: r.action,
        target: r.target,
        changes: JSON.parse(r.changes) as Record<string, unknown>,
        created_at: new Date(r.created_at).toISOString(),
      })),
      next_cursor: p.next_cursor,
    };
  }
}
