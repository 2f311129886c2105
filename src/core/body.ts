// Body shaping: what the sending policy does to a message's text before it is counted and sent
// (smart encoding, the marketing opt-out footer, the per-category segment limit with reject or
// truncate), and the analysis a preview shows. Pure: the send path and previews share it, so a
// preview answers exactly what a send would do.
import type { Category } from './categories.js';
import { localeChain } from './locales.js';
import { smartEncode } from './smart-encoding.js';
import { countSegments, isGsm7, type Encoding } from './segments.js';
import type { ErrorCode } from './errors.js';

export type TooLong = 'reject' | 'truncate';
export type NoRoom = 'send' | 'refuse';

/** The settings that shape a body (the settings document's keys of the same names). */
export interface BodyRules {
  smart_encoding: boolean;
  max_segments: Record<Category, number>;
  on_too_long: Record<Category, TooLong>;
  opt_out_footer: Record<string, string>;
  footer_when_no_room: NoRoom;
}

export interface ShapeInput {
  text: string;
  category: Category;
  /** The message's locale (footer language); null: the footer's first locale. */
  locale: string | null;
  /** Smart encoding for this message (a template's choice over the tenant's). */
  smartEncoding: boolean;
  rules: BodyRules;
  /** The tenant's opt-out keywords: a body naming one already carries opt-out language. */
  optOutKeywords: readonly string[];
}

export interface ShapeProblem {
  code: Extract<ErrorCode, 'SMS_ERR_TOO_MANY_SEGMENTS' | 'SMS_ERR_FOOTER_NO_ROOM'>;
  message: string;
  details: Record<string, unknown>;
}

export interface Shaped {
  /** The text that is sent. */
  body: string;
  segments: number;
  encoding: Encoding;
  /** Length (UTF-16 units) of the text before truncation; null when nothing was cut. */
  truncated_from: number | null;
  /** The footer for this message (appended or not), null when none is due. */
  footer: string | null;
  footer_applied: boolean;
  /** Why the message cannot be sent as it is (the send path answers 422 with it). */
  problem: ShapeProblem | null;
}

const FOOTER_SEPARATOR = '\n';

// Keyword instructions are conventionally written in capitals ("Reply STOP"); the words below are
// opt-out language however they are written. Matching the tenant's keywords case-insensitively
// would take "Cancel anytime" or "the end of the sale" for an opt-out instruction.
const OPT_OUT_PHRASES = /\b(unsubscribe|opt[ -]?out)\b/i;

export function hasOptOutLanguage(text: string, keywords: readonly string[]): boolean {
  if (OPT_OUT_PHRASES.test(text)) return true;
  return keywords.some((k) => {
    const kw = k.toUpperCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(^|[^\\p{L}\\p{N}])${kw}([^\\p{L}\\p{N}]|$)`, 'u').test(text);
  });
}

/** The footer text for a locale: `es-MX`, then `es`, then English, then any. */
export function footerFor(footers: Record<string, string>, locale: string | null): string | null {
  for (const l of [...(locale ? localeChain(locale) : []), 'en']) if (footers[l]) return footers[l];
  const first = Object.values(footers)[0];
  return first ?? null;
}

let graphemes: Intl.Segmenter | undefined;

/**
 * The longest prefix of `text` that, followed by `suffix`, fits `maxSegments`; null when not even
 * the suffix does. Cuts only between graphemes (Intl.Segmenter): never inside a surrogate pair or
 * an emoji sequence. A GSM-7 extension character (€, {, …) is one UTF-16 unit counted as two
 * septets by countSegments, so its escape is never split either.
 */
export function truncateToSegments(text: string, maxSegments: number, suffix = ''): string | null {
  if (countSegments(suffix).segments > maxSegments) return null;
  graphemes ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  const cuts = [0];
  for (const g of graphemes.segment(text)) cuts.push(g.index + g.segment.length);
  // Segments never decrease as a prefix grows, so the last fitting cut is found by bisection.
  let lo = 0;
  let hi = cuts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (countSegments(text.slice(0, cuts[mid]) + suffix).segments <= maxSegments) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, cuts[lo]);
}

/**
 * Smart encoding (if on), then for marketing the opt-out footer when the body lacks opt-out
 * language, then the category's segment limit. The footer is appended only if the result stays
 * within the category's max_segments (it may take the message into one more segment, never over
 * the budget); with `on_too_long: truncate` the body is shortened to make room for it. Without
 * room, `footer_when_no_room` decides: send without it, or refuse.
 */
export function shapeBody(input: ShapeInput): Shaped {
  const { rules, category } = input;
  const max = rules.max_segments[category];
  const mode = rules.on_too_long[category];
  const encode = (s: string) => (input.smartEncoding ? smartEncode(s) : s);
  let body = encode(input.text);
  const originalLength = body.length;
  let truncatedFrom: number | null = null;
  let problem: ShapeProblem | null = null;

  let footer: string | null = null;
  let footerApplied = false;
  if (category === 'marketing' && !hasOptOutLanguage(body, input.optOutKeywords)) {
    const f = footerFor(rules.opt_out_footer, input.locale);
    footer = f === null ? null : encode(f);
  }
  if (footer !== null) {
    const suffix = FOOTER_SEPARATOR + footer;
    if (countSegments(body + suffix).segments <= max) {
      body += suffix;
      footerApplied = true;
    } else {
      const room = mode === 'truncate' ? truncateToSegments(body, max, suffix) : null;
      if (room !== null && room.trim() !== '') {
        truncatedFrom = originalLength;
        body = room + suffix;
        footerApplied = true;
      } else if (rules.footer_when_no_room === 'refuse') {
        problem = {
          code: 'SMS_ERR_FOOTER_NO_ROOM',
          message: `The opt-out footer does not fit in the ${max} segment(s) allowed for ${category} messages.`,
          details: { field: 'body', footer, max_segments: max, segments_with_footer: countSegments(body + suffix).segments },
        };
      }
    }
  }

  let seg = countSegments(body);
  if (problem === null && seg.segments > max) {
    const cut = mode === 'truncate' ? truncateToSegments(body, max) : null;
    if (cut !== null && cut !== '') {
      truncatedFrom = originalLength;
      body = cut;
      seg = countSegments(body);
    } else {
      problem = {
        code: 'SMS_ERR_TOO_MANY_SEGMENTS',
        message: `The message needs ${seg.segments} segments; at most ${max} are allowed for ${category} messages.`,
        details: { field: 'body', segments: seg.segments, max_segments: max, encoding: seg.encoding, category },
      };
    }
  }
  return { body, segments: seg.segments, encoding: seg.encoding, truncated_from: truncatedFrom, footer, footer_applied: footerApplied, problem };
}

export interface Ucs2Character {
  char: string;
  /** UTF-16 index in the text. */
  index: number;
  /** e.g. U+2019 */
  code_point: string;
}

/** Every character that forces UCS-2, in order (at most `limit`). */
export function ucs2Characters(text: string, limit = 100): Ucs2Character[] {
  const out: Ucs2Character[] = [];
  let i = 0;
  for (const ch of text) {
    if (!isGsm7(ch)) {
      out.push({ char: ch, index: i, code_point: `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` });
      if (out.length >= limit) break;
    }
    i += ch.length;
  }
  return out;
}

/** Warnings of a preview: what a sender would want to know before sending. */
export function bodyWarnings(text: string, shaped: Shaped, category: Category, optOutKeywords: readonly string[]): string[] {
  const w: string[] = [];
  if (shaped.segments > 1) w.push(`The message needs ${shaped.segments} segments (billed as ${shaped.segments} messages).`);
  if (category === 'marketing' && !hasOptOutLanguage(shaped.body, optOutKeywords))
    w.push('Marketing message without opt-out language (e.g. "Reply STOP to unsubscribe").');
  if (/http:\/\//i.test(text)) w.push('The message contains an http:// link; carriers filter unencrypted links, use https://.');
  if (shaped.truncated_from !== null) w.push(`The text would be truncated from ${shaped.truncated_from} to ${shaped.body.length} characters.`);
  if (shaped.footer !== null && !shaped.footer_applied) w.push('The opt-out footer does not fit the segment budget and would not be appended.');
  if (shaped.problem) w.push(shaped.problem.message);
  return w;
}
