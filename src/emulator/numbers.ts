// The account's configuration resources over HTTP: the Account itself, IncomingPhoneNumbers (API
// 2010-04-01) and Messaging Services (Messaging v1); their state is in account-state.ts.
import type { IncomingNumber, MessagingService } from './account-state.js';
import type { Core } from './core.js';
import { notFound, TwilioError } from './errors.js';
import { firstValue, isoSeconds, rfc2822, type Reply } from './util.js';

type Params = Record<string, string | string[]>;

function bad(code: number, message: string): TwilioError {
  return new TwilioError(400, code, message);
}

/** A webhook URL as Twilio takes it: '' clears it; otherwise absolute http(s), at most 4000 characters. */
function urlParam(params: Params, name: string): string | null | undefined {
  const v = firstValue(params[name]);
  if (v === undefined) return undefined;
  if (v === '') return null;
  let ok = v.length <= 4000;
  try {
    const u = new URL(v);
    ok = ok && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    ok = false;
  }
  if (!ok) throw bad(21402, `${name} is not a valid URL: ${v}`);
  return v;
}

function methodParam(params: Params, name: string): 'GET' | 'POST' | undefined {
  const v = firstValue(params[name]);
  if (v === undefined) return undefined;
  const m = v.toUpperCase();
  if (m !== 'GET' && m !== 'POST') throw bad(21403, `${name} must be GET or POST`);
  return m;
}

function boolParam(params: Params, name: string): boolean | undefined {
  const v = firstValue(params[name]);
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  throw bad(20001, `${name} must be true or false`);
}

export class NumbersApi {
  private readonly prefix: string;

  constructor(private readonly core: Core) {
    this.prefix = `/2010-04-01/Accounts/${core.accountSid}`;
  }

  /** GET /2010-04-01/Accounts/{Sid}.json: the one account these credentials open. */
  fetchAccount(): Reply {
    const c = this.core;
    const created = rfc2822(c.startedAt);
    return {
      status: 200,
      body: {
        auth_token: c.authToken,
        date_created: created,
        date_updated: created,
        friendly_name: 'smsrelay emulator',
        owner_account_sid: c.accountSid,
        sid: c.accountSid,
        status: 'active',
        subresource_uris: {
          incoming_phone_numbers: `${this.prefix}/IncomingPhoneNumbers.json`,
          messages: `${this.prefix}/Messages.json`,
        },
        type: 'Full',
        uri: `${this.prefix}.json`,
      },
    };
  }

  /** PhoneNumber filter: digits and '*' wildcards, matched anywhere in the number (Twilio's partial match). */
  list(query: Params): Reply {
    const pageSize = Math.min(1000, Math.max(1, Math.floor(Number(firstValue(query.PageSize) ?? 50)) || 50));
    const page = Math.max(0, Math.floor(Number(firstValue(query.Page) ?? 0)) || 0);
    const filter = firstValue(query.PhoneNumber);
    const friendly = firstValue(query.FriendlyName);
    let pattern: RegExp | null = null;
    if (filter !== undefined) {
      const digits = filter.replace(/[^0-9*]/g, '');
      pattern = new RegExp(digits.replace(/\*/g, '\\d'));
    }
    const all = [...this.core.phoneNumbers.values()].filter(
      (n) => (pattern === null || pattern.test(n.phoneNumber.slice(1))) && (friendly === undefined || n.friendlyName === friendly),
    );
    const items = all.slice(page * pageSize, (page + 1) * pageSize);
    const q = new URLSearchParams();
    if (friendly !== undefined) q.set('FriendlyName', friendly);
    if (filter !== undefined) q.set('PhoneNumber', filter);
    q.set('PageSize', String(pageSize));
    const base = `${this.prefix}/IncomingPhoneNumbers.json?${q.toString()}`;
    const start = page * pageSize;
    return {
      status: 200,
      body: {
        end: items.length === 0 ? start : start + items.length - 1,
        first_page_uri: `${base}&Page=0`,
        next_page_uri: (page + 1) * pageSize < all.length ? `${base}&Page=${page + 1}` : null,
        page,
        page_size: pageSize,
        previous_page_uri: page > 0 ? `${base}&Page=${page - 1}` : null,
        start,
        uri: `${base}&Page=${page}`,
        incoming_phone_numbers: items.map((n) => this.numberJson(n)),
      },
    };
  }

  fetch(numberSid: string, path: string): Reply {
    return { status: 200, body: this.numberJson(this.find(numberSid, path)) };
  }

  update(numberSid: string, params: Params, path: string): Reply {
    const n = this.find(numberSid, path);
    // Validate everything first so a bad field changes nothing.
    const smsUrl = urlParam(params, 'SmsUrl');
    const smsFallbackUrl = urlParam(params, 'SmsFallbackUrl');
    const statusCallback = urlParam(params, 'StatusCallback');
    const smsMethod = methodParam(params, 'SmsMethod');
    const smsFallbackMethod = methodParam(params, 'SmsFallbackMethod');
    const statusCallbackMethod = methodParam(params, 'StatusCallbackMethod');
    const friendlyName = firstValue(params.FriendlyName);
    if (friendlyName !== undefined && friendlyName.length > 64) throw bad(20001, 'FriendlyName must be at most 64 characters');
    if (smsUrl !== undefined) n.smsUrl = smsUrl;
    if (smsFallbackUrl !== undefined) n.smsFallbackUrl = smsFallbackUrl;
    if (statusCallback !== undefined) n.statusCallback = statusCallback;
    if (smsMethod) n.smsMethod = smsMethod;
    if (smsFallbackMethod) n.smsFallbackMethod = smsFallbackMethod;
    if (statusCallbackMethod) n.statusCallbackMethod = statusCallbackMethod;
    if (friendlyName !== undefined) n.friendlyName = friendlyName;
    n.dateUpdated = this.core.nowMs();
    return { status: 200, body: this.numberJson(n) };
  }

  fetchService(serviceSid: string, base: string): Reply {
    return { status: 200, body: this.serviceJson(this.service(serviceSid), base) };
  }

  updateService(serviceSid: string, params: Params, base: string): Reply {
    const s = this.service(serviceSid);
    const inboundRequestUrl = urlParam(params, 'InboundRequestUrl');
    const fallbackUrl = urlParam(params, 'FallbackUrl');
    const statusCallback = urlParam(params, 'StatusCallback');
    const inboundMethod = methodParam(params, 'InboundMethod');
    const fallbackMethod = methodParam(params, 'FallbackMethod');
    const useOnNumber = boolParam(params, 'UseInboundWebhookOnNumber');
    const friendlyName = firstValue(params.FriendlyName);
    if (friendlyName !== undefined && (friendlyName === '' || friendlyName.length > 64)) throw bad(20001, 'FriendlyName must be 1 to 64 characters');
    if (inboundRequestUrl !== undefined) s.inboundRequestUrl = inboundRequestUrl;
    if (fallbackUrl !== undefined) s.fallbackUrl = fallbackUrl;
    if (statusCallback !== undefined) s.statusCallback = statusCallback;
    if (inboundMethod) s.inboundMethod = inboundMethod;
    if (fallbackMethod) s.fallbackMethod = fallbackMethod;
    if (useOnNumber !== undefined) s.useInboundWebhookOnNumber = useOnNumber;
    if (friendlyName !== undefined) s.friendlyName = friendlyName;
    s.dateUpdated = this.core.nowMs();
    return { status: 200, body: this.serviceJson(s, base) };
  }

  /** Every owned number is in every service's sender pool (Core.pickSender). */
  listServiceNumbers(serviceSid: string, base: string): Reply {
    const s = this.service(serviceSid);
    const url = `${base}/v1/Services/${s.sid}/PhoneNumbers?PageSize=50&Page=0`;
    return {
      status: 200,
      body: {
        phone_numbers: [...this.core.phoneNumbers.values()].map((n) => ({
          sid: n.sid,
          account_sid: this.core.accountSid,
          service_sid: s.sid,
          date_created: isoSeconds(new Date(n.dateCreated)),
          date_updated: isoSeconds(new Date(n.dateUpdated)),
          phone_number: n.phoneNumber,
          country_code: this.core.recipient(n.phoneNumber)?.country ?? null,
          capabilities: ['SMS', 'MMS'],
          url: `${base}/v1/Services/${s.sid}/PhoneNumbers/${n.sid}`,
        })),
        meta: { page: 0, page_size: 50, first_page_url: url, previous_page_url: null, url, next_page_url: null, key: 'phone_numbers' },
      },
    };
  }

  private find(numberSid: string, path: string): IncomingNumber {
    for (const n of this.core.phoneNumbers.values()) if (n.sid === numberSid) return n;
    throw notFound(path);
  }

  private service(serviceSid: string): MessagingService {
    const s = this.core.services.get(serviceSid);
    if (!s) throw notFound(`/v1/Services/${serviceSid}`);
    return s;
  }

  private numberJson(n: IncomingNumber): unknown {
    return {
      account_sid: this.core.accountSid,
      address_sid: null,
      address_requirements: 'none',
      api_version: '2010-04-01',
      beta: false,
      // Emulated numbers take SMS and MMS; the emulator has no voice.
      capabilities: { voice: false, sms: true, mms: true, fax: false },
      date_created: rfc2822(n.dateCreated),
      date_updated: rfc2822(n.dateUpdated),
      friendly_name: n.friendlyName,
      identity_sid: null,
      phone_number: n.phoneNumber,
      origin: 'twilio',
      sid: n.sid,
      // Twilio answers '' for an application or URL that was never set.
      sms_application_sid: '',
      sms_fallback_method: n.smsFallbackMethod,
      sms_fallback_url: n.smsFallbackUrl ?? '',
      sms_method: n.smsMethod,
      sms_url: n.smsUrl ?? '',
      status_callback: n.statusCallback ?? '',
      status_callback_method: n.statusCallbackMethod,
      trunk_sid: null,
      uri: `${this.prefix}/IncomingPhoneNumbers/${n.sid}.json`,
      voice_receive_mode: 'voice',
      voice_application_sid: '',
      voice_caller_id_lookup: false,
      voice_fallback_method: 'POST',
      voice_fallback_url: null,
      voice_method: 'POST',
      voice_url: null,
      emergency_status: 'Inactive',
      emergency_address_sid: null,
      emergency_address_status: 'unregistered',
      bundle_sid: null,
      status: 'in-use',
      type: 'local',
    };
  }

  private serviceJson(s: MessagingService, base: string): unknown {
    const url = `${base}/v1/Services/${s.sid}`;
    return {
      sid: s.sid,
      account_sid: this.core.accountSid,
      friendly_name: s.friendlyName,
      date_created: isoSeconds(new Date(s.dateCreated)),
      date_updated: isoSeconds(new Date(s.dateUpdated)),
      inbound_request_url: s.inboundRequestUrl,
      inbound_method: s.inboundMethod,
      fallback_url: s.fallbackUrl,
      fallback_method: s.fallbackMethod,
      status_callback: s.statusCallback,
      sticky_sender: true,
      mms_converter: true,
      smart_encoding: false,
      scan_message_content: 'inherit',
      fallback_to_long_code: false,
      area_code_geomatch: false,
      synchronous_validation: true,
      validity_period: 36_000,
      url,
      links: { phone_numbers: `${url}/PhoneNumbers` },
      usecase: 'undeclared',
      us_app_to_person_registered: false,
      use_inbound_webhook_on_number: s.useInboundWebhookOnNumber,
    };
  }
}
