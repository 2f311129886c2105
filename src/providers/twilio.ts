import twilio from 'twilio';
import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message.js';
import { TwilioHttpClient } from './twilio-http.js';
import { twilioVerify } from './twilio-verify.js';
import { ProviderError, type Provider, type ProviderListQuery, type ProviderMessage, type ProviderSendRequest, type VerifyProvider } from '../ports.js';

export interface TwilioProviderOptions {
  accountSid: string;
  authToken: string;
  /** Sends every Twilio API call (api., verify., lookups. hosts) to this origin instead: the emulator. */
  apiBaseUrl?: string | null;
  timeoutMs?: number;
  maxSockets?: number;
}

// Create errors that say "this request can never succeed as is" (docs/twilio-reference.md §8). Everything else in
// 4xx is treated as permanent too, except auth and rate limiting, which are about us, not the message.
const TRANSIENT_CODES = new Set([20429, 20003, 20005]);
// Connection failures where the request cannot have reached Twilio.
const NOT_SENT_ERRNOS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

function toProviderMessage(m: MessageInstance): ProviderMessage {
  return {
    sid: m.sid,
    status: m.status,
    to: m.to,
    from: m.from ?? null,
    body: m.body ?? null,
    dateCreated: m.dateCreated ?? null,
    dateSent: m.dateSent ?? null,
    errorCode: m.errorCode ?? null,
    errorMessage: m.errorMessage ?? null,
    price: m.price ?? null,
    priceUnit: m.priceUnit ?? null,
    numSegments: m.numSegments === undefined || m.numSegments === null ? null : Number(m.numSegments),
  };
}

/** A client failure → a ProviderError saying whether a retry is safe (also used for Verify). */
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

export class TwilioProvider implements Provider {
  readonly name = 'twilio';
  private readonly client: twilio.Twilio;
  /** Twilio Verify on the same account and HTTP client. */
  readonly verify: VerifyProvider;

  constructor(opts: TwilioProviderOptions) {
    const timeout = opts.timeoutMs ?? 15_000;
    this.client = twilio(opts.accountSid, opts.authToken, {
      httpClient: new TwilioHttpClient(opts.apiBaseUrl ?? null, { timeoutMs: timeout, maxSockets: opts.maxSockets ?? 64 }),
      autoRetry: false,
    });
    this.verify = twilioVerify(this.client);
  }

  /** The underlying client, for features beyond the ports (Lookup; tests creating Verify services). */
  get twilio(): twilio.Twilio {
    return this.client;
  }

  async send(req: ProviderSendRequest): Promise<ProviderMessage> {
    try {
      const m = await this.client.messages.create({
        to: req.to,
        ...(req.from ? { from: req.from } : {}),
        ...(req.messagingServiceSid ? { messagingServiceSid: req.messagingServiceSid } : {}),
        ...(req.body ? { body: req.body } : {}),
        ...(req.mediaUrls && req.mediaUrls.length ? { mediaUrl: req.mediaUrls } : {}),
        ...(req.statusCallback ? { statusCallback: req.statusCallback } : {}),
        ...(req.validityPeriod ? { validityPeriod: req.validityPeriod } : {}),
        ...(req.attempt ? { attempt: req.attempt } : {}),
      });
      return toProviderMessage(m);
    } catch (e) {
      throw classify(e);
    }
  }

  async fetch(sid: string): Promise<ProviderMessage | null> {
    try {
      return toProviderMessage(await this.client.messages(sid).fetch());
    } catch (e) {
      const c = classify(e);
      if (c.httpStatus === 404) return null;
      throw c;
    }
  }

  async list(q: ProviderListQuery): Promise<ProviderMessage[]> {
    try {
      // Not filtered by DateSent: a message still queued at Twilio has no date_sent yet and would be
      // missed, and a missed message means a duplicate SMS. Newest first, so 200 rows reach far back.
      const rows = await this.client.messages.list({ to: q.to, ...(q.from ? { from: q.from } : {}), limit: 200 });
      return rows.map(toProviderMessage).filter((m) => !m.dateCreated || m.dateCreated.getTime() >= q.sentAfter.getTime() - 60_000);
    } catch (e) {
      throw classify(e);
    }
  }
}
