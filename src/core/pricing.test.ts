import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_TABLE, estimatePrice, sumPrices } from './pricing.js';

describe('price estimates', () => {
  it('bills SMS per segment and MMS per message, by country, with a catch-all', () => {
    expect(estimatePrice(DEFAULT_RATE_TABLE, 'US', 'sms', 3)).toEqual({ amount: '0.0249', unit: 'USD', rate_country: 'US' });
    expect(estimatePrice(DEFAULT_RATE_TABLE, 'US', 'mms', 3).amount).toBe('0.0220');
    expect(estimatePrice(DEFAULT_RATE_TABLE, 'ZZ', 'sms', 1)).toMatchObject({ amount: '0.0500', rate_country: '*' });
    expect(estimatePrice(DEFAULT_RATE_TABLE, null, 'sms', 0).amount).toBe('0.0500');
  });

  it('sums without floating-point drift', () => {
    expect(sumPrices(Array(1000).fill('0.0083'))).toBe('8.3000');
    expect(sumPrices([])).toBe('0.0000');
  });
});
