import fc from 'fast-check';
import SmartEncodingMap from 'sms-segments-calculator/dist/libs/SmartEncodingMap.js';
import { describe, expect, it } from 'vitest';
import { isGsm7 } from './segments.js';
import { SMART_ENCODING_MAP, smartEncode } from './smart-encoding.js';

const calculator = ((SmartEncodingMap as unknown as { default?: Record<string, string> }).default ?? SmartEncodingMap) as Record<string, string>;
const mapped = [...SMART_ENCODING_MAP.keys()];
const isCombining = (c: string) => /\p{M}/u.test(c);
const isControl = (c: string) => /\p{Cc}/u.test(c);
// One code point of any plane (fast-check's 'binary' unit).
const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });

describe('smart encoding', () => {
  it("replaces Twilio's look-alikes: quotes, dashes, spaces, ellipsis, bullets, full-width letters", () => {
    expect(smartEncode('“Hi” it’s ‘ok’ — really… • 50\u00a0€ ＡＢＣ１２３')).toBe("\"Hi\" it's 'ok' - really... - 50 € ABC123");
    expect(isGsm7(smartEncode('“Hi” it’s ‘ok’ — really…'))).toBe(true);
  });

  it("agrees with Twilio's calculator map, except spaces (one, not two), combining marks and control characters", () => {
    for (const [from, to] of Object.entries(calculator)) {
      if (isCombining(from) || isControl(from)) {
        expect(SMART_ENCODING_MAP.has(from), `U+${from.codePointAt(0)!.toString(16)}`).toBe(false);
      } else if (/^ +$/.test(to)) {
        expect(SMART_ENCODING_MAP.get(from)).toBe(' ');
      } else {
        expect(SMART_ENCODING_MAP.get(from), `U+${from.codePointAt(0)!.toString(16)}`).toBe(to);
      }
    }
  });

  it('maps only non-GSM characters, to GSM-7 text with no look-alike in it', () => {
    for (const [from, to] of SMART_ENCODING_MAP) {
      expect(isGsm7(from)).toBe(false);
      expect(isGsm7(to)).toBe(true);
      expect(smartEncode(to)).toBe(to);
    }
  });

  it('never changes text without a look-alike (any GSM-7 text, any text without mapped characters)', () => {
    const gsm = fc.string({ unit: fc.constantFrom(...'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCZÄÖÑÜ§¿az{}[]~|\\^€') });
    fc.assert(fc.property(gsm, (s) => smartEncode(s) === s));
    const unmapped = fc.string({ unit: anyChar.filter((c) => !SMART_ENCODING_MAP.has(c)) });
    fc.assert(fc.property(unmapped, (s) => smartEncode(s) === s));
  });

  it('applying it twice equals applying it once', () => {
    const mixed = fc.string({ unit: fc.oneof(fc.constantFrom(...mapped), anyChar) });
    fc.assert(fc.property(mixed, (s) => smartEncode(smartEncode(s)) === smartEncode(s)));
  });
});
