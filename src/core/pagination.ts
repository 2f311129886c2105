// One cursor format and one limit rule for every list. A cursor is base64url of the JSON array of
// the last row's sort keys (clients treat it as opaque). Keys are checked for count and type
// before any query sees them, so a forged or damaged cursor is a 400, never a database error.
import { AppError } from './errors.js';
import { CONTROL_CHARACTERS } from './text.js';

export type CursorKey = string | number;
export type CursorKind = 'string' | 'number';

export interface LimitRule {
  default: number;
  max: number;
}

/** The rule of every list unless it states its own bounds (the opt-out list pages by 1000 for CSV). */
export const LIST_LIMIT: LimitRule = { default: 50, max: 200 };

const MAX_CURSOR_CHARS = 1024;
const MAX_KEY_CHARS = 200;

const badCursor = () => new AppError('SMS_ERR_VALIDATION', 'cursor is not valid', { field: 'cursor' });

export function pageLimit(input: number | undefined, rule: LimitRule = LIST_LIMIT): number {
  const limit = input ?? rule.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > rule.max) {
    throw new AppError('SMS_ERR_VALIDATION', `limit must be an integer between 1 and ${rule.max}`, { field: 'limit' });
  }
  return limit;
}

export function encodeCursor(keys: readonly CursorKey[]): string {
  return Buffer.from(JSON.stringify(keys)).toString('base64url');
}

/**
 * The sort keys of a cursor; null when there is none. `shape` is the number of keys, or their kinds
 * in order (numbers are safe integers, strings at most 200 characters without control
 * characters, either way).
 */
export function decodeCursor(s: string | undefined | null, shape: number): CursorKey[] | null;
export function decodeCursor<const K extends readonly CursorKind[]>(
  s: string | undefined | null,
  shape: K,
): { [I in keyof K]: K[I] extends 'number' ? number : string } | null;
export function decodeCursor(s: string | undefined | null, shape: number | readonly CursorKind[]): CursorKey[] | null {
  if (s === undefined || s === null || s === '') return null;
  if (typeof s !== 'string' || s.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(s)) throw badCursor();
  let keys: unknown;
  try {
    keys = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  const arity = typeof shape === 'number' ? shape : shape.length;
  if (!Array.isArray(keys) || keys.length !== arity) throw badCursor();
  keys.forEach((k: unknown, i) => {
    const kind = typeof shape === 'number' ? typeof k : shape[i];
    // Control characters never occur in sort keys (and a NUL is an error on PostgreSQL).
    if (kind === 'number' ? !Number.isSafeInteger(k) : kind !== 'string' || typeof k !== 'string' || k.length > MAX_KEY_CHARS || CONTROL_CHARACTERS.test(k))
      throw badCursor();
  });
  return keys as CursorKey[];
}

/**
 * A page from rows fetched with `limit + 1` (the extra row only tells that more follow): the first
 * `limit` rows and the cursor after the last of them.
 */
export function page<R>(rows: readonly R[], limit: number, keyOf: (row: R) => readonly CursorKey[]): { data: R[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
