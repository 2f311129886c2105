// Sending policy as decisions: every rule answers send, hold (until a time, for a reason) or
// refuse (with an error code). The same decision is taken on accept and again at dispatch, so a
// message that waited is judged by the rules of the moment it is sent.
import type { ErrorCode } from './errors.js';

export type PolicyStage = 'accept' | 'dispatch';

export type Decision =
  | { action: 'send' }
  | { action: 'hold'; until: number; reason: string }
  | { action: 'refuse'; code: ErrorCode; message?: string; details?: Record<string, unknown> };

export const SEND: Decision = { action: 'send' };

/** Rules in order: the first refusal wins; otherwise the latest hold; otherwise send. */
export function combine(decisions: Iterable<Decision>): Decision {
  let hold: Decision | null = null;
  for (const d of decisions) {
    if (d.action === 'refuse') return d;
    if (d.action === 'hold' && (hold === null || (hold.action === 'hold' && d.until > hold.until))) hold = d;
  }
  return hold ?? SEND;
}
