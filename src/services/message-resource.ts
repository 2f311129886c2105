import type { MessageRecord } from '../ports.js';

/** The public JSON shape of a message (HTTP API and library answers). */
export interface MessageResource {
  id: string;
  direction: string;
  channel: string;
  to: string;
  from: string | null;
  messaging_service_sid: string | null;
  body: string | null;
  media_urls: string[];
  status: string;
  segments: number;
  encoding: string | null;
  provider_sid: string | null;
  error_code: string | null;
  provider_code: number | null;
  error_message: string | null;
  price: string | null;
  price_unit: string | null;
  /** True when `price` is an estimate (the provider reported none). */
  price_estimated: boolean;
  attempts: number;
  send_at: string | null;
  hold_reason: string | null;
  expires_at: string | null;
  validity_period: number | null;
  metadata: Record<string, unknown> | null;
  category: string;
  /** The template the body was rendered from. */
  template: { name: string; version: number } | null;
  /** Length of the body before the length policy truncated it (null: not truncated). */
  truncated_from: number | null;
  /** The recipient's time zone given on the send request (quiet hours). */
  recipient_timezone: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

/** Shown instead of bodies that carry secrets (verification codes). */
export const REDACTED = '[redacted]';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toMessageResource(r: MessageRecord): MessageResource {
  return {
    id: r.id,
    direction: r.direction,
    channel: r.channel,
    to: r.to_addr,
    from: r.from_addr,
    messaging_service_sid: r.messaging_service_sid,
    body: r.sensitive ? REDACTED : r.body,
    media_urls: r.media_urls ? (JSON.parse(r.media_urls) as string[]) : [],
    status: r.status,
    segments: r.segments,
    encoding: r.encoding,
    provider_sid: r.provider_sid,
    error_code: r.error_code,
    provider_code: r.provider_code,
    error_message: r.error_message,
    price: r.price,
    price_unit: r.price_unit,
    price_estimated: r.price_estimated === 1,
    attempts: r.attempts,
    send_at: iso(r.send_at),
    hold_reason: r.hold_reason,
    expires_at: iso(r.expires_at),
    validity_period: r.validity_period,
    metadata: r.metadata ? (JSON.parse(r.metadata) as Record<string, unknown>) : null,
    category: r.category,
    template: r.template_name !== null && r.template_version !== null ? { name: r.template_name, version: r.template_version } : null,
    truncated_from: r.truncated_from,
    recipient_timezone: r.recipient_timezone,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
    sent_at: iso(r.sent_at),
  };
}
