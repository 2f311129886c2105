// Phone number normalisation and masking.
// Full ("max") metadata because the fixed-line check needs number types, which the smaller
// metadata sets do not carry.
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { AppError } from './errors.js';

export type Channel = 'sms' | 'mms' | 'whatsapp';

export interface PhoneOptions {
  /** ISO-3166 alpha-2 region used for numbers written in national form, e.g. 'US', 'IN', 'MX'. */
  defaultRegion?: string;
  /** Default true. */
  rejectFixedLine?: boolean;
  /**
   * Default true. False for a stream of mostly distinct numbers (a campaign upload): each entry would
   * evict a useful one and live long enough to be promoted to V8's old generation, only to die there.
   */
  memoize?: boolean;
}

export interface NormalizedAddress {
  e164: string;
  /** The E.164 number, or 'whatsapp:+E164' for the whatsapp channel. */
  address: string;
  country: string | undefined;
  /** libphonenumber's getType(); undefined when the metadata cannot tell. */
  type: string | undefined;
}

const MAX_INPUT_LENGTH = 64;
const WHATSAPP_PREFIX = 'whatsapp:';
// Only ASCII digits and the usual formatting characters. libphonenumber would also read
// full-width and Arabic-Indic digits and pull a number out of surrounding text; for an API field
// that is more surprising than helpful.
const ALLOWED = /^\+?[0-9 ().-]+$/;
// Twilio's documented magic test numbers (docs/twilio-reference.md §10). Today's metadata happens to call them
// valid (type PERSONAL_NUMBER, area code 500); they must keep working if that ever changes.
const TWILIO_MAGIC = /^\+1500555000[1-9]$/;

interface Parsed {
  e164: string;
  country: string | undefined;
  type: string | undefined;
}

function invalid(input: unknown, field?: string): AppError {
  const details: Record<string, string> = {};
  if (field !== undefined) details.field = field;
  // Phone numbers are personal data: the error may be logged, so it carries the input masked.
  if (typeof input === 'string') details.value = maskPhone(input);
  return new AppError('SMS_ERR_INVALID_PHONE', undefined, details);
}

function regionOf(opts: PhoneOptions): CountryCode | undefined {
  const region = opts.defaultRegion?.trim().toUpperCase();
  // Checking the configured region is the config loader's job; an unknown one just means that
  // national-format numbers cannot be read.
  return region && isSupportedCountry(region) ? region : undefined;
}

// Parsing with full metadata costs ~50 µs, a large share of a send request; recipients repeat
// (OTP retries, notifications to the same users), so valid results are memoized, bounded.
const PARSE_CACHE_MAX = 10_000;
const parseCache = new Map<string, Parsed>();

function parse(input: unknown, opts: PhoneOptions, field?: string): Parsed {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT_LENGTH) throw invalid(input, field);
  // An international number reads the same whatever the default region: one entry serves both
  // the send path's parse and later lookups of the stored number (countryOf).
  const cacheKey = input.startsWith('+') ? input : `${opts.defaultRegion ?? ''}|${input}`;
  const hit = parseCache.get(cacheKey);
  if (hit) return hit;
  const result = parseUncached(input, opts, field);
  if (opts.memoize === false) return result;
  if (parseCache.size >= PARSE_CACHE_MAX) parseCache.delete(parseCache.keys().next().value!);
  parseCache.set(cacheKey, result);
  return result;
}

function parseUncached(input: string, opts: PhoneOptions, field?: string): Parsed {
  const text = input.trim();
  if (!ALLOWED.test(text)) throw invalid(input, field);
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: regionOf(opts), extract: false });
  if (parsed === undefined) throw invalid(input, field);
  // With types in the metadata (the max set), isValid() is getType() !== undefined: one type match, not two.
  const type = parsed.getType();
  const valid = type !== undefined || parsed.isValid();
  if (!valid && !TWILIO_MAGIC.test(parsed.number)) throw invalid(input, field);
  if (!valid) return { e164: parsed.number, country: 'US', type: undefined };
  return { e164: parsed.number, country: parsed.country, type };
}

/** A plain number (no channel prefix) → E.164. Throws SMS_ERR_INVALID_PHONE. */
export function normalizeE164(input: string, opts: PhoneOptions): string {
  return parse(input, opts).e164;
}

/** A recipient for the given channel. Throws SMS_ERR_INVALID_PHONE or SMS_ERR_NOT_MOBILE. */
export function normalizeRecipient(input: string, channel: Channel, opts: PhoneOptions): NormalizedAddress {
  let number: unknown = input;
  if (typeof input === 'string' && input.length <= MAX_INPUT_LENGTH) {
    const trimmed = input.trim();
    if (trimmed.slice(0, WHATSAPP_PREFIX.length).toLowerCase() === WHATSAPP_PREFIX) {
      // A WhatsApp address on an SMS/MMS send is a caller mistake, not something to strip.
      if (channel !== 'whatsapp') throw invalid(input, 'to');
      number = trimmed.slice(WHATSAPP_PREFIX.length);
      // Twilio's WhatsApp addresses are always international; a national number behind the
      // prefix is ambiguous.
      if (!(number as string).startsWith('+')) throw invalid(input, 'to');
    }
  }
  const { e164, country, type } = parse(number, opts, 'to');
  // Landlines cannot receive SMS or MMS. WhatsApp accounts can be registered on landlines, so the
  // check does not apply there. FIXED_LINE_OR_MOBILE (the whole NANP) must pass.
  if (channel !== 'whatsapp' && type === 'FIXED_LINE' && opts.rejectFixedLine !== false) {
    throw new AppError('SMS_ERR_NOT_MOBILE', undefined, { field: 'to', value: maskPhone(e164) });
  }
  return { e164, address: channel === 'whatsapp' ? WHATSAPP_PREFIX + e164 : e164, country, type };
}

/** The country of a stored address ('+E164' or 'whatsapp:+E164'); undefined when unknown. */
export function countryOf(address: string): string | undefined {
  const number = address.startsWith(WHATSAPP_PREFIX) ? address.slice(WHATSAPP_PREFIX.length) : address;
  try {
    return parse(number, {}).country;
  } catch {
    return undefined;
  }
}

/**
 * Masks a phone number (or any identifier) for logs: at most the first 5 and last 4 characters
 * stay visible, at least a quarter (min. 3) is hidden, and strings under 9 characters are hidden
 * entirely. A 'whatsapp:' prefix is kept and only the number behind it is masked.
 */
export function maskPhone(value: string): string {
  if (typeof value !== 'string') return '***';
  if (value.slice(0, WHATSAPP_PREFIX.length).toLowerCase() === WHATSAPP_PREFIX) {
    return value.slice(0, WHATSAPP_PREFIX.length) + maskPhone(value.slice(WHATSAPP_PREFIX.length));
  }
  // Code points, so that a mask never cuts a surrogate pair in half.
  const chars = Array.from(value);
  const n = chars.length;
  if (n < 9) return '***';
  const visible = n - Math.max(3, Math.ceil(n / 4));
  const tail = Math.min(4, Math.floor(visible / 2));
  const head = Math.min(5, visible - tail);
  return chars.slice(0, head).join('') + '***' + chars.slice(n - tail).join('');
}
