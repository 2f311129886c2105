import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { CATEGORIES, type Category, DEFAULT_CATEGORY, isCategory, SENDABLE_CATEGORIES } from '../core/categories.js';
import { csvCell } from '../core/csv.js';
import { AppError } from '../core/errors.js';
import { messageFields } from '../core/log-fields.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import { maskPhone, normalizeRecipient, type Channel } from '../core/phone.js';
import { shapeBody } from '../core/body.js';
import { canonicalLocale } from '../core/locales.js';
import { isTimeZone } from '../core/quiet-hours.js';
import { countSegments, MAX_BODY_CHARS } from '../core/segments.js';
import type { Decision } from '../core/policy.js';
import type { TenantSettings } from '../core/settings.js';
import {
  NO_METRICS,
  type AcceptItem,
  type BatchWrite,
  type CampaignsRepository,
  type Clock,
  type IdempotencyOutcome,
  type IdempotentAnswer,
  type MessageListQuery,
  type MessageRecord,
  type MessagesRepository,
  type Metrics,
  type Policy,
  type PolicyContext,
  type PolicyMessage,
  type PolicyMeter,
  type Random,
  type UnitOfWork,
} from '../ports.js';
import { toMessageResource, type MessageResource } from './message-resource.js';
import type { Rendered, TemplatesService } from './templates.js';
import type { Tenant } from './tenants.js';

export interface SendInput {
  to: string;
  body?: string | null;
  from?: string | null;
  messaging_service_sid?: string | null;
  media_urls?: string[] | null;
  channel?: Channel;
  send_at?: string | Date | null;
  validity_period?: number | null;
  metadata?: Record<string, unknown> | null;
  /** transactional (default) or marketing; policies differ by category. */
  category?: string | null;
  /** Instead of `body`: a template rendered with variables (its category applies unless `category` is given). */
  template?: { name: string; locale?: string | null; variables?: Record<string, unknown> | null } | null;
  /** The recipient's language (BCP 47): picks a template's locale and the opt-out footer's. */
  locale?: string | null;
  /** The recipient's IANA time zone (quiet hours); by default the contact's stored zone, else the number's. */
  recipient_timezone?: string | null;
}

export interface SendOptions {
  idempotencyKey?: string;
  /** The body carries a secret (a verification code): never shown by the API, erased once sent. */
  sensitive?: boolean;
  /** Internal senders' category ('otp' for the verification service); overrides the input's. */
  category?: Category;
  /**
   * A campaign recipient's message: linked to the recipient (campaign id, recipient number) in the
   * transaction that creates it; when the recipient already has a message, nothing is written
   * (SMS_ERR_CAMPAIGN_RECIPIENT_TAKEN).
   */
  campaign?: { id: string; seq: number };
}

export interface SendResult {
  status: number;
  message: MessageResource;
  /** The serialized answer, as stored for idempotent replays. */
  json: string;
  replayed: boolean;
}

export interface ListInput {
  status?: string;
  to?: string;
  since?: string;
  until?: string;
  category?: string;
  /** A template's name. */
  template?: string;
  /** A campaign's id: its recipients' messages. */
  campaign?: string;
  limit?: number;
  cursor?: string;
}

/** The CSV export's page size (one query each) and its row cap: a bigger export narrows its date range. */
const CSV_PAGE = 1000;
export const MESSAGES_CSV_MAX_ROWS = 100_000;
const CSV_COLUMNS = [
  'id',
  'created_at',
  'direction',
  'channel',
  'to',
  'from',
  'status',
  'category',
  'template',
  'template_version',
  'segments',
  'price',
  'price_unit',
  'error_code',
  'provider_sid',
  'sent_at',
  'body',
] as const;

export interface MessagesServiceDeps {
  messages: MessagesRepository;
  write: UnitOfWork['write'];
  batch: UnitOfWork['batch'];
  clock: Clock;
  random: Random;
  rejectFixedLine: boolean;
  maxAttempts: number;
  defaultValidityPeriodS: number;
  /** false when TWILIO_ENABLED=false: messages are accepted and logged, never sent. */
  sendingEnabled: boolean;
  /** Called after new work was committed, so an in-process worker can pick it up at once. */
  onEnqueued?: () => void;
  /** The sending policy (consent first): decides send, hold or refuse on accept, and again at dispatch. */
  policy: Policy;
  /** Counting rules (limits, caps), run inside the accept transaction for messages the policy lets through. */
  meter?: PolicyMeter;
  settings: { get(tenantId: string): Promise<TenantSettings> };
  /** Renders `template` sends. */
  templates: Pick<TemplatesService, 'render'>;
  /** Links campaign recipients to their messages (sends with `campaign`). */
  campaigns?: Pick<CampaignsRepository, 'link'>;
  metrics?: Metrics;
  /** Logs each accepted message (ids, tenant, masked number; never the body). */
  logger?: Pick<Logger, 'info'>;
}

/** One request in the accept batch: its write, and what the meter needs to judge and count it. */
interface AcceptWork {
  item: AcceptItem;
  meter?: { message: PolicyMessage; ctx: PolicyContext };
  /** Applies the meter's answer (send or hold) to the row and the stored answer. */
  apply(decision: Decision): void;
  campaign?: { id: string; seq: number };
}

type AcceptOutcome = IdempotencyOutcome | { kind: 'refused'; decision: Extract<Decision, { action: 'refuse' }> };

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_SCHEDULE_AHEAD_MS = 365 * 24 * 60 * 60 * 1000;
const SEND_AT_PAST_TOLERANCE_MS = 5 * 60 * 1000;
const MAX_METADATA_BYTES = 4096;
const MAX_MEDIA = 10;
const SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
const E164 = /^\+[1-9]\d{3,14}$/;
const MG_SID = /^MG[0-9a-fA-F]{32}$/;

function bad(field: string, message: string): AppError {
  return new AppError('SMS_ERR_VALIDATION', message, { field });
}

/** Canonical JSON (sorted keys) so that the same request body always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v instanceof Date ? v.toISOString() : v) ?? 'null';
}

function parseTime(value: string | Date, field: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw bad(field, `${field} must be an ISO-8601 date-time`);
  return ms;
}

export class MessagesService {
  /** Idempotency keys whose first request is still being processed in this process. */
  private readonly inFlightKeys = new Set<string>();

  /**
   * Requests accepted in the same group commit are written together (one statement per table):
   * their idempotency keys first (a replay or mismatch is answered from the stored entry, never
   * judged or counted again), then the meter judges and counts the metered ones, then the messages
   * are inserted — a count and its message commit together, and a refused message is not written
   * (nor its key: a retry is judged anew). A batch never holds one key twice: `send` lets one request
   * per key run at a time in this process, and other processes wait on the key's row.
   */
  private readonly acceptBatch: BatchWrite<AcceptWork, AcceptOutcome>;
  private readonly metrics: Metrics;

  constructor(private readonly d: MessagesServiceDeps) {
    // Neither metered nor from a campaign: the keys and the messages, nothing to decide in between.
    const plain = (items: AcceptWork[]) => items.every((it) => !(it.meter && d.meter) && !it.campaign);
    this.acceptBatch = {
      single: (items) => d.messages.singleAccept && plain(items),
      run: async (tx, items) => {
        if (plain(items))
          return d.messages.accept(
            tx,
            items.map((it) => it.item),
          );
        const out: AcceptOutcome[] = await d.messages.claimKeys(
          tx,
          items.map((it) => it.item),
        );
        const metered = items.flatMap((it, i) => (it.meter && out[i]!.kind === 'new' ? [{ i, ...it.meter }] : []));
        const sent: typeof metered = [];
        if (metered.length && d.meter) {
          const decisions = await d.meter.count(tx, metered, true);
          const forget: { tenantId: string; key: string }[] = [];
          const rewrite: IdempotentAnswer[] = [];
          for (const [j, decision] of decisions.entries()) {
            const { i } = metered[j]!;
            const idem = items[i]!.item.idempotency;
            if (decision.action === 'refuse') {
              out[i] = { kind: 'refused', decision };
              if (idem) forget.push(idem);
              continue;
            }
            items[i]!.apply(decision);
            if (decision.action === 'send') sent.push(metered[j]!);
            else if (idem) rewrite.push(idem);
          }
          if (forget.length) await d.messages.forgetAnswers(tx, forget);
          if (rewrite.length) await d.messages.rewriteAnswers(tx, rewrite);
        }
        const fresh = items.filter((_, i) => out[i]!.kind === 'new');
        await d.messages.insert(
          tx,
          fresh.map((it) => it.item.message),
        );
        // A campaign's message claims its recipient in the same transaction (never two messages for
        // one), all of a batch in one statement; one already linked (another worker) fails the
        // batch, which the group commit then re-runs one by one.
        const links = fresh.flatMap((it) => (it.campaign ? [{ campaignId: it.campaign.id, seq: it.campaign.seq, messageId: it.item.message.row.id }] : []));
        if (links.length && (await d.campaigns!.link(tx, links, d.clock.now().getTime())) !== links.length) {
          throw new AppError('SMS_ERR_CAMPAIGN_RECIPIENT_TAKEN');
        }
        // Last, so that the daily cap's counter row is locked only until the commit.
        if (sent.length) await d.meter!.settle(tx, sent);
        return out;
      },
    };
    this.metrics = d.metrics ?? NO_METRICS;
  }

  async send(tenant: Tenant, input: SendInput, opts: SendOptions = {}): Promise<SendResult> {
    const key = opts.idempotencyKey;
    if (key === undefined) return this.accept(tenant, input, undefined, opts);
    if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
      throw new AppError('SMS_ERR_VALIDATION', 'Idempotency-Key must be 1 to 255 characters.', { field: 'Idempotency-Key' });
    }
    const lockKey = `${tenant.id}\u0000${key}`;
    if (this.inFlightKeys.has(lockKey)) throw new AppError('SMS_ERR_IDEMPOTENCY_CONFLICT');
    this.inFlightKeys.add(lockKey);
    try {
      return await this.accept(tenant, input, key, opts);
    } finally {
      this.inFlightKeys.delete(lockKey);
    }
  }

  private async accept(tenant: Tenant, input: SendInput, idempotencyKey: string | undefined, opts: SendOptions): Promise<SendResult> {
    const requestHash = idempotencyKey === undefined ? '' : createHash('sha256').update(canonical(input)).digest('hex');
    // Validation happens before any write, so a rejected request leaves nothing behind.
    let row: MessageRecord;
    let meter: AcceptWork['meter'];
    try {
      const built = await this.buildRow(tenant, input, idempotencyKey, opts.category, opts.campaign?.id ?? null);
      row = { ...built.row, sensitive: opts.sensitive ? 1 : 0 };
      meter = built.meter;
    } catch (e) {
      if (idempotencyKey === undefined) throw e;
      // An invalid request under a key that was already used for a different body is a mismatch first.
      const prior = await this.d.messages.idempotencyHash(tenant.id, idempotencyKey, this.d.clock.now().getTime());
      if (prior !== undefined && prior !== requestHash) {
        throw new AppError('SMS_ERR_IDEMPOTENCY_MISMATCH');
      }
      throw e;
    }
    const sendAnswer = toMessageResource(row);
    const sendJson = JSON.stringify(sendAnswer);
    let resource = sendAnswer;
    let json = sendJson;
    const now = row.created_at;

    const item: AcceptItem = {
      message: { row, event: { source: 'api' } },
      idempotency:
        idempotencyKey === undefined
          ? undefined
          : { tenantId: tenant.id, key: idempotencyKey, requestHash, status: 202, body: json, now, ttlMs: IDEMPOTENCY_TTL_MS },
    };
    const original = {
      status: row.status,
      send_at: row.send_at,
      next_attempt_at: row.next_attempt_at,
      hold_reason: row.hold_reason,
      expires_at: row.expires_at,
    };
    // The meter's answer, set from the original each time (a failed batch is re-run).
    let metered: Decision | undefined;
    const apply = (decision: Decision) => {
      metered = decision;
      Object.assign(row, original);
      // Counted now (in this transaction), so the dispatcher does not count it again.
      row.metered = decision.action === 'send' ? 1 : 0;
      if (decision.action === 'hold' && decision.until > now) {
        Object.assign(row, {
          status: 'scheduled',
          send_at: decision.until,
          next_attempt_at: decision.until,
          hold_reason: decision.reason,
          expires_at: decision.until + row.validity_period! * 1000,
        });
        resource = toMessageResource(row);
        json = JSON.stringify(resource);
      } else {
        // Sent as accepted: the answer built before the batch (no second serialization per message).
        resource = sendAnswer;
        json = sendJson;
      }
      if (item.idempotency) item.idempotency.body = json;
    };
    let outcome: AcceptOutcome;
    try {
      outcome = await this.d.batch(this.acceptBatch, { item, meter, apply, campaign: opts.campaign });
    } catch (e) {
      // The daily cap refused it in the transaction, which rolled back: count the refusal now.
      if (meter && e instanceof AppError && e.code === 'SMS_ERR_DAILY_CAP_REACHED') {
        await this.d.meter!.observe({ action: 'refuse', code: e.code }, meter.message, meter.ctx);
      }
      throw e;
    }

    switch (outcome.kind) {
      case 'refused':
        this.metrics.refused(outcome.decision.code, 'accept');
        await this.d.meter!.observe(outcome.decision, meter!.message, meter!.ctx);
        throw new AppError(outcome.decision.code, outcome.decision.message, outcome.decision.details ?? { field: 'to' });
      case 'mismatch':
        throw new AppError('SMS_ERR_IDEMPOTENCY_MISMATCH');
      case 'replay':
        this.d.logger?.info({ tenant_id: tenant.id, idempotency_replay: true }, 'send request replayed from its Idempotency-Key');
        return { status: outcome.status, message: JSON.parse(outcome.body) as MessageResource, json: outcome.body, replayed: true };
      default: {
        if (metered?.action === 'hold') await this.d.meter!.observe(metered, meter!.message, meter!.ctx);
        const labels = { tenantId: row.tenant_id, category: row.category, channel: row.channel };
        this.metrics.accepted(labels);
        if (row.hold_reason !== null) this.metrics.held(labels, row.hold_reason, 'accept');
        this.d.logger?.info(
          {
            ...messageFields(row),
            to: maskPhone(row.to_addr),
            status: row.status,
            category: row.category,
            channel: row.channel,
            ...(row.hold_reason ? { hold_reason: row.hold_reason, send_at: row.send_at } : {}),
          },
          'message accepted',
        );
        if (row.status === 'pending') this.d.onEnqueued?.();
        return { status: 202, message: resource, json, replayed: false };
      }
    }
  }

  private async buildRow(
    tenant: Tenant,
    input: SendInput,
    idempotencyKey: string | undefined,
    internalCategory: Category | undefined,
    campaignId: string | null,
  ): Promise<{ row: Omit<MessageRecord, 'sensitive'>; meter?: AcceptWork['meter'] }> {
    if (input === null || typeof input !== 'object') throw bad('body', 'The request body must be a JSON object.');
    const channel: Channel = input.channel ?? 'sms';
    if (channel !== 'sms' && channel !== 'mms' && channel !== 'whatsapp') throw bad('channel', "channel must be 'sms', 'mms' or 'whatsapp'");
    if (typeof input.to !== 'string') throw new AppError('SMS_ERR_INVALID_PHONE', 'to is required and must be a string.', { field: 'to' });
    const to = normalizeRecipient(input.to, channel, { defaultRegion: tenant.defaultRegion, rejectFixedLine: this.d.rejectFixedLine });

    const locale = input.locale === undefined || input.locale === null ? null : canonicalLocale(input.locale);
    if (input.locale !== undefined && input.locale !== null && locale === null) throw bad('locale', 'locale must be a BCP 47 locale tag (e.g. en, es-MX)');
    let rendered: Rendered | null = null;
    if (input.template !== undefined && input.template !== null) {
      if (input.body !== undefined && input.body !== null) {
        throw new AppError('SMS_ERR_BODY_AND_TEMPLATE', 'Give either body or template, not both.', { field: 'template' });
      }
      rendered = await this.d.templates.render(tenant, input.template, { requestLocale: locale, to: to.e164 });
    }
    const body = rendered ? rendered.text : (input.body ?? null);
    if (body !== null && typeof body !== 'string') throw bad('body', 'body must be a string');
    if (body !== null && body.length > MAX_BODY_CHARS) {
      throw new AppError('SMS_ERR_BODY_TOO_LONG', undefined, { field: 'body', length: body.length, max: MAX_BODY_CHARS });
    }
    const media = input.media_urls ?? [];
    if (!Array.isArray(media)) throw bad('media_urls', 'media_urls must be an array of URLs');
    if (media.length > MAX_MEDIA) throw new AppError('SMS_ERR_TOO_MANY_MEDIA', undefined, { field: 'media_urls', count: media.length });
    for (const [i, m] of media.entries()) {
      if (typeof m !== 'string' || m.length > 2048 || !/^https?:\/\/[^\s]+$/i.test(m) || !URL.canParse(m)) {
        throw bad(`media_urls[${i}]`, 'media_urls entries must be http(s) URLs of at most 2048 characters');
      }
    }
    if ((body === null || body === '') && media.length === 0) throw new AppError('SMS_ERR_BODY_REQUIRED', undefined, { field: 'body' });

    const category = internalCategory ?? input.category ?? rendered?.category ?? DEFAULT_CATEGORY;
    if (!(SENDABLE_CATEGORIES as readonly string[]).includes(category) && category !== internalCategory) {
      throw bad('category', `category must be one of ${SENDABLE_CATEGORIES.map((c) => `'${c}'`).join(', ')}`);
    }
    const { from, messagingServiceSid } = this.resolveSender(tenant, input, channel);
    const recipientTimezone = input.recipient_timezone ?? null;
    if (recipientTimezone !== null && !isTimeZone(recipientTimezone)) {
      throw new AppError('SMS_ERR_INVALID_TIMEZONE', undefined, { field: 'recipient_timezone' });
    }

    const now = this.d.clock.now().getTime();
    let sendAt: number | null = null;
    if (input.send_at !== undefined && input.send_at !== null) {
      sendAt = parseTime(input.send_at, 'send_at');
      if (sendAt < now - SEND_AT_PAST_TOLERANCE_MS || sendAt > now + MAX_SCHEDULE_AHEAD_MS) {
        throw new AppError('SMS_ERR_INVALID_SEND_AT', 'send_at must be in the future and at most one year ahead.', { field: 'send_at' });
      }
      if (sendAt <= now) sendAt = null;
    }
    const validity = input.validity_period ?? this.d.defaultValidityPeriodS;
    if (!Number.isInteger(validity) || validity < 1 || validity > 36_000) {
      throw new AppError('SMS_ERR_INVALID_VALIDITY', undefined, { field: 'validity_period' });
    }
    let metadata: string | null = null;
    if (input.metadata !== undefined && input.metadata !== null) {
      if (typeof input.metadata !== 'object' || Array.isArray(input.metadata)) throw bad('metadata', 'metadata must be a JSON object');
      metadata = JSON.stringify(input.metadata);
      if (Buffer.byteLength(metadata) > MAX_METADATA_BYTES) throw bad('metadata', `metadata must serialize to at most ${MAX_METADATA_BYTES} bytes`);
    }

    // The stored channel is how the message travels: Twilio sends (and prices) any message with
    // media as an MMS. The request's 'sms' or 'mms' only says "to a phone number, not WhatsApp".
    const carried: Channel = channel === 'whatsapp' ? 'whatsapp' : media.length > 0 ? 'mms' : 'sms';
    const settings = await this.d.settings.get(tenant.id);
    // Segments exist only for SMS: smart encoding, the opt-out footer and the length limit shape SMS bodies.
    let sent = body;
    let truncatedFrom: number | null = null;
    if (body && carried === 'sms') {
      const shaped = shapeBody({
        text: body,
        category: category as Category,
        locale: rendered?.locale ?? locale,
        smartEncoding: rendered?.smartEncoding ?? settings.smart_encoding,
        rules: settings,
        optOutKeywords: settings.keywords.opt_out,
      });
      if (shaped.problem) throw new AppError(shaped.problem.code, shaped.problem.message, shaped.problem.details);
      sent = shaped.body;
      truncatedFrom = shaped.truncated_from;
      if (sent.length > MAX_BODY_CHARS) throw new AppError('SMS_ERR_BODY_TOO_LONG', undefined, { field: 'body', length: sent.length, max: MAX_BODY_CHARS });
    }
    const seg = sent ? countSegments(sent) : null;
    // The policy comes last, so a malformed request is told about its errors first.
    const id = this.d.random.id();
    const policyMessage: PolicyMessage = {
      id,
      tenantId: tenant.id,
      to: to.address,
      channel: carried,
      category,
      body: sent,
      segments: seg?.segments ?? 0,
      sendAt,
      recipientTimezone,
      campaignId,
    };
    const policyCtx: PolicyContext = { stage: 'accept', now, settings };
    const decision = await this.d.policy.decide(policyMessage, policyCtx);
    // Counted with the insert (a message that is not sent now is counted when it is dispatched).
    const meter =
      decision.action === 'send' && this.d.sendingEnabled && this.d.meter?.meters(policyMessage, policyCtx)
        ? { message: policyMessage, ctx: policyCtx }
        : undefined;
    if (decision.action === 'refuse') {
      this.metrics.refused(decision.code, 'accept');
      throw new AppError(decision.code, decision.message, decision.details ?? { field: 'to' });
    }
    let holdReason: string | null = null;
    if (decision.action === 'hold' && decision.until > (sendAt ?? now)) {
      sendAt = decision.until;
      holdReason = decision.reason;
    }
    const status = !this.d.sendingEnabled ? 'canceled' : sendAt !== null ? 'scheduled' : 'pending';
    const row: Omit<MessageRecord, 'sensitive'> = {
      id,
      tenant_id: tenant.id,
      direction: 'outbound',
      channel: carried,
      to_addr: to.address,
      from_addr: from,
      messaging_service_sid: messagingServiceSid,
      body: sent,
      media_urls: media.length ? JSON.stringify(media) : null,
      encoding: seg?.encoding ?? null,
      segments: seg?.segments ?? 0,
      status,
      provider_sid: null,
      error_code: this.d.sendingEnabled ? null : 'SMS_ERR_SENDING_DISABLED',
      provider_code: null,
      error_message: this.d.sendingEnabled ? null : 'Sending is disabled (TWILIO_ENABLED=false); the message was logged and not sent.',
      price: null,
      price_unit: null,
      attempts: 0,
      max_attempts: this.d.maxAttempts,
      next_attempt_at: status === 'canceled' ? null : (sendAt ?? now),
      locked_until: null,
      locked_by: null,
      in_flight_since: null,
      send_at: sendAt,
      hold_reason: holdReason,
      expires_at: (sendAt ?? now) + validity * 1000,
      validity_period: validity,
      idempotency_key: idempotencyKey ?? null,
      conversation_id: null,
      metadata,
      category,
      template_name: rendered?.name ?? null,
      template_version: rendered?.version ?? null,
      truncated_from: truncatedFrom,
      recipient_timezone: recipientTimezone,
      ...(campaignId === null ? {} : { campaign_id: campaignId }),
      created_at: now,
      updated_at: now,
      sent_at: null,
    };
    return { row, meter };
  }

  private resolveSender(tenant: Tenant, input: SendInput, channel: Channel): { from: string | null; messagingServiceSid: string | null } {
    const mg = input.messaging_service_sid ?? null;
    if (mg !== null && (typeof mg !== 'string' || !MG_SID.test(mg)))
      throw bad('messaging_service_sid', "messaging_service_sid must be 'MG' followed by 32 hex characters");
    let from = input.from ?? null;
    if (from !== null) {
      if (typeof from !== 'string') throw bad('from', 'from must be a string');
      const bare = from.startsWith('whatsapp:') ? from.slice(9) : from;
      if (channel === 'whatsapp' ? !E164.test(bare) : !(E164.test(from) || SENDER_ID.test(from))) {
        throw bad(
          'from',
          channel === 'whatsapp'
            ? 'from must be an E.164 WhatsApp sender'
            : 'from must be an E.164 number or an alphanumeric sender ID (at most 11 characters)',
        );
      }
      if (channel === 'whatsapp') from = `whatsapp:${bare}`;
      return { from, messagingServiceSid: mg };
    }
    if (channel === 'whatsapp') {
      const wa = tenant.whatsappFrom;
      if (!wa && !mg && !tenant.messagingServiceSid) throw new AppError('SMS_ERR_NO_SENDER', 'No WhatsApp sender is configured (TWILIO_WHATSAPP_NUMBER).');
      return { from: wa ? (wa.startsWith('whatsapp:') ? wa : `whatsapp:${wa}`) : null, messagingServiceSid: mg ?? (wa ? null : tenant.messagingServiceSid) };
    }
    if (mg) return { from: null, messagingServiceSid: mg };
    if (tenant.messagingServiceSid) return { from: null, messagingServiceSid: tenant.messagingServiceSid };
    if (tenant.fromNumber) return { from: tenant.fromNumber, messagingServiceSid: null };
    // With sending disabled nothing leaves, so a missing sender is no reason to refuse the log entry.
    if (!this.d.sendingEnabled) return { from: null, messagingServiceSid: null };
    throw new AppError('SMS_ERR_NO_SENDER');
  }

  async get(tenant: Tenant, id: string): Promise<MessageResource> {
    const row = typeof id === 'string' && id.length <= 64 ? await this.d.messages.get(tenant.id, id) : undefined;
    if (!row) throw new AppError('SMS_ERR_NOT_FOUND', 'Message not found.', { id: String(id).slice(0, 64) });
    return toMessageResource(row);
  }

  async events(tenant: Tenant, id: string) {
    await this.get(tenant, id);
    const rows = await this.d.messages.events(id);
    return rows.map((e) => ({
      status: e.status,
      source: e.source,
      error_code: e.error_code,
      provider_code: e.provider_code,
      data: e.data ? (JSON.parse(e.data) as unknown) : null,
      created_at: new Date(e.created_at).toISOString(),
    }));
  }

  async list(tenant: Tenant, q: ListInput): Promise<{ data: MessageResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const c = decodeCursor(q.cursor, ['number', 'string']);
    const rows = await this.d.messages.list({ ...this.filterOf(tenant, q), before: c ? { createdAt: c[0], id: c[1] } : undefined, limit: limit + 1 });
    const p = page(rows, limit, (r) => [r.created_at, r.id]);
    return { data: p.data.map(toMessageResource), next_cursor: p.next_cursor };
  }

  /**
   * The messages the filters select as CSV, newest first, read page by page (never all rows in memory),
   * up to MESSAGES_CSV_MAX_ROWS. The filters are checked before the first chunk, so bad input is a 400.
   */
  csv(tenant: Tenant, q: Omit<ListInput, 'limit' | 'cursor'>): AsyncGenerator<string> {
    const filter = this.filterOf(tenant, q);
    const repo = this.d.messages;
    return (async function* () {
      yield CSV_COLUMNS.join(',') + '\r\n';
      let before: MessageListQuery['before'];
      let left = MESSAGES_CSV_MAX_ROWS;
      while (left > 0) {
        const rows = await repo.list({ ...filter, before, limit: Math.min(CSV_PAGE, left) });
        if (rows.length === 0) return;
        let chunk = '';
        for (const r of rows) {
          const m = toMessageResource(r);
          const cells = [
            m.id,
            m.created_at,
            m.direction,
            m.channel,
            m.to,
            m.from ?? '',
            m.status,
            m.category,
            m.template?.name ?? '',
            m.template?.version ?? '',
            m.segments,
            m.price ?? '',
            m.price_unit ?? '',
            m.error_code ?? '',
            m.provider_sid ?? '',
            m.sent_at ?? '',
            m.body ?? '',
          ];
          chunk += cells.map((c) => csvCell(String(c))).join(',') + '\r\n';
        }
        yield chunk;
        left -= rows.length;
        if (rows.length < CSV_PAGE) return;
        const last = rows[rows.length - 1]!;
        before = { createdAt: last.created_at, id: last.id };
      }
    })();
  }

  private filterOf(tenant: Tenant, q: Omit<ListInput, 'limit' | 'cursor'>): Omit<MessageListQuery, 'before' | 'limit'> {
    let to: string | undefined;
    if (q.to !== undefined && q.to !== '') {
      to = normalizeRecipient(q.to, q.to.startsWith('whatsapp:') ? 'whatsapp' : 'sms', {
        defaultRegion: tenant.defaultRegion,
        rejectFixedLine: false,
      }).address;
    }
    if (q.category !== undefined && q.category !== '' && !isCategory(q.category)) throw bad('category', `category must be one of ${CATEGORIES.join(', ')}`);
    return {
      tenantId: tenant.id,
      status: q.status || undefined,
      to,
      since: q.since ? parseTime(q.since, 'since') : undefined,
      until: q.until ? parseTime(q.until, 'until') : undefined,
      category: q.category || undefined,
      template: q.template || undefined,
      campaign: q.campaign || undefined,
    };
  }

  /** This tenant's outbox (never another tenant's numbers): depth and how long the oldest pending message has waited. */
  async outbox(tenant: Tenant) {
    const o = await this.d.messages.tenantOutbox(tenant.id);
    const now = this.d.clock.now().getTime();
    return {
      depth: o.pending + o.scheduled,
      pending: o.pending,
      scheduled: o.scheduled,
      oldest_pending_at: o.oldestPendingAt === null ? null : new Date(o.oldestPendingAt).toISOString(),
      oldest_pending_age_seconds: o.oldestPendingAt === null ? null : Math.max(0, (now - o.oldestPendingAt) / 1000),
    };
  }

  async cancel(tenant: Tenant, id: string): Promise<MessageResource> {
    const current = await this.get(tenant, id);
    const now = this.d.clock.now().getTime();
    // Only while nothing can have reached the provider (no in-flight marker, no live lease).
    const [r] = await this.d.write((tx) =>
      this.d.messages.transition(tx, [
        {
          target: { id, tenantId: tenant.id },
          set: { status: 'canceled', updated_at: now, next_attempt_at: null, locked_by: null, locked_until: null },
          cancelable: true,
          at: now,
          event: { source: 'api' },
        },
      ]),
    );
    if (!r!.moved) {
      throw new AppError('SMS_ERR_INVALID_STATE', `Only pending or scheduled messages that are not being sent can be canceled (status: ${current.status}).`, {
        status: current.status,
      });
    }
    return this.get(tenant, id);
  }
}
