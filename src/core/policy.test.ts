import { describe, expect, it } from 'vitest';
import { combine, SEND, type Decision } from './policy.js';

describe('policy decisions', () => {
  it('the first refusal wins, whatever the holds', () => {
    const r1: Decision = { action: 'refuse', code: 'SMS_ERR_RECIPIENT_OPTED_OUT' };
    const r2: Decision = { action: 'refuse', code: 'SMS_ERR_RATE_LIMITED' };
    expect(combine([{ action: 'hold', until: 5, reason: 'quiet_hours' }, r1, r2])).toBe(r1);
  });
  it('holds combine to the latest release time; no rule means send', () => {
    expect(
      combine([SEND, { action: 'hold', until: 5, reason: 'a' }, { action: 'hold', until: 9, reason: 'b' }, { action: 'hold', until: 7, reason: 'c' }]),
    ).toEqual({ action: 'hold', until: 9, reason: 'b' });
    expect(combine([])).toEqual(SEND);
  });
});
