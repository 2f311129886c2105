import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition, isMessageStatus, isTerminal, MESSAGE_STATUSES, rank, type MessageStatus } from './status.js';

describe('status vocabulary', () => {
  it('recognises exactly the listed statuses', () => {
    for (const s of MESSAGE_STATUSES) expect(isMessageStatus(s)).toBe(true);
    for (const s of ['', 'DELIVERED', 'deliver', 'cancelled', 'partially-delivered', 'toString', '__proto__']) {
      expect(isMessageStatus(s)).toBe(false);
    }
  });

  it('marks the terminal statuses', () => {
    const terminal = MESSAGE_STATUSES.filter(isTerminal);
    expect(terminal.sort()).toEqual(['canceled', 'delivered', 'failed', 'read', 'received', 'undelivered']);
  });

  it('ranks the outbound lifecycle in order', () => {
    const order: MessageStatus[] = ['scheduled', 'pending', 'accepted', 'queued', 'sending', 'sent', 'delivered', 'read'];
    for (let i = 1; i < order.length; i++) expect(rank(order[i]!)).toBeGreaterThan(rank(order[i - 1]!));
    expect(rank('partially_delivered')).toBe(rank('delivered'));
    expect(rank('undelivered')).toBe(rank('delivered'));
    expect(rank('failed')).toBe(rank('delivered'));
  });
});

describe('canTransition', () => {
  it.each([
    // the normal outbound path
    ['scheduled', 'pending', true],
    ['pending', 'accepted', true],
    ['pending', 'queued', true],
    ['accepted', 'queued', true],
    ['queued', 'sending', true],
    ['queued', 'sent', true], // skipped states are fine
    ['sending', 'sent', true],
    ['sent', 'delivered', true],
    ['sent', 'undelivered', true],
    ['queued', 'delivered', true],
    ['delivered', 'read', true],
    ['sent', 'read', true],
    // inbound
    ['receiving', 'received', true],
    ['received', 'read', false],
    ['pending', 'received', false],
    ['receiving', 'sent', false],
    ['sent', 'receiving', false],
    // out-of-order and duplicate callbacks
    ['sent', 'sent', false],
    ['delivered', 'delivered', false],
    ['delivered', 'sent', false],
    ['delivered', 'undelivered', false],
    ['delivered', 'failed', false],
    ['undelivered', 'delivered', false],
    ['failed', 'delivered', false],
    ['failed', 'undelivered', false],
    ['read', 'delivered', false],
    ['sent', 'queued', false],
    ['sending', 'queued', false],
    ['queued', 'pending', false],
    ['pending', 'scheduled', false],
    // failure from anywhere still in flight
    ['queued', 'failed', true],
    ['pending', 'failed', true],
    ['scheduled', 'failed', true],
    ['sent', 'failed', true],
    ['receiving', 'failed', true],
    ['canceled', 'failed', false],
    // cancellation only before the message reaches Twilio (or while Twilio holds it scheduled)
    ['pending', 'canceled', true],
    ['scheduled', 'canceled', true],
    ['accepted', 'canceled', false],
    ['queued', 'canceled', false],
    ['sent', 'canceled', false],
    ['delivered', 'canceled', false],
    ['canceled', 'pending', false],
    // partially delivered is not final
    ['sent', 'partially_delivered', true],
    ['partially_delivered', 'delivered', true],
    ['partially_delivered', 'undelivered', true],
    ['partially_delivered', 'failed', true],
    ['partially_delivered', 'read', true],
    ['partially_delivered', 'sent', false],
    ['partially_delivered', 'canceled', false],
    ['delivered', 'partially_delivered', false],
  ] as [MessageStatus, MessageStatus, boolean][])('%s → %s: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it('never moves backwards in rank and never to the same status', () => {
    for (const from of MESSAGE_STATUSES) {
      for (const to of MESSAGE_STATUSES) {
        if (canTransition(from, to)) expect(rank(to)).toBeGreaterThanOrEqual(rank(from));
        if (from === to) expect(canTransition(from, to)).toBe(false);
      }
    }
  });
});

describe('canTransition (property)', () => {
  it('applied to any callback sequence, rank never decreases and terminal states stay put', () => {
    const status = fc.constantFrom(...MESSAGE_STATUSES);
    fc.assert(
      fc.property(status, fc.array(status, { maxLength: 30 }), (start, events) => {
        let current = start;
        for (const next of events) {
          const before = current;
          if (canTransition(current, next)) current = next;
          expect(rank(current)).toBeGreaterThanOrEqual(rank(before));
          if (isTerminal(before) && !(before === 'delivered' && current === 'read')) expect(current).toBe(before);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
