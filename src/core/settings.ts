// The tenant settings document: one typed, validated shape for everything a tenant configures.
// Stored values win; a key that is absent (or, in rows written by older versions, malformed)
// takes the installation's default, so the environment keeps supplying the default tenant's values
// at read time and a process start never has to write them.
import type { BodyRules } from './body.js';
import { CATEGORIES, type Category } from './categories.js';
import { AppError } from './errors.js';
import { DEFAULT_KEYWORDS, DEFAULT_REPLIES } from './keywords.js';
import { canonicalLocale } from './locales.js';
import { senderRatesErrors } from './pacing.js';
import { isTimeZone, quietWindowErrors, type QuietHoursSetting } from './quiet-hours.js';
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
  // --- admin (issue 12) ---
  /** IANA time zone of the tenant (its day for daily caps and reports). */
  timezone: string;
  // --- templates and body shaping (core/body.ts) ---
  /** Replace Unicode look-alikes with GSM-7 characters before counting and sending (templates may override). */
  smart_encoding: BodyRules['smart_encoding'];
  /** Most segments a message of each category may have. */
  max_segments: BodyRules['max_segments'];
  /** What happens to a longer message: refused (422) or truncated at a character boundary. */
  on_too_long: BodyRules['on_too_long'];
  /** The footer appended to marketing messages without opt-out language, per locale. */
  opt_out_footer: BodyRules['opt_out_footer'];
  /** When the footer does not fit max_segments: send without it, or refuse (422). */
  footer_when_no_room: BodyRules['footer_when_no_room'];
  // --- quiet hours and sender pacing ---
  /**
   * Allowed sending hours per category in the recipient's local time (null: any time). A category
   * left out keeps its default (DEFAULT_QUIET_HOURS); verification codes (otp) are always exempt.
   */
  quiet_hours: Partial<Record<QuietCategory, QuietHoursSetting | null>>;
  /** Segments per second per sender (number, short code, sender ID or MG SID), over the defaults by sender type. */
  sender_rates: Record<string, number>;
  // --- usage, lookups, contacts, privacy ---
  /** Message bodies and media URLs are redacted this many days after creation (null: kept). */
  retention_days: number | null;
  // --- sending limits, caps, consent mode, destination countries ---
  /** Rolling limit per recipient and category: at most `max` messages in any `per_seconds`; null: none. */
  recipient_limits: Record<Category, RecipientLimit | null>;
  /** Minimum seconds between two messages to one recipient, per category (0: none; OTP is exempt). */
  recipient_cooldown_seconds: Record<Category, number>;
  /** Over a recipient limit or cooldown: 'refuse' (429 with Retry-After) or 'defer' (hold until allowed). */
  over_limit: Record<Category, 'refuse' | 'defer'>;
  /** Messages per calendar day (in `timezone`) across all categories; null: no cap. */
  daily_cap: number | null;
  /** Fraction of the cap at which the day's threshold alert is raised. */
  daily_cap_alert_at: number;
  /** opt_out: send unless the number opted out; opt_in: send only to numbers with a recorded opt-in. */
  consent_mode: Record<Category, 'opt_in' | 'opt_out'>;
  /** Destination countries of every send (ISO codes, '*' for all); null: the tenant's region only. */
  allowed_countries: string[] | null;
}

export interface RecipientLimit {
  max: number;
  per_seconds: number;
}

// --- quiet hours and sender pacing ---
export type QuietCategory = 'transactional' | 'marketing';
/** Marketing: 08:00–21:00, the TCPA's federal window (47 C.F.R. § 64.1200(c)(1)), narrowed by state rules; transactional: off. */
export const DEFAULT_QUIET_HOURS: Record<QuietCategory, QuietHoursSetting | null> = {
  transactional: null,
  marketing: { start: '08:00', end: '21:00', state_rules: true },
};
function quietHoursErrors(v: unknown): FieldError[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return [{ field: 'quiet_hours', message: 'must be an object by category (transactional, marketing)' }];
  const errors: FieldError[] = [];
  for (const [cat, w] of Object.entries(v)) {
    if (cat === 'otp') errors.push({ field: 'quiet_hours.otp', message: 'cannot be set: verification codes are always exempt from quiet hours' });
    else if (cat !== 'transactional' && cat !== 'marketing') errors.push({ field: `quiet_hours.${cat}`, message: 'is not a known category' });
    else if (w !== null) for (const e of quietWindowErrors(w)) errors.push({ field: `quiet_hours.${cat}${e.field ? `.${e.field}` : ''}`, message: e.message });
  }
  return errors;
}
/** Settings whose value is a map: each problem names its entry. */
const NESTED_CHECKS: Record<string, (v: unknown) => FieldError[]> = {
  quiet_hours: quietHoursErrors,
  sender_rates: (v) => senderRatesErrors(v).map((e) => ({ field: `sender_rates${e.field}`, message: e.message })),
};
const nestedCheck =
  (key: string): Check =>
  (v) =>
    NESTED_CHECKS[key]!(v)[0]?.message ?? null;

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
  // --- admin (issue 12) ---
  timezone: 'UTC',
  // --- templates and body shaping ---
  smart_encoding: false,
  // Twilio advises at most 10 segments; marketing and codes are kept short.
  max_segments: { transactional: 10, marketing: 3, otp: 2 },
  on_too_long: { transactional: 'reject', marketing: 'reject', otp: 'reject' },
  opt_out_footer: { en: 'Reply STOP to unsubscribe.' },
  footer_when_no_room: 'send',
  // --- quiet hours and sender pacing ---
  quiet_hours: { ...DEFAULT_QUIET_HOURS },
  sender_rates: {},
  // --- usage, lookups, contacts, privacy ---
  retention_days: null,
  // --- sending limits, caps, consent mode, destination countries ---
  // The seed's "5 per hour per phone" guarded marketing-like reminders; transactional traffic is
  // not throttled unless a tenant configures it (an upgrade must not start refusing sends).
  recipient_limits: { transactional: null, marketing: { max: 5, per_seconds: 3600 }, otp: null },
  recipient_cooldown_seconds: { transactional: 0, marketing: 0, otp: 0 },
  over_limit: { transactional: 'refuse', marketing: 'refuse', otp: 'refuse' },
  daily_cap: null,
  daily_cap_alert_at: 0.9,
  consent_mode: { transactional: 'opt_out', marketing: 'opt_in', otp: 'opt_out' },
  allowed_countries: null,
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

/** A map by category: any subset of the categories, each value checked (a patch merges by category). */
const byCategory =
  (c: Check): Check =>
  (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return `must be an object by category (${CATEGORIES.join(', ')})`;
    for (const [k, x] of Object.entries(v)) {
      if (!(CATEGORIES as readonly string[]).includes(k)) return `has an unknown category '${k.slice(0, 40)}' (expected ${CATEGORIES.join(', ')})`;
      const m = c(x);
      if (m) return `.${k} ${m}`;
    }
    return null;
  };
const intIn =
  (min: number, max: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `must be an integer from ${min} to ${max}`;
const countryList: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.length <= 250 && v.every((c) => typeof c === 'string' && (c === '*' || /^[A-Z]{2}$/.test(c)))
    ? null
    : "must be a non-empty list of ISO 3166 alpha-2 codes or '*'";
const recipientLimit: Check = (v) => {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v) || Object.keys(v).some((k) => k !== 'max' && k !== 'per_seconds')) return 'must be {max, per_seconds} or null';
  const { max, per_seconds } = v as Record<string, unknown>;
  return intIn(1, 1_000_000)(max)
    ? `max ${intIn(1, 1_000_000)(max)}`
    : intIn(1, 31 * 86_400)(per_seconds)
      ? `per_seconds ${intIn(1, 31 * 86_400)(per_seconds)}`
      : null;
};

/** Keys whose value is a map by category: stored and patched per category, over the defaults. */
// Maps by category: a patch and the stored value override the defaults category by category.
const PER_CATEGORY = new Set<string>(['max_segments', 'on_too_long', 'recipient_limits', 'recipient_cooldown_seconds', 'over_limit', 'consent_mode']);

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
  // --- admin (issue 12) ---
  timezone: (v) => (typeof v === 'string' && isTimeZone(v) ? null : "must be an IANA time zone such as 'Europe/Paris' or 'UTC'"),
  // --- templates and body shaping ---
  smart_encoding: (v) => (typeof v === 'boolean' ? null : 'must be true or false'),
  max_segments: byCategory(intIn(1, 30)),
  on_too_long: byCategory(oneOf('reject', 'truncate')),
  opt_out_footer: (v) =>
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.keys(v).length > 0 &&
    Object.keys(v).length <= 50 &&
    Object.entries(v).every(([l, t]) => canonicalLocale(l) === l && text(160)(t) === null)
      ? null
      : 'must map 1-50 canonical BCP 47 locale tags (e.g. en, es-MX) to non-empty texts of at most 160 characters',
  footer_when_no_room: oneOf('send', 'refuse'),
  // --- quiet hours and sender pacing ---
  quiet_hours: nestedCheck('quiet_hours'),
  sender_rates: nestedCheck('sender_rates'),
  // --- usage, lookups, contacts, privacy ---
  retention_days: nullable((v) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 3650 ? null : 'must be a whole number of days from 1 to 3650, or null',
  ),
  // --- sending limits, caps, consent mode, destination countries ---
  recipient_limits: byCategory(recipientLimit),
  recipient_cooldown_seconds: byCategory(intIn(0, 7 * 86_400)),
  over_limit: byCategory(oneOf('refuse', 'defer')),
  daily_cap: nullable(intIn(0, 1_000_000_000)),
  daily_cap_alert_at: (v) => (typeof v === 'number' && v > 0 && v <= 1 ? null : 'must be a number above 0 and at most 1'),
  consent_mode: byCategory(oneOf('opt_in', 'opt_out')),
  allowed_countries: nullable(countryList),
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
    if (NESTED_CHECKS[key]) {
      errors.push(...NESTED_CHECKS[key](value));
      continue;
    }
    const check = CHECKS[key as keyof typeof CHECKS];
    const m = check ? check(value) : 'is not a known field';
    // A map by category names the entry at fault: `recipient_limits.marketing`.
    const sub = m?.startsWith('.') ? /^\.(\w+) ([\s\S]*)$/.exec(m) : null;
    if (sub) errors.push({ field: `${key}.${sub[1]}`, message: sub[2]! });
    else if (m) errors.push({ field: key, message: m });
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
    if (v === undefined || CHECKS[key](v) !== null) continue;
    (out as unknown as Record<string, unknown>)[key] = PER_CATEGORY.has(key) ? { ...(defaults[key] as object), ...(v as object) } : v;
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
    if (key === 'keywords' || key === 'replies' || PER_CATEGORY.has(key)) next[key] = { ...((stored[key] as object) ?? {}), ...(value as object) };
    else next[key] = value;
  }
  return next;
}
