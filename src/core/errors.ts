// The one error registry. Every error smsrelay answers with is declared here: a stable code,
// the HTTP status it maps to, whether retrying the same request may succeed, and a default text.
// Twilio's own numeric codes travel separately as `provider_code`.

export const ERRORS = {
  SMS_ERR_VALIDATION: { status: 400, retryable: false, message: 'The request is not valid.' },
  SMS_ERR_MALFORMED_BODY: { status: 400, retryable: false, message: 'The request body could not be parsed.' },
  SMS_ERR_MALFORMED_URL: { status: 400, retryable: false, message: 'The request URL is not validly percent-encoded.' },
  SMS_ERR_MALFORMED_REQUEST: { status: 400, retryable: false, message: 'The HTTP request could not be parsed.' },
  SMS_ERR_HEADERS_TOO_LARGE: { status: 431, retryable: false, message: 'The request line and headers are too large.' },
  SMS_ERR_REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'The request was not received in time.' },
  SMS_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Unsupported Content-Type.' },
  SMS_ERR_BODY_REQUIRED: { status: 400, retryable: false, message: 'A message needs a body or at least one media URL.' },
  SMS_ERR_BODY_TOO_LONG: { status: 400, retryable: false, message: 'The message body is longer than 1600 characters.' },
  SMS_ERR_TOO_MANY_MEDIA: { status: 400, retryable: false, message: 'At most 10 media URLs may be attached.' },
  SMS_ERR_INVALID_PHONE: { status: 400, retryable: false, message: 'The phone number is not valid.' },
  SMS_ERR_NOT_MOBILE: { status: 422, retryable: false, message: 'The phone number is a fixed line and cannot receive SMS.' },
  SMS_ERR_NO_SENDER: { status: 422, retryable: false, message: 'No sender is configured: set a from number or a Messaging Service SID.' },
  SMS_ERR_INVALID_SEND_AT: { status: 400, retryable: false, message: 'send_at must be an ISO-8601 time in the future.' },
  SMS_ERR_INVALID_VALIDITY: { status: 400, retryable: false, message: 'validity_period must be an integer between 1 and 36000 seconds.' },
  SMS_ERR_INVALID_TIMEZONE: { status: 422, retryable: false, message: 'recipient_timezone must be an IANA time zone such as America/New_York.' },
  SMS_ERR_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'The request body is too large.' },
  SMS_ERR_UNAUTHENTICATED: { status: 401, retryable: false, message: 'Missing or invalid API key.' },
  SMS_ERR_FORBIDDEN: { status: 403, retryable: false, message: 'The API key lacks the scope this operation needs.' },
  SMS_ERR_INVALID_SIGNATURE: { status: 403, retryable: false, message: 'The webhook signature is missing or invalid.' },
  SMS_ERR_NOT_FOUND: { status: 404, retryable: false, message: 'Not found.' },
  SMS_ERR_ROUTE_NOT_FOUND: { status: 404, retryable: false, message: 'No such route.' },
  SMS_ERR_METHOD_NOT_ALLOWED: { status: 405, retryable: false, message: 'Method not allowed.' },
  SMS_ERR_IDEMPOTENCY_CONFLICT: { status: 409, retryable: true, message: 'A request with this Idempotency-Key is still being processed.' },
  SMS_ERR_IDEMPOTENCY_MISMATCH: { status: 422, retryable: false, message: 'This Idempotency-Key was already used with a different request body.' },
  SMS_ERR_INVALID_STATE: { status: 409, retryable: false, message: 'The resource is not in a state that allows this operation.' },
  SMS_ERR_RECIPIENT_OPTED_OUT: { status: 422, retryable: false, message: 'The recipient has opted out of messages from this sender.' },
  SMS_ERR_DELIVERY_FAILED: { status: 422, retryable: false, message: 'The provider reported that the message could not be delivered.' },
  SMS_ERR_INVALID_WEBHOOK: { status: 400, retryable: false, message: 'The webhook request lacks required Twilio parameters.' },
  SMS_ERR_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests; retry later.' },
  SMS_ERR_COUNTRY_NOT_ALLOWED: { status: 422, retryable: false, message: 'Sending to this country is not allowed for this tenant.' },
  // --- sending limits, caps, consent mode ---
  SMS_ERR_RECIPIENT_THROTTLED: { status: 429, retryable: true, message: 'Too many messages to this recipient in this category; retry after the time given.' },
  SMS_ERR_DAILY_CAP_REACHED: {
    status: 429,
    retryable: true,
    message: "The tenant's daily sending cap is reached; it resets at midnight in the tenant's time zone.",
  },
  SMS_ERR_TENANT_DISABLED: { status: 403, retryable: false, message: 'This tenant is disabled: nothing is sent until it is enabled again.' },
  SMS_ERR_NO_CONSENT: { status: 422, retryable: false, message: 'This category needs a recorded opt-in from the recipient (consent mode opt_in).' },
  SMS_ERR_EXPIRED: { status: 422, retryable: false, message: 'The message validity period expired before it could be sent.' },
  SMS_ERR_PROVIDER_REJECTED: { status: 422, retryable: false, message: 'The provider rejected the message.' },
  SMS_ERR_PROVIDER_UNAVAILABLE: { status: 503, retryable: true, message: 'The provider could not be reached.' },
  SMS_ERR_MAX_ATTEMPTS: { status: 422, retryable: false, message: 'The message could not be sent after the maximum number of attempts.' },
  SMS_ERR_SENDING_DISABLED: {
    status: 422,
    retryable: false,
    message: 'Sending is disabled (TWILIO_ENABLED=false): the message was accepted and logged, not sent.',
  },
  SMS_ERR_VERIFICATION_NOT_FOUND: { status: 404, retryable: false, message: 'No pending verification was found.' },
  SMS_ERR_VERIFY_NOT_CONFIGURED: {
    status: 422,
    retryable: false,
    message: 'The twilio verification backend needs a Verify Service SID (TWILIO_VERIFY_SERVICE_SID or the tenant setting verify_service_sid).',
  },
  SMS_ERR_EMULATOR_LOOPBACK_ONLY: {
    status: 403,
    retryable: false,
    message: 'The emulator answers only loopback clients (set SMSRELAY_EMULATOR_ACCESS=token and SMSRELAY_EMULATOR_TOKEN to open it to the network).',
  },
  SMS_ERR_EMULATOR_TOKEN_REQUIRED: {
    status: 401,
    retryable: false,
    message: "The emulator needs its access token: 'Authorization: Bearer <token>', or the token as the Basic auth password.",
  },
  // --- admin (tenants, settings, keys) ---
  SMS_ERR_TENANT_HEADER_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: "Only a key with the 'tenants:admin' scope may act on behalf of another tenant (Smsrelay-Tenant header).",
  },
  SMS_ERR_TENANT_NOT_FOUND: { status: 404, retryable: false, message: 'No tenant with this id or slug.' },
  SMS_ERR_TENANT_EXISTS: { status: 409, retryable: false, message: 'A tenant with this slug already exists.' },
  SMS_ERR_SCOPE_NOT_GRANTABLE: { status: 403, retryable: false, message: 'A key can only grant scopes it holds itself.' },
  SMS_ERR_TWILIO_CREDENTIALS_INVALID: {
    status: 422,
    retryable: false,
    message: 'Twilio refused these credentials (fetching the account failed); nothing was saved.',
  },
  SMS_ERR_MASTER_KEY_REQUIRED: { status: 422, retryable: false, message: 'SMSRELAY_MASTER_KEY must be set to store Twilio auth tokens.' },
  // --- twilio wiring ---
  SMS_ERR_PUBLIC_URL_INVALID: {
    status: 422,
    retryable: false,
    message: 'SMSRELAY_PUBLIC_URL must be set to the https URL where Twilio reaches this relay (http only on a loopback host).',
  },
  SMS_ERR_SENDER_NOT_OWNED: { status: 422, retryable: false, message: 'The Twilio account has no such number or Messaging Service.' },
  // --- templates and body shaping ---
  SMS_ERR_TEMPLATE_EXISTS: { status: 409, retryable: false, message: 'A template with this name already exists.' },
  SMS_ERR_UNKNOWN_TEMPLATE: { status: 422, retryable: false, message: 'No template with this name exists.' },
  SMS_ERR_TEMPLATE_SYNTAX: { status: 422, retryable: false, message: 'The template body could not be parsed.' },
  SMS_ERR_TEMPLATE_UNKNOWN_VARIABLE: { status: 422, retryable: false, message: 'The template uses a variable that was not given.' },
  SMS_ERR_TEMPLATE_UNKNOWN_FILTER: { status: 422, retryable: false, message: 'The template uses a filter that does not exist.' },
  SMS_ERR_TEMPLATE_LIMIT: { status: 422, retryable: false, message: 'Rendering the template exceeded its time or memory limit.' },
  SMS_ERR_TEMPLATE_RENDER: { status: 422, retryable: false, message: 'The template could not be rendered.' },
  SMS_ERR_BODY_AND_TEMPLATE: { status: 422, retryable: false, message: 'A message has either a body or a template, not both.' },
  SMS_ERR_TOO_MANY_SEGMENTS: { status: 422, retryable: false, message: 'The message needs more segments than its category allows.' },
  SMS_ERR_FOOTER_NO_ROOM: { status: 422, retryable: false, message: 'The opt-out footer does not fit in the segments the category allows.' },
  // --- metrics ---
  SMS_ERR_METRICS_LOOPBACK_ONLY: {
    status: 403,
    retryable: false,
    message: 'GET /metrics answers only loopback clients unless SMSRELAY_METRICS_TOKEN is set (then with Authorization: Bearer <token>).',
  },
  SMS_ERR_METRICS_TOKEN_REQUIRED: { status: 401, retryable: false, message: 'GET /metrics needs Authorization: Bearer <SMSRELAY_METRICS_TOKEN>.' },
  // --- typed client ---
  SMS_ERR_UNEXPECTED_RESPONSE: {
    status: 502,
    retryable: true,
    message: 'The answer was not an smsrelay response (raised by the typed client, e.g. for a proxy error page).',
  },
  // --- events and webhooks ---
  SMS_ERR_WEBHOOK_URL_REFUSED: {
    status: 422,
    retryable: false,
    message: 'This URL cannot receive webhooks (https required; private, loopback and cloud metadata addresses refused).',
  },
  // --- usage, lookups, contacts, privacy ---
  SMS_ERR_LOOKUP_UNAVAILABLE: {
    status: 422,
    retryable: false,
    message: 'Line type intelligence needs Twilio (or the emulator): sending is disabled, or the provider has no Lookup.',
  },
  SMS_ERR_CONVERSATION_BLOCKED: { status: 422, retryable: false, message: 'The conversation with this number is blocked: messages to it are refused.' },
  SMS_ERR_NOT_READY: { status: 503, retryable: true, message: 'The service is not ready.' },
  SMS_ERR_INTERNAL: { status: 500, retryable: true, message: 'Internal error.' },
  // --- admin console ---
  SMS_ERR_CSRF: {
    status: 403,
    retryable: false,
    message: 'A request signed in with the console session cookie must carry its CSRF token (X-CSRF-Token header).',
  },
  // --- campaigns ---
  SMS_ERR_CAMPAIGN_STATE: { status: 409, retryable: false, message: 'The campaign is not in a state that allows this operation.' },
  SMS_ERR_CAMPAIGN_CANCELED: { status: 409, retryable: false, message: 'The campaign was canceled.' },
  SMS_ERR_CAMPAIGN_EMPTY: { status: 409, retryable: false, message: 'The campaign has no recipient to send to.' },
  SMS_ERR_CAMPAIGN_RECIPIENT_TAKEN: { status: 409, retryable: false, message: 'The campaign recipient already has a message.' },
  SMS_ERR_CAMPAIGN_UPLOAD_EMPTY: { status: 400, retryable: false, message: 'The upload has no header or no rows.' },
  SMS_ERR_CAMPAIGN_NO_PHONE_COLUMN: { status: 400, retryable: false, message: "The CSV header has no 'phone' column." },
  SMS_ERR_CAMPAIGN_MISSING_VARIABLE: { status: 422, retryable: false, message: "The upload's columns lack a variable the template uses." },
  SMS_ERR_CAMPAIGN_MALFORMED_UPLOAD: { status: 400, retryable: false, message: 'The upload could not be parsed; nothing of it was kept.' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details?: unknown;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode, message?: string, details?: unknown, headers?: Record<string, string>) {
    const def = ERRORS[code];
    super(message ?? def.message);
    this.name = 'AppError';
    this.code = code;
    this.status = def.status;
    this.retryable = def.retryable;
    this.details = details;
    this.headers = headers;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}
