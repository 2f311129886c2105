// Conversion-based blocking of number prefixes: SMS pumping sends codes to ranges of numbers that
// never confirm them. When too few of a prefix's recent codes were approved, starts to it are
// refused for a cooldown. Runs inside the start's transaction, after its limit locks.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { VerifyConfig } from '../../config.js';
import type { BlockedPrefixRecord, Tx, VerificationsRepository } from '../../ports.js';

// Codes younger than this still have their chance to be entered: counting them as unconverted
// would make a burst of legitimate sign-ups look like SMS pumping.
const CONVERSION_SETTLE_MS = 2 * 60 * 1000;

/** '+' + country calling code + the first 6 national digits: where SMS pumping concentrates. */
export function numberPrefix(e164: string): string {
  const p = parsePhoneNumberFromString(e164);
  return p ? `+${p.countryCallingCode}${p.nationalNumber.slice(0, 6)}` : e164.slice(0, 8);
}

export interface PrefixBlock {
  until: number;
  started: number;
  approved: number;
}

export class PrefixGuard {
  constructor(private readonly d: { verifications: VerificationsRepository; config: VerifyConfig }) {}

  /** The prefix's last block (in force or not): a block in force refuses, an older one starts the next window. */
  lastBlock(tx: Tx, tenantId: string, prefix: string): Promise<BlockedPrefixRecord | undefined> {
    return this.d.verifications.blockedPrefix(tx, tenantId, prefix);
  }

  /** Started vs approved for a prefix since the window began (or its last block ended); records a block when it collapsed. */
  async collapsed(tx: Tx, tenantId: string, prefix: string, now: number, previous: BlockedPrefixRecord | undefined): Promise<PrefixBlock | null> {
    const cfg = this.d.config;
    if (cfg.blockMinConversion <= 0) return null;
    const { started, approved } = await this.d.verifications.prefixConversion(
      tx,
      tenantId,
      prefix,
      Math.max(now - cfg.blockWindowS * 1000, previous?.blocked_until ?? 0),
      now - Math.min(CONVERSION_SETTLE_MS, cfg.ttlS * 1000),
    );
    if (started < cfg.blockMinStarts || approved / started >= cfg.blockMinConversion) return null;
    const until = now + cfg.blockCooldownS * 1000;
    await this.d.verifications.blockPrefix(tx, { tenant_id: tenantId, prefix, blocked_until: until, started, approved, created_at: now });
    return { until, started, approved };
  }
}
