// JSON Schemas of the public API: validation of requests and serialization of responses, and the
// source of /openapi.json.
import { CATEGORIES, SENDABLE_CATEGORIES } from '../core/categories.js';
import { MESSAGE_STATUSES } from '../core/status.js';

const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });

export const messageSchema = {
  $id: 'Message',
  type: 'object',
  required: ['id', 'direction', 'channel', 'to', 'status', 'segments', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', description: 'Time-ordered UUID (v7).' },
    direction: { type: 'string', enum: ['outbound', 'inbound'] },
    channel: {
      type: 'string',
      enum: ['sms', 'mms', 'whatsapp'],
      description: 'How the message travels: whatsapp; mms when it carries media (sent and priced as MMS); sms otherwise.',
    },
    to: { type: 'string', description: 'E.164, or whatsapp:+E164.' },
    from: nullable('string'),
    messaging_service_sid: nullable('string'),
    body: nullable('string'),
    media_urls: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: [...MESSAGE_STATUSES] },
    segments: { type: 'integer', description: 'SMS segments the body needs (GSM-7 160/153, UCS-2 70/67).' },
    encoding: nullable('string', { enum: ['GSM-7', 'UCS-2', null] }),
    provider_sid: nullable('string', { description: "Twilio's Message SID once accepted." }),
    error_code: nullable('string', { description: 'SMS_ERR_… code when the message failed.' }),
    provider_code: nullable('integer', { description: "Twilio's numeric error code, when it gave one." }),
    error_message: nullable('string'),
    price: nullable('string'),
    price_unit: nullable('string'),
    price_estimated: { type: 'boolean', description: 'True when `price` is an estimate from the rate table: the provider reported no price.' },
    attempts: { type: 'integer' },
    send_at: nullable('string', { format: 'date-time' }),
    hold_reason: nullable('string', { description: 'Why the sending policy held the message: it is `scheduled` until `send_at`.' }),
    expires_at: nullable('string', { format: 'date-time' }),
    validity_period: nullable('integer'),
    metadata: { type: ['object', 'null'], additionalProperties: true },
    category: { type: 'string', enum: [...CATEGORIES], description: 'transactional, marketing, or otp (verification codes).' },
    template: {
      type: ['object', 'null'],
      properties: { name: { type: 'string' }, version: { type: 'integer' } },
      description: 'The template (and version) the body was rendered from.',
    },
    truncated_from: nullable('integer', { description: 'Length of the body before the length policy (on_too_long: truncate) cut it.' }),
    recipient_timezone: nullable('string', { description: "The recipient's IANA time zone given on the send request (quiet hours)." }),
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    sent_at: nullable('string', { format: 'date-time' }),
  },
} as const;

export const sendBodySchema = {
  type: 'object',
  required: ['to'],
  additionalProperties: false,
  properties: {
    to: { type: 'string', maxLength: 64, description: 'E.164 or national format (default region applies); whatsapp:+E164 for WhatsApp.' },
    body: { type: ['string', 'null'], description: 'Up to 1600 characters.' },
    from: { type: ['string', 'null'], maxLength: 64 },
    messaging_service_sid: { type: ['string', 'null'], maxLength: 34 },
    media_urls: { type: ['array', 'null'], items: { type: 'string' } },
    channel: {
      type: 'string',
      enum: ['sms', 'mms', 'whatsapp'],
      description: "'whatsapp', or 'sms'/'mms' (the same: a phone number; media_urls make it an MMS).",
    },
    send_at: { type: ['string', 'null'], format: 'date-time' },
    validity_period: { type: ['integer', 'null'], minimum: 1, maximum: 36000 },
    metadata: { type: ['object', 'null'], additionalProperties: true },
    category: {
      type: ['string', 'null'],
      enum: [...SENDABLE_CATEGORIES, null],
      description: 'transactional (default) or marketing: the sending policies (consent, quiet hours, limits) differ by category.',
    },
    template: {
      type: ['object', 'null'],
      required: ['name'],
      additionalProperties: false,
      description: 'Instead of body: a stored template, rendered with `variables` (its category applies unless `category` is given).',
      properties: {
        name: { type: 'string', maxLength: 64 },
        locale: { type: ['string', 'null'], maxLength: 35, description: 'BCP 47; falls back es-MX → es → the template default.' },
        variables: { type: ['object', 'null'], additionalProperties: true },
      },
    },
    locale: { type: ['string', 'null'], maxLength: 35, description: "The recipient's language (BCP 47): a template's locale and the opt-out footer's." },
    recipient_timezone: {
      type: ['string', 'null'],
      maxLength: 64,
      description: "The recipient's IANA time zone for quiet hours (default: the contact's stored zone, else the number's zones).",
    },
  },
} as const;

/** `limit` and `cursor`: the query parameters of every cursor-paged list. */
const PAGE_PARAMS = {
  limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  cursor: { type: 'string', maxLength: 1024, description: 'The `next_cursor` of the previous page.' },
} as const;

/** The querystring of a cursor-paged list: the route's filters, then `limit` and `cursor`. */
export const pageQuery = (filters: Record<string, object> = {}) =>
  ({ type: 'object', additionalProperties: false, properties: { ...filters, ...PAGE_PARAMS } }) as const;

/** One page of a list: its items and the cursor of the next page (null on the last). */
export const pageOf = (items: object) =>
  ({ type: 'object', properties: { data: { type: 'array', items }, next_cursor: { type: ['string', 'null'] } } }) as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  // No control characters: a NUL cannot even be looked up in PostgreSQL.
  properties: { id: { type: 'string', maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]*$' } },
} as const;

export const errorResponses = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  409: { $ref: 'Error#' },
  413: { $ref: 'Error#' },
  422: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
} as const;
