import { describe, expect, it } from 'vitest';
import { contribution, countryOfAddress, deliveryRate, hourOf, priceMicros, UsageDeltas } from './usage.js';

describe('usage core', () => {
  it('counts prices positive, in millionths, and ignores what is not a number', () => {
    expect(priceMicros('-0.00790')).toBe(7900);
    expect(priceMicros('0.0083')).toBe(8300);
    expect(priceMicros(null)).toBe(0);
    expect(priceMicros('n/a')).toBe(0);
  });

  it('finds the country of E.164 and WhatsApp addresses, none for erased ones', () => {
    expect(countryOfAddress('+447400123456')).toBe('GB');
    expect(countryOfAddress('whatsapp:+14155550100')).toBe('US');
    expect(countryOfAddress('erased:0123abcd')).toBe('');
    expect(countryOfAddress(null)).toBe('');
  });

  it('splits actual from estimated cost and sums deltas to nothing when a message moves back and forth', () => {
    const base = { created_at: Date.UTC(2026, 4, 1, 10, 59, 59), status: 'sent', channel: 'sms', country: 'US', category: 'transactional', segments: 2 };
    const actual = contribution({ ...base, price: '-0.01580', estimated: false });
    expect(actual.key.bucket).toBe(Date.UTC(2026, 4, 1, 10));
    expect(actual.amounts).toEqual({ messages: 1, segments: 2, cost_actual: 15800, cost_estimated: 0 });
    expect(contribution({ ...base, price: '0.0166', estimated: true }).amounts).toMatchObject({ cost_actual: 0, cost_estimated: 16600 });
    const d = new UsageDeltas();
    d.add(actual, 1);
    d.add(actual, -1);
    expect(d.entries()).toEqual([]);
    expect(hourOf(-1)).toBe(-3_600_000);
  });

  it('computes the delivery rate over final outcomes only', () => {
    expect(deliveryRate(0, 0)).toBeNull();
    expect(deliveryRate(3, 1)).toBe(0.75);
  });
});
