import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS, isEventPattern, matchesEventType, retryDelay } from './events.js';

describe('event patterns', () => {
  it('matches exact types, group wildcards and *', () => {
    expect(matchesEventType(['message.*'], 'message.delivered')).toBe(true);
    expect(matchesEventType(['message.*'], 'consent.opted_out')).toBe(false);
    expect(matchesEventType(['*'], 'consent.opted_out')).toBe(true);
    expect(matchesEventType(['consent.opted_in'], 'consent.opted_out')).toBe(false);
    expect(matchesEventType([], 'message.sent')).toBe(false);
  });
  it('accepts only known types and groups', () => {
    expect(isEventPattern('message.*')).toBe(true);
    expect(isEventPattern('verification.locked')).toBe(true);
    expect(isEventPattern('nope.*')).toBe(false);
    expect(isEventPattern('message.deliverd')).toBe(false);
    expect(isEventPattern('')).toBe(false);
  });
});

describe('retryDelay', () => {
  it('follows the schedule with ±20 % jitter and ends', () => {
    expect(retryDelay(DEFAULT_RETRY_SCHEDULE_MS, 1, 0)).toBe(4_000);
    expect(retryDelay(DEFAULT_RETRY_SCHEDULE_MS, 1, 0.9999)).toBe(6_000);
    expect(retryDelay(DEFAULT_RETRY_SCHEDULE_MS, 2, 0.5)).toBe(300_000);
    expect(retryDelay(DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_RETRY_SCHEDULE_MS.length, 0.5)).toBeNull();
  });
});
