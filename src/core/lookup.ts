// Offline facts about a phone number from libphonenumber's metadata (no I/O): validity, formats,
// country and number type. Time zones and carriers come through the PhoneFacts port (their data
// files are read from disk).
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

export interface OfflineFacts {
  valid: boolean;
  /** E.164 when the input could be read as a number, else null. */
  e164: string | null;
  national_format: string | null;
  /** ISO 3166 alpha-2. */
  country: string | null;
  /** libphonenumber's type in lower case (mobile, fixed_line, fixed_line_or_mobile, voip, toll_free, …), null when unknown. */
  number_type: string | null;
}

const ALLOWED = /^\+?[0-9 ().-]{1,64}$/;

export function offlineFacts(input: string, defaultRegion: string | null): OfflineFacts {
  const none: OfflineFacts = { valid: false, e164: null, national_format: null, country: null, number_type: null };
  const text = input.trim();
  if (!ALLOWED.test(text)) return none;
  const region = defaultRegion?.toUpperCase();
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: region && isSupportedCountry(region) ? region : undefined, extract: false });
  if (!parsed) return none;
  const valid = parsed.isValid();
  return {
    valid,
    e164: parsed.number,
    national_format: valid ? parsed.formatNational() : null,
    country: valid ? (parsed.country ?? null) : null,
    number_type: valid ? (parsed.getType()?.toLowerCase() ?? null) : null,
  };
}
