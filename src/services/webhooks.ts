// Authentication of Twilio webhooks: which tenant's auth token signs a request (found from its
// AccountSid), and the X-Twilio-Signature check (the WebhookSignatures port: the official
// twilio.validateRequest, in providers/).
import type { Cipher } from '../core/cipher.js';
import { AppError } from '../core/errors.js';
import type { Clock, SignedRequest, TenantsRepository, WebhookSignatures } from '../ports.js';
import { tokenAad } from './tenants.js';

export type WebhookParams = Record<string, string | string[]>;

export interface WebhookCredentials {
  tenantId: string;
  /** Primary first; a secondary token is accepted during a rotation. */
  tokens: string[];
}

export interface DefaultCredentials {
  tenantId: string;
  /** The configured (or embedded emulator's) account; null accepts any AccountSid not owned by another tenant. */
  accountSid: string | null;
  tokens: string[];
}

/** First value of a field (Twilio sends single values; a repeated key is not trusted as a scalar). */
export function field(params: WebhookParams, name: string): string | undefined {
  const v = params[name];
  return typeof v === 'string' ? v : undefined;
}

const CACHE_MS = 5_000;

export interface WebhookAuthDeps {
  tenants: TenantsRepository;
  /** Decrypts tenants' stored auth tokens; null when no master key is configured. */
  cipher: Cipher | null;
  defaults: DefaultCredentials;
  signatures: WebhookSignatures;
  clock: Clock;
}

export class WebhookAuth {
  private cache = new Map<string, { creds: WebhookCredentials | null; until: number }>();

  constructor(private readonly d: WebhookAuthDeps) {}

  /** Whose token signs a webhook from this account; null when no tenant owns it. */
  async resolve(accountSid: string | undefined): Promise<WebhookCredentials | null> {
    const key = accountSid ?? '';
    const t = this.d.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && hit.until > t) return hit.creds;
    let creds: WebhookCredentials | null = null;
    const row = accountSid ? await this.d.tenants.activeByAccountSid(accountSid) : undefined;
    if (row?.twilio_auth_token_enc && this.d.cipher) {
      try {
        creds = { tenantId: row.id, tokens: [this.d.cipher.decrypt(row.twilio_auth_token_enc, tokenAad(row.id))] };
      } catch {
        creds = null;
      }
    } else if (!row && (this.d.defaults.accountSid === null || accountSid === undefined || accountSid === this.d.defaults.accountSid)) {
      creds = this.d.defaults.tokens.length > 0 ? { tenantId: this.d.defaults.tenantId, tokens: this.d.defaults.tokens } : null;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { creds, until: t + CACHE_MS });
    return creds;
  }

  /** The tenant a validly signed webhook belongs to; SMS_ERR_INVALID_SIGNATURE otherwise. */
  async authenticate(req: SignedRequest): Promise<string> {
    if (!req.signature) throw new AppError('SMS_ERR_INVALID_SIGNATURE', 'The X-Twilio-Signature header is missing.');
    const creds = await this.resolve(field(req.params, 'AccountSid'));
    if (!creds || !this.d.signatures.verify(creds.tokens, req)) throw new AppError('SMS_ERR_INVALID_SIGNATURE');
    return creds.tenantId;
  }

  /** Drops cached lookups (after a tenant's credentials changed). */
  invalidate(): void {
    this.cache.clear();
  }
}
