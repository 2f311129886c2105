// Message categories: every message has one, and each sending policy may differ by category.
// `otp` is reserved for the verification service's own sends (the API offers the other two).

export const CATEGORIES = ['transactional', 'marketing', 'otp'] as const;
export type Category = (typeof CATEGORIES)[number];

/** The categories a caller of the send API may choose. */
export const SENDABLE_CATEGORIES = ['transactional', 'marketing'] as const satisfies readonly Category[];

export const DEFAULT_CATEGORY: Category = 'transactional';

export function isCategory(v: unknown): v is Category {
  return typeof v === 'string' && (CATEGORIES as readonly string[]).includes(v);
}
