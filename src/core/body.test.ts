import { describe, expect, it } from 'vitest';
import { type BodyRules, footerFor, hasOptOutLanguage, shapeBody, truncateToSegments, ucs2Characters } from './body.js';
import { localeChain, pickLocale } from './locales.js';
import { countSegments } from './segments.js';
import { BUILTIN_SETTINGS } from './settings.js';
import { isStorableText } from './text.js';

const rules = (over: Partial<BodyRules> = {}): BodyRules => ({
  smart_encoding: BUILTIN_SETTINGS.smart_encoding,
  max_segments: { ...BUILTIN_SETTINGS.max_segments },
  on_too_long: { ...BUILTIN_SETTINGS.on_too_long },
  opt_out_footer: { ...BUILTIN_SETTINGS.opt_out_footer },
  footer_when_no_room: BUILTIN_SETTINGS.footer_when_no_room,
  ...over,
});
const STOP = ['STOP', 'UNSUBSCRIBE', 'END'];
const shape = (text: string, category: 'transactional' | 'marketing', r: BodyRules, locale: string | null = null) =>
  shapeBody({ text, category, locale, smartEncoding: r.smart_encoding, rules: r, optOutKeywords: STOP });

describe('truncation at character boundaries', () => {
  it('never keeps half a surrogate pair', () => {
    const text = `${'a'.repeat(68)}😀😀`; // UCS-2: 68 + 2 + 2 units > 70
    const cut = truncateToSegments(text, 1)!;
    expect(cut).toBe(`${'a'.repeat(68)}😀`);
    expect(countSegments(cut).segments).toBe(1);
    expect(isStorableText(cut)).toBe(true); // no lone surrogate
  });

  it('never keeps half a GSM-7 extension escape (€, {): the character goes whole or not at all', () => {
    for (const ext of ['€', '{', '\\']) {
      const cut = truncateToSegments(`${'a'.repeat(159)}${ext}b`, 1)!;
      expect(cut).toBe('a'.repeat(159)); // 159 + 2 septets would be 161
      expect(truncateToSegments(`${'a'.repeat(158)}${ext}b`, 1)).toBe(`${'a'.repeat(158)}${ext}`);
    }
  });

  it('keeps an emoji sequence whole and leaves room for a suffix', () => {
    const family = '👨‍👩‍👧';
    const cut = truncateToSegments(`${'a'.repeat(64)}${family}`, 1)!;
    expect(cut).toBe('a'.repeat(64));
    expect(truncateToSegments('x'.repeat(200), 1, ' END')).toBe('x'.repeat(156));
    expect(truncateToSegments('x', 1, 'y'.repeat(400))).toBeNull();
  });
});

describe('length policy', () => {
  it('rejects with the counts, or truncates and records the original length', () => {
    const long = 'x'.repeat(500); // 4 segments
    const rejected = shape(long, 'transactional', rules({ max_segments: { transactional: 3, marketing: 3, otp: 2 } }));
    expect(rejected.problem).toMatchObject({ code: 'SMS_ERR_TOO_MANY_SEGMENTS', details: { segments: 4, max_segments: 3 } });
    const cut = shape(
      long,
      'transactional',
      rules({ max_segments: { transactional: 3, marketing: 3, otp: 2 }, on_too_long: { transactional: 'truncate', marketing: 'reject', otp: 'reject' } }),
    );
    expect(cut.problem).toBeNull();
    expect(cut.body).toBe('x'.repeat(459));
    expect(cut).toMatchObject({ segments: 3, truncated_from: 500 });
  });

  it('counts after smart encoding: a curly quote no longer makes the message UCS-2', () => {
    const text = `It’s ${'x'.repeat(100)}`;
    expect(shape(text, 'transactional', rules()).encoding).toBe('UCS-2');
    const s = shape(text, 'transactional', rules({ smart_encoding: true }));
    expect(s).toMatchObject({ encoding: 'GSM-7', segments: 1, body: `It's ${'x'.repeat(100)}` });
  });
});

describe('opt-out footer', () => {
  it('is appended to marketing without opt-out language when it fits, in the message locale', () => {
    const r = rules({ opt_out_footer: { en: 'Reply STOP to unsubscribe.', es: 'Responde STOP para cancelar.' } });
    expect(shape('Sale today', 'marketing', r).body).toBe('Sale today\nReply STOP to unsubscribe.');
    expect(shape('Oferta hoy', 'marketing', r, 'es-MX').body).toBe('Oferta hoy\nResponde STOP para cancelar.');
    expect(shape('Sale today, reply STOP to quit', 'marketing', r)).toMatchObject({ body: 'Sale today, reply STOP to quit', footer: null });
    expect(shape('Your code', 'transactional', r).footer).toBeNull();
  });

  it('without room: sent without it, refused, or (truncate) the body makes room', () => {
    const body = 'x'.repeat(150);
    const one = { transactional: 10, marketing: 1, otp: 2 };
    expect(shape(body, 'marketing', rules({ max_segments: one }))).toMatchObject({ body, footer_applied: false, problem: null });
    expect(shape(body, 'marketing', rules({ max_segments: one, footer_when_no_room: 'refuse' })).problem?.code).toBe('SMS_ERR_FOOTER_NO_ROOM');
    const t = shape(body, 'marketing', rules({ max_segments: one, on_too_long: { transactional: 'reject', marketing: 'truncate', otp: 'reject' } }));
    expect(t.body).toBe(`${'x'.repeat(133)}\nReply STOP to unsubscribe.`);
    expect(t).toMatchObject({ segments: 1, footer_applied: true, truncated_from: 150 });
  });

  it('opt-out language: phrases in any case, keywords written in capitals', () => {
    expect(hasOptOutLanguage('Text STOP to quit', STOP)).toBe(true);
    expect(hasOptOutLanguage('to opt out, reply', STOP)).toBe(true);
    expect(hasOptOutLanguage('The sale ends at the end of the week', STOP)).toBe(false);
    expect(hasOptOutLanguage('NONSTOP deals', STOP)).toBe(false);
    expect(footerFor({ fr: 'STOP au 36180' }, 'de')).toBe('STOP au 36180');
  });
});

describe('previews and locales', () => {
  it('lists the characters that force UCS-2 with their UTF-16 index and code point', () => {
    expect(ucs2Characters('Hi ✓ it’s 😀!')).toEqual([
      { char: '✓', index: 3, code_point: 'U+2713' },
      { char: '’', index: 7, code_point: 'U+2019' },
      { char: '😀', index: 10, code_point: 'U+1F600' },
    ]);
    expect(ucs2Characters('Plain € {text}')).toEqual([]);
  });

  it('falls back es-MX → es → the default', () => {
    expect(localeChain('zh-Hant-TW')).toEqual(['zh-Hant-TW', 'zh-Hant', 'zh']);
    expect(pickLocale(['es-MX'], ['en', 'es'], 'en')).toBe('es');
    expect(pickLocale(['es-mx'], ['en', 'es-MX'], 'en')).toBe('es-MX');
    expect(pickLocale(['fr', null, 'es-AR'], ['en', 'es'], 'en')).toBe('es');
    expect(pickLocale(['fr', 'not a tag!'], ['en', 'es'], 'en')).toBe('en');
  });
});
