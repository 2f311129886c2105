// Smart Encoding, as Twilio Messaging Services do it: Unicode look-alikes of GSM-7 characters
// (curly quotes, dashes, odd spaces, ellipsis, bullets, full-width ASCII…) are replaced by their
// GSM-7 equivalents, so one stray "’" does not turn a message into UCS-2 (70 characters per
// segment instead of 160).
//
// The table follows Twilio's published list, "List of characters replaced by Smart Encoding"
// (https://www.twilio.com/docs/messaging/services/smart-encoding-char-list), as mirrored by
// Twilio's sms-segments-calculator (SmartEncodingMap, 1.3.0; docs/twilio-reference.md §13.5), with
// three deliberate differences: space look-alikes become ONE space (the calculator writes two),
// combining marks are left alone (replacing U+0303 would turn a decomposed "ñ" into "n~"), and
// control characters (TAB, NUL…) are not look-alikes of anything, so they are not touched.
// Hand-written because no maintained runtime package carries the table; smart-encoding.test.ts
// checks it against the calculator's map (a devDependency) entry by entry.
import { isGsm7 } from './segments.js';

const RANGES: [string, string][] = [
  // double quotes
  ['\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u201e\u275d\u275e\u301d\u301e\uff02', '"'],
  // single quotes, primes and accents used as apostrophes (the ASCII backtick is not GSM-7)
  ['\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca\u0060\u02cb\u275b\u275c\ufe10\ufe11', "'"],
  ['\u00f7\u29f8\u2044\u2215\uff0f', '/'],
  ['\u29f9\u29f5\ufe68\uff3c', '\\'],
  ['\uff3f\u2017', '_'],
  ['\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f', '|'],
  // dashes, hyphens and the bullet
  ['\u23bc\u23bd\u2015\ufe63\uff0d\u2010\u2043\u2014\u2013\u2022', '-'],
  ['\ufe6b\uff20', '@'],
  ['\ufe69\uff04', '$'],
  ['\u01c3\ufe15\ufe57\uff01', '!'],
  ['\ufe5f\uff03', '#'],
  ['\ufe6a\uff05', '%'],
  ['\ufe60\uff06', '&'],
  ['\u201a\ufe50\ufe51\uff0c\uff64\u3001', ','],
  ['\u2768\u276a\ufe59\uff08\u27ee\u2985', '('],
  ['\u2769\u276b\ufe5a\uff09\u27ef\u2986', ')'],
  ['\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c\u273d\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a', '*'],
  ['\u02d6\ufe62\uff0b', '+'],
  ['\u3002\ufe52\uff0e\uff61', '.'],
  ['\u02d0\u02f8\u2982\ua789\ufe13\uff1a', ':'],
  ['\u204f\ufe14\ufe54\uff1b', ';'],
  ['\ufe64\uff1c\u2039', '<'],
  ['\ua78a\ufe66\uff1d', '='],
  ['\ufe65\uff1e\u203a', '>'],
  ['\ufe16\ufe56\uff1f', '?'],
  ['\u02c6\uff3e', '^'],
  ['\u2774\ufe5b\uff5b', '{'],
  ['\u2775\ufe5c\uff5d', '}'],
  ['\uff3b', '['],
  ['\uff3d', ']'],
  ['\u02dc\u02f7\u223c\uff5e', '~'],
  // spaces of every width (one space each, see above)
  ['\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\u2028\u2029', ' '],
  // invisible: zero-width space, zero-width non-joiner, word joiner, byte-order mark
  ['\u200b\u200c\u2060\ufeff', ''],
];

const MULTI: [string, string][] = [
  ['\u00bc', '1/4'],
  ['\u00bd', '1/2'],
  ['\u00be', '3/4'],
  ['\u203c', '!!'],
  ['\u2026', '...'],
];

// Full-width digits and capitals, and small-capital letters, as Twilio's list has them.
const SMALL_CAPS =
  '\u1d00\u0299\u1d04\u1d05\u1d07\ua730\u0262\u029c\u026a\u1d0a\u1d0b\u029f\u1d0d\u0274\u1d0f\u1d18\0\u0280\ua731\u1d1b\u1d1c\u1d20\u1d21\0\u028f\u1d22';

export const SMART_ENCODING_MAP: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const [chars, to] of RANGES) for (const c of chars) m.set(c, to);
  for (const [c, to] of MULTI) m.set(c, to);
  for (let i = 0; i < 10; i++) m.set(String.fromCharCode(0xff10 + i), String(i));
  for (let i = 0; i < 26; i++) {
    const letter = String.fromCharCode(65 + i);
    m.set(String.fromCharCode(0xff21 + i), letter);
    if (SMALL_CAPS[i] !== '\0') m.set(SMALL_CAPS[i]!, letter);
  }
  return m;
})();

const LOOK_ALIKE = new RegExp(`[${[...SMART_ENCODING_MAP.keys()].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}]`, 'g');

/** The text with every look-alike replaced; text without one is returned as is (the same string). */
export function smartEncode(text: string): string {
  if (isGsm7(text)) return text;
  LOOK_ALIKE.lastIndex = 0;
  return text.replace(LOOK_ALIKE, (c) => SMART_ENCODING_MAP.get(c)!);
}
