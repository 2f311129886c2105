// Calendar days in a tenant's time zone (daily caps and counts reset at its midnight). The
// standard library's Intl has the zone database (no dependency needed for two functions).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock fields of `at` in `timeZone`. */
function wall(at: number, timeZone: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year!, m: p.month!, d: p.day!, h: p.hour!, min: p.minute!, s: p.second! };
}

function dayOfUncached(at: number, timeZone: string): string {
  const w = wall(at, timeZone);
  return `${String(w.y).padStart(4, '0')}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

// Every message of a send batch asks for the same zone's day within the same minute; formatting is
// the costly part (every zone's offset is whole minutes, so a minute has one date per zone).
const lastDay = new Map<string, { minute: number; day: string }>();

/** YYYY-MM-DD of `at` in `timeZone`. */
export function dayOf(at: number, timeZone: string): string {
  const minute = Math.floor(at / 60_000);
  const hit = lastDay.get(timeZone);
  if (hit?.minute === minute) return hit.day;
  const day = dayOfUncached(at, timeZone);
  lastDay.set(timeZone, { minute, day });
  return day;
}

/**
 * The first instant of the day after `at`'s day in `timeZone`: its next midnight, or where a DST
 * change skips midnight (or a zone skipped a whole date), the first instant of a later date.
 * A binary search over whole minutes (every zone's offset is whole minutes) rather than offset
 * arithmetic, which needs special cases exactly at the changes.
 */
export function nextMidnight(at: number, timeZone: string): number {
  const today = dayOfUncached(at, timeZone);
  let lo = Math.floor(at / 60_000); // a minute still in today
  let hi = lo + 50 * 60; // a minute surely past it (days last at most 25 hours)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dayOfUncached(mid * 60_000, timeZone) > today) hi = mid;
    else lo = mid;
  }
  return hi * 60_000;
}
