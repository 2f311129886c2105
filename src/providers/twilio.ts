import twilio from 'twilio';
import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message.js';
import { TwilioHttpClient } from './twilio-http.js';
import { classify } from './twilio-errors.js';
import { twilioVerify } from './twilio-verify.js';
import { TwilioAccount } from './twilio-account.js';
import type { AccountCheck, LookupProvider, Provider, ProviderListQuery, ProviderMessage, ProviderSendRequest, VerifyProvider } from '../ports.js';

export interface TwilioProviderOptions {
  accountSid: string;
  authToken: string;
  /** Sends every Twilio API call (api., verify., lookups. hosts) to this origin instead: the emulator. */
  apiBaseUrl?: string | null;
  timeoutMs?: number;
  maxSockets?: number;
}

function toProviderMessage(m: MessageInstance): ProviderMessage {
  return {
    sid: m.sid,
    status: m.status,
    to: m.to,
    from: m.from ?? null,
    body: m.body ?? null,
    dateCreated: m.dateCreated ?? null,
    dateSent: m.dateSent ?? null,
    errorCode: m.errorCode ?? null,
    errorMessage: m.errorMessage ?? null,
    price: m.price ?? null,
    priceUnit: m.priceUnit ?? null,
    numSegments: m.numSegments === undefined || m.numSegments === null ? null : Number(m.numSegments),
  };
}

export class TwilioProvider implements Provider {
  readonly name = 'twilio';
  private readonly client: twilio.Twilio;
  /** Twilio Verify on the same account and HTTP client. */
  readonly verify: VerifyProvider;

  constructor(opts: TwilioProviderOptions) {
    const timeout = opts.timeoutMs ?? 15_000;
    this.client = twilio(opts.accountSid, opts.authToken, {
      httpClient: new TwilioHttpClient(opts.apiBaseUrl ?? null, { timeoutMs: timeout, maxSockets: opts.maxSockets ?? 64 }),
      autoRetry: false,
    });
    this.verify = twilioVerify(this.client);
  }

  readonly lookup: LookupProvider = {
    lineType: async (e164) => {
      try {
        const r = await this.client.lookups.v2.phoneNumbers(e164).fetch({ fields: 'line_type_intelligence' });
        const l = r.lineTypeIntelligence ?? {};
        return {
          type: l.type ?? null,
          carrier_name: l.carrierName ?? null,
          mobile_country_code: l.mobileCountryCode ?? null,
          mobile_network_code: l.mobileNetworkCode ?? null,
          error_code: l.errorCode ?? null,
        };
      } catch (e) {
        throw classify(e);
      }
    },
  };

  /** The underlying client, for features beyond the ports (Lookup; tests creating Verify services). */
  get twilio(): twilio.Twilio {
    return this.client;
  }

  async send(req: ProviderSendRequest): Promise<ProviderMessage> {
    try {
      const m = await this.client.messages.create({
        to: req.to,
        ...(req.from ? { from: req.from } : {}),
        ...(req.messagingServiceSid ? { messagingServiceSid: req.messagingServiceSid } : {}),
        ...(req.body ? { body: req.body } : {}),
        ...(req.mediaUrls?.length ? { mediaUrl: req.mediaUrls } : {}),
        ...(req.statusCallback ? { statusCallback: req.statusCallback } : {}),
        ...(req.validityPeriod ? { validityPeriod: req.validityPeriod } : {}),
        ...(req.attempt ? { attempt: req.attempt } : {}),
      });
      return toProviderMessage(m);
    } catch (e) {
      throw classify(e);
    }
  }

  async fetch(sid: string): Promise<ProviderMessage | null> {
    try {
      return toProviderMessage(await this.client.messages(sid).fetch());
    } catch (e) {
      const c = classify(e);
      if (c.httpStatus === 404) return null;
      throw c;
    }
  }

  async list(q: ProviderListQuery): Promise<ProviderMessage[]> {
    try {
      // Not filtered by DateSent: a message still queued at Twilio has no date_sent yet and would be
      // missed, and a missed message means a duplicate SMS. Newest first, so 200 rows reach far back.
      const rows = await this.client.messages.list({ to: q.to, ...(q.from ? { from: q.from } : {}), limit: 200 });
      return rows.map(toProviderMessage).filter((m) => !m.dateCreated || m.dateCreated.getTime() >= q.sentAfter.getTime() - 60_000);
    } catch (e) {
      throw classify(e);
    }
  }
}

/** Checks credentials by fetching their account (GET /2010-04-01/Accounts/{Sid}.json). */
export function twilioAccountCheck(apiBaseUrl: () => string | null, timeoutMs = 10_000): AccountCheck {
  return (accountSid, authToken) => new TwilioAccount({ accountSid, authToken, apiBaseUrl: apiBaseUrl(), timeoutMs }).fetchAccount();
}
