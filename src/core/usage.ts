// What one message contributes to the usage rollup, and the rollup's time buckets. Pure: the
// aggregator (services/usage.ts) and the property test's full recount use the same function.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The rollup's key beside the tenant: hour bucket (epoch ms), status, channel, country ('' unknown), category. */
export interface UsageKey {
  bucket: number;
  status: string;
  channel: string;
  country: string;
  category: string;
}

export interface UsageAmounts {
  messages: number;
  segments: number;
  /** Millionths of the price unit (integers, so sums never drift). */
  cost_actual: number;
  cost_estimated: number;
}

/** The fields of a message the rollup reads. */
export interface CountedMessage {
  created_at: number;
  status: string;
  channel: string;
  country: string;
  category: string;
  segments: number;
  price: string | null;
  estimated: boolean;
}

export const hourOf = (ms: number): number => ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);

/** Twilio reports prices as negative decimal strings ("-0.00750"); costs are counted positive, in millionths. */
export function priceMicros(price: string | null): number {
  if (price === null) return 0;
  const n = Number(price);
  return Number.isFinite(n) ? Math.round(Math.abs(n) * 1_000_000) : 0;
}

export function contribution(m: CountedMessage): { key: UsageKey; amounts: UsageAmounts } {
  const cost = priceMicros(m.price);
  return {
    key: { bucket: hourOf(m.created_at), status: m.status, channel: m.channel, country: m.country, category: m.category },
    amounts: { messages: 1, segments: m.segments, cost_actual: m.estimated ? 0 : cost, cost_estimated: m.estimated ? cost : 0 },
  };
}

export const keyString = (k: UsageKey): string => `${k.bucket}\u0000${k.status}\u0000${k.channel}\u0000${k.country}\u0000${k.category}`;

/** The ISO country of the other party's number (E.164 or whatsapp:+E164), '' when it is not a phone number (e.g. erased). */
export function countryOfAddress(addr: string | null): string {
  if (!addr) return '';
  const n = addr.startsWith('whatsapp:') ? addr.slice('whatsapp:'.length) : addr;
  if (!n.startsWith('+')) return '';
  return parsePhoneNumberFromString(n)?.country ?? '';
}

/** Sums contributions per key (negative amounts subtract a message's previous contribution). */
export class UsageDeltas {
  readonly byKey = new Map<string, { key: UsageKey; amounts: UsageAmounts }>();

  add(c: { key: UsageKey; amounts: UsageAmounts }, sign: 1 | -1): void {
    const id = keyString(c.key);
    const cur = this.byKey.get(id) ?? { key: c.key, amounts: { messages: 0, segments: 0, cost_actual: 0, cost_estimated: 0 } };
    cur.amounts.messages += sign * c.amounts.messages;
    cur.amounts.segments += sign * c.amounts.segments;
    cur.amounts.cost_actual += sign * c.amounts.cost_actual;
    cur.amounts.cost_estimated += sign * c.amounts.cost_estimated;
    this.byKey.set(id, cur);
  }

  /** The non-zero deltas. */
  entries(): { key: UsageKey; amounts: UsageAmounts }[] {
    return [...this.byKey.values()].filter((e) => Object.values(e.amounts).some((v) => v !== 0));
  }
}

/** delivered / (delivered + undelivered + failed); null when nothing is final. */
export function deliveryRate(delivered: number, notDelivered: number): number | null {
  const settled = delivered + notDelivered;
  return settled === 0 ? null : delivered / settled;
}

export const formatMicros = (micros: number): string => (micros / 1_000_000).toFixed(6);
