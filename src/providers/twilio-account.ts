// The account's configuration through the official client: the Account, IncomingPhoneNumbers and
// Messaging Services (what `smsrelay twilio connect` changes and `smsrelay doctor` checks).
import twilio from 'twilio';
import type { IncomingPhoneNumberInstance } from 'twilio/lib/rest/api/v2010/account/incomingPhoneNumber.js';
import type { ServiceInstance } from 'twilio/lib/rest/messaging/v1/service.js';
import type { AccountInfo, AccountMessagingService, AccountNumber, TwilioAccountAdmin } from '../ports.js';
import { classify } from './twilio-errors.js';
import { TwilioHttpClient } from './twilio-http.js';

export interface TwilioAccountOptions {
  accountSid: string;
  authToken: string;
  /** Sends every call to this origin instead of Twilio's hosts: the emulator. */
  apiBaseUrl?: string | null;
  timeoutMs?: number;
}

// Twilio answers '' for a URL that was never set.
const orNull = (s: string | null | undefined): string | null => (s ? s : null);

function toNumber(n: IncomingPhoneNumberInstance): AccountNumber {
  return {
    sid: n.sid,
    phoneNumber: n.phoneNumber,
    smsUrl: orNull(n.smsUrl),
    smsMethod: orNull(n.smsMethod),
    statusCallback: orNull(n.statusCallback),
    capabilities: { sms: n.capabilities?.sms === true, mms: n.capabilities?.mms === true },
  };
}

function toService(s: ServiceInstance): AccountMessagingService {
  return {
    sid: s.sid,
    friendlyName: s.friendlyName ?? null,
    inboundRequestUrl: orNull(s.inboundRequestUrl),
    statusCallback: orNull(s.statusCallback),
    useInboundWebhookOnNumber: s.useInboundWebhookOnNumber === true,
  };
}

/** A 404 of a fetch is "no such resource", not a failure. */
async function orNotFound<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    const c = classify(e);
    if (c.httpStatus === 404) return null;
    throw c;
  }
}

export class TwilioAccount implements TwilioAccountAdmin {
  private readonly http: TwilioHttpClient;
  private readonly client: twilio.Twilio;

  constructor(private readonly opts: TwilioAccountOptions) {
    this.http = new TwilioHttpClient(opts.apiBaseUrl ?? null, { timeoutMs: opts.timeoutMs ?? 10_000, maxSockets: 4 });
    this.client = twilio(opts.accountSid, opts.authToken, { httpClient: this.http, autoRetry: false });
  }

  async fetchAccount(): Promise<AccountInfo> {
    try {
      const a = await this.client.api.v2010.accounts(this.opts.accountSid).fetch();
      return { sid: a.sid, status: a.status, type: a.type ?? null, friendlyName: a.friendlyName ?? null, serverDate: this.http.lastDate };
    } catch (e) {
      throw classify(e);
    }
  }

  async findNumber(phoneNumber: string): Promise<AccountNumber | null> {
    try {
      // The PhoneNumber filter matches partially: keep the exact one.
      const rows = await this.client.incomingPhoneNumbers.list({ phoneNumber, limit: 50 });
      const n = rows.find((r) => r.phoneNumber === phoneNumber);
      return n ? toNumber(n) : null;
    } catch (e) {
      throw classify(e);
    }
  }

  async updateNumber(sid: string, urls: { smsUrl: string; smsMethod: 'POST'; statusCallback: string }): Promise<AccountNumber> {
    try {
      // Through the context: instances from list() carry no sid of their own in twilio-node.
      return toNumber(await this.client.incomingPhoneNumbers(sid).update(urls));
    } catch (e) {
      throw classify(e);
    }
  }

  async fetchService(sid: string): Promise<AccountMessagingService | null> {
    const s = await orNotFound(this.client.messaging.v1.services(sid).fetch());
    return s ? toService(s) : null;
  }

  async updateService(sid: string, urls: { inboundRequestUrl: string; statusCallback: string }): Promise<AccountMessagingService> {
    try {
      return toService(await this.client.messaging.v1.services(sid).update(urls));
    } catch (e) {
      throw classify(e);
    }
  }
}
