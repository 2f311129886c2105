import { describe, expect, it } from 'vitest';
import { twilioHint } from './twilio-hints.js';

describe('twilioHint', () => {
  it('explains the usual failures and nothing else', () => {
    for (const code of [20003, 21211, 21408, 21606, 21608, 21610, 21612, 21659, 30003, 30005, 30006, 30007, 30008])
      expect(twilioHint(code), String(code)).toMatch(/\w{3,}/);
    expect(twilioHint(21608)).toMatch(/trial/i);
    expect(twilioHint(30007)).toMatch(/carrier/i);
    expect(twilioHint(12345)).toBeNull();
    expect(twilioHint(null)).toBeNull();
  });
});
