// Helpers for tests that play Twilio against the relay's webhooks: signing and posting forms.
import { randomUUID } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';

export type Params = Record<string, string | string[]>;

export function formBody(params: Params): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
  return u.toString();
}

export const sign = (token: string, url: string, params: Params) => getExpectedTwilioSignature(token, url, params);

export interface PostOptions {
  /** The URL that is signed (default: the one called). */
  signedUrl?: string;
  token?: string;
  signature?: string | null;
  idempotencyToken?: string | null;
  headers?: Record<string, string>;
}

/** POSTs a signed form webhook; `url` is the full URL called. */
export async function postWebhook(url: string, params: Params, token: string, o: PostOptions = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...o.headers };
  const sig = o.signature === undefined ? sign(o.token ?? token, o.signedUrl ?? url, params) : o.signature;
  if (sig !== null) headers['x-twilio-signature'] = sig;
  const idem = o.idempotencyToken === undefined ? randomUUID() : o.idempotencyToken;
  if (idem !== null) headers['i-twilio-idempotency-token'] = idem;
  const res = await fetch(url, { method: 'POST', headers, body: formBody(params) });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* TwiML or empty */
  }
  return { status: res.status, body, text, headers: res.headers };
}

export const hex32 = () => randomUUID().replace(/-/g, '');
export const newSid = () => 'SM' + hex32();
