import { describe, expect, it } from 'vitest';
import { DEFAULT_KEYWORDS, fromOptOutType, isRevocation, matchKeyword } from './keywords.js';

describe('matchKeyword', () => {
  it.each([
    ['STOP', 'opt_out'],
    ['  stop \n', 'opt_out'],
    ['StopAll', 'opt_out'],
    ['unsubscribe', 'opt_out'],
    ['cancel', 'opt_out'],
    ['END', 'opt_out'],
    ['quit', 'opt_out'],
    ['revoke', 'opt_out'],
    ['optout', 'opt_out'],
    ['start', 'opt_in'],
    ['Yes', 'opt_in'],
    ['UNSTOP', 'opt_in'],
    ['help', 'help'],
    ['INFO', 'help'],
  ])('%j is %s', (body, kind) => {
    expect(matchKeyword(body)).toBe(kind);
  });

  it.each(['Stop please', 'stop.', 'STOP STOP', 'yes please', '', '   ', 'st op', 'help me'])('%j is not a keyword (whole body only)', (body) => {
    expect(matchKeyword(body)).toBeNull();
  });

  it('ignores non-strings and very long bodies', () => {
    expect(matchKeyword(null)).toBeNull();
    expect(matchKeyword(undefined)).toBeNull();
    expect(matchKeyword('STOP'.padEnd(100, ' ') + 'x')).toBeNull();
  });

  it('uses per-tenant lists when given', () => {
    const lists = { ...DEFAULT_KEYWORDS, opt_out: ['ALTO', 'PARAR'], opt_in: ['COMENZAR'] };
    expect(matchKeyword('parar', lists)).toBe('opt_out');
    expect(matchKeyword('comenzar', lists)).toBe('opt_in');
    expect(matchKeyword('STOP', lists)).toBeNull();
  });

  it('reads OptOutType', () => {
    expect(fromOptOutType('STOP')).toBe('opt_out');
    expect(fromOptOutType('start')).toBe('opt_in');
    expect(fromOptOutType('HELP')).toBe('help');
    expect(fromOptOutType('OTHER')).toBeNull();
    expect(fromOptOutType(['STOP'])).toBeNull();
  });
});

describe('isRevocation (free-text revocation of consent)', () => {
  it.each([
    'STOP',
    'stop.',
    'Stop!!!',
    'stop please',
    'Please stop',
    'STOP NOW',
    'please stop texting me',
    'Stop texting me!',
    'stop sending me these messages',
    'Can you stop messaging me',
    'quit texting me',
    'stop contacting me please',
    'unsubscribe me',
    'Please unsubscribe me from this',
    'I want to unsubscribe',
    'opt me out',
    'I want to opt out',
    'opt-out',
    'remove me from your list',
    'take me off your list please',
    'Take my number off your list',
    'do not text me',
    "Don't text me anymore",
    'don’t contact me again',
    'never text me again',
    'no more texts please',
    'leave me alone',
    "I don't want these messages",
    'i do not want any more texts',
    'I revoke my consent',
    'withdraw consent',
    'cancel my subscription',
    'cancel these texts',
    'STOP ALL',
  ])('%j revokes', (body) => {
    expect(isRevocation(body)).toBe(true);
  });

  it.each([
    "don't stop",
    'Do not stop',
    'never stop texting me',
    "please don't stop sending me updates",
    "don't unsubscribe me",
    "I can't stop laughing",
    "I'll stop by the store",
    'what time does the bus stop',
    'the bus stop is closed',
    'cancel my appointment',
    'end of the day works',
    'unstoppable',
    'non-stop flights',
    'yes',
    'thanks!',
    'START',
    'stop the car',
    'Is this the right number?',
    "I won't opt out",
    '',
  ])('%j does not revoke', (body) => {
    expect(isRevocation(body)).toBe(false);
  });

  it('ignores non-strings', () => {
    expect(isRevocation(null)).toBe(false);
    expect(isRevocation(undefined)).toBe(false);
  });
});
