// With the u flag a surrogate pair is one code point, so \p{Cs} matches only a lone surrogate
// (String.prototype.isWellFormed, not yet in the TypeScript lib this project targets): a handset
// would get U+FFFD. NUL cannot be stored in a PostgreSQL text column.
export const UNSTORABLE = /[\p{Cs}\u0000]/u;

/** Text that can be stored and sent as is. */
export const isStorableText = (s: string): boolean => !UNSTORABLE.test(s);
