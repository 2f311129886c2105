import { describe, expect, it } from 'vitest';
import { allowedAt, isTimeZone, nextAllowed, phoneTimezones, quietWindowErrors, stateRule, usState, type WindowRule } from './quiet-hours.js';

const T = (iso: string) => Date.parse(iso);
const ISO = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const DAY: WindowRule[] = [{ start: '08:00', end: '21:00' }];
const MIN = 60_000;

/** The answer by brute force: the first minute from `now` allowed in every zone (null: now). */
function byMinute(now: number, zones: string[], rules: WindowRule[]): number | null {
  if (zones.every((z) => allowedAt(now, z, rules))) return null;
  for (let t = Math.ceil(now / MIN) * MIN; t < now + 4 * 86_400_000; t += MIN) if (zones.every((z) => allowedAt(t, z, rules))) return t;
  throw new Error('no allowed minute');
}

describe('quiet hours window math', () => {
  it('window edges: 07:59 is held until 08:00, 08:00 and 20:59 are allowed, 21:00 is held until 08:00 the next day', () => {
    const ny = ['America/New_York'];
    expect(ISO(nextAllowed(T('2025-06-10T07:59:00-04:00'), ny, DAY))).toBe('2025-06-10T12:00:00.000Z');
    expect(nextAllowed(T('2025-06-10T08:00:00-04:00'), ny, DAY)).toBeNull();
    expect(nextAllowed(T('2025-06-10T20:59:59-04:00'), ny, DAY)).toBeNull();
    expect(ISO(nextAllowed(T('2025-06-10T21:00:00-04:00'), ny, DAY))).toBe('2025-06-11T12:00:00.000Z');
  });

  it('DST in America/New_York: spring-forward and fall-back nights open at 08:00 local (23 h and 25 h nights)', () => {
    const ny = ['America/New_York'];
    // 2025-03-09 02:00 EST → 03:00 EDT: the next opening is 08:00 EDT = 12:00Z.
    expect(ISO(nextAllowed(T('2025-03-08T21:00:00-05:00'), ny, DAY))).toBe('2025-03-09T12:00:00.000Z');
    expect(ISO(nextAllowed(T('2025-03-09T02:30:00-04:00'), ny, DAY))).toBe('2025-03-09T12:00:00.000Z');
    // 2025-11-02 02:00 EDT → 01:00 EST: 08:00 EST = 13:00Z.
    expect(ISO(nextAllowed(T('2025-11-01T21:30:00-04:00'), ny, DAY))).toBe('2025-11-02T13:00:00.000Z');
    expect(ISO(nextAllowed(T('2025-11-02T01:30:00-05:00'), ny, DAY))).toBe('2025-11-02T13:00:00.000Z');
  });

  it('DST in Europe/Berlin, and a window that opens inside the skipped hour opens when the clock jumps', () => {
    const berlin = ['Europe/Berlin'];
    expect(ISO(nextAllowed(T('2025-03-29T22:00:00+01:00'), berlin, DAY))).toBe('2025-03-30T06:00:00.000Z');
    expect(ISO(nextAllowed(T('2025-10-25T21:00:00+02:00'), berlin, DAY))).toBe('2025-10-26T07:00:00.000Z');
    // 02:30 does not exist on 2025-03-30: the first allowed instant is 03:00 CEST (01:00Z) or later, and sending is allowed then.
    const gap: WindowRule[] = [{ start: '02:30', end: '06:00' }];
    const t = nextAllowed(T('2025-03-30T00:00:00+01:00'), berlin, gap)!;
    expect(t).toBeGreaterThanOrEqual(T('2025-03-30T01:00:00Z'));
    expect(t).toBeLessThanOrEqual(T('2025-03-30T01:30:00Z'));
    expect(allowedAt(t, 'Europe/Berlin', gap)).toBe(true);
  });

  it('zones on both sides of the date line: Pacific/Kiritimati (UTC+14) and Pacific/Pago_Pago (UTC-11)', () => {
    const now = T('2025-06-10T12:00:00Z'); // Kiritimati: 11 June 02:00; Pago Pago: 10 June 01:00
    expect(ISO(nextAllowed(now, ['Pacific/Kiritimati'], DAY))).toBe('2025-06-10T18:00:00.000Z');
    expect(ISO(nextAllowed(now, ['Pacific/Pago_Pago'], DAY))).toBe('2025-06-10T19:00:00.000Z');
    // Both at once: the window allowed in both opens with the later one.
    expect(ISO(nextAllowed(now, ['Pacific/Kiritimati', 'Pacific/Pago_Pago'], DAY))).toBe('2025-06-10T19:00:00.000Z');
  });

  it('a prefix spanning several zones gets the window allowed in all of them (checked minute by minute)', () => {
    const boiseLa = ['America/Boise', 'America/Los_Angeles'];
    expect(ISO(nextAllowed(T('2025-06-10T14:30:00Z'), boiseLa, DAY))).toBe('2025-06-10T15:00:00.000Z'); // LA opens last
    expect(nextAllowed(T('2025-06-11T02:30:00Z'), boiseLa, DAY)).toBeNull();
    expect(ISO(nextAllowed(T('2025-06-11T03:00:00Z'), boiseLa, DAY))).toBe('2025-06-11T15:00:00.000Z'); // Boise closed first
    const russia = ['Europe/Kaliningrad', 'Europe/Moscow', 'Asia/Yekaterinburg', 'Asia/Novosibirsk', 'Asia/Vladivostok', 'Asia/Kamchatka'];
    const australia = ['Australia/Perth', 'Australia/Sydney', 'Australia/Lord_Howe', 'Indian/Cocos', 'Australia/Eucla'];
    for (const zones of [russia, australia]) {
      for (const now of [T('2025-06-10T00:00:00Z'), T('2025-12-24T13:17:00Z'), T('2025-03-30T05:05:00Z')]) {
        expect(ISO(nextAllowed(now, zones, DAY))).toBe(ISO(byMinute(now, zones, DAY)));
      }
      expect(nextAllowed(T('2025-06-10T16:00:00Z'), zones, DAY)).not.toBeNull();
    }
  });

  it('when no instant is allowed in all zones, the earliest one allowed in the most of them', () => {
    const narrow: WindowRule[] = [{ start: '08:00', end: '10:00' }];
    const t = nextAllowed(T('2025-06-10T15:00:00Z'), ['Asia/Tokyo', 'America/New_York'], narrow);
    expect(ISO(t)).toBe('2025-06-10T23:00:00.000Z'); // 08:00 in Tokyo
  });

  it('state rules narrow the window as data: Florida 08:00–20:00, Texas noon on Sundays', () => {
    expect(usState('+13055550100')).toBe('FL');
    expect(usState('+14155550100')).toBe('CA');
    expect(usState('+442071838750')).toBeNull();
    const fl = [...DAY, stateRule('+13055550100')!];
    expect(ISO(nextAllowed(T('2025-06-10T20:00:00-04:00'), ['America/New_York'], fl))).toBe('2025-06-11T12:00:00.000Z');
    expect(nextAllowed(T('2025-06-10T19:59:00-04:00'), ['America/New_York'], fl)).toBeNull();
    expect(stateRule('+14155550100')).toBeNull();
    const tx = [...DAY, stateRule('+12105550100')!];
    // Sunday 15 June 2025, 10:00 CDT → noon; Monday 09:00.
    expect(ISO(nextAllowed(T('2025-06-15T10:00:00-05:00'), ['America/Chicago'], tx))).toBe('2025-06-15T17:00:00.000Z');
    expect(ISO(nextAllowed(T('2025-06-16T08:30:00-05:00'), ['America/Chicago'], tx))).toBe('2025-06-16T14:00:00.000Z');
  });

  it('a window across midnight allows the night', () => {
    const night: WindowRule[] = [{ start: '22:00', end: '06:00' }];
    expect(nextAllowed(T('2025-06-10T23:30:00+02:00'), ['Europe/Berlin'], night)).toBeNull();
    expect(ISO(nextAllowed(T('2025-06-10T12:00:00+02:00'), ['Europe/Berlin'], night))).toBe('2025-06-10T20:00:00.000Z');
  });

  it("numbers map to libphonenumber's zones by longest prefix", () => {
    expect(phoneTimezones('+12125550100')).toEqual(['America/New_York']);
    expect(phoneTimezones('+12085550100')).toEqual(['America/Boise', 'America/Los_Angeles']);
    expect(phoneTimezones('+4915112345678')).toEqual(['Europe/Berlin']);
    expect(phoneTimezones('whatsapp:+4915112345678')).toEqual(['Europe/Berlin']);
    expect(phoneTimezones('+99912345')).toEqual([]);
  });

  it('validation names the bad part; time zones are checked with Intl', () => {
    expect(quietWindowErrors({ start: '08:00', end: '21:00' })).toEqual([]);
    expect(quietWindowErrors({ start: '25:00', end: '21:00' }).map((e) => e.field)).toEqual(['start']);
    expect(quietWindowErrors({ start: '8:00', end: '21:60', extra: 1 }).map((e) => e.field)).toEqual(['start', 'end', 'extra']);
    expect(quietWindowErrors({ start: '09:00', end: '09:00' }).map((e) => e.field)).toEqual(['end']);
    expect(quietWindowErrors('08-21')).toHaveLength(1);
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});
