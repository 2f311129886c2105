// A tenant's verification settings, read from its stored settings values with the install's
// defaults behind every field, leniently (a value it cannot use means the default). Read on every
// call, uncached (one primary-key lookup): a changed backend or allow-list applies at once.
import type { VerifySettings } from './backend.js';

export interface TenantVerifySettings extends VerifySettings {
  backend: 'local' | 'twilio';
  /** ISO-2 codes, or '*' for every country. */
  allowedCountries: string[];
}

export interface VerifySettingsDefaults {
  backend: 'local' | 'twilio';
  appName: string;
  serviceSid: string | null;
  /** The tenant's region (or the install's): the only allowed country unless the settings list others. */
  region: string;
}

const SERVICE_SID = /^VA[0-9a-fA-F]{32}$/;
const ISO2 = /^[A-Z]{2}$/;

/** `s`: the tenant's stored settings values (unset keys absent). */
export function parseVerifySettings(s: Record<string, unknown>, dflt: VerifySettingsDefaults): TenantVerifySettings {
  const countries = Array.isArray(s.verify_allowed_countries)
    ? s.verify_allowed_countries
        .filter((c): c is string => typeof c === 'string')
        .map((c) => c.toUpperCase())
        .filter((c) => c === '*' || ISO2.test(c))
    : [dflt.region.toUpperCase()];
  const appName = typeof s.verify_app_name === 'string' && s.verify_app_name.trim() ? s.verify_app_name.trim().slice(0, 30) : dflt.appName;
  return {
    backend: s.verify_backend === 'local' || s.verify_backend === 'twilio' ? s.verify_backend : dflt.backend,
    serviceSid: typeof s.verify_service_sid === 'string' && SERVICE_SID.test(s.verify_service_sid) ? s.verify_service_sid : dflt.serviceSid,
    allowedCountries: countries,
    appName,
  };
}
