// Sender pacing: Twilio counts throughput in message segments per second per sender (a Messaging
// Service pools its senders). Rates by sender type, from docs/twilio-reference.md §9:
// US/CA long code 1, US/CA toll-free 3 (high-throughput toll-free on request), short code 100
// ("over 100"), numbers outside +1 10. Alphanumeric sender IDs send outside +1, so 10 as well.
// WhatsApp: Meta's default Cloud API throughput is 80 messages per second per business number.
// A Messaging Service's rate is the sum of its pool, which smsrelay cannot see: 1 (one long code)
// unless configured in `sender_rates`.

/** NANP toll-free area codes (800, 833, 844, 855, 866, 877, 888). */
const TOLL_FREE = /^\+1(800|833|844|855|866|877|888)\d{7}$/;

export interface Sender {
  from: string | null;
  messagingServiceSid: string | null;
}

/** The pacing key: the Messaging Service when one sends (its pool shares one rate), else the from address. */
export function senderKey(s: Sender): string | null {
  return s.messagingServiceSid ?? s.from;
}

/** Default segments per second of a sender by its type. */
export function defaultRate(key: string): number {
  if (key.startsWith('MG')) return 1;
  if (key.startsWith('whatsapp:')) return 80;
  if (/^\d{5,6}$/.test(key)) return 100;
  if (TOLL_FREE.test(key)) return 3;
  if (key.startsWith('+1')) return 1;
  return 10;
}

/** The time one message occupies its sender: its segments at the sender's rate (at least one segment). */
export function paceCostMs(segments: number, rate: number): number {
  return Math.ceil((Math.max(1, segments) * 1000) / rate);
}

/** `sender_rates` setting: sender (E.164, short code, alphanumeric ID, whatsapp:+E164, MG SID) → segments/s. */
export function senderRatesErrors(v: unknown): { field: string; message: string }[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [{ field: '', message: 'must be an object of sender → segments per second' }];
  const entries = Object.entries(v);
  if (entries.length > 1000) return [{ field: '', message: 'must have at most 1000 senders' }];
  const errors: { field: string; message: string }[] = [];
  for (const [k, rate] of entries) {
    if (!/^(\+[1-9]\d{3,14}|\d{5,6}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}|whatsapp:\+[1-9]\d{3,14}|MG[0-9a-fA-F]{32})$/.test(k)) {
      errors.push({ field: `.${k}`, message: 'is not a sender (E.164 number, short code, alphanumeric ID, whatsapp:+E164 or MG SID)' });
    } else if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 10_000) {
      errors.push({ field: `.${k}`, message: 'must be a number of segments per second above 0 and at most 10000' });
    }
  }
  return errors;
}
