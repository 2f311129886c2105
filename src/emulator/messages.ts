// Messages resource of API 2010-04-01 (docs/twilio-reference.md §2): create with Twilio's synchronous
// validation and magic test numbers (§10), fetch, list with Twilio's paging envelope, update
// (cancel / redact) and delete.
import type { Core } from './core.js';
import { notFound, TwilioError } from './errors.js';
import type { Msg } from './store.js';
import { allValues, firstValue, rfc2822, type Reply } from './util.js';

const MG_SID = /^MG[0-9a-fA-F]{32}$/;
const MEDIA_URL = /^https?:\/\/[^\s]+$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DAY_MS = 86_400_000;
const MIN_SCHEDULE_MS = 300_000;
const MAX_SCHEDULE_MS = 35 * DAY_MS;

// docs/twilio-reference.md §10: magic From numbers (+15005550006 always passes) and magic To numbers.
const MAGIC_FROM = new Map<string, [number, string]>(
  Object.entries({
    '+15005550001': [21212, "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID."],
    '+15005550007': [21606, 'The From phone number +15005550007 is not a valid, SMS-capable inbound phone number or short code for your account.'],
    '+15005550008': [21611, "This 'From' number has exceeded the maximum number of queued messages"],
  }),
);
const MAGIC_TO = new Map<string, [number, string]>(
  Object.entries({
    '+15005550001': [21211, "The 'To' number +15005550001 is not a valid phone number."],
    '+15005550002': [21612, "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS."],
    '+15005550003': [21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003."],
    '+15005550004': [21610, 'Attempt to send to unsubscribed recipient'],
    '+15005550009': [21614, "'To' number +15005550009 is not a valid mobile number"],
  }),
);
const MAGIC_OK_FROM = '+15005550006';

function bad(code: number, message: string, status = 400): TwilioError {
  return new TwilioError(status, code, message);
}

export class MessagesApi {
  private readonly prefix: string;
  private lastCallback = '';

  constructor(private readonly core: Core) {
    this.prefix = `/2010-04-01/Accounts/${core.accountSid}/Messages`;
  }

  /**
   * The Message resource as JSON text, built by hand: the create answer is the hot path and only
   * free text needs JSON.stringify (SIDs, dates, enums and numbers cannot need escaping).
   */
  json(m: Msg): string {
    const uri = this.prefix + '/' + m.sid;
    // A Messaging Service has not picked a sender yet, so Twilio cannot count segments (spec note).
    const segments = m.messagingServiceSid !== null && (m.status === 'accepted' || m.status === 'scheduled') ? 0 : m.segments;
    return (
      `{"account_sid":"${this.core.accountSid}","api_version":"2010-04-01","body":${JSON.stringify(m.body)}` +
      `,"date_created":"${rfc2822(m.dateCreated)}","date_sent":${m.dateSent === null ? 'null' : `"${rfc2822(m.dateSent)}"`}` +
      `,"date_updated":"${rfc2822(m.dateUpdated)}","direction":"${m.direction}","error_code":${m.errorCode ?? 'null'}` +
      `,"error_message":${text(m.errorMessage)},"from":${text(m.from)},"messaging_service_sid":${text(m.messagingServiceSid)}` +
      `,"num_media":"${m.media.length}","num_segments":"${segments}","price":${text(m.price)},"price_unit":${text(m.priceUnit)}` +
      `,"sid":"${m.sid}","status":"${m.status}","subresource_uris":{"media":"${uri}/Media.json"}` +
      `,"to":${JSON.stringify(m.to)},"uri":"${uri}.json"}`
    );
  }

  create(params: Record<string, string | string[]>): Reply {
    const core = this.core;
    const to = firstValue(params.To);
    if (!to) throw bad(21604, "A 'To' phone number is required.");
    const fromRaw = firstValue(params.From) || null;
    const ms = firstValue(params.MessagingServiceSid) || null;
    if (!fromRaw && !ms) throw bad(21603, "A 'From' phone number is required.");
    if (ms !== null) {
      if (!MG_SID.test(ms)) throw bad(21705, `The Messaging Service Sid ${ms} is invalid.`);
      if (!core.msSet.has(ms)) throw bad(21701, `The Messaging Service ${ms} does not exist`, 404);
    }
    let from = fromRaw;
    if (fromRaw !== null) {
      const magic = MAGIC_FROM.get(fromRaw);
      if (magic) throw bad(magic[0], magic[1]);
      const number = fromRaw.startsWith('whatsapp:') ? fromRaw.slice(9) : fromRaw;
      if (number !== MAGIC_OK_FROM && !core.owned.has(number) && !core.senderIds.has(fromRaw)) {
        throw bad(21606, `The From phone number ${fromRaw} is not a valid, SMS-capable inbound phone number or short code for your account.`);
      }
      from = core.owned.get(fromRaw) ?? fromRaw;
    }
    const magicTo = MAGIC_TO.get(to);
    if (magicTo) throw bad(magicTo[0], magicTo[1]);
    const r = core.recipient(to);
    if (!r) throw bad(21211, `The 'To' number ${to} is not a valid phone number.`);
    if (fromRaw === r.address) throw bad(21266, `'To' and 'From' number cannot be the same: ${to}`);
    const body = firstValue(params.Body) ?? '';
    const media = allValues(params.MediaUrl);
    if (!body && media.length === 0 && !firstValue(params.ContentSid)) throw bad(21602, 'Message body is required.');
    if (body.length > 1600) throw bad(21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (media.length > 10) throw bad(21623, 'The number of media URLs exceeds the maximum allowed. You may send up to 10 media files in a single message.');
    for (const u of media) if (!MEDIA_URL.test(u)) throw bad(21620, `Invalid media URL(s): ${u}`);
    const explicitCallback = firstValue(params.StatusCallback) || null;
    if (explicitCallback !== null) this.checkCallback(explicitCallback);
    const validityPeriod = this.validity(firstValue(params.ValidityPeriod));
    const sendAt = this.schedule(firstValue(params.ScheduleType), firstValue(params.SendAt), ms);
    if (core.isOptedOut(from, r.address)) throw bad(21610, 'Attempt to send to unsubscribed recipient');
    if (from !== null && core.queueFull(from)) throw bad(21611, "This 'From' number has exceeded the maximum number of queued messages");
    const m = core.createOutbound({
      to: r.address,
      from,
      messagingServiceSid: ms,
      body,
      media,
      statusCallback: explicitCallback ?? core.statusCallbackFor(ms),
      validityPeriod,
      sendAt,
      direction: 'outbound-api',
      source: 'api',
      counted: true,
      country: r.country,
      lineType: r.type,
    });
    return { status: 201, json: this.json(m) };
  }

  fetch(sid: string, path: string): Reply {
    return { status: 200, json: this.json(this.find(sid, path)) };
  }

  update(sid: string, params: Record<string, string | string[]>, path: string): Reply {
    const m = this.find(sid, path);
    const body = firstValue(params.Body);
    const status = firstValue(params.Status);
    if ((body === undefined) === (status === undefined)) throw bad(30400, 'Parameters are not valid: give either Body (empty, to redact) or Status=canceled');
    if (status !== undefined) {
      if (status !== 'canceled') throw bad(30400, `Parameters are not valid: Status ${status}`);
      if (m.status !== 'scheduled') throw bad(30409, 'This message cannot be canceled', 409);
      this.core.cancel(m);
    } else {
      if (body !== '') throw bad(30400, 'Parameters are not valid: Body must be empty to redact a message');
      m.body = '';
      m.dateUpdated = this.core.nowMs();
    }
    return { status: 200, json: this.json(m) };
  }

  delete(sid: string, path: string): Reply {
    const m = this.find(sid, path);
    if (!this.core.isFinal(m)) throw bad(20009, 'Cannot delete this resource before it is complete', 409);
    this.core.store.remove(m);
    return { status: 204 };
  }

  list(query: Record<string, string | string[]>): Reply {
    const to = firstValue(query.To);
    const from = firstValue(query.From);
    const on = dayRange(firstValue(query.DateSent), 'DateSent');
    const before = dayRange(firstValue(query['DateSent<']), 'DateSent<');
    const after = dayRange(firstValue(query['DateSent>']), 'DateSent>');
    const pageSize = Math.min(1000, Math.max(1, Math.floor(Number(firstValue(query.PageSize) ?? 50)) || 50));
    const page = Math.max(0, Math.floor(Number(firstValue(query.Page) ?? 0)) || 0);
    const token = firstValue(query.PageToken) ?? '';
    const matches = (m: Msg): boolean => {
      if (m.deleted || m.source === 'verify') return false;
      if (to !== undefined && m.to !== to) return false;
      if (from !== undefined && m.from !== from) return false;
      if (on || before || after) {
        if (m.dateSent === null) return false;
        const t = m.dateSent;
        if (on && (t < on[0] || t >= on[1])) return false;
        if (before && t >= before[1]) return false;
        if (after && t < after[0]) return false;
      }
      return true;
    };
    // Pages run newest first. PA<seq>: the page after (older than) seq; PB<seq>: the page before.
    let items: Msg[] = [];
    let hasNext = false;
    if (token.startsWith('PB')) {
      const limit = Number(token.slice(2));
      const newer: Msg[] = [];
      this.core.store.scanNewest((m) => {
        if (m.seq <= limit) return false;
        if (matches(m)) newer.push(m);
      });
      items = newer.slice(-pageSize);
      hasNext = true;
    } else {
      const limit = token.startsWith('PA') ? Number(token.slice(2)) : Infinity;
      this.core.store.scanNewest((m) => {
        if (m.seq >= limit || !matches(m)) return;
        if (items.length === pageSize) {
          hasNext = true;
          return false;
        }
        items.push(m);
      });
    }
    const filter: [string, string | undefined][] = [
      ['To', to],
      ['From', from],
      ['DateSent', firstValue(query.DateSent)],
      ['DateSent<', firstValue(query['DateSent<'])],
      ['DateSent>', firstValue(query['DateSent>'])],
    ];
    let base = '';
    for (const [k, v] of filter) if (v !== undefined) base += `${encodeURIComponent(k)}=${encodeURIComponent(v)}&`;
    base = `${this.prefix}.json?${base}PageSize=${pageSize}`;
    const first = items[0];
    const last = items[items.length - 1];
    const start = page * pageSize;
    const previous = page > 0 && first ? `${base}&Page=${page - 1}&PageToken=PB${first.seq}` : null;
    const next = hasNext && last ? `${base}&Page=${page + 1}&PageToken=PA${last.seq}` : null;
    const uri = `${base}&Page=${page}${token ? `&PageToken=${encodeURIComponent(token)}` : ''}`;
    return {
      status: 200,
      json:
        `{"first_page_uri":${JSON.stringify(`${base}&Page=0`)},"end":${items.length === 0 ? start : start + items.length - 1}` +
        `,"previous_page_uri":${text(previous)},"messages":[${items.map((m) => this.json(m)).join(',')}]` +
        `,"uri":${JSON.stringify(uri)},"page_size":${pageSize},"start":${start},"next_page_uri":${text(next)},"page":${page}}`,
    };
  }

  /** The media redirect target of an inbound message, or null. */
  mediaUrl(messageSid: string, mediaSid: string): string | null {
    const m = this.core.store.get(messageSid);
    if (!m || m.deleted) return null;
    const i = m.mediaSids.indexOf(mediaSid);
    return i === -1 ? null : (m.media[i] ?? null);
  }

  private find(sid: string, path: string): Msg {
    const m = this.core.store.get(sid);
    if (!m || m.source === 'verify') throw notFound(path);
    return m;
  }

  private checkCallback(url: string): void {
    if (url === this.lastCallback) return;
    const hash = url.indexOf('#');
    let ok = url.length <= 4000;
    try {
      const u = new URL(hash === -1 ? url : url.slice(0, hash));
      ok = ok && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !u.hostname.includes('_');
    } catch {
      ok = false;
    }
    if (!ok) throw bad(21609, `The StatusCallback URL ${url} is not a valid URL.`);
    this.lastCallback = url;
  }

  private validity(v: string | undefined): number {
    if (v === undefined) return 36_000;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 36_000) throw bad(21624, 'Invalid validity period value: ValidityPeriod must be an integer from 1 to 36000 seconds');
    return n;
  }

  private schedule(scheduleType: string | undefined, sendAt: string | undefined, ms: string | null): Date | null {
    if (scheduleType === undefined && sendAt === undefined) return null;
    if (scheduleType !== 'fixed') throw bad(35126, 'The ScheduleType value provided is not supported for this channel');
    if (!sendAt) throw bad(35111, "SendAt timestamp is missing: you must indicate SendAt if ScheduleType is 'fixed'");
    if (ms === null) throw bad(35118, 'MessagingServiceSid is required to schedule a message');
    const t = ISO_DATE_TIME.test(sendAt) ? Date.parse(sendAt) : NaN;
    if (Number.isNaN(t)) throw bad(35114, 'Scheduling does not support this timestamp');
    const delta = t - this.core.nowMs();
    if (delta <= MIN_SCHEDULE_MS || delta > MAX_SCHEDULE_MS) {
      throw bad(35115, 'SendAt time must be more than 300 seconds and at most 35 days (3024000 seconds) in the future');
    }
    return new Date(t);
  }
}

function text(v: string | null): string {
  return v === null ? 'null' : JSON.stringify(v);
}

/** [start, end) of a DateSent filter: a whole UTC day for YYYY-MM-DD, one instant for a date-time. */
function dayRange(v: string | undefined, name: string): [number, number] | null {
  if (v === undefined) return null;
  if (DAY.test(v)) {
    const start = Date.parse(v + 'T00:00:00Z');
    if (!Number.isNaN(start)) return [start, start + DAY_MS];
  } else {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return [t, t + 1000];
  }
  throw bad(20001, `Invalid value for ${name}: ${v}`);
}
