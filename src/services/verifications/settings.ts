// A tenant's verification settings, taken from its settings document (stored values over the
// installation's defaults; see core/settings.ts).
import type { TenantSettings } from '../../core/settings.js';
import type { VerifySettings } from './backend.js';

export interface TenantVerifySettings extends VerifySettings {
  backend: 'local' | 'twilio';
  /** ISO-2 codes, or '*' for every country. */
  allowedCountries: string[];
}

export function verifySettingsOf(s: TenantSettings): TenantVerifySettings {
  return {
    backend: s.verify_backend,
    serviceSid: s.verify_service_sid,
    appName: s.verify_app_name,
    // Unless the tenant lists countries, only its own region is served.
    allowedCountries: s.verify_allowed_countries ?? [s.default_region],
  };
}
