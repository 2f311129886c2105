// The tenant settings document: one typed, validated shape for everything a tenant configures.
// Stored values win; a key that is absent (or, in rows written by older versions, malformed)
// takes the installation's default, so the environment keeps supplying the default tenant's values
// at read time and a process start never has to write them.
import { AppError } from './errors.js';
import { DEFAULT_KEYWORDS, DEFAULT_REPLIES } from './keywords.js';
import { isStorableText } from './text.js';

export type KeywordKinds = 'opt_out' | 'opt_in' | 'help';

export interface TenantSettings {
  /** Default sender: an E.164 number or an alphanumeric sender ID. */
  from_number: string | null;
  /** Default Messaging Service (takes precedence over from_number). */
  messaging_service_sid: string | null;
  /** Sender of `channel: "whatsapp"` messages, `whatsapp:+E164`. */
  whatsapp_from: string | null;
  /** ISO 3166 alpha-2 region of numbers written in national format. */
  default_region: string;
  /** Reply to inbound messages that are not keywords (null: none). */
  auto_reply: string | null;
  /** Who confirms STOP/START/HELP: Twilio's Advanced Opt-Out ('provider') or smsrelay's TwiML ('relay'). */
  keyword_replies: 'provider' | 'relay';
  keywords: Record<KeywordKinds, string[]>;
  replies: Record<KeywordKinds, string>;
  verify_backend: 'local' | 'twilio';
  verify_service_sid: string | null;
  /** Countries served by verifications (ISO codes, '*' for all); null: the tenant's region only. */
  verify_allowed_countries: string[] | null;
  /** `{app}` in the verification text. */
  verify_app_name: string;
  // --- usage, lookups, contacts, privacy ---
  /** Message bodies and media URLs are redacted this many days after creation (null: kept). */
  retention_days: number | null;
}

export type SettingsPatch = {
  [K in keyof TenantSettings]?: TenantSettings[K] extends Record<KeywordKinds, infer V> ? Partial<Record<KeywordKinds, V>> : TenantSettings[K];
};

/** Sender and region keys live in the tenant row's columns; the rest in its settings JSON. */
export const COLUMN_KEYS = ['from_number', 'messaging_service_sid', 'whatsapp_from', 'default_region'] as const;

export const BUILTIN_SETTINGS: Omit<TenantSettings, 'default_region' | 'verify_backend' | 'verify_app_name'> = {
  from_number: null,
  messaging_service_sid: null,
  whatsapp_from: null,
  auto_reply: null,
  keyword_replies: 'provider',
  keywords: { opt_out: [...DEFAULT_KEYWORDS.opt_out], opt_in: [...DEFAULT_KEYWORDS.opt_in], help: [...DEFAULT_KEYWORDS.help] },
  replies: { ...DEFAULT_REPLIES },
  verify_service_sid: null,
  verify_allowed_countries: null,
  // --- usage, lookups, contacts, privacy ---
  retention_days: null,
};

const KINDS: readonly KeywordKinds[] = ['opt_out', 'opt_in', 'help'];
type Check = (v: unknown) => string | null;

const nullable =
  (c: Check): Check =>
  (v) =>
    v === null ? null : c(v);
const matches =
  (re: RegExp, what: string): Check =>
  (v) =>
    typeof v === 'string' && re.test(v) ? null : `must be ${what}`;
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.map((x) => `'${x}'`).join(', ')}`;
const text =
  (max: number): Check =>
  (v) =>
    typeof v === 'string' && v.trim() !== '' && v.length <= max && isStorableText(v) ? null : `must be a non-empty string of at most ${max} characters`;

// Hand-written rather than a schema library: a dozen keys, each with a message the API returns as is.
const CHECKS: Record<Exclude<keyof TenantSettings, 'keywords' | 'replies'>, Check> = {
  from_number: nullable(matches(/^(\+[1-9]\d{3,14}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$/, 'an E.164 number or an alphanumeric sender ID (1-11 characters)')),
  messaging_service_sid: nullable(matches(/^MG[0-9a-fA-F]{32}$/, "a Messaging Service SID ('MG' + 32 hex characters)")),
  whatsapp_from: nullable(matches(/^(whatsapp:)?\+[1-9]\d{3,14}$/, 'an E.164 number, optionally prefixed with whatsapp:')),
  default_region: matches(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 region such as US'),
  auto_reply: nullable(text(1600)),
  keyword_replies: oneOf('provider', 'relay'),
  verify_backend: oneOf('local', 'twilio'),
  verify_service_sid: nullable(matches(/^VA[0-9a-fA-F]{32}$/, "a Verify Service SID ('VA' + 32 hex characters)")),
  verify_allowed_countries: nullable((v) =>
    Array.isArray(v) && v.length > 0 && v.length <= 250 && v.every((c) => typeof c === 'string' && (c === '*' || /^[A-Z]{2}$/.test(c)))
      ? null
      : "must be a non-empty list of ISO 3166 alpha-2 codes or '*'",
  ),
  verify_app_name: text(30),
  // --- usage, lookups, contacts, privacy ---
  retention_days: nullable((v) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 3650 ? null : 'must be a whole number of days from 1 to 3650, or null',
  ),
};

const keywordList: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.length <= 20 && v.every((k) => typeof k === 'string' && /^\S{1,32}$/u.test(k) && isStorableText(k))
    ? null
    : 'must be a list of 1-20 single words (no spaces, at most 32 characters each)';
const replyText = text(1600);

export interface FieldError {
  field: string;
  message: string;
}

/** Every problem of a patch, so one answer names them all; empty when it is valid. */
export function settingsErrors(input: unknown): FieldError[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return [{ field: 'settings', message: 'must be a JSON object' }];
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (key === 'keywords' || key === 'replies') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        errors.push({ field: key, message: 'must be an object with opt_out, opt_in and/or help' });
        continue;
      }
      for (const [kind, v] of Object.entries(value)) {
        const check = (KINDS as readonly string[]).includes(kind) ? (key === 'keywords' ? keywordList : replyText) : () => 'is not a known field';
        const m = check(v);
        if (m) errors.push({ field: `${key}.${kind}`, message: m });
      }
      continue;
    }
    const check = CHECKS[key as keyof typeof CHECKS];
    const m = check ? check(value) : 'is not a known field';
    if (m) errors.push({ field: key, message: m });
  }
  return errors;
}

export function assertSettingsPatch(input: unknown): SettingsPatch {
  const errors = settingsErrors(input);
  if (errors.length) {
    throw new AppError('SMS_ERR_VALIDATION', `Invalid settings: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  }
  return input as SettingsPatch;
}

/**
 * The effective settings: stored values over defaults, key by key. A stored value that fails its
 * check (written before validation existed) is ignored rather than failing every request.
 */
export function resolveSettings(stored: Record<string, unknown>, defaults: TenantSettings): TenantSettings {
  const out: TenantSettings = { ...defaults, keywords: { ...defaults.keywords }, replies: { ...defaults.replies } };
  for (const key of Object.keys(CHECKS) as (keyof typeof CHECKS)[]) {
    const v = stored[key];
    if (v !== undefined && CHECKS[key](v) === null) (out as unknown as Record<string, unknown>)[key] = v;
  }
  for (const group of ['keywords', 'replies'] as const) {
    const g = stored[group];
    if (!g || typeof g !== 'object' || Array.isArray(g)) continue;
    const check = group === 'keywords' ? keywordList : replyText;
    for (const kind of KINDS) {
      const v = (g as Record<string, unknown>)[kind];
      if (v !== undefined && check(v) === null) (out[group] as Record<string, unknown>)[kind] = v;
    }
  }
  return out;
}

/** The stored document after a patch: null removes a stored value where null is not a value of its own. */
export function applyPatch(stored: Record<string, unknown>, patch: SettingsPatch): Record<string, unknown> {
  const next: Record<string, unknown> = { ...stored };
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'keywords' || key === 'replies') next[key] = { ...((stored[key] as object) ?? {}), ...(value as object) };
    else next[key] = value;
  }
  return next;
}
