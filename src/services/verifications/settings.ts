// A tenant's verification settings, parsed from its stored settings document with the install's
// defaults behind every field. Read on every call (one primary-key lookup): a changed backend or
// allow-list applies at once.
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

/** `stored`: the tenants.settings JSON text (null or unreadable: the defaults). */
export function parseVerifySettings(stored: string | null | undefined, dflt: VerifySettingsDefaults): TenantVerifySettings {
  let s: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(stored ?? '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) s = parsed as Record<string, unknown>;
  } catch {
    // A corrupt settings column means defaults, not a failed request.
  }
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
