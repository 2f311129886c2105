/**
 * Splits a batch into rounds in which no key appears twice, keeping input order within a key:
 * a set-based statement can touch a row once, so later items for the same row wait a round.
 * Returns indexes into `items`.
 */
export function rounds<T>(items: readonly T[], key: (item: T) => string): number[][] {
  const out: number[][] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const r = seen.get(k) ?? 0;
    seen.set(k, r + 1);
    out[r] ??= [];
    out[r].push(i);
  });
  return out;
}
