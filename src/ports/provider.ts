// The provider port: what the worker and reconciler need from Twilio (or the emulator, or a test double).
import type { VerifyProvider } from './verify-provider.js';

/** Outbound request handed to a provider (already validated, E.164 / channel addresses). */
export interface ProviderSendRequest {
  to: string;
  from?: string | null;
  messagingServiceSid?: string | null;
  body?: string | null;
  mediaUrls?: string[];
  statusCallback?: string | null;
  validityPeriod?: number | null;
  sendAt?: Date | null;
  /** 1-based attempt number, passed to Twilio's `Attempt` parameter. */
  attempt?: number;
}

export interface ProviderMessage {
  sid: string;
  status: string;
  to: string;
  from: string | null;
  body: string | null;
  dateCreated: Date | null;
  dateSent: Date | null;
  errorCode: number | null;
  errorMessage: string | null;
  price: string | null;
  priceUnit: string | null;
  numSegments: number | null;
}

/**
 * Why a provider call did not give a usable answer.
 * - permanent: the provider answered and will never accept this request as is (e.g. 21211).
 * - transient: the provider did not process the request (5xx, 429/20429, connection refused): safe to retry.
 * - ambiguous: the request may have reached the provider but no answer came back (reset, timeout):
 *   it must be settled by asking the provider before any resend.
 */
export type ProviderFailureKind = 'permanent' | 'transient' | 'ambiguous';

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderFailureKind,
    message: string,
    readonly providerCode: number | null = null,
    readonly httpStatus: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface ProviderListQuery {
  to: string;
  from?: string | null;
  /** Only messages created at or after this instant (the provider may filter by day). */
  sentAfter: Date;
}

/** Twilio Lookup v2's line_type_intelligence package. */
export interface LineTypeInfo {
  /** mobile, landline, nonFixedVoip, tollFree, … (null when the provider could not tell). */
  type: string | null;
  carrier_name: string | null;
  mobile_country_code: string | null;
  mobile_network_code: string | null;
  error_code: number | null;
}

export interface LookupProvider {
  /** A paid Lookup v2 request for one E.164 number. */
  lineType(e164: string): Promise<LineTypeInfo>;
}

export interface Provider {
  readonly name: string;
  send(req: ProviderSendRequest): Promise<ProviderMessage>;
  fetch(sid: string): Promise<ProviderMessage | null>;
  /** Used to settle ambiguous outcomes: messages the provider holds for this recipient since a time. */
  list(query: ProviderListQuery): Promise<ProviderMessage[]>;
  /** Twilio Verify on the same account, when this provider has it. */
  readonly verify?: VerifyProvider;
  /** Twilio Lookup v2 on the same account, when this provider has it. */
  readonly lookup?: LookupProvider;
}

/**
 * Fetches a Twilio account with the given credentials, which proves they are valid before they are
 * stored; throws ProviderError (401 / 20003 for wrong credentials).
 */
export type AccountCheck = (accountSid: string, authToken: string) => Promise<AccountInfo>;

/** The provider that sends a tenant's messages (its own Twilio account, or the installation's). */
export type ProviderFor = (tenantId: string) => Promise<Provider>;

/** TwiML answers to an inbound webhook (the text is escaped, never concatenated into XML). */
export interface TwimlReplies {
  /** A <Response> with one <Message> of `text`. */
  message(text: string): string;
  /** An empty <Response>: no reply. */
  empty(): string;
}

/** A Twilio webhook as received, for its X-Twilio-Signature check. */
export interface SignedRequest {
  /** The URL Twilio called, query string exactly as received. */
  url: string;
  signature: string | undefined;
  /** Decoded form fields, repeated keys as arrays. */
  params: Record<string, string | string[]>;
  /** Raw body of a JSON webhook (signed through the URL's bodySHA256), else null. */
  rawJsonBody: string | null;
}

export interface WebhookSignatures {
  /** True when one of the tokens (primary first, then a rotation's secondary) signed the request. */
  verify(tokens: readonly string[], req: SignedRequest): boolean;
}

/** A number the account owns (IncomingPhoneNumbers), with what `twilio connect` and `doctor` look at. */
export interface AccountNumber {
  sid: string;
  phoneNumber: string;
  /** Where inbound messages go; null when unset. */
  smsUrl: string | null;
  smsMethod: string | null;
  statusCallback: string | null;
  capabilities: { sms: boolean; mms: boolean };
}

export interface AccountMessagingService {
  sid: string;
  friendlyName: string | null;
  inboundRequestUrl: string | null;
  statusCallback: string | null;
  /** True: each number's own SmsUrl receives inbound messages instead of inboundRequestUrl. */
  useInboundWebhookOnNumber: boolean;
}

/** A Twilio account as fetched with its own credentials (never its auth token). */
export interface AccountInfo {
  sid: string;
  /** active, suspended or closed. */
  status: string;
  /** Trial or Full. */
  type: string | null;
  friendlyName: string | null;
  /** The `Date` header of Twilio's answer (clock comparison), when it sent one. */
  serverDate: Date | null;
}

/**
 * The Twilio account's configuration, for wiring numbers and services to this relay and checking
 * them (`smsrelay twilio connect`, `smsrelay doctor`). Failures are ProviderErrors; an unknown
 * number or service is null.
 */
export interface TwilioAccountAdmin {
  fetchAccount(): Promise<AccountInfo>;
  findNumber(phoneNumber: string): Promise<AccountNumber | null>;
  updateNumber(sid: string, urls: { smsUrl: string; smsMethod: 'POST'; statusCallback: string }): Promise<AccountNumber>;
  fetchService(sid: string): Promise<AccountMessagingService | null>;
  updateService(sid: string, urls: { inboundRequestUrl: string; statusCallback: string }): Promise<AccountMessagingService>;
}
