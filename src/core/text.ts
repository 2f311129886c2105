// With the u flag a surrogate pair is one code point, so \p{Cs} matches only a lone surrogate
// (String.prototype.isWellFormed, not yet in the TypeScript lib this project targets): a handset
// would get U+FFFD. NUL cannot be stored in a PostgreSQL text column.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
export const UNSTORABLE = /[\p{Cs}\u0000]/u;

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f]/;

/** Text that can be stored and sent as is. */
export const isStorableText = (s: string): boolean => !UNSTORABLE.test(s);
