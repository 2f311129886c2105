// Templates: their storage (every change a new immutable version) and the engine that renders them.

export interface TemplateVersionRecord {
  tenant_id: string;
  name: string;
  version: number;
  category: string;
  default_locale: string;
  /** JSON object: locale tag → template source. */
  locales: string;
  /** 1/0: the template's choice; null: the tenant's setting. */
  smart_encoding: number | null;
  created_at: number;
}

export type TemplateWrite = { kind: 'written'; version: TemplateVersionRecord } | { kind: 'exists' } | { kind: 'not_found' };

export interface TemplatesRepository {
  /**
   * Writes the next version of a template: `create` refuses a live template of that name (a deleted
   * one comes back with the next version number), `update` needs a live one. `version` is assigned.
   */
  write(mode: 'create' | 'update', row: Omit<TemplateVersionRecord, 'version'>): Promise<TemplateWrite>;
  /** The latest version of a live template, or a given version of a live one. */
  get(tenantId: string, name: string, version?: number): Promise<TemplateVersionRecord | undefined>;
  /** The latest versions of the live templates among these tenants and names (one query for a batch of sends). */
  currentAmong(tenantIds: string[], names: string[]): Promise<TemplateVersionRecord[]>;
  /** Latest versions of live templates by name, after `after`. */
  list(tenantId: string, opts: { after?: string; limit: number }): Promise<TemplateVersionRecord[]>;
  /** Versions of a live template, newest first, before `before`. */
  versions(tenantId: string, name: string, opts: { before?: number; limit: number }): Promise<TemplateVersionRecord[]>;
  /** Soft delete: the name disappears, its versions stay. */
  remove(tenantId: string, name: string, now: number): Promise<boolean>;
}

/** Renders template sources (the adapter is the only place that knows the engine). */
export interface TemplateEngine {
  /** Throws an AppError (SMS_ERR_TEMPLATE_SYNTAX or _UNKNOWN_FILTER) naming the position when the source does not parse. */
  check(source: string): void;
  /** The variables the source reads from its input (top-level names). */
  variables(source: string): string[];
  /** Throws an AppError (SMS_ERR_TEMPLATE_…) naming the variable, filter or limit. */
  render(source: string, variables: Record<string, unknown>): Promise<string>;
}
