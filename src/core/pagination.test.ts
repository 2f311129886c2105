import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { decodeCursor, encodeCursor, page, pageLimit } from './pagination.js';
import { CONTROL_CHARACTERS } from './text.js';

function validationField(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError && e.code === 'SMS_ERR_VALIDATION') return (e.details as { field?: string }).field;
    throw e;
  }
  return undefined;
}

describe('cursors', () => {
  it('round-trip any sort keys', () => {
    fc.assert(
      fc.property(
        fc.tuple(
          fc.maxSafeInteger(),
          fc.string({ maxLength: 200 }).filter((k) => !CONTROL_CHARACTERS.test(k)),
        ),
        (keys) => {
          expect(decodeCursor(encodeCursor(keys), ['number', 'string'])).toEqual(keys);
          expect(decodeCursor(encodeCursor(keys), 2)).toEqual(keys);
        },
      ),
    );
  });

  it('treat a missing cursor as the first page', () => {
    expect(decodeCursor(undefined, 1)).toBeNull();
    expect(decodeCursor('', ['string'])).toBeNull();
  });

  it('refuse garbage, wrong arity and wrong key types as a validation error on cursor', () => {
    const forged = [
      '%%%',
      'abc',
      encodeCursor([1]),
      encodeCursor([1, 'a', 'b']),
      encodeCursor(['1', 'a']),
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('[1.5,"a"]').toString('base64url'),
      Buffer.from('[1e300,"a"]').toString('base64url'),
      Buffer.from('[1,null]').toString('base64url'),
      encodeCursor([1, 'x'.repeat(201)]),
      encodeCursor([1, 'a\u0000b']),
    ];
    for (const c of forged)
      expect(
        validationField(() => decodeCursor(c, ['number', 'string'])),
        c,
      ).toBe('cursor');
    expect(validationField(() => decodeCursor(Buffer.from('[true]').toString('base64url'), 1))).toBe('cursor');
  });

  it('fuzz: any string either decodes to the declared shape or is a validation error', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        let keys: unknown;
        const field = validationField(() => (keys = decodeCursor(s, ['number', 'string'])));
        if (field === undefined) expect(keys === null || (Array.isArray(keys) && typeof keys[0] === 'number' && typeof keys[1] === 'string')).toBe(true);
        else expect(field).toBe('cursor');
      }),
    );
  });
});

describe('limits and pages', () => {
  it('apply the default and refuse out-of-range limits naming limit', () => {
    expect(pageLimit(undefined)).toBe(50);
    expect(pageLimit(200)).toBe(200);
    expect(pageLimit(undefined, { default: 100, max: 1000 })).toBe(100);
    for (const bad of [0, -1, 201, 1.5, Number.NaN]) expect(validationField(() => pageLimit(bad))).toBe('limit');
    expect(validationField(() => pageLimit(1001, { default: 100, max: 1000 }))).toBe('limit');
  });

  it('cut at the limit and point the cursor after the last row only when more follow', () => {
    const rows = [{ id: 'c' }, { id: 'b' }, { id: 'a' }];
    const p = page(rows, 2, (r) => [r.id]);
    expect(p.data).toEqual([{ id: 'c' }, { id: 'b' }]);
    expect(decodeCursor(p.next_cursor, ['string'])).toEqual(['b']);
    expect(page(rows, 3, (r) => [r.id]).next_cursor).toBeNull();
  });
});
