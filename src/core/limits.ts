// Whether a message is counted by the sending limits (a per-recipient window or cooldown of its
// category, or the tenant's daily cap). Counting costs database work, so the meter asks this first.
import type { Category } from './categories.js';
import type { TenantSettings } from './settings.js';

export function isMetered(s: TenantSettings, category: string): boolean {
  const c = category as Category;
  return s.daily_cap !== null || (s.recipient_limits[c] ?? null) !== null || (c !== 'otp' && (s.recipient_cooldown_seconds[c] ?? 0) > 0);
}
