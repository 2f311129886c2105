// Sliding-window limits for verification sends (per number, client IP, tenant and number prefix).
// Each accepted send leaves one event per key; a key is over its limit when its window already
// holds `max` events. The use case runs these inside one transaction, after `lock`, so "count, then
// record" cannot interleave with another request for the same key (see CountersRepository).
import type { VerifyConfig, WindowLimit } from '../../config.js';
import type { CountersRepository, Tx } from '../../ports.js';

export type LimitName = 'number' | 'ip' | 'tenant' | 'prefix';

export interface LimitRule {
  name: LimitName;
  key: string;
  limit: WindowLimit;
}

export interface LimitHit {
  name: LimitName;
  /** When the oldest counted event leaves the window, i.e. when one more send would be allowed. */
  retryAt: number;
}

/** The windows a start counts against; the IP window only when the client IP is known. */
export function startRules(cfg: VerifyConfig, s: { tenantId: string; e164: string; prefix: string; ip: string | null }): LimitRule[] {
  return [
    { name: 'number', key: `n:${s.tenantId}:${s.e164}`, limit: cfg.limitNumber },
    ...(s.ip ? [{ name: 'ip' as const, key: `ip:${s.tenantId}:${s.ip}`, limit: cfg.limitIp }] : []),
    { name: 'tenant', key: `t:${s.tenantId}`, limit: cfg.limitTenant },
    { name: 'prefix', key: `p:${s.tenantId}:${s.prefix}`, limit: cfg.limitPrefix },
  ];
}

export class SendLimits {
  constructor(private readonly counters: CountersRepository) {}

  /** Holds other transactions on the same keys off until `tx` ends. */
  lock(tx: Tx, rules: LimitRule[]): Promise<void> {
    return this.counters.lock(
      tx,
      rules.map((r) => r.key),
    );
  }

  /** The full window that clears last, or null when every rule has room. Also prunes events that left their window. */
  async exceeded(tx: Tx, rules: LimitRule[], now: number): Promise<LimitHit | null> {
    let hit: LimitHit | null = null;
    for (const r of rules) {
      await this.counters.prune(tx, r.key, now - r.limit.windowS * 1000);
      // The max-th newest event: while it is inside the window, the window is full.
      const nth = await this.counters.nthNewest(tx, r.key, r.limit.max);
      if (nth !== null) {
        const retryAt = nth + r.limit.windowS * 1000;
        if (!hit || retryAt > hit.retryAt) hit = { name: r.name, retryAt };
      }
    }
    return hit;
  }

  record(tx: Tx, rules: LimitRule[], now: number): Promise<void> {
    return this.counters.record(
      tx,
      rules.map((r) => r.key),
      now,
    );
  }
}
