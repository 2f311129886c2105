// The OpenAPI `webhooks` section: one entry per event type, with the payload smsrelay posts and an
// example. The same payload is what GET /v1/events, the stream and relay.on give.
import type { OpenAPIV3_1 } from 'openapi-types';
import { EVENT_TYPES, type EventType } from '../core/events.js';

const T = '2026-01-15T10:30:00.000Z';
const TENANT = '0194b3a2-6c1e-7d40-9a2b-1f2e3d4c5b6a';

const message = (status: string, extra: Record<string, unknown> = {}) => ({
  id: '0194b3a2-7000-7abc-8def-0123456789ab',
  direction: 'outbound',
  channel: 'sms',
  to: '+14155552671',
  from: '+15005550006',
  messaging_service_sid: null,
  body: 'Your technician is on the way.',
  media_urls: [],
  status,
  segments: 1,
  encoding: 'GSM-7',
  provider_sid: 'SM0123456789abcdef0123456789abcdef',
  error_code: null,
  provider_code: null,
  error_message: null,
  price: null,
  price_unit: null,
  attempts: 1,
  send_at: null,
  hold_reason: null,
  expires_at: null,
  validity_period: 36000,
  metadata: { job_id: 123 },
  created_at: T,
  updated_at: T,
  sent_at: T,
  conversation_id: null,
  ...extra,
});

const verification = (status: string) => ({
  id: '0194b3a2-7100-7abc-8def-0123456789ab',
  to: '+14155552671',
  channel: 'sms',
  status,
  locale: 'en',
  send_count: 1,
  attempts_left: status === 'approved' ? 4 : 0,
  expires_at: '2026-01-15T10:40:00.000Z',
  created_at: T,
  updated_at: T,
  approved_at: status === 'approved' ? T : null,
});

const consent = (state: string) => ({
  phone: '+14155552671',
  state,
  source: 'keyword',
  actor: 'contact',
  detail: state === 'opted_out' ? 'STOP' : 'START',
  message_id: '0194b3a2-7200-7abc-8def-0123456789ab',
  consent_event_id: '0194b3a2-7201-7abc-8def-0123456789ab',
  created_at: T,
});

const EXAMPLES: Record<EventType, { summary: string; data: Record<string, unknown> }> = {
  'message.sent': { summary: 'Twilio accepted the message and handed it to the carrier.', data: message('sent') },
  'message.delivered': { summary: 'The carrier confirmed delivery to the handset.', data: message('delivered') },
  'message.undelivered': {
    summary: 'The carrier could not deliver the message.',
    data: message('undelivered', { error_code: 'SMS_ERR_DELIVERY_FAILED', provider_code: 30003, error_message: 'Unreachable destination handset' }),
  },
  'message.failed': {
    summary: 'The message could not be sent (rejected, expired, opted out, out of attempts).',
    data: message('failed', { error_code: 'SMS_ERR_PROVIDER_REJECTED', provider_code: 21211, sent_at: null }),
  },
  'message.received': {
    summary: 'An inbound message, with its conversation.',
    data: message('received', {
      direction: 'inbound',
      to: '+15005550006',
      from: '+14155552671',
      body: 'DONE 123',
      conversation_id: '0194b3a2-7300-7abc-8def-0123456789ab',
      metadata: { num_media: 0, media_content_types: [], geo: {} },
      sent_at: null,
      validity_period: null,
    }),
  },
  'conversation.needs_attention': {
    summary: 'A human should look at a conversation (e.g. the contact revoked consent in free text).',
    data: {
      conversation_id: '0194b3a2-7300-7abc-8def-0123456789ab',
      reason: 'free_text_revocation',
      contact: '+14155552671',
      message_id: '0194b3a2-7200-7abc-8def-0123456789ab',
    },
  },
  'consent.opted_out': { summary: 'A number opted out (keyword, free text, API, admin or the provider).', data: consent('opted_out') },
  'consent.opted_in': { summary: 'A number opted in again.', data: consent('opted_in') },
  'verification.approved': { summary: 'A verification code was confirmed.', data: verification('approved') },
  'verification.locked': { summary: 'A verification was locked after too many wrong codes.', data: verification('max_attempts_reached') },
  'usage.cap_threshold': {
    summary: "A tenant's daily cap reached its alert threshold (raised by the sending policy).",
    data: { cap: 'daily', limit: 1000, used: 900, threshold: 0.9, day: '2026-01-15' },
  },
  'usage.cap_reached': { summary: "A tenant's daily cap was reached: sends are held.", data: { cap: 'daily', limit: 1000, used: 1000, day: '2026-01-15' } },
  'campaign.completed': {
    summary: 'A campaign reached every recipient of its audience: the campaign as GET /v1/campaigns/:id shows it, with its final counts.',
    data: {
      id: '0194b3a2-7400-7abc-8def-0123456789ab',
      name: 'Spring notice',
      status: 'completed',
      total: 250,
      counts: { pending: 0, held: 0, sent: 3, delivered: 240, failed: 1, undelivered: 1, suppressed: 3, invalid: 2, canceled: 0 },
      cost: '1.9920',
      finished_at: T,
    },
  },
  'webhook_endpoint.disabled': {
    summary: "An alert: the relay disabled a webhook endpoint ('gone' after a 410, 'failing' after failures for too long).",
    data: {
      id: '0194b3a2-7500-7abc-8def-0123456789ab',
      url: 'https://app.example.com/hooks/sms',
      event_types: ['*'],
      enabled: false,
      description: null,
      disabled_reason: 'failing',
      previous_secret_expires_at: null,
      created_at: T,
      updated_at: T,
      reason: 'failing',
    },
  },
};

const HEADERS = {
  'webhook-id': { description: 'The event id: the same on every retry and redelivery (de-duplicate on it).', schema: { type: 'string' } },
  'webhook-timestamp': { description: 'Unix seconds when this attempt was signed.', schema: { type: 'string' } },
  'webhook-signature': {
    description: "Space-separated 'v1,<base64 HMAC-SHA256>' signatures (two during a secret rotation), per Standard Webhooks.",
    schema: { type: 'string' },
  },
};

/** OpenAPI 3.1 `webhooks`: what smsrelay posts to a subscribed endpoint, per event type. */
export function eventWebhooks(): Record<string, OpenAPIV3_1.PathItemObject> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => {
      const ex = EXAMPLES[type];
      return [
        type,
        {
          post: {
            tags: ['webhooks'],
            summary: ex.summary,
            description:
              'Signed per Standard Webhooks: verify webhook-signature with the endpoint secret (any Standard Webhooks or Svix library). ' +
              'Answer 2xx within 15 s; anything else is retried (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter). 410 disables the endpoint.',
            parameters: Object.entries(HEADERS).map(([name, h]) => ({ name, in: 'header', required: true, ...h }) as OpenAPIV3_1.ParameterObject),
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['id', 'type', 'occurred_at', 'tenant', 'data'],
                    properties: {
                      id: { type: 'string' },
                      type: { type: 'string', enum: [type] },
                      occurred_at: { type: 'string', format: 'date-time' },
                      tenant: { type: 'string' },
                      data: { type: 'object', additionalProperties: true },
                    },
                  },
                  example: { id: '0194b3a2-8000-7abc-8def-0123456789ab', type, occurred_at: T, tenant: TENANT, data: ex.data },
                },
              },
            },
            responses: { '200': { description: 'Received (any 2xx).' }, '410': { description: 'Gone: the relay disables this endpoint.' } },
          },
        },
      ];
    }),
  );
}
