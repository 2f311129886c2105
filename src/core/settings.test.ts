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
