// The console's API client: typed from the OpenAPI document (src/client/schema.ts, `npm run
// gen:client`), so a renamed field breaks `npm run typecheck`, not the page. Requests carry the
// session cookie (same origin), the session's CSRF token on writes, and the tenant a platform
// admin switched to. The API key itself never reaches the browser's storage or a URL.
import createClient from 'openapi-fetch';
import type { components, paths } from '../../src/client/schema.js';

export type Message = components['schemas']['Message'];
export type Session = paths['/admin/session']['get']['responses'][200]['content']['application/json'];

const TENANT_KEY = 'smsrelay.console.tenant';

export const state: { session: Session | null; tenant: string | null } = {
  session: null,
  // Which tenant a platform admin looks at: not a secret, kept for the tab's life.
  tenant: sessionStorage.getItem(TENANT_KEY),
};

export function switchTenant(slug: string | null): void {
  state.tenant = slug;
  if (slug) sessionStorage.setItem(TENANT_KEY, slug);
  else sessionStorage.removeItem(TENANT_KEY);
}

export const api = createClient<paths>({ baseUrl: location.origin, credentials: 'same-origin' });
/** The session's CSRF token on writes, and the tenant a platform admin switched to. */
function sessionHeaders(headers: Headers, method: string, url: string): void {
  if (state.session && !['GET', 'HEAD'].includes(method)) headers.set('x-csrf-token', state.session.csrf_token);
  if (state.tenant && url.includes('/v1/')) headers.set('smsrelay-tenant', state.tenant);
}

api.use({
  onRequest({ request }) {
    sessionHeaders(request.headers, request.method, request.url);
    return request;
  },
  onResponse({ response }) {
    // The session ended (idle, signed out elsewhere, key revoked): back to the sign-in form.
    if (response.status === 401 && !response.url.endsWith('/admin/session')) onSignedOut();
    return response;
  },
});

/**
 * Streams a CSV file to a campaign's audience: the body is the file itself (the browser streams it;
 * the typed client only sends JSON bodies), with the same session headers as every other call.
 */
export async function campaignUpload(id: string, file: Blob): Promise<{ data: unknown } | { error: unknown }> {
  const url = `${location.origin}/v1/campaigns/${encodeURIComponent(id)}/recipients`;
  const headers = new Headers({ 'content-type': 'text/csv' });
  sessionHeaders(headers, 'POST', url);
  const r = await fetch(url, { method: 'POST', body: file, headers, credentials: 'same-origin' });
  const json: unknown = await r.json().catch(() => null);
  return r.ok ? { data: json } : { error: json };
}

let signedOutHandler: () => void = () => undefined;
export function onSignedOutDo(f: () => void): void {
  signedOutHandler = f;
}
function onSignedOut(): void {
  state.session = null;
  signedOutHandler();
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: { field?: string } };
}

/** An API error answer as one line: the message and its SMS_ERR_ code. */
export function errorText(e: unknown): string {
  const err = (e as ErrorBody | undefined)?.error;
  if (err?.message) return `${err.message} (${err.code ?? 'error'})`;
  return e instanceof Error ? e.message : 'The request failed.';
}

/** The data of an openapi-fetch answer, or throws its error body. */
export async function must<T>(p: Promise<{ data?: T; error?: unknown }>): Promise<T> {
  const r = await p;
  if (r.error !== undefined) throw r.error;
  return r.data as T;
}

export const hasScope = (scope: string): boolean => {
  const s = state.session?.scopes ?? [];
  return s.includes(scope) || (scope !== 'tenants:admin' && s.includes('admin'));
};
