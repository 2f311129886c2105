// One settings service: every feature reads a tenant's effective settings here (stored values over
// the installation's defaults), through a short cache that a write in this process clears at once
// (other processes see it within the cache time).
import { AppError } from '../core/errors.js';
import { applyPatch, assertSettingsPatch, resolveSettings, type TenantSettings } from '../core/settings.js';
import type { Clock, SettingsRepository, Tx } from '../ports.js';

export interface SettingsServiceDeps {
  repo: SettingsRepository;
  clock: Clock;
  /** The defaults of a tenant: the environment's for the default tenant, installation-wide ones for others. */
  defaults(slug: string): TenantSettings;
  cacheMs?: number;
}

const CACHE_MS = 5_000;
const MAX_CACHED = 10_000;

export class SettingsService {
  private readonly cache = new Map<string, { settings: TenantSettings; until: number }>();

  constructor(private readonly d: SettingsServiceDeps) {}

  async get(tenantId: string): Promise<TenantSettings> {
    const now = this.d.clock.now().getTime();
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > now) return hit.settings;
    const stored = await this.d.repo.read(tenantId);
    if (!stored) throw new AppError('SMS_ERR_NOT_FOUND', 'No such tenant.');
    const settings = resolveSettings(stored.values, this.d.defaults(stored.slug));
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(tenantId, { settings, until: now + (this.d.cacheMs ?? CACHE_MS) });
    return settings;
  }

  /**
   * Validates the patch as a whole (a bad field is a 400 naming it; nothing is saved), then stores
   * it; `within` adds writes to the same transaction (credentials, the audit entry).
   */
  async update(tenantId: string, patch: unknown, within?: (tx: Tx) => Promise<void>): Promise<TenantSettings> {
    const valid = assertSettingsPatch(patch);
    const written = await this.d.repo.update(tenantId, (stored) => applyPatch(stored, valid), this.d.clock.now().getTime(), within);
    if (!written) throw new AppError('SMS_ERR_NOT_FOUND', 'No such tenant.');
    this.cache.delete(tenantId);
    return this.get(tenantId);
  }

  invalidate(tenantId?: string): void {
    if (tenantId === undefined) this.cache.clear();
    else this.cache.delete(tenantId);
  }
}
