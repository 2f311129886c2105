// Verify v2: Services, Verifications and VerificationCheck with Twilio's limits (docs/twilio-reference.md §11):
// codes live 10 minutes, a resend inside that window keeps the code, 5 sends and 5 failed checks
// per verification, approved/canceled/expired verifications are gone (404 20404).
import { randomInt } from 'node:crypto';
import type { Core } from './core.js';
import type { Service, Verification, VerifyState } from './verify-state.js';
import { notFound, TwilioError } from './errors.js';
import { firstValue, isoSeconds, sid, type Reply } from './util.js';

const TTL_MS = 10 * 60 * 1000;
const MAX_SENDS = 5;
const MAX_CHECKS = 5;
const CHANNELS = new Set(['sms', 'call', 'email', 'whatsapp', 'sna']);
/** Verifications nobody checks stay until they expire; past this many, expired ones are dropped. */
const SWEEP_AT = 10_000;

function invalidParameter(name: string): TwilioError {
  return new TwilioError(400, 60200, `Invalid parameter: ${name}`);
}

function bool(v: string | string[] | undefined, dflt: boolean): boolean {
  const s = firstValue(v);
  return s === undefined ? dflt : s === 'true';
}

/** Upper-case channel names as in Twilio's send_code_attempts examples, except WhatsApp. */
function attemptChannel(channel: string): string {
  return channel === 'whatsapp' ? channel : channel.toUpperCase();
}

export class VerifyApi {
  constructor(private readonly core: Core) {}

  private get state(): VerifyState {
    return this.core.verify;
  }

  createService(params: Record<string, string | string[]>, base: string): Reply {
    const name = firstValue(params.FriendlyName);
    if (!name || name.length > 32) throw invalidParameter('FriendlyName');
    let codeLength = 6;
    const cl = firstValue(params.CodeLength);
    if (cl !== undefined) {
      codeLength = Number(cl);
      if (!Number.isInteger(codeLength) || codeLength < 4 || codeLength > 10) throw invalidParameter('CodeLength');
    }
    const now = this.core.now();
    const s: Service = {
      sid: sid('VA'),
      friendlyName: name,
      codeLength,
      lookupEnabled: bool(params.LookupEnabled, false),
      skipSmsToLandlines: bool(params.SkipSmsToLandlines, false),
      dtmfInputRequired: bool(params.DtmfInputRequired, true),
      ttsName: firstValue(params.TtsName) ?? null,
      psd2Enabled: bool(params.Psd2Enabled, false),
      doNotShareWarningEnabled: bool(params.DoNotShareWarningEnabled, false),
      customCodeEnabled: bool(params.CustomCodeEnabled, false),
      dateCreated: now,
      dateUpdated: now,
    };
    this.state.services.set(s.sid, s);
    return { status: 201, body: this.serviceJson(s, base) };
  }

  fetchService(serviceSid: string, base: string): Reply {
    return { status: 200, body: this.serviceJson(this.service(serviceSid), base) };
  }

  listServices(base: string): Reply {
    const url = `${base}/v2/Services?PageSize=50&Page=0`;
    return {
      status: 200,
      body: {
        services: [...this.state.services.values()].map((s) => this.serviceJson(s, base)),
        meta: { page: 0, page_size: 50, first_page_url: url, previous_page_url: null, url, next_page_url: null, key: 'services' },
      },
    };
  }

  createVerification(serviceSid: string, params: Record<string, string | string[]>, base: string): Reply {
    const service = this.service(serviceSid);
    const rawTo = firstValue(params.To);
    const channel = firstValue(params.Channel);
    if (!rawTo) throw invalidParameter('To');
    if (!channel || !CHANNELS.has(channel)) throw invalidParameter('Channel');
    let to = rawTo;
    let landline = false;
    if (channel === 'email') {
      if (!/^[^@\s]+@[^@\s]+$/.test(rawTo)) throw invalidParameter('To');
    } else {
      const r = rawTo.startsWith('+') ? this.core.recipient(rawTo) : null;
      if (!r) throw invalidParameter('To');
      to = r.e164;
      landline = r.type === 'FIXED_LINE';
    }
    if ((channel === 'sms' || channel === 'whatsapp') && landline) {
      throw new TwilioError(403, 60205, 'SMS is not supported by landline phone number');
    }
    const customCode = firstValue(params.CustomCode);
    if (customCode !== undefined && (!service.customCodeEnabled || !/^[0-9A-Za-z]{4,10}$/.test(customCode))) {
      throw invalidParameter('CustomCode');
    }
    const now = this.core.now();
    if (this.state.bySid.size >= SWEEP_AT) for (const x of this.state.bySid.values()) this.alive(x);
    const key = serviceSid + '|' + to;
    let v = this.alive(this.state.live.get(key));
    // A locked-out verification (5 failed checks) stays locked until it expires, even on resend.
    if (v && (v.status === 'pending' || v.status === 'max_attempts_reached')) {
      if (v.sends.length >= MAX_SENDS) throw new TwilioError(429, 60203, 'Max send attempts reached');
      v.channel = channel;
      v.dateUpdated = now;
    } else {
      v = {
        sid: sid('VE'),
        serviceSid,
        to,
        channel,
        status: 'pending',
        code: customCode ?? randomCode(service.codeLength),
        sends: [],
        failedChecks: 0,
        dateCreated: now,
        dateUpdated: now,
        expiresAt: now.getTime() + TTL_MS,
      };
      this.state.live.set(key, v);
      this.state.bySid.set(v.sid, v);
    }
    v.sends.push({ time: isoSeconds(now), channel: attemptChannel(channel), attempt_sid: sid('VL') });
    this.deliver(service, v);
    return { status: 201, body: this.verificationJson(v, base) };
  }

  fetchVerification(serviceSid: string, ref: string, base: string): Reply {
    this.service(serviceSid);
    return { status: 200, body: this.verificationJson(this.find(serviceSid, ref, `/Services/${serviceSid}/Verifications/${ref}`), base) };
  }

  updateVerification(serviceSid: string, ref: string, params: Record<string, string | string[]>, base: string): Reply {
    this.service(serviceSid);
    const status = firstValue(params.Status);
    if (status !== 'canceled' && status !== 'approved') throw invalidParameter('Status');
    const v = this.find(serviceSid, ref, `/Services/${serviceSid}/Verifications/${ref}`);
    this.settle(v, status);
    return { status: 200, body: this.verificationJson(v, base) };
  }

  check(serviceSid: string, params: Record<string, string | string[]>): Reply {
    this.service(serviceSid);
    const code = firstValue(params.Code);
    const verificationSid = firstValue(params.VerificationSid);
    const rawTo = firstValue(params.To);
    if (!code || code.length < 4 || code.length > 10) throw invalidParameter('Code');
    if (!verificationSid && !rawTo) throw invalidParameter('To');
    const path = `/Services/${serviceSid}/VerificationCheck`;
    const v = verificationSid ? this.find(serviceSid, verificationSid, path) : this.find(serviceSid, rawTo!, path);
    if (v.status === 'max_attempts_reached') throw new TwilioError(429, 60202, 'Max check attempts reached');
    if (code === v.code) {
      this.settle(v, 'approved');
    } else {
      v.failedChecks++;
      v.dateUpdated = this.core.now();
      if (v.failedChecks >= MAX_CHECKS) v.status = 'max_attempts_reached';
    }
    return {
      status: 200,
      body: {
        sid: v.sid,
        service_sid: v.serviceSid,
        account_sid: this.core.accountSid,
        to: v.to,
        channel: v.channel,
        status: v.status === 'approved' ? 'approved' : 'pending',
        valid: v.status === 'approved',
        amount: null,
        payee: null,
        date_created: isoSeconds(v.dateCreated),
        date_updated: isoSeconds(v.dateUpdated),
        sna_attempts_error_codes: [],
      },
    };
  }

  private service(serviceSid: string): Service {
    const s = this.state.services.get(serviceSid);
    if (!s) throw notFound(`/Services/${serviceSid}`);
    return s;
  }

  /** Pending or locked-out verification by VE sid or by recipient; anything settled is gone. */
  private find(serviceSid: string, ref: string, path: string): Verification {
    let v: Verification | undefined;
    if (/^VE[0-9a-f]{32}$/.test(ref)) {
      v = this.state.bySid.get(ref);
      if (v && v.serviceSid !== serviceSid) v = undefined;
    } else {
      const r = this.core.recipient(ref);
      v = this.state.live.get(serviceSid + '|' + (r ? r.e164 : ref));
    }
    v = this.alive(v);
    if (!v || (v.status !== 'pending' && v.status !== 'max_attempts_reached')) throw notFound(path);
    return v;
  }

  private alive(v: Verification | undefined): Verification | undefined {
    if (v && (v.status === 'pending' || v.status === 'max_attempts_reached') && this.core.now().getTime() >= v.expiresAt) {
      this.settle(v, 'expired');
    }
    return v;
  }

  private settle(v: Verification, status: 'approved' | 'canceled' | 'expired'): void {
    v.status = status;
    v.dateUpdated = this.core.now();
    const key = v.serviceSid + '|' + v.to;
    if (this.state.live.get(key) === v) this.state.live.delete(key);
    this.state.bySid.delete(v.sid);
  }

  /** The code reaches the simulated handset's inbox as an SMS (or WhatsApp) message. */
  private deliver(service: Service, v: Verification): void {
    if (v.channel !== 'sms' && v.channel !== 'whatsapp') return;
    const r = this.core.recipient(v.to);
    const prefix = v.channel === 'whatsapp' ? 'whatsapp:' : '';
    this.core.createOutbound({
      to: prefix + v.to,
      from: prefix + this.core.numbers[0]!,
      messagingServiceSid: null,
      body: `Your ${service.friendlyName} verification code is: ${v.code}`,
      media: [],
      statusCallback: null,
      validityPeriod: 36_000,
      sendAt: null,
      direction: 'outbound-api',
      source: 'verify',
      counted: false,
      country: r?.country,
      lineType: r?.type,
    });
  }

  private serviceJson(s: Service, base: string): unknown {
    const url = `${base}/v2/Services/${s.sid}`;
    return {
      sid: s.sid,
      account_sid: this.core.accountSid,
      friendly_name: s.friendlyName,
      code_length: s.codeLength,
      lookup_enabled: s.lookupEnabled,
      psd2_enabled: s.psd2Enabled,
      skip_sms_to_landlines: s.skipSmsToLandlines,
      dtmf_input_required: s.dtmfInputRequired,
      tts_name: s.ttsName,
      do_not_share_warning_enabled: s.doNotShareWarningEnabled,
      custom_code_enabled: s.customCodeEnabled,
      push: { include_date: false, apn_credential_sid: null, fcm_credential_sid: null },
      totp: { issuer: s.friendlyName, time_step: 30, code_length: 6, skew: 1 },
      default_template_sid: null,
      whatsapp: { msg_service_sid: null, from: null },
      passkeys: null,
      verify_event_subscription_enabled: false,
      date_created: isoSeconds(s.dateCreated),
      date_updated: isoSeconds(s.dateUpdated),
      url,
      links: {
        verification_checks: `${url}/VerificationCheck`,
        verifications: `${url}/Verifications`,
        rate_limits: `${url}/RateLimits`,
        messaging_configurations: `${url}/MessagingConfigurations`,
        entities: `${url}/Entities`,
        webhooks: `${url}/Webhooks`,
        access_tokens: `${url}/AccessTokens`,
      },
    };
  }

  private verificationJson(v: Verification, base: string): unknown {
    return {
      sid: v.sid,
      service_sid: v.serviceSid,
      account_sid: this.core.accountSid,
      to: v.to,
      channel: v.channel,
      status: v.status,
      valid: v.status === 'approved',
      lookup: {},
      amount: null,
      payee: null,
      send_code_attempts: v.sends.map((a) => ({ ...a })),
      date_created: isoSeconds(v.dateCreated),
      date_updated: isoSeconds(v.dateUpdated),
      sna: null,
      url: `${base}/v2/Services/${v.serviceSid}/Verifications/${v.sid}`,
    };
  }
}

function randomCode(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String(randomInt(10));
  return s;
}
