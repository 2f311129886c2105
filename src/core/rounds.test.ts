import { describe, expect, it } from 'vitest';
import { rounds } from './rounds.js';

describe('rounds', () => {
  it('puts each key once per round, in input order', () => {
    expect(rounds(['a', 'b', 'a', 'c', 'a', 'b'], (x) => x)).toEqual([[0, 1, 3], [2, 5], [4]]);
  });
  it('is empty for an empty batch', () => {
    expect(rounds([], (x: string) => x)).toEqual([]);
  });
});
