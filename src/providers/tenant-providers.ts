import type { Provider, ProviderFor } from '../ports.js';

export interface TenantProvidersDeps {
  /** The tenant's own Twilio account, or null when it uses the installation's. */
  credentials(tenantId: string): Promise<{ accountSid: string; authToken: string } | null>;
  create(accountSid: string, authToken: string): Provider;
}

/**
 * One provider per Twilio account: a tenant with its own credentials sends (and is settled and
 * reconciled) through its own account, never the installation's — that would bill and send from
 * the wrong account. Providers are kept while the credentials stay the same.
 */
export function tenantProviders(fallback: Provider, d: TenantProvidersDeps): ProviderFor {
  const cache = new Map<string, { accountSid: string; authToken: string; provider: Provider }>();
  return async (tenantId) => {
    const creds = await d.credentials(tenantId);
    if (!creds) return fallback;
    const hit = cache.get(tenantId);
    if (hit && hit.accountSid === creds.accountSid && hit.authToken === creds.authToken) return hit.provider;
    const provider = d.create(creds.accountSid, creds.authToken);
    cache.set(tenantId, { ...creds, provider });
    return provider;
  };
}
