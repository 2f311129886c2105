import { createHash } from 'node:crypto';
import { AppError } from '../core/errors.js';
import type { ApiKeysRepository, Clock, Random } from '../ports.js';

export const SCOPES = ['admin', 'messages:read', 'messages:write', 'verify:read', 'verify:write', 'alerts:read'] as const;
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
  return p.scopes.has('admin') || p.scopes.has(scope);
}

export class ApiKeysService {
  private cache = new Map<string, { principal: Principal | null; until: number }>();
  private touched = new Map<string, number>();

  constructor(private readonly d: { keys: ApiKeysRepository; clock: Clock; random: Random }) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /** Creates a key and returns its secret: the only time the secret is visible. */
  async create(tenantId: string, name: string, scopes: string[], secret?: string): Promise<{ key: string; info: ApiKeyInfo }> {
    for (const s of scopes)
      if (!(SCOPES as readonly string[]).includes(s)) throw new AppError('SMS_ERR_VALIDATION', `Unknown scope '${s}'. Known scopes: ${SCOPES.join(', ')}.`);
    if (scopes.length === 0) throw new AppError('SMS_ERR_VALIDATION', 'At least one scope is required.');
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
    await this.d.keys.insert(row);
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

  async revoke(tenantId: string, idOrPrefix: string): Promise<boolean> {
    const n = await this.d.keys.revoke(tenantId, idOrPrefix, this.now());
    this.cache.clear();
    return n > 0;
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
