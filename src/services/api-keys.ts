import { createHash } from 'node:crypto';
import { AppError } from '../core/errors.js';
import type { ApiKeysRepository, Clock, Random, UnitOfWork } from '../ports.js';
import { REDACTED, SYSTEM_ACTOR, type Actor, type AuditLog } from './audit.js';

/**
 * 'admin' is everything within the key's tenant; 'tenants:admin' is the platform admin (manages
 * tenants, acts on behalf of any with the Smsrelay-Tenant header) and is not part of 'admin'.
 */
export const SCOPES = [
  'admin',
  'messages:read',
  'messages:write',
  'verify:read',
  'verify:write',
  'templates:read',
  'templates:write',
  'events:read',
  'webhooks:write',
  'tenants:admin',
  'alerts:read',
  // --- usage, lookups, contacts, privacy ---
  'usage:read',
  'lookups:read',
  'contacts:read',
  'contacts:write',
  // --- campaigns ---
  'campaigns:read',
  'campaigns:write',
] as const;
export const PLATFORM_SCOPE = 'tenants:admin';
export type Scope = (typeof SCOPES)[number] | (string & {});

export interface ApiKeyInfo {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface Principal {
  keyId: string;
  tenantId: string;
  scopes: ReadonlySet<string>;
}

const KEY_PREFIX = 'smsr_';
// Revocations and new keys show up in other processes within this window; in this process at once.
const CACHE_MS = 10_000;
const TOUCH_EVERY_MS = 60_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has(scope) || (scope !== PLATFORM_SCOPE && p.scopes.has('admin'));
}

/** A key grants only scopes it holds itself ('admin' covers the tenant's scopes, not 'tenants:admin'). */
function assertGrantable(grantor: Principal, scopes: readonly string[]): void {
  const missing = scopes.filter((s) => !hasScope(grantor, s));
  if (missing.length)
    throw new AppError('SMS_ERR_SCOPE_NOT_GRANTABLE', `This key cannot grant scopes it does not hold: ${missing.join(', ')}.`, {
      field: 'scopes',
      scopes: missing,
    });
}

export class ApiKeysService {
  private cache = new Map<string, { principal: Principal | null; until: number }>();
  private touched = new Map<string, number>();

  constructor(private readonly d: { keys: ApiKeysRepository; write: UnitOfWork['write']; audit: AuditLog; clock: Clock; random: Random }) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /**
   * Creates a key and returns its secret: the only time the secret is visible. `grantor`: the key
   * that asks (over the API), which can only grant scopes it holds; the CLI and library grant any.
   */
  async create(
    tenantId: string,
    name: string,
    scopes: string[],
    secret?: string,
    by: { grantor?: Principal; actor?: Actor } = {},
  ): Promise<{ key: string; info: ApiKeyInfo }> {
    for (const s of scopes)
      if (!(SCOPES as readonly string[]).includes(s))
        throw new AppError('SMS_ERR_VALIDATION', `Unknown scope '${s}'. Known scopes: ${SCOPES.join(', ')}.`, { field: 'scopes' });
    if (scopes.length === 0) throw new AppError('SMS_ERR_VALIDATION', 'At least one scope is required.', { field: 'scopes' });
    if (by.grantor) assertGrantable(by.grantor, scopes);
    const key = secret ?? KEY_PREFIX + this.d.random.bytes(24).toString('base64url');
    const now = this.now();
    const row = {
      id: this.d.random.id(),
      tenant_id: tenantId,
      name,
      prefix: key.slice(0, 12),
      key_hash: hashKey(key),
      scopes: scopes.join(' '),
      created_at: now,
      last_used_at: null,
      revoked_at: null,
    };
    await this.d.write(async (tx) => {
      await this.d.keys.insert(tx, row);
      await this.d.audit.record(tx, {
        tenantId,
        actor: by.actor ?? SYSTEM_ACTOR,
        action: 'api_key.create',
        target: row.id,
        changes: { name, scopes, secret: REDACTED },
      });
    });
    this.cache.delete(row.key_hash);
    return { key, info: toInfo(row) };
  }

  /** Installs a configured key (SMSRELAY_API_KEY) unless a key with the same hash exists. */
  async ensure(tenantId: string, name: string, key: string, scopes: string[]): Promise<void> {
    const existing = await this.d.keys.findByHash(hashKey(key));
    if (!existing) await this.create(tenantId, name, scopes, key);
    else if (existing.revoked_at !== null) {
      await this.d.keys.unrevoke(existing.id);
    }
  }

  async list(tenantId: string): Promise<ApiKeyInfo[]> {
    return (await this.d.keys.list(tenantId)).map(toInfo);
  }

  async revoke(tenantId: string, idOrPrefix: string, actor: Actor = SYSTEM_ACTOR): Promise<boolean> {
    const now = this.now();
    const ids = await this.d.write(async (tx) => {
      const revoked = await this.d.keys.revoke(tx, tenantId, idOrPrefix, now);
      for (const id of revoked) await this.d.audit.record(tx, { tenantId, actor, action: 'api_key.revoke', target: id, changes: { revoked: true } });
      return revoked;
    });
    this.cache.clear();
    return ids.length > 0;
  }

  /** One of a tenant's keys (revoked ones too); undefined for another tenant's. */
  async get(tenantId: string, id: string): Promise<ApiKeyInfo | undefined> {
    return (await this.list(tenantId)).find((k) => k.id === id);
  }

  async hasAnyKey(tenantId: string): Promise<boolean> {
    return (await this.d.keys.list(tenantId)).length > 0;
  }

  /** Resolves a bearer key to its principal, or throws SMS_ERR_UNAUTHENTICATED. */
  async authenticate(key: string | undefined): Promise<Principal> {
    if (!key || key.length > 256) throw new AppError('SMS_ERR_UNAUTHENTICATED');
    const hash = hashKey(key);
    const now = this.now();
    let hit = this.cache.get(hash);
    if (!hit || hit.until <= now) {
      const row = await this.d.keys.findByHash(hash);
      const principal = row && row.revoked_at === null ? { keyId: row.id, tenantId: row.tenant_id, scopes: new Set(row.scopes.split(' ')) } : null;
      hit = { principal, until: now + CACHE_MS };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, hit);
    }
    if (!hit.principal) throw new AppError('SMS_ERR_UNAUTHENTICATED');
    const last = this.touched.get(hit.principal.keyId) ?? 0;
    if (now - last > TOUCH_EVERY_MS) {
      this.touched.set(hit.principal.keyId, now);
      void this.d.keys.touch(hit.principal.keyId, now).catch(() => undefined);
    }
    return hit.principal;
  }
}

function toInfo(r: {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}): ApiKeyInfo {
  const iso = (v: number | null) => (v === null ? null : new Date(v).toISOString());
  return {
    id: r.id,
    tenant_id: r.tenant_id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes.split(' '),
    created_at: iso(r.created_at)!,
    last_used_at: iso(r.last_used_at),
    revoked_at: iso(r.revoked_at),
  };
}
