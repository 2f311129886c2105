// A tenant's configuration over the API: its settings document plus its own Twilio credentials
// (the auth token write-only, stored encrypted), validated as a whole and saved in one
// transaction with its audit entry; new credentials are checked against Twilio first.
import type { Cipher } from '../core/cipher.js';
import { AppError } from '../core/errors.js';
import { settingsErrors, type FieldError, type TenantSettings } from '../core/settings.js';
import { isStorableText } from '../core/text.js';
import { ProviderError, type AccountCheck, type Clock, type TenantsRepository } from '../ports.js';
import { REDACTED, type Actor, type AuditLog } from './audit.js';
import type { SettingsService } from './settings.js';
import { tokenAad, type Tenant, type TenantsService } from './tenants.js';

export interface TenantConfig extends TenantSettings {
  /** The tenant's own Twilio account; null: it sends through the installation's. */
  twilio_account_sid: string | null;
  /** The last 4 characters of the stored auth token (the token itself is never returned). */
  auth_token_last4: string | null;
  auth_token_set_at: string | null;
}

export interface TenantConfigDeps {
  settings: SettingsService;
  tenants: TenantsService;
  tenantRows: TenantsRepository;
  audit: AuditLog;
  /** Encrypts auth tokens; null when no master key is configured (then none can be stored). */
  cipher: Cipher | null;
  checkAccount: AccountCheck;
  /** Told when a tenant's credentials changed (cached webhook credentials are dropped). */
  onCredentialsChanged(): void;
  clock: Clock;
}

const CREDENTIAL_KEYS = ['twilio_account_sid', 'twilio_auth_token'] as const;
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

export class TenantConfigService {
  constructor(private readonly d: TenantConfigDeps) {}

  async get(tenant: Tenant): Promise<TenantConfig> {
    const [settings, row] = await Promise.all([this.d.settings.get(tenant.id), this.d.tenantRows.byId(tenant.id)]);
    if (!row) throw new AppError('SMS_ERR_TENANT_NOT_FOUND');
    let last4: string | null = null;
    if (row.twilio_auth_token_enc && this.d.cipher) {
      try {
        last4 = this.d.cipher.decrypt(row.twilio_auth_token_enc, tokenAad(row.id)).slice(-4);
      } catch {
        last4 = null; // written under a master key this process does not have
      }
    }
    return {
      ...settings,
      twilio_account_sid: row.twilio_account_sid,
      auth_token_last4: last4,
      auth_token_set_at: row.twilio_auth_token_set_at === null ? null : new Date(row.twilio_auth_token_set_at).toISOString(),
    };
  }

  /**
   * Applies a patch of settings and credentials: every bad field is named in one 400 and nothing is
   * saved; new credentials are fetched against Twilio first unless `verify` is false.
   */
  async patch(tenant: Tenant, body: unknown, actor: Actor, opts: { verify: boolean }): Promise<TenantConfig> {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new AppError('SMS_ERR_VALIDATION', 'The body must be a JSON object.', [{ field: 'body', message: 'must be a JSON object' }]);
    const input = body as Record<string, unknown>;
    const settingsPatch: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) if (!(CREDENTIAL_KEYS as readonly string[]).includes(k)) settingsPatch[k] = v;
    const row = await this.d.tenantRows.byId(tenant.id);
    if (!row) throw new AppError('SMS_ERR_TENANT_NOT_FOUND');

    const errors: FieldError[] = settingsErrors(settingsPatch);
    const sidGiven = 'twilio_account_sid' in input;
    const tokenGiven = 'twilio_auth_token' in input;
    const sid = input.twilio_account_sid;
    const token = input.twilio_auth_token;
    if (sidGiven && sid !== null && (typeof sid !== 'string' || !ACCOUNT_SID.test(sid)))
      errors.push({ field: 'twilio_account_sid', message: "must be 'AC' followed by 32 hex characters, or null" });
    if (tokenGiven && token !== null && (typeof token !== 'string' || !/^\S{8,128}$/.test(token) || !isStorableText(token)))
      errors.push({ field: 'twilio_auth_token', message: 'must be 8-128 characters without spaces, or null' });
    // The resulting pair: both set or both cleared.
    const nextSid = sidGiven ? (sid as string | null) : row.twilio_account_sid;
    const clearing = sidGiven && sid === null;
    const sidChanged = sidGiven && sid !== row.twilio_account_sid;
    if (!errors.length) {
      if (clearing && tokenGiven && token !== null) errors.push({ field: 'twilio_auth_token', message: 'cannot be set without an account SID' });
      else if (!clearing && tokenGiven && token === null && nextSid !== null)
        errors.push({ field: 'twilio_auth_token', message: 'is cleared together with the account SID (set twilio_account_sid to null)' });
      else if (!clearing && sidChanged && !tokenGiven) errors.push({ field: 'twilio_auth_token', message: 'is required with a new account SID' });
      else if (!sidGiven && tokenGiven && token !== null && nextSid === null)
        errors.push({ field: 'twilio_account_sid', message: 'is required with an auth token' });
    }
    if (errors.length) throw new AppError('SMS_ERR_VALIDATION', `Invalid settings: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);

    const credsChange = tokenGiven || sidChanged;
    let stored: { twilio_account_sid: string | null; twilio_auth_token_enc: string | null; twilio_auth_token_set_at: number | null } | null = null;
    if (credsChange) {
      if (clearing || nextSid === null) stored = { twilio_account_sid: null, twilio_auth_token_enc: null, twilio_auth_token_set_at: null };
      else {
        const newToken = token as string;
        if (!this.d.cipher) throw new AppError('SMS_ERR_MASTER_KEY_REQUIRED');
        if (opts.verify) await this.verify(nextSid, newToken);
        stored = {
          twilio_account_sid: nextSid,
          twilio_auth_token_enc: this.d.cipher.encrypt(newToken, tokenAad(tenant.id)),
          twilio_auth_token_set_at: this.d.clock.now().getTime(),
        };
      }
    }
    const changes: Record<string, unknown> = { ...settingsPatch };
    if (sidGiven) changes.twilio_account_sid = sid;
    if (tokenGiven) changes.twilio_auth_token = token === null ? null : REDACTED;
    await this.d.settings.update(tenant.id, settingsPatch, async (tx) => {
      if (stored) await this.d.tenantRows.setCredentials(tx, tenant.id, stored, this.d.clock.now().getTime());
      await this.d.audit.record(tx, { tenantId: tenant.id, actor, action: 'settings.update', target: null, changes });
    });
    this.d.tenants.invalidate(tenant.id);
    if (stored) this.d.onCredentialsChanged();
    return this.get(tenant);
  }

  private async verify(accountSid: string, authToken: string): Promise<void> {
    try {
      const account = await this.d.checkAccount(accountSid, authToken);
      if (account.status !== 'active')
        throw new AppError('SMS_ERR_TWILIO_CREDENTIALS_INVALID', `The Twilio account is ${account.status}; nothing was saved.`, {
          field: 'twilio_account_sid',
        });
    } catch (e) {
      if (!(e instanceof ProviderError)) throw e;
      // Twilio answered 4xx (401 / 20003 for a wrong pair, 404 for an unknown account): the credentials are at fault.
      if (e.httpStatus !== null && e.httpStatus >= 400 && e.httpStatus < 500 && e.httpStatus !== 429)
        throw new AppError('SMS_ERR_TWILIO_CREDENTIALS_INVALID', undefined, {
          field: 'twilio_auth_token',
          provider_code: e.providerCode,
          http_status: e.httpStatus,
        });
      throw new AppError('SMS_ERR_PROVIDER_UNAVAILABLE', 'Twilio could not be reached to check the credentials (use ?verify=false to save them unchecked).');
    }
  }
}
