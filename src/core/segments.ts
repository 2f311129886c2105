// SMS encoding and segment counting (GSM-7 / UCS-2, docs/twilio-reference.md §13).
//
// Hand-written on purpose: sms-segments-calculator gives the reference answers, but it pulls in
// grapheme-splitter and builds an object per character and per segment. The send API counts
// segments on every request, so we keep a lean counter here and use the calculator only as the
// test oracle (it is a devDependency). The rules below reproduce the calculator's results,
// including its quirks (see `simulate`), with one deliberate difference: grapheme boundaries come
// from Intl.Segmenter (current Unicode rules, what today's handsets use) rather than the
// calculator's grapheme-splitter (Unicode 10), so some newer emoji sequences and Indic conjuncts
// count as one character here and several there (pinned in segments.test.ts).

export type Encoding = 'GSM-7' | 'UCS-2';

export interface SegmentInfo {
  encoding: Encoding;
  segments: number;
  /** As the calculator's `numberOfCharacters`: GSM-7 = septets (escapes included), UCS-2 = graphemes. */
  characters: number;
}

/** Twilio rejects longer bodies (error 21617). */
export const MAX_BODY_CHARS = 1600;

const SEGMENT_BITS = 1120; // 140 octets
const UDH_BITS = 48; // 6-octet User Data Header on every part of a concatenated message
const GSM_BITS = 7;
const UCS2_BITS = 16;

// Lookup table built once: 0 = not GSM-7, 1 = basic table (1 septet), 2 = extension (escape + code).
// Every GSM-7 character but the euro sign sits below U+0400, so a small typed array covers them.
const GSM_TABLE_SIZE = 0x400;
const EURO = 0x20ac;
const GSM_SEPTETS = new Uint8Array(GSM_TABLE_SIZE);
{
  const basic = '\n\r !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz' + '¡£¤¥§¿ÄÅÆÇÉÑÖØÜßàäåæèéìñòöøùüΓΔΘΛΞΠΣΦΨΩ';
  const extension = '\f[\\]^{|}~'; // plus the euro sign, handled outside the table
  for (let i = 0; i < basic.length; i++) GSM_SEPTETS[basic.charCodeAt(i)] = 1;
  for (let i = 0; i < extension.length; i++) GSM_SEPTETS[extension.charCodeAt(i)] = 2;
}

function gsmSeptets(code: number): number {
  return code < GSM_TABLE_SIZE ? GSM_SEPTETS[code]! : code === EURO ? 2 : 0;
}

// Module-level scratch for per-character bit sizes: counting is synchronous, so one buffer can be
// reused and a typical request allocates nothing. Very large bodies get a throwaway buffer so we
// never pin megabytes.
const SCRATCH_MAX = 4096;
let scratch = new Int32Array(256);
function sizesBuffer(n: number): Int32Array {
  if (n <= scratch.length) return scratch;
  if (n > SCRATCH_MAX) return new Int32Array(n);
  scratch = new Int32Array(Math.max(n, scratch.length * 2));
  return scratch;
}

// --- UCS-2: graphemes ----------------------------------------------------------------------------
// Intl.Segmenter decides grapheme boundaries, but it costs about half a microsecond per grapheme.
// Most UCS-2 text (accented letters, Cyrillic, CJK, single emoji) never joins code points, so we
// only hand it the stretches that can: a boundary between two "simple" code points is certain,
// whatever surrounds them (UAX #29: every no-break rule needs CR, an Extend/ZWJ/SpacingMark/
// Prepend character, a Hangul jamo or syllable, or a regional indicator on one side). The
// classification errs on the side of "not simple". The JS regex properties cannot name Prepend,
// SpacingMark or the Hangul-like classes, so those letters are listed by hand (Unicode 16: e.g.
// Tulu-Tigalari U+113D1, Kirat Rai U+16D63...); segments.test.ts checks the classification
// against the segmenter for every code point, so a Node/ICU upgrade that adds more fails there.
const NOT_SIMPLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: ZWJ and combining marks are listed one by one on purpose
  /[\r\u200D\u0E33\u0EB3\u0D4E\u1100-\u11FF\uA960-\uA97F\uAC00-\uD7A3\uD7B0-\uD7FF\u{111C2}\u{111C3}\u{1193F}\u{11941}\u{11A3A}\u{11A84}-\u{11A89}\u{11D46}\u{11F02}\u{113D1}\u{16D63}\u{16D67}-\u{16D6A}\p{Grapheme_Extend}\p{Emoji_Modifier}\p{Mc}\p{Regional_Indicator}]|[^\n\p{Grapheme_Base}]/u;

// BMP classes, filled 256 code points at a time on first use so that start-up pays nothing.
const BMP_SIMPLE = new Uint8Array(0x10000);
const BMP_BLOCK_READY = new Uint8Array(0x100);
function fillBlock(block: number): void {
  for (let c = block << 8, end = c + 0x100; c < end; c++) {
    const surrogate = c >= 0xd800 && c <= 0xdfff;
    BMP_SIMPLE[c] = surrogate || NOT_SIMPLE.test(String.fromCharCode(c)) ? 0 : 1;
  }
  BMP_BLOCK_READY[block] = 1;
}

function isSimple(cp: number): boolean {
  if (cp < 0x10000) {
    if (BMP_BLOCK_READY[cp >> 8] === 0) fillBlock(cp >> 8);
    return BMP_SIMPLE[cp] === 1;
  }
  // Emoji and symbol blocks: all simple except regional indicators and skin-tone modifiers.
  if (cp >= 0x1f000 && cp <= 0x1faff) return !(cp >= 0x1f1e6 && cp <= 0x1f1ff) && !(cp >= 0x1f3fb && cp <= 0x1f3ff);
  return !NOT_SIMPLE.test(String.fromCodePoint(cp));
}

let segmenter: Intl.Segmenter | undefined;

/** Fills `sizes` with the bit size of each UCS-2 character and returns how many there are. */
function ucs2Sizes(body: string, sizes: Int32Array): number {
  const n = body.length;
  // Each segment() call costs a couple of microseconds, so one per body, made only if needed.
  let graphemes: Intl.Segments | undefined;
  let count = 0;
  let i = 0;
  let cp = body.codePointAt(0)!;
  let simple = isSimple(cp);
  // Invariant: i is a grapheme boundary, cp/simple describe the code point at i.
  while (i < n) {
    const len = cp > 0xffff ? 2 : 1;
    let j = i + len;
    let nextCp = j < n ? body.codePointAt(j)! : 0;
    let nextSimple = j < n ? isSimple(nextCp) : true;
    if (simple && nextSimple) {
      sizes[count++] = len * UCS2_BITS;
    } else {
      // Extend to the next certain boundary and let the segmenter split that stretch.
      let prevSimple = nextSimple;
      while (j < n) {
        j += nextCp > 0xffff ? 2 : 1;
        if (j >= n) break;
        nextCp = body.codePointAt(j)!;
        nextSimple = isSimple(nextCp);
        if (prevSimple && nextSimple) break;
        prevSimple = nextSimple;
      }
      segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
      graphemes ??= segmenter.segment(body);
      for (let k = i; k < j; ) {
        const { segment } = graphemes.containing(k)!;
        if (segment === '\r\n') {
          sizes[count++] = UCS2_BITS; // the calculator counts CR LF as two characters
          sizes[count++] = UCS2_BITS;
        } else {
          sizes[count++] = segment.length * UCS2_BITS;
        }
        k += segment.length;
      }
    }
    i = j;
    cp = nextCp;
    simple = nextSimple;
  }
  return count;
}

// --- API -------------------------------------------------------------------------------------------

export function isGsm7(body: string): boolean {
  for (let i = 0; i < body.length; i++) {
    if (gsmSeptets(body.charCodeAt(i)) === 0) return false;
  }
  return true;
}

export function countSegments(body: string): SegmentInfo {
  const n = body.length;
  let septets = 0;
  for (let i = 0; i < n; i++) {
    const s = gsmSeptets(body.charCodeAt(i));
    // One non-GSM character makes the whole message UCS-2: 16 bits per UTF-16 unit, and a
    // grapheme is never split across segments.
    if (s === 0) {
      const sizes = sizesBuffer(n);
      const count = ucs2Sizes(body, sizes);
      return { encoding: 'UCS-2', segments: simulate(sizes, count), characters: count };
    }
    septets += s;
  }
  // Basic-table only (the usual case): every character is 7 bits, so the arithmetic is exact.
  if (septets === n) return { encoding: 'GSM-7', segments: n <= 160 ? 1 : Math.ceil(n / 153), characters: n };
  // Escape pairs are never split, which can push a character into the next part: replay it.
  const sizes = sizesBuffer(n);
  for (let i = 0; i < n; i++) sizes[i] = gsmSeptets(body.charCodeAt(i)) * GSM_BITS;
  return { encoding: 'GSM-7', segments: simulate(sizes, n), characters: septets };
}

// Replays the calculator's segment filling on bit sizes (one entry per character):
// - a single message holds 1120 bits; an empty body is still one (empty) segment;
// - when a character does not fit, a new segment with a 48-bit header starts, the previous
//   segment gets its header too, and the characters it no longer has room for move forward;
// - a character is never split, and one larger than a whole segment (a long grapheme) is placed
//   anyway, so a segment may overflow and the next character opens a new one.
function simulate(sizes: Int32Array, n: number): number {
  let used = 0;
  let i = 0;
  for (; i < n; i++) {
    const s = sizes[i]!;
    if (SEGMENT_BITS - used < s) break;
    used += s;
  }
  if (i === n) return 1;

  // Second segment: the first one gains its header and sheds trailing characters until it fits.
  used += UDH_BITS;
  let moved = i;
  while (used > SEGMENT_BITS) used -= sizes[--moved]!;
  let current = UDH_BITS;
  for (let k = moved; k <= i; k++) current += sizes[k]!;
  let segments = 2;

  for (i++; i < n; i++) {
    const s = sizes[i]!;
    if (SEGMENT_BITS - current < s) {
      segments++;
      current = UDH_BITS;
    }
    current += s;
  }
  return segments;
}
