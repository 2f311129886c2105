import { describe, expect, it } from 'vitest';
import type { AppError } from './errors.js';
import { applyPatch, assertSettingsPatch, BUILTIN_SETTINGS, resolveSettings, settingsErrors, type TenantSettings } from './settings.js';

const defaults: TenantSettings = {
  ...BUILTIN_SETTINGS,
  default_region: 'US',
  verify_backend: 'local',
  verify_app_name: 'smsrelay',
  from_number: '+15005550006',
};

describe('tenant settings document', () => {
  it('stored values win over defaults, key by key; absent keys take the defaults', () => {
    const s = resolveSettings({ whatsapp_from: 'whatsapp:+14155238886', keywords: { help: ['AIDE'] } }, defaults);
    expect(s.whatsapp_from).toBe('whatsapp:+14155238886');
    expect(s.from_number).toBe('+15005550006');
    expect(s.keywords.help).toEqual(['AIDE']);
    expect(s.keywords.opt_out).toContain('STOP');
  });

  it('a stored null is a value: it turns an env default off', () => {
    expect(resolveSettings({ from_number: null }, defaults).from_number).toBeNull();
  });

  it('malformed stored values (older rows) fall back to the defaults instead of failing', () => {
    const s = resolveSettings({ default_region: 'usa', keyword_replies: 42, keywords: { opt_out: 'STOP' } }, defaults);
    expect(s.default_region).toBe('US');
    expect(s.keyword_replies).toBe('provider');
    expect(s.keywords.opt_out).toContain('STOP');
  });

  it('a patch is validated as a whole: every bad field is named, nothing is accepted half', () => {
    const errors = settingsErrors({
      from_number: '415',
      messaging_service_sid: 'MGxyz',
      keywords: { opt_out: [''], nope: ['X'] },
      colour: 'red',
      auto_reply: '\ud800',
    });
    expect(errors.map((e) => e.field).sort()).toEqual(['auto_reply', 'colour', 'from_number', 'keywords.nope', 'keywords.opt_out', 'messaging_service_sid']);
    try {
      assertSettingsPatch({ default_region: 'us' });
      expect.unreachable();
    } catch (e) {
      expect((e as AppError).code).toBe('SMS_ERR_VALIDATION');
      expect((e as AppError).details).toEqual([{ field: 'default_region', message: expect.stringContaining('ISO 3166') }]);
    }
    expect(settingsErrors([])).toEqual([{ field: 'settings', message: 'must be a JSON object' }]);
    expect(settingsErrors({ verify_allowed_countries: ['*'], auto_reply: null, replies: { help: 'Call us.' } })).toEqual([]);
  });

  it('patches merge keyword and reply groups instead of replacing them', () => {
    const next = applyPatch({ keywords: { opt_out: ['ALTO'] }, auto_reply: 'hi' }, { keywords: { help: ['AYUDA'] }, auto_reply: null });
    expect(next).toEqual({ keywords: { opt_out: ['ALTO'], help: ['AYUDA'] }, auto_reply: null });
  });
});

describe('timezone setting', () => {
  it('accepts IANA names (Intl decides) and names a bad one', () => {
    expect(settingsErrors({ timezone: 'Europe/Paris' })).toEqual([]);
    expect(settingsErrors({ timezone: 'UTC' })).toEqual([]);
    for (const bad of ['Mars/Olympus', '', 42, null, 'x'.repeat(100)]) expect(settingsErrors({ timezone: bad }).map((e) => e.field)).toEqual(['timezone']);
    expect(resolveSettings({}, defaults).timezone).toBe('UTC');
    expect(resolveSettings({ timezone: 'Asia/Kolkata' }, defaults).timezone).toBe('Asia/Kolkata');
  });
});

describe('quiet hours and sender pacing settings', () => {
  it('marketing defaults to 08:00–21:00 with state rules, transactional to none', () => {
    expect(BUILTIN_SETTINGS.quiet_hours).toEqual({ transactional: null, marketing: { start: '08:00', end: '21:00', state_rules: true } });
    expect(BUILTIN_SETTINGS.sender_rates).toEqual({});
  });

  it('a malformed window or rate is named down to its part; otp cannot be configured', () => {
    const fields = settingsErrors({
      quiet_hours: { marketing: { start: '25:00', end: '21:00' }, transactional: { start: '08:00' }, otp: null, promo: null },
      sender_rates: { '+14155550100': -1 },
    }).map((e) => e.field);
    expect(fields).toEqual([
      'quiet_hours.marketing.start',
      'quiet_hours.transactional.end',
      'quiet_hours.otp',
      'quiet_hours.promo',
      'sender_rates.+14155550100',
    ]);
    expect(settingsErrors({ quiet_hours: { transactional: { start: '22:00', end: '07:00' }, marketing: null }, sender_rates: { '12345': 50 } })).toEqual([]);
    expect(settingsErrors({ quiet_hours: 'night' }).map((e) => e.field)).toEqual(['quiet_hours']);
  });

  it('stored values resolve as a whole; invalid stored ones fall back to the default', () => {
    const r = resolveSettings({ quiet_hours: { transactional: { start: '09:00', end: '17:00' } }, sender_rates: { '+14155550100': 10 } }, defaults);
    expect(r.quiet_hours).toEqual({ transactional: { start: '09:00', end: '17:00' } });
    expect(r.sender_rates).toEqual({ '+14155550100': 10 });
    expect(resolveSettings({ quiet_hours: { marketing: { start: '99:00', end: '1' } } }, defaults).quiet_hours).toEqual(defaults.quiet_hours);
  });
});
