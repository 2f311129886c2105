// Public types of the Twilio emulator (options, chaos knobs, the inbox's view of a message).

export type MessageStatus = 'accepted' | 'scheduled' | 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'canceled' | 'received';

export type MessageDirection = 'inbound' | 'outbound-api' | 'outbound-reply';

/** Who made the message: the Messages API, Verify, a TwiML reply, a simulated handset, Twilio's own opt-out replies. */
export type MessageSource = 'api' | 'verify' | 'twiml' | 'handset' | 'auto-reply';

export interface StatusChange {
  status: MessageStatus;
  at: Date;
  errorCode: number | null;
}

/** One HTTP attempt of a webhook (status callback or inbound message). */
export interface WebhookDelivery {
  kind: 'status' | 'inbound';
  /** The URL called and signed (any `#…` override fragment stripped). */
  url: string;
  /** MessageStatus carried by a status callback; 'received' for inbound webhooks. */
  messageStatus: string;
  /** 1-based; retries of one request share the token. */
  attempt: number;
  /** The I-Twilio-Idempotency-Token header sent. */
  token: string;
  statusCode: number | null;
  /** Transport error (e.g. ECONNREFUSED, read-timeout) or null. */
  error: string | null;
  durationMs: number;
  at: Date;
  /** Chaos: an extra copy of a callback (its own token), a callback held back and sent after the next one, or one never sent. */
  chaos?: 'duplicate' | 'reordered' | 'dropped';
}

export interface EmulatedMessage {
  sid: string;
  accountSid: string;
  direction: MessageDirection;
  source: MessageSource;
  from: string | null;
  to: string;
  body: string;
  media: string[];
  messagingServiceSid: string | null;
  status: MessageStatus;
  errorCode: number | null;
  errorMessage: string | null;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
  price: string | null;
  priceUnit: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  dateSent: Date | null;
  sendAt: Date | null;
  statusCallback: string | null;
  history: StatusChange[];
  webhooks: WebhookDelivery[];
}

/** How an outbound message to a number ends. `times` limits the script to the next N messages. */
export interface FailureScript {
  outcome: 'delivered' | 'sent' | 'undelivered' | 'failed';
  errorCode?: number;
  times?: number;
}

export type ChaosEndpoint =
  | 'messages.create'
  | 'messages.fetch'
  | 'messages.list'
  | 'messages.update'
  | 'messages.delete'
  | 'verify.services'
  | 'verify.verifications'
  | 'verify.checks'
  | 'lookup'
  | 'accounts'
  | 'numbers'
  | 'messaging.services';

/** Key of `ChaosSettings.errors`: an endpoint, a group wildcard or '*'. */
export type ChaosErrorKey = ChaosEndpoint | 'messages.*' | 'verify.*' | '*';

export interface ChaosError {
  /** 0..1 */
  rate: number;
  status: number;
  code: number;
  message?: string;
}

/** A fault that hits the next `next` matching requests, then each one with probability `rate`. */
export interface ChaosFault {
  rate: number;
  next: number;
  /** null = every API endpoint. */
  endpoints: ChaosEndpoint[] | null;
}

export interface ChaosSettings {
  errors: Partial<Record<ChaosErrorKey, ChaosError>>;
  latencyMs: number;
  jitterMs: number;
  /** The next `next` API requests answer 429 / 20429 with `Retry-After: retryAfter` (seconds). */
  burst429: { next: number; retryAfter: number };
  /** Accept the request, never answer (until close()). */
  hang: ChaosFault;
  /** Process the request (a create records the message), then destroy the socket instead of answering. */
  reset: ChaosFault;
  callbacks: 'on' | 'off';
  dropCallbacksRate: number;
  duplicateCallbacksRate: number;
  reorderCallbacksRate: number;
}

/** What setChaos / PUT /emulator/api/chaos accept: any subset, nested objects merged, `errors.<key>: null` removes a rule. */
export interface ChaosUpdate {
  errors?: Partial<Record<ChaosErrorKey, ChaosError | null>>;
  latencyMs?: number;
  jitterMs?: number;
  burst429?: Partial<ChaosSettings['burst429']>;
  hang?: Partial<ChaosFault>;
  reset?: Partial<ChaosFault>;
  callbacks?: 'on' | 'off';
  dropCallbacksRate?: number;
  duplicateCallbacksRate?: number;
  reorderCallbacksRate?: number;
}

export interface EmulatorLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

export interface EmulatorOptions {
  /** Who may use it: loopback clients only (default), or others too with a token. See access.ts. */
  access?: EmulatorAccess;
  /** Default DEFAULT_ACCOUNT_SID. */
  accountSid?: string;
  /** Default DEFAULT_AUTH_TOKEN. Also the key that signs webhooks. */
  authToken?: string;
  /** SK… key pairs also accepted for Basic auth. */
  apiKeys?: { sid: string; secret: string }[];
  /** Owned numbers (E.164). Default ['+15005550006']. */
  numbers?: string[];
  /** Alphanumeric sender IDs accepted as `From` (outbound only: handsets cannot text them). */
  senderIds?: string[];
  /** Known MG… sids; their sender pool is all owned numbers. Default: one generated. */
  messagingServiceSids?: string[];
  /** Base of media URLs and Verify/Lookup `url` fields. Default: http://127.0.0.1:<port> after listen(), else the request's Host. */
  publicBaseUrl?: string;
  /** Used when a create has no StatusCallback. */
  defaultStatusCallback?: string | null;
  /** Where handset → owned-number messages are POSTed when neither the number (SmsUrl) nor its Messaging Service names a URL. */
  inboundUrl?: string | null;
  /** Initial SmsUrl of owned numbers (IncomingPhoneNumbers), overriding inboundUrl. */
  inboundUrls?: Record<string, string>;
  /** Status callbacks on/off. Default true. */
  callbacks?: boolean;
  /** Progression delays in ms. Default 50/100/200. */
  delays?: { queuedToSending: number; sendingToSent: number; sentToDelivered: number };
  /** Segments per second per sender. Default 100_000 (no pacing); Twilio's long code is 1. */
  mps?: number;
  /** Messages that may wait in one sender's queue before creates answer 21611. Default 36_000 (10 h at 1 MPS). */
  queueLimit?: number;
  /** Ring buffer cap. Default 100_000. */
  maxMessages?: number;
  /** Price per segment by ISO country, '*' = any other. Merged over { US: '0.0079', CA: '0.0079', '*': '0.0500' }. */
  rates?: Record<string, string>;
  chaos?: ChaosUpdate;
  /** Failure scripts by recipient number. */
  scripts?: Record<string, FailureScript>;
  /** Adds OptOutType to inbound webhooks for STOP/START/HELP keywords (Twilio's Advanced Opt-Out). */
  advancedOptOut?: boolean;
  /** Time source for dates, SendAt windows and Verify expiry (the progression timers use real time). */
  clock?: { now(): Date };
  logger?: EmulatorLogger;
  /**
   * Called with Twilio's operationId and the form (POST) or query (GET) parameters of each
   * authenticated API request. Messaging v1 ids are prefixed 'messaging_v1:' (they repeat Verify's, e.g. FetchService).
   */
  onApiRequest?: (operationId: string, params: Record<string, string | string[]>) => void;
}

export interface Emulator {
  readonly accountSid: string;
  readonly authToken: string;
  /** Start-up log line naming the access mode in force. */
  readonly accessDescription: string;
  /** Handles the request if the path belongs to the emulator (/2010-04-01/…, /v1/Services…, /v2/Services…, /v2/PhoneNumbers…, /emulator…); returns false otherwise without touching req/res. */
  handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): boolean;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
  setPublicBaseUrl(url: string): void;
  /** Without `number`, the default inbound URL; with it, that owned number's SmsUrl (null clears it). */
  setInboundUrl(url: string | null, number?: string): void;
  setDefaultStatusCallback(url: string | null): void;
  /** Oldest first. `to` matches the recipient; `since` the creation time (inclusive). */
  messages(filter?: { to?: string; since?: Date }): EmulatedMessage[];
  /** Messages API creates that produced a message to `to` (with this exact body when given). */
  createCount(to: string, body?: string): number;
  /** Lookup v2 fetches answered for this number (as written in the request path). */
  lookupCount(phoneNumber: string): number;
  /** Forgets messages, counts, opt-outs, verifications and queues; keeps configuration, scripts and chaos. */
  reset(): void;
  setChaos(c: ChaosUpdate): void;
}

export interface EmulatorAccess {
  /** 'loopback' (default): loopback clients only. 'token': others too, with `token`. */
  mode: 'loopback' | 'token';
  /** At least 24 characters; required with mode 'token'. */
  token?: string;
}
