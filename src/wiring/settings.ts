import type { Config } from '../config.js';
import { BUILTIN_SETTINGS, type TenantSettings } from '../core/settings.js';
import { EMULATOR_FROM } from './provider.js';

/**
 * The settings document's defaults. The environment supplies the default tenant's at read time
 * (senders, auto-reply), and installation-wide ones (region, keyword handling, Verify) to every
 * tenant; a tenant's stored values win.
 */
export function settingsDefaults(config: Config, embeddedEmulator: boolean): (slug: string) => TenantSettings {
  const installation: TenantSettings = {
    ...BUILTIN_SETTINGS,
    default_region: config.defaultRegion,
    keyword_replies: config.inbound.keywordReplies,
    verify_backend: config.verify.backend,
    verify_service_sid: config.twilio.verifyServiceSid,
    verify_app_name: config.verify.appName,
    // --- sending limits and caps ---
    recipient_cooldown_seconds: {
      ...BUILTIN_SETTINGS.recipient_cooldown_seconds,
      transactional: config.policy.cooldownMinutes * 60,
      marketing: config.policy.cooldownMinutes * 60,
    },
  };
  const defaultTenant: TenantSettings = {
    ...installation,
    from_number: config.twilio.fromNumber ?? (embeddedEmulator ? EMULATOR_FROM : null),
    messaging_service_sid: config.twilio.messagingServiceSid,
    whatsapp_from: config.twilio.whatsappNumber,
    auto_reply: config.inbound.autoReply,
    // --- sending limits and caps ---
    // The installation's Twilio account is the default tenant's: its cap is that tenant's.
    daily_cap: config.policy.dailyCap,
  };
  return (slug) => (slug === 'default' ? defaultTenant : installation);
}
