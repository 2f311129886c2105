import { describe, expect, it } from 'vitest';
import { maskPhonesIn, messageFields } from './log-fields.js';

describe('message log fields', () => {
  it('names the message, its tenant and its provider SID (null before sending)', () => {
    expect(messageFields({ id: 'm1', tenant_id: 't1' })).toEqual({ message_id: 'm1', tenant_id: 't1', provider_sid: null });
    expect(messageFields({ id: 'm1', tenant_id: 't1', provider_sid: 'SM1' })).toEqual({ message_id: 'm1', tenant_id: 't1', provider_sid: 'SM1' });
  });

  it('masks phone numbers quoted in free text', () => {
    const masked = maskPhonesIn("The 'To' number +15005550001 is not a valid phone number (14155552671).");
    expect(masked).not.toMatch(/15005550001|14155552671/);
    expect(masked).toMatch(/^The 'To' number \S+ is not a valid phone number \(\S+\)\.$/);
    expect(maskPhonesIn('error 21211 after 30 s')).toBe('error 21211 after 30 s');
  });
});
