// Locale tags (BCP 47) of templates and messages: canonical form and the fallback chain.

/** The canonical form of a BCP 47 tag (`es-mx` → `es-MX`), or null when it is not one. */
export function canonicalLocale(tag: unknown): string | null {
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > 35) return null;
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? null;
  } catch {
    return null;
  }
}

/** `es-MX` → [`es-MX`, `es`]; `zh-Hant-TW` → [`zh-Hant-TW`, `zh-Hant`, `zh`]. */
export function localeChain(tag: string): string[] {
  const parts = tag.split('-');
  const out: string[] = [];
  for (let n = parts.length; n > 0; n--) out.push(parts.slice(0, n).join('-'));
  return out;
}

/** The first of `requested` (each with its parents) that `available` has, else `fallback`. */
export function pickLocale(requested: readonly (string | null | undefined)[], available: readonly string[], fallback: string): string {
  for (const r of requested) {
    const c = r ? canonicalLocale(r) : null;
    if (!c) continue;
    for (const l of localeChain(c)) if (available.includes(l)) return l;
  }
  return fallback;
}
