import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { maskPhone, normalizeE164, normalizeRecipient, type Channel, type PhoneOptions } from './phone.js';

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected an AppError');
}

describe('normalizeRecipient: valid numbers', () => {
  it.each([
    // input, default region, E.164, country, type
    ['+14155552671', undefined, '+14155552671', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['(415) 555-2671', 'US', '+14155552671', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['415.555.2671', 'US', '+14155552671', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['1 415 555 2671', 'US', '+14155552671', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['  +1 (415) 555-2671  ', undefined, '+14155552671', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['4155552671', 'us', '+14155552671', 'US', 'FIXED_LINE_OR_MOBILE'], // region is case-insensitive
    ['+14155552671', 'IN', '+14155552671', 'US', 'FIXED_LINE_OR_MOBILE'], // E.164 ignores the region
    ['+919876543210', undefined, '+919876543210', 'IN', 'MOBILE'],
    ['09876543210', 'IN', '+919876543210', 'IN', 'MOBILE'],
    ['98765 43210', 'IN', '+919876543210', 'IN', 'MOBILE'],
    ['+525512345678', undefined, '+525512345678', 'MX', 'FIXED_LINE_OR_MOBILE'],
    ['55 1234 5678', 'MX', '+525512345678', 'MX', 'FIXED_LINE_OR_MOBILE'],
    ['+447400123456', undefined, '+447400123456', 'GB', 'MOBILE'],
    ['07400 123456', 'GB', '+447400123456', 'GB', 'MOBILE'],
    ['0044 7400 123456', 'GB', '+447400123456', 'GB', 'MOBILE'], // international dialling prefix
    ['+4915123456789', undefined, '+4915123456789', 'DE', 'MOBILE'],
    ['01512 3456789', 'DE', '+4915123456789', 'DE', 'MOBILE'],
    ['+18005550100', undefined, '+18005550100', 'US', 'TOLL_FREE'],
  ])('%j (region %s) → %s', (input, defaultRegion, e164, country, type) => {
    const got = normalizeRecipient(input, 'sms', { defaultRegion });
    expect(got).toEqual({ e164, address: e164, country, type });
    expect(normalizeE164(input, { defaultRegion })).toBe(e164);
  });

  it.each(['+15005550001', '+15005550006', '+15005550009', '+1 500 555 0006'])('accepts the Twilio magic test number %s', (input) => {
    const got = normalizeRecipient(input, 'sms', {});
    expect(got.e164).toMatch(/^\+1500555000\d$/);
    expect(got.country).toBe('US');
    expect(got.type).not.toBe('FIXED_LINE');
  });

  it('accepts a magic test number in national form with region US', () => {
    expect(normalizeE164('500-555-0006', { defaultRegion: 'US' })).toBe('+15005550006');
  });
});

describe('normalizeRecipient: invalid input', () => {
  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['letters', 'abc'],
    ['country code only', '+1'],
    ['two digits', '12'],
    ['too short for the region', '555-2671'],
    ['too long', '+1' + '4'.repeat(70)],
    ['65 characters', '+1 415 555 2671' + ' '.repeat(50)],
    ['too many digits', '+1415555267123456'],
    ['full-width digits', '＋１４１５５５５２６７１'],
    ['Arabic-Indic digits', '+١٤١٥٥٥٥٢٦٧١'],
    ['extension', '+1 415 555 2671 ext. 5'],
    ['text around the number', 'call +14155552671'],
    ['two plus signs', '++14155552671'],
    ['plus in the middle', '1+4155552671'],
    ['invalid area code', '+1 099 555 2671'],
    ['national without region', '4155552671'],
    ['MX mobile with the retired 1', '+5215512345678'],
  ])('%s', (_name, input) => {
    const err = errorOf(() => normalizeRecipient(input, 'sms', { defaultRegion: _name === 'too short for the region' ? 'US' : undefined }));
    expect(err.code).toBe('SMS_ERR_INVALID_PHONE');
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ field: 'to' });
    expect(JSON.stringify(err.details)).not.toContain('4155552671');
    expect(errorOf(() => normalizeE164(input, {})).code).toBe('SMS_ERR_INVALID_PHONE');
  });

  it.each([null, undefined, 14155552671, {}, ['+14155552671']])('non-string %j', (input) => {
    const err = errorOf(() => normalizeRecipient(input as any, 'sms', { defaultRegion: 'US' }));
    expect(err.code).toBe('SMS_ERR_INVALID_PHONE');
    expect(err.details).toEqual({ field: 'to' });
    expect(errorOf(() => normalizeE164(input as any, { defaultRegion: 'US' })).code).toBe('SMS_ERR_INVALID_PHONE');
  });

  it('masks the input in the error details', () => {
    const err = errorOf(() => normalizeRecipient('+1 099 555 2671', 'sms', {}));
    expect(err.details).toEqual({ field: 'to', value: '+1 09***2671' });
  });
});

describe('normalizeRecipient: fixed lines', () => {
  const ukLandline = '+442071838750';
  const deLandline = '+4930123456';

  it('uses numbers libphonenumber itself types as FIXED_LINE', () => {
    expect(parsePhoneNumberFromString(ukLandline)?.getType()).toBe('FIXED_LINE');
    expect(parsePhoneNumberFromString(deLandline)?.getType()).toBe('FIXED_LINE');
  });

  it.each([ukLandline, '020 7183 8750', deLandline])('rejects %s for SMS and MMS by default', (input) => {
    for (const channel of ['sms', 'mms'] as Channel[]) {
      const opts: PhoneOptions = { defaultRegion: input.startsWith('0') ? 'GB' : undefined };
      const err = errorOf(() => normalizeRecipient(input, channel, opts));
      expect(err.code).toBe('SMS_ERR_NOT_MOBILE');
      expect(err.status).toBe(422);
      expect(JSON.stringify(err.details)).not.toContain('71838750');
    }
  });

  it('accepts fixed lines when rejectFixedLine is false, and always on WhatsApp', () => {
    expect(normalizeRecipient(ukLandline, 'sms', { rejectFixedLine: false }).type).toBe('FIXED_LINE');
    expect(normalizeRecipient(ukLandline, 'whatsapp', {}).address).toBe('whatsapp:' + ukLandline);
  });

  it('accepts FIXED_LINE_OR_MOBILE (all of NANP)', () => {
    expect(normalizeRecipient('+12015550123', 'sms', { rejectFixedLine: true }).type).toBe('FIXED_LINE_OR_MOBILE');
  });
});

describe('normalizeRecipient: channels', () => {
  it('builds whatsapp: addresses from plain or prefixed input', () => {
    for (const input of ['+14155552671', 'whatsapp:+14155552671', 'WhatsApp:+1 415-555-2671', ' whatsapp:+14155552671 ']) {
      expect(normalizeRecipient(input, 'whatsapp', {})).toEqual({
        e164: '+14155552671',
        address: 'whatsapp:+14155552671',
        country: 'US',
        type: 'FIXED_LINE_OR_MOBILE',
      });
    }
    expect(normalizeRecipient('(415) 555-2671', 'whatsapp', { defaultRegion: 'US' }).address).toBe('whatsapp:+14155552671');
  });

  it.each([
    ['whatsapp:+14155552671', 'sms'],
    ['whatsapp:+14155552671', 'mms'],
    ['whatsapp:4155552671', 'whatsapp'], // national form behind the prefix is ambiguous
    ['whatsapp:', 'whatsapp'],
    ['whatsapp:whatsapp:+14155552671', 'whatsapp'],
    ['whatsapp:+1', 'whatsapp'],
  ] as [string, Channel][])('rejects %j on %s', (input, channel) => {
    expect(errorOf(() => normalizeRecipient(input, channel, { defaultRegion: 'US' })).code).toBe('SMS_ERR_INVALID_PHONE');
  });

  it('normalizeE164 does not take channel prefixes', () => {
    expect(errorOf(() => normalizeE164('whatsapp:+14155552671', {})).code).toBe('SMS_ERR_INVALID_PHONE');
  });

  it('mms addresses are plain E.164', () => {
    expect(normalizeRecipient('+447400123456', 'mms', {}).address).toBe('+447400123456');
  });
});

describe('maskPhone', () => {
  it.each([
    ['+14155552671', '+1415***2671'],
    ['whatsapp:+14155552671', 'whatsapp:+1415***2671'],
    ['+447400123456', '+4474***3456'], // 13 chars: a quarter (4) hidden at least
    ['+4915123456789', '+4915***6789'],
    ['', '***'],
    ['+1', '***'],
    ['12345678', '***'],
    ['123456789', '123***789'],
    ['1234567890', '1234***890'],
    ['whatsapp:', 'whatsapp:***'],
    ['whatsapp:+1234', 'whatsapp:***'],
  ])('%j → %j', (input, masked) => {
    expect(maskPhone(input)).toBe(masked);
  });

  it('never reveals more than the first 5 and last 4 characters, nor the whole string', () => {
    for (let n = 0; n <= 40; n++) {
      const value = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH'.slice(0, n);
      const masked = maskPhone(value);
      const [head, tail] = masked.split('***') as [string, string];
      expect(masked).toContain('***');
      expect(head.length).toBeLessThanOrEqual(5);
      expect(tail.length).toBeLessThanOrEqual(4);
      expect(head.length + tail.length).toBeLessThanOrEqual(Math.max(0, n - 3));
      if (n < 9) expect(masked).toBe('***');
      expect(value.startsWith(head) && value.endsWith(tail)).toBe(true);
    }
  });

  it('does not cut surrogate pairs and tolerates non-strings', () => {
    expect(maskPhone('😀😀😀😀😀😀😀😀😀😀')).toBe('😀😀😀😀***😀😀😀');
    expect(maskPhone(null as any)).toBe('***');
    expect(maskPhone(12345678901 as any)).toBe('***');
  });
});
