// Lookup v2 (docs/twilio-reference.md §12): validation from libphonenumber's full metadata, line type from its
// getType() mapped to Twilio's line_type_intelligence types.
import { parsePhoneNumberFromString, validatePhoneNumberLength, isSupportedCountry } from 'libphonenumber-js/max';
import { firstValue, type Reply } from './util.js';

const LINE_TYPES: Record<string, string> = {
  MOBILE: 'mobile',
  FIXED_LINE: 'landline',
  // The NANP does not tell mobile from fixed; Twilio answers from carrier data, mostly mobile.
  FIXED_LINE_OR_MOBILE: 'mobile',
  VOIP: 'nonFixedVoip',
  TOLL_FREE: 'tollFree',
  PREMIUM_RATE: 'premium',
  SHARED_COST: 'sharedCost',
  PERSONAL_NUMBER: 'personal',
  PAGER: 'pager',
  UAN: 'uan',
  VOICEMAIL: 'voicemail',
};

// Twilio returns no carrier for these types.
const NO_CARRIER = new Set(['personal', 'tollFree', 'premium', 'sharedCost', 'uan', 'voicemail', 'unknown']);

const PACKAGES = [
  'caller_name',
  'sim_swap',
  'call_forwarding',
  'line_status',
  'line_type_intelligence',
  'identity_match',
  'reassigned_number',
  'sms_pumping_risk',
  'phone_number_quality_score',
  'pre_fill',
] as const;

export function lookupPhoneNumber(raw: string, query: Record<string, string | string[]>, base: string): Reply {
  const cc = (firstValue(query.CountryCode) ?? 'US').toUpperCase();
  const country = isSupportedCountry(cc) ? cc : undefined;
  const fields = new Set((firstValue(query.Fields) ?? '').split(',').map((f) => f.trim()));
  const parsed = country || raw.startsWith('+') ? parsePhoneNumberFromString(raw, country ? { defaultCountry: country } : {}) : undefined;
  const valid = parsed?.isValid() ?? false;
  const body: Record<string, unknown> = {
    calling_country_code: valid ? parsed!.countryCallingCode : null,
    country_code: valid ? (parsed!.country ?? null) : null,
    phone_number: valid ? parsed!.number : raw,
    national_format: valid ? parsed!.formatNational() : null,
    valid,
    validation_errors: valid ? [] : [validationError(raw, country)],
  };
  for (const p of PACKAGES) body[p] = null;
  if (valid && fields.has('line_type_intelligence')) {
    const type = LINE_TYPES[parsed!.getType() ?? ''] ?? 'unknown';
    body.line_type_intelligence = {
      mobile_country_code: null,
      mobile_network_code: null,
      carrier_name: NO_CARRIER.has(type) ? null : 'smsrelay emulator',
      type,
      error_code: null,
    };
  }
  body.url = `${base}/v2/PhoneNumbers/${body.phone_number as string}`;
  return { status: 200, body };
}

function validationError(raw: string, country: Parameters<typeof validatePhoneNumberLength>[1]): string {
  let reason: string | undefined;
  try {
    reason = validatePhoneNumberLength(raw, country);
  } catch {
    reason = 'NOT_A_NUMBER';
  }
  if (reason === undefined) return 'INVALID_BUT_POSSIBLE';
  return reason === 'INVALID_COUNTRY' ? 'INVALID_COUNTRY_CODE' : reason;
}
