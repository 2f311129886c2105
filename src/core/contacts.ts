// A contact's fields, checked as a whole: every bad field is named, nothing is half-applied.
// Locales and time zones are checked by the runtime's Intl (ICU), not by hand-written lists.
import { AppError } from './errors.js';

export interface ContactInput {
  name?: string | null;
  locale?: string | null;
  time_zone?: string | null;
  external_ref?: string | null;
  fields?: Record<string, unknown> | null;
}

export interface ValidContact {
  name: string | null;
  /** Canonical BCP 47 (e.g. pt-BR). */
  locale: string | null;
  time_zone: string | null;
  external_ref: string | null;
  fields: Record<string, unknown>;
}

export const MAX_CONTACT_FIELDS_BYTES = 8 * 1024;
const MAX_FIELDS = 50;

export function canonicalLocale(v: string): string | null {
  try {
    return Intl.getCanonicalLocales(v)[0] ?? null;
  } catch {
    return null;
  }
}

export function isTimeZone(v: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return v.length > 0;
  } catch {
    return false;
  }
}

export function validateContact(input: ContactInput): ValidContact {
  const errors: { field: string; message: string }[] = [];
  const locale = input.locale ? canonicalLocale(input.locale) : null;
  if (input.locale && !locale) errors.push({ field: 'locale', message: 'must be a BCP 47 language tag such as en-US' });
  if (input.time_zone && !isTimeZone(input.time_zone)) errors.push({ field: 'time_zone', message: 'must be an IANA time zone such as Europe/Paris' });
  const fields = input.fields ?? {};
  if (Object.keys(fields).length > MAX_FIELDS) errors.push({ field: 'fields', message: `may have at most ${MAX_FIELDS} keys` });
  else if (Buffer.byteLength(JSON.stringify(fields)) > MAX_CONTACT_FIELDS_BYTES) {
    errors.push({ field: 'fields', message: `must be at most ${MAX_CONTACT_FIELDS_BYTES} bytes as JSON` });
  }
  if (errors.length > 0) throw new AppError('SMS_ERR_VALIDATION', `Invalid contact: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  return { name: input.name ?? null, locale, time_zone: input.time_zone ?? null, external_ref: input.external_ref ?? null, fields };
}
