// What log lines about a message carry, so that one grep by message_id follows it from the API
// through the worker to the callbacks. Phone numbers are masked (core/phone.ts), bodies never logged.
import { maskPhone } from './phone.js';

export interface MessageLogFields {
  message_id: string;
  tenant_id: string;
  /** null until the provider accepted the message. */
  provider_sid: string | null;
}

export function messageFields(m: { id: string; tenant_id: string; provider_sid?: string | null }): MessageLogFields {
  return { message_id: m.id, tenant_id: m.tenant_id, provider_sid: m.provider_sid ?? null };
}

/** Free text with the phone numbers in it masked (Twilio's error messages quote the number). */
export function maskPhonesIn(text: string): string {
  return text.replace(/\+?\d{8,15}/g, (n) => maskPhone(n));
}
