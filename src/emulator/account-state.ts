// The owned numbers and Messaging Services the emulator was configured with, as Twilio resources
// (IncomingPhoneNumbers, Messaging Services): their webhook URLs decide where inbound messages and
// status callbacks go (Core.inboundUrlFor, Core.statusCallbackFor), as on Twilio.
import { sid } from './util.js';

export interface IncomingNumber {
  sid: string;
  phoneNumber: string;
  friendlyName: string;
  smsUrl: string | null;
  smsMethod: 'GET' | 'POST';
  smsFallbackUrl: string | null;
  smsFallbackMethod: 'GET' | 'POST';
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  dateCreated: number;
  dateUpdated: number;
}

export interface MessagingService {
  sid: string;
  friendlyName: string;
  inboundRequestUrl: string | null;
  inboundMethod: 'GET' | 'POST';
  fallbackUrl: string | null;
  fallbackMethod: 'GET' | 'POST';
  statusCallback: string | null;
  /**
   * True on the emulator's services (Twilio's API default is false): each number's own SmsUrl
   * applies until a service is told otherwise, which is how the emulator routed inbound before
   * these resources existed.
   */
  useInboundWebhookOnNumber: boolean;
  dateCreated: number;
  dateUpdated: number;
}

export function newIncomingNumber(phoneNumber: string, smsUrl: string | null, now: number): IncomingNumber {
  return {
    sid: sid('PN'),
    phoneNumber,
    friendlyName: phoneNumber,
    smsUrl,
    smsMethod: 'POST',
    smsFallbackUrl: null,
    smsFallbackMethod: 'POST',
    statusCallback: null,
    statusCallbackMethod: 'POST',
    dateCreated: now,
    dateUpdated: now,
  };
}

export function newMessagingService(serviceSid: string, now: number): MessagingService {
  return {
    sid: serviceSid,
    friendlyName: 'smsrelay emulator',
    inboundRequestUrl: null,
    inboundMethod: 'POST',
    fallbackUrl: null,
    fallbackMethod: 'POST',
    statusCallback: null,
    useInboundWebhookOnNumber: true,
    dateCreated: now,
    dateUpdated: now,
  };
}
