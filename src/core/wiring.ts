// Pure rules of wiring Twilio to this relay: the webhook URLs Twilio must call, whether the public
// URL can be given to Twilio, and how far apart two clocks may be.

/** The relay's Twilio webhook routes (registered by src/http/routes/webhooks.ts). */
export const WEBHOOK_PATHS = { inbound: '/webhooks/twilio/inbound', status: '/webhooks/twilio/status' } as const;

export interface WebhookUrls {
  inbound: string;
  status: string;
}

/** Beyond this, signed webhooks and scheduled sends drift (warned by `smsrelay doctor`). */
export const MAX_CLOCK_SKEW_MS = 60_000;

export function webhookUrls(publicUrl: string): WebhookUrls {
  const base = publicUrl.replace(/\/+$/, '');
  return { inbound: base + WEBHOOK_PATHS.inbound, status: base + WEBHOOK_PATHS.status };
}

/** localhost, 127.0.0.0/8 or ::1 (as URL.hostname gives them). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why this public URL cannot be handed to Twilio, or null when it can: it must be an absolute
 * https URL without query or fragment (Twilio signs the exact URL it calls); plain http only on a
 * loopback host (the emulator on this machine), since webhooks carry phone numbers and bodies.
 */
export function publicUrlProblem(publicUrl: string | null): string | null {
  if (publicUrl === null || publicUrl.trim() === '') return 'SMSRELAY_PUBLIC_URL is not set';
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    return `SMSRELAY_PUBLIC_URL is not a URL: ${publicUrl}`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `SMSRELAY_PUBLIC_URL must be https: ${publicUrl}`;
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '')
    return `SMSRELAY_PUBLIC_URL must have no query, fragment or credentials: ${publicUrl}`;
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) return `SMSRELAY_PUBLIC_URL must be https outside loopback (${u.hostname}): ${publicUrl}`;
  return null;
}

/** Local minus remote time, in ms; the remote `Date` header has whole seconds, so ±1 s is noise. */
export function clockSkewMs(local: Date, remote: Date): number {
  return local.getTime() - remote.getTime();
}

export function clockSkewOk(skewMs: number): boolean {
  return Math.abs(skewMs) <= MAX_CLOCK_SKEW_MS;
}
