import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeMatches, generateCode, hashCode, renderOtpMessage, resolveLocale } from './otp.js';

const SECRET = 'x'.repeat(32);
const csprng = { int: randomInt };

describe('generateCode', () => {
  it('gives digits of the asked length, 4 to 10', () => {
    for (let len = 4; len <= 10; len++) expect(generateCode(csprng, len)).toMatch(new RegExp(`^[0-9]{${len}}$`));
    expect(generateCode(csprng)).toMatch(/^[0-9]{6}$/);
  });

  it.each([3, 11, 6.5, NaN])('refuses length %s', (len) => {
    expect(() => generateCode(csprng, len)).toThrow(RangeError);
  });

  it('uses every digit in every position (no modulo bias toward low digits)', () => {
    const counts = Array.from({ length: 6 }, () => new Array(10).fill(0));
    for (let i = 0; i < 5000; i++) for (const [p, d] of [...generateCode(csprng, 6)].entries()) counts[p][Number(d)]++;
    // 500 expected per cell; 350 is > 6 standard deviations away.
    for (const row of counts) for (const c of row) expect(c).toBeGreaterThan(350);
  });

  it('draws one digit in [0, 10) per position from the given source', () => {
    const calls: [number, number][] = [];
    const digits = [0, 9, 4, 0, 7, 1];
    const scripted = {
      int: (min: number, max: number) => {
        calls.push([min, max]);
        return digits[calls.length - 1]!;
      },
    };
    expect(generateCode(scripted, 6)).toBe('094071');
    expect(calls).toEqual(Array(6).fill([0, 10]));
  });
});

describe('hashCode / codeMatches', () => {
  it('matches only the same code on the same verification with the same secret', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{4,10}$/), fc.stringMatching(/^[0-9]{4,10}$/), (code, other) => {
        const h = hashCode(SECRET, 'v1', code);
        expect(h).toMatch(/^[0-9a-f]{64}$/);
        expect(codeMatches(SECRET, 'v1', code, h)).toBe(true);
        expect(codeMatches(SECRET, 'v1', other, h)).toBe(other === code);
        expect(codeMatches(SECRET, 'v2', code, h)).toBe(false);
        expect(codeMatches('y'.repeat(32), 'v1', code, h)).toBe(false);
      }),
    );
  });

  it('treats a corrupt stored hash as no match instead of throwing', () => {
    expect(codeMatches(SECRET, 'v1', '123456', 'abc')).toBe(false);
    expect(codeMatches(SECRET, 'v1', '123456', '')).toBe(false);
  });
});

describe('templates', () => {
  it.each([
    ['en', "Your Acme code is 123456. It expires in 10 minutes. Don't share it."],
    ['es', 'Tu código de Acme es 123456. Caduca en 10 minutos. No lo compartas.'],
    ['pt', 'Seu código Acme é 123456. Ele expira em 10 minutos. Não o compartilhe.'],
    ['hi', 'आपका Acme कोड 123456 है। यह 10 मिनट में समाप्त हो जाएगा। इसे किसी के साथ साझा न करें।'],
  ] as const)('%s', (locale, text) => {
    expect(renderOtpMessage(locale, 'Acme', '123456', 600)).toBe(text);
  });

  it('rounds the lifetime up to whole minutes', () => {
    expect(renderOtpMessage('en', 'A', '1234', 150)).toContain('3 minutes');
  });

  it.each([
    [undefined, 'US', 'en'],
    [undefined, 'MX', 'es'],
    [undefined, 'BR', 'pt'],
    [undefined, 'IN', 'en'],
    ['pt-BR', 'US', 'pt'],
    ['es_MX', undefined, 'es'],
    ['HI', 'US', 'hi'],
    ['fr', 'FR', undefined],
    ['e', 'US', undefined],
    ['en-', 'US', undefined],
    ['ñ'.repeat(3), 'US', undefined],
  ])('resolveLocale(%s, %s) = %s', (locale, country, expected) => {
    expect(resolveLocale(locale, country)).toBe(expected);
  });
});
