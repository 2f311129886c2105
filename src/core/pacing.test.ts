import { describe, expect, it } from 'vitest';
import { defaultRate, paceCostMs, senderKey, senderRatesErrors } from './pacing.js';

describe('sender pacing', () => {
  it('default rates by sender type (segments per second)', () => {
    expect(defaultRate('+14155550100')).toBe(1); // US long code
    expect(defaultRate('+18005550100')).toBe(3); // toll-free
    expect(defaultRate('+18885550100')).toBe(3);
    expect(defaultRate('12345')).toBe(100); // short code
    expect(defaultRate('MG0123456789abcdef0123456789abcdef')).toBe(1); // pool of unknown size
    expect(defaultRate('+447700900123')).toBe(10); // outside +1
    expect(defaultRate('ACME')).toBe(10); // alphanumeric sender ID
    expect(defaultRate('whatsapp:+14155550100')).toBe(80);
  });

  it('a Messaging Service is paced as one pool; a message costs its segments at the rate', () => {
    expect(senderKey({ from: '+14155550100', messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' })).toBe('MG0123456789abcdef0123456789abcdef');
    expect(senderKey({ from: '+14155550100', messagingServiceSid: null })).toBe('+14155550100');
    expect(senderKey({ from: null, messagingServiceSid: null })).toBeNull();
    expect(paceCostMs(1, 10)).toBe(100);
    expect(paceCostMs(3, 1)).toBe(3000);
    expect(paceCostMs(0, 10)).toBe(100); // media-only MMS: one unit
    expect(paceCostMs(1, 3)).toBe(334);
  });

  it('sender_rates validation names the bad entry', () => {
    expect(senderRatesErrors({ '+14155550100': 10, MG0123456789abcdef0123456789abcdef: 30, '12345': 100 })).toEqual([]);
    expect(senderRatesErrors({ '+14155550100': 0, 'no-pe!': 5, '+1415': 'fast' }).map((e) => e.field)).toEqual(['.+14155550100', '.no-pe!', '.+1415']);
    expect(senderRatesErrors([1])).toHaveLength(1);
  });
});
