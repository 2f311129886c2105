// One-time codes: generation, keyed hashing, constant-time comparison and the localized SMS text.
// A code is stored only as HMAC-SHA256(secret, verificationId:code): a database dump alone does not
// let anyone brute-force the small code space offline, and binding the id stops a hash from being
// replayed on another verification.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MIN_CODE_LENGTH = 4;
export const MAX_CODE_LENGTH = 10;
export const DEFAULT_CODE_LENGTH = 6;

/** Where codes get their digits: the Random port's CSPRNG in production, a script in tests. */
export interface DigitSource {
  /** A uniformly distributed integer in [min, max). */
  int(min: number, max: number): number;
}

/** A numeric code, every digit uniform (leading zeros allowed). */
export function generateCode(random: DigitSource, length: number = DEFAULT_CODE_LENGTH): string {
  if (!Number.isInteger(length) || length < MIN_CODE_LENGTH || length > MAX_CODE_LENGTH) {
    throw new RangeError(`code length must be an integer between ${MIN_CODE_LENGTH} and ${MAX_CODE_LENGTH}`);
  }
  let code = '';
  for (let i = 0; i < length; i++) code += String(random.int(0, 10));
  return code;
}

export function hashCode(secret: Buffer | string, verificationId: string, code: string): string {
  return createHmac('sha256', secret).update(`${verificationId}:${code}`).digest('hex');
}

/** Compares a candidate code with a stored hash in time independent of where they differ. */
export function codeMatches(secret: Buffer | string, verificationId: string, candidate: string, storedHash: string): boolean {
  const a = Buffer.from(hashCode(secret, verificationId, candidate), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  // Both are SHA-256 digests; a length mismatch only happens with a corrupt row.
  return a.length === b.length && timingSafeEqual(a, b);
}

export const OTP_LOCALES = ['en', 'es', 'hi', 'pt'] as const;
export type OtpLocale = (typeof OTP_LOCALES)[number];

const TEMPLATES: Record<OtpLocale, (app: string, code: string, minutes: number) => string> = {
  en: (app, code, m) => `Your ${app} code is ${code}. It expires in ${m} minutes. Don't share it.`,
  es: (app, code, m) => `Tu código de ${app} es ${code}. Caduca en ${m} minutos. No lo compartas.`,
  hi: (app, code, m) => `आपका ${app} कोड ${code} है। यह ${m} मिनट में समाप्त हो जाएगा। इसे किसी के साथ साझा न करें।`,
  pt: (app, code, m) => `Seu código ${app} é ${code}. Ele expira em ${m} minutos. Não o compartilhe.`,
};

// Countries whose default language is one of ours; everything else gets English unless asked.
const COUNTRY_LOCALE: Record<string, OtpLocale> = {
  ES: 'es',
  MX: 'es',
  AR: 'es',
  CO: 'es',
  CL: 'es',
  PE: 'es',
  VE: 'es',
  EC: 'es',
  GT: 'es',
  CU: 'es',
  BO: 'es',
  DO: 'es',
  HN: 'es',
  PY: 'es',
  SV: 'es',
  NI: 'es',
  CR: 'es',
  PA: 'es',
  UY: 'es',
  BR: 'pt',
  PT: 'pt',
  AO: 'pt',
  MZ: 'pt',
};

/**
 * 'pt-BR', 'es_MX', 'HI' → a supported locale; undefined when the language is not one we have.
 * With no locale given, the country's language (or English).
 */
export function resolveLocale(locale: string | null | undefined, country: string | undefined): OtpLocale | undefined {
  if (locale === undefined || locale === null || locale === '') return (country && COUNTRY_LOCALE[country]) || 'en';
  const m = /^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]{2,8})?$/.exec(locale);
  const lang = m?.[1].toLowerCase();
  return (OTP_LOCALES as readonly string[]).includes(lang ?? '') ? (lang as OtpLocale) : undefined;
}

export function renderOtpMessage(locale: OtpLocale, app: string, code: string, ttlSeconds: number): string {
  return TEMPLATES[locale](app, code, Math.max(1, Math.ceil(ttlSeconds / 60)));
}
