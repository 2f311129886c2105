import type { Tx } from './tx.js';
// The settings document's storage: the sender/region columns of the tenant row plus its settings JSON.

export interface StoredSettings {
  slug: string;
  /** Only the keys a tenant has set (a null column counts as not set). */
  values: Record<string, unknown>;
}

export interface SettingsRepository {
  read(tenantId: string): Promise<StoredSettings | undefined>;
  /**
   * Read-modify-write in one transaction (the row locked on PostgreSQL), so concurrent patches of
   * different keys both land. Returns the stored values written, or undefined for an unknown tenant.
   */
  update(
    tenantId: string,
    change: (values: Record<string, unknown>) => Record<string, unknown>,
    now: number,
    /** More writes in the same transaction (the tenant's credentials, the audit entry). */
    within?: (tx: Tx) => Promise<void>,
  ): Promise<Record<string, unknown> | undefined>;
}
