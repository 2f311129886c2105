// Messages as stored (one row per message, both directions). Only the record type so far: the
// queries on the messages table still live with the repositories that need them.

export interface MessageRecord {
  id: string;
  tenant_id: string;
  direction: string;
  channel: string;
  to_addr: string;
  from_addr: string | null;
  messaging_service_sid: string | null;
  body: string | null;
  media_urls: string | null;
  encoding: string | null;
  segments: number;
  status: string;
  provider_sid: string | null;
  error_code: string | null;
  provider_code: number | null;
  error_message: string | null;
  price: string | null;
  price_unit: string | null;
  attempts: number;
  max_attempts: number;
  next_attempt_at: number | null;
  locked_until: number | null;
  locked_by: string | null;
  in_flight_since: number | null;
  send_at: number | null;
  expires_at: number | null;
  validity_period: number | null;
  idempotency_key: string | null;
  conversation_id: string | null;
  metadata: string | null;
  sensitive: number;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

/** One entry of a message's history (every status change, with its source). */
export interface NewMessageEventRecord {
  message_id: string;
  tenant_id: string;
  status: string;
  source: string;
  error_code: string | null;
  provider_code: number | null;
  data: string | null;
  created_at: number;
}
