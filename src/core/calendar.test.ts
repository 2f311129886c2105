import { describe, expect, it } from 'vitest';
import { dayOf, nextMidnight } from './calendar.js';

const t = (iso: string) => Date.parse(iso);

describe('calendar days in a time zone', () => {
  it('names the day in the zone, on both sides of the date line', () => {
    const at = t('2026-03-10T12:00:00Z');
    expect(dayOf(at, 'UTC')).toBe('2026-03-10');
    expect(dayOf(at, 'Pacific/Kiritimati')).toBe('2026-03-11'); // UTC+14
    expect(dayOf(at, 'Pacific/Pago_Pago')).toBe('2026-03-10'); // UTC-11
    expect(dayOf(t('2026-03-10T23:30:00Z'), 'Pacific/Pago_Pago')).toBe('2026-03-10');
  });

  it('finds the next midnight in the zone', () => {
    expect(nextMidnight(t('2026-03-10T12:00:00Z'), 'UTC')).toBe(t('2026-03-11T00:00:00Z'));
    expect(nextMidnight(t('2026-03-10T12:00:00Z'), 'Pacific/Kiritimati')).toBe(t('2026-03-11T10:00:00Z'));
    expect(nextMidnight(t('2026-03-10T12:00:00Z'), 'Pacific/Pago_Pago')).toBe(t('2026-03-11T11:00:00Z'));
    expect(nextMidnight(t('2026-03-11T10:59:59Z'), 'Pacific/Pago_Pago')).toBe(t('2026-03-11T11:00:00Z'));
    expect(nextMidnight(t('2026-03-11T11:00:00Z'), 'Pacific/Pago_Pago')).toBe(t('2026-03-12T11:00:00Z'));
  });

  it('is DST-correct: 23- and 25-hour days, and a zone whose DST change skips midnight', () => {
    // New York springs forward on 2026-03-08 (EST → EDT) and falls back on 2026-11-01.
    expect(nextMidnight(t('2026-03-08T12:00:00Z'), 'America/New_York')).toBe(t('2026-03-09T04:00:00Z'));
    expect(nextMidnight(t('2026-03-07T12:00:00Z'), 'America/New_York')).toBe(t('2026-03-08T05:00:00Z'));
    expect(nextMidnight(t('2026-11-01T12:00:00Z'), 'America/New_York')).toBe(t('2026-11-02T05:00:00Z'));
    // Santiago springs forward at 24:00 on the first Saturday of September: 2026-09-06 starts at 01:00 (-03).
    expect(nextMidnight(t('2026-09-05T12:00:00Z'), 'America/Santiago')).toBe(t('2026-09-06T04:00:00Z'));
    expect(dayOf(t('2026-09-06T04:00:00Z') - 1, 'America/Santiago')).toBe('2026-09-05');
  });
});
