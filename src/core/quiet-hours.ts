// Quiet hours as pure window math: a window is the span of allowed sending hours in the recipient's
// local time ({start: "08:00", end: "21:00"}: 08:00 allowed, 21:00 not). Given an instant, the
// recipient's possible zones and the windows that apply, the answer is "allowed now" or the earliest
// instant allowed in every zone. Wall-clock ↔ instant conversion is Luxon's (IANA zones through
// Intl, DST gaps and overlaps handled), not hand-written offset arithmetic.
import { DateTime } from 'luxon';
import { US_AREA_CODES } from './datasets/us-area-codes.js';
import { PHONE_TIMEZONES } from './datasets/phone-timezones.js';
import { US_STATE_QUIET_HOURS } from './datasets/us-state-quiet-hours.js';

/** Allowed sending hours in local time, "HH:MM" 24-hour; end is exclusive; start > end spans midnight. */
export interface QuietWindow {
  start: string;
  end: string;
}

/** A window, with another one on Sundays where a law says so (Texas). */
export interface WindowRule extends QuietWindow {
  sunday?: QuietWindow;
}

/** A category's setting: its window, and whether US state solicitation rules narrow it. */
export interface QuietHoursSetting extends QuietWindow {
  state_rules?: boolean;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Why a window setting is not valid (null when it is): problems by sub-field. */
export function quietWindowErrors(v: unknown): { field: string; message: string }[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [{ field: '', message: 'must be null or an object {start: "HH:MM", end: "HH:MM"}' }];
  const errors: { field: string; message: string }[] = [];
  const o = v as Record<string, unknown>;
  for (const k of ['start', 'end'] as const) {
    if (typeof o[k] !== 'string' || !HHMM.test(o[k] as string)) errors.push({ field: k, message: 'must be a 24-hour time "HH:MM" from 00:00 to 23:59' });
  }
  if (!errors.length && o.start === o.end) errors.push({ field: 'end', message: 'must differ from start' });
  if (o.state_rules !== undefined && typeof o.state_rules !== 'boolean') errors.push({ field: 'state_rules', message: 'must be true or false' });
  for (const k of Object.keys(o)) if (!['start', 'end', 'state_rules'].includes(k)) errors.push({ field: k, message: 'is not a known field' });
  return errors;
}

const knownZones = new Set<string>();

/** True when the IANA zone name is known to this runtime's Intl (valid names are remembered: a few hundred at most). */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  if (knownZones.has(zone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    return false;
  }
  if (knownZones.size < 1000) knownZones.add(zone);
  return true;
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function windowOn(rule: WindowRule, weekday: number): QuietWindow {
  return weekday === 7 && rule.sunday ? rule.sunday : rule;
}

function inWindow(w: QuietWindow, m: number): boolean {
  const s = minutes(w.start);
  const e = minutes(w.end);
  return s < e ? m >= s && m < e : m >= s || m < e;
}

// The send path asks about the same zones within the same minute, message after message; every
// zone's offset is whole minutes, so one UTC minute is one local minute and weekday per zone.
const lastLocal = new Map<string, { minute: number; m: number; weekday: number }>();

function localMinute(t: number, zone: string): { m: number; weekday: number } {
  const minute = Math.floor(t / 60_000);
  const hit = lastLocal.get(zone);
  if (hit?.minute === minute) return hit;
  const local = DateTime.fromMillis(t, { zone });
  const entry = { minute, m: local.hour * 60 + local.minute, weekday: local.weekday };
  lastLocal.set(zone, entry);
  return entry;
}

/** Whether every rule allows sending at `t` in `zone`. */
export function allowedAt(t: number, zone: string, rules: readonly WindowRule[]): boolean {
  const { m, weekday } = localMinute(t, zone);
  return rules.every((r) => inWindow(windowOn(r, weekday), m));
}

/** The instants after `now` at which a rule's window opens in `zone`, over the next few local days. */
function openings(now: number, zone: string, rules: readonly WindowRule[]): number[] {
  const today = DateTime.fromMillis(now, { zone }).startOf('day');
  const out: number[] = [];
  for (let d = -1; d <= 8; d++) {
    const day = today.plus({ days: d });
    for (const rule of rules) {
      const w = windowOn(rule, day.weekday);
      // A start inside a DST gap (02:30 on spring-forward day) is moved forward by the gap, as Luxon does.
      const t = DateTime.fromObject(
        { year: day.year, month: day.month, day: day.day, hour: Number(w.start.slice(0, 2)), minute: Number(w.start.slice(3)) },
        { zone },
      ).toMillis();
      if (t > now) out.push(t);
    }
  }
  return out;
}

/**
 * null when sending is allowed at `now` in every zone; otherwise the earliest later instant that is.
 * When no instant is allowed in all zones (zones too far apart for the windows), the earliest instant
 * allowed in the most of them: the message still goes out, at the best time there is.
 */
export function nextAllowed(now: number, zones: readonly string[], rules: readonly WindowRule[]): number | null {
  if (zones.length === 0 || rules.length === 0) return null;
  if (zones.every((z) => allowedAt(now, z, rules))) return null;
  const candidates = [...new Set(zones.flatMap((z) => openings(now, z, rules)))].sort((a, b) => a - b);
  let best: { t: number; n: number } | null = null;
  for (const t of candidates) {
    const n = zones.filter((z) => allowedAt(t, z, rules)).length;
    if (n === zones.length) return t;
    if (best === null || n > best.n) best = { t, n };
  }
  return best?.t ?? null;
}

let zoneTable: Map<string, string[]> | null = null;
const prefixZones = new Map<string, string[]>();

/** The IANA zones of an E.164 number by its longest known prefix (libphonenumber's mapping); [] when unknown. */
export function phoneTimezones(e164: string): string[] {
  if (!zoneTable) {
    zoneTable = new Map();
    for (const line of PHONE_TIMEZONES.split('\n')) {
      const bar = line.indexOf('|');
      zoneTable.set(line.slice(0, bar), line.slice(bar + 1).split('&'));
    }
  }
  const digits = e164.replace(/^(whatsapp:)?\+/, '');
  for (let len = Math.min(digits.length, 10); len > 0; len--) {
    const prefix = digits.slice(0, len);
    const zones = zoneTable.get(prefix);
    if (!zones) continue;
    // Checked against this runtime's zone names once per prefix (every send asks).
    let known = prefixZones.get(prefix);
    if (!known) {
      known = zones.filter(isTimeZone);
      prefixZones.set(prefix, known);
    }
    return known;
  }
  return [];
}

let areaCodes: Map<string, string> | null = null;

/** The US state (USPS code) of a +1 number's area code, or null (not US, or an area code not tied to a state). */
export function usState(e164: string): string | null {
  const m = /^(?:whatsapp:)?\+1(\d{3})\d{7}$/.exec(e164);
  if (!m) return null;
  areaCodes ??= new Map(US_AREA_CODES.split(' ').map((p) => p.split(':') as [string, string]));
  return areaCodes.get(m[1]!) ?? null;
}

/** The state's own solicitation window for a number, if its area code is in a state that has one. */
export function stateRule(e164: string): WindowRule | null {
  const st = usState(e164);
  return st ? (US_STATE_QUIET_HOURS[st] ?? null) : null;
}
