// How a failed call of the official client is classified, for messages and Verify alike.
import { ProviderError } from '../ports.js';

// Create errors that say "this request can never succeed as is" (docs/twilio-reference.md §8). Everything else in
// 4xx is treated as permanent too, except auth and rate limiting, which are about us, not the message.
const TRANSIENT_CODES = new Set([20429, 20003, 20005]);
// Connection failures where the request cannot have reached Twilio.
const NOT_SENT_ERRNOS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

/** A client failure → a ProviderError saying whether a retry is safe. */
export function classify(e: unknown): ProviderError {
  if (e instanceof ProviderError) return e;
  const err = e as { status?: number; code?: number | string; message?: string; response?: unknown };
  if (typeof err?.status === 'number') {
    // twilio.RestException: the provider answered.
    const code = typeof err.code === 'number' ? err.code : null;
    const transient = err.status >= 500 || err.status === 429 || (code !== null && TRANSIENT_CODES.has(code));
    return new ProviderError(transient ? 'transient' : 'permanent', err.message ?? `HTTP ${err.status}`, code, err.status);
  }
  const errno = typeof err?.code === 'string' ? err.code : '';
  if (NOT_SENT_ERRNOS.has(errno)) return new ProviderError('transient', `connection failed (${errno})`);
  // Reset, timeout, hang-up: the request may have been written and processed.
  return new ProviderError('ambiguous', `no answer from provider (${errno || err?.message || 'unknown error'})`);
}
