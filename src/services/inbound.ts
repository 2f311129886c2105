// Inbound messages: stored once per MessageSid, threaded into a conversation per (tenant, our
// number, contact), consent keywords and free-text revocations applied to the ledger, and a TwiML
// answer (built by the TwimlReplies port: user text is never concatenated into XML).
import { AppError } from '../core/errors.js';
import { fromOptOutType, isRevocation, matchKeyword, type KeywordKind } from '../core/keywords.js';
import type { TenantSettings } from '../core/settings.js';
import { countSegments } from '../core/segments.js';
import { CONTROL_CHARACTERS } from '../core/text.js';
import type {
  Clock,
  ConsentRepository,
  ConversationsRepository,
  EventsPort,
  InboundRepository,
  MessageRecord,
  MessagesRepository,
  Random,
  TwimlReplies,
  UnitOfWork,
} from '../ports.js';
import { consentKey, type ConsentService } from './consent.js';
import { newEvent } from './events.js';
import { field, type WebhookParams } from './webhooks.js';

export interface InboundResult {
  twiml: string;
  duplicate: boolean;
  messageId: string | null;
  conversationId: string | null;
  keyword: KeywordKind | null;
  revocation: boolean;
}

export interface InboundDeps {
  inbound: InboundRepository;
  messages: Pick<MessagesRepository, 'insertReceived'>;
  conversations: Pick<ConversationsRepository, 'upsertForInbound' | 'markOptedOutIfActive'>;
  suppressions: Pick<ConsentRepository, 'isSuppressed'>;
  write: UnitOfWork['write'];
  twiml: TwimlReplies;
  clock: Clock;
  random: Random;
  consent: ConsentService;
  /** conversation.needs_attention (message.received is written with the message by insertReceived). */
  events: EventsPort;
  /** Auto-reply, keyword lists and replies come from the tenant's settings document. */
  settings: { get(tenantId: string): Promise<TenantSettings> };
}

const SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const MAX_MEDIA = 10;
const GEO_FIELDS = ['FromCity', 'FromState', 'FromZip', 'FromCountry', 'ToCity', 'ToState', 'ToZip', 'ToCountry'] as const;

function address(params: WebhookParams, name: 'From' | 'To'): string {
  const v = field(params, name)?.trim();
  if (!v || v.length > 64 || /\s/.test(v) || CONTROL_CHARACTERS.test(v))
    throw new AppError('SMS_ERR_INVALID_WEBHOOK', `${name} is missing or not an address.`, { field: name });
  return v;
}

export class InboundService {
  constructor(private readonly d: InboundDeps) {}

  async receive(tenantId: string, params: WebhookParams, idempotencyToken: string | null): Promise<InboundResult> {
    const sid = field(params, 'MessageSid') ?? field(params, 'SmsMessageSid');
    if (!sid || !SID.test(sid)) throw new AppError('SMS_ERR_INVALID_WEBHOOK', 'MessageSid is missing or not a Message SID.', { field: 'MessageSid' });
    const from = address(params, 'From');
    const to = address(params, 'To');
    const body = field(params, 'Body') ?? '';
    const media: string[] = [];
    const mediaTypes: string[] = [];
    for (let i = 0; i < MAX_MEDIA; i++) {
      const u = field(params, `MediaUrl${i}`);
      if (u === undefined) break;
      media.push(u.slice(0, 2048));
      mediaTypes.push((field(params, `MediaContentType${i}`) ?? '').slice(0, 128));
    }
    const geo: Record<string, string> = {};
    for (const g of GEO_FIELDS) {
      const v = field(params, g);
      if (v) geo[g.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()] = v.slice(0, 64);
    }
    const segs = Number(field(params, 'NumSegments'));
    const settings = await this.d.settings.get(tenantId);
    const optOutType = field(params, 'OptOutType');
    const keyword = fromOptOutType(optOutType) ?? matchKeyword(body, settings.keywords);
    const revocation = keyword === null && isRevocation(body);
    const channel = from.startsWith('whatsapp:') ? 'whatsapp' : media.length > 0 ? 'mms' : 'sms';
    const now = this.d.clock.now().getTime();
    const seg = body ? countSegments(body) : null;

    const r = await this.d.write(async (tx) => {
      if (!(await this.d.inbound.logInboundWebhook(tx, { id: this.d.random.id(), tenantId, messageSid: sid, idempotencyToken, now }))) return null;
      const conversation = await this.d.conversations.upsertForInbound(tx, {
        id: this.d.random.id(),
        tenant_id: tenantId,
        contact_addr: from,
        our_addr: to,
        status: 'active',
        unread_count: 1,
        last_message_at: now,
        last_read_at: null,
        needs_attention: revocation ? 1 : 0,
        attention_reason: revocation ? 'free_text_revocation' : null,
        external_ref: null,
        created_at: now,
        updated_at: now,
      });
      const messageId = this.d.random.id();
      const row: MessageRecord = {
        id: messageId,
        tenant_id: tenantId,
        direction: 'inbound',
        channel,
        to_addr: to,
        from_addr: from,
        messaging_service_sid: field(params, 'MessagingServiceSid') ?? null,
        body,
        media_urls: media.length ? JSON.stringify(media) : null,
        encoding: seg?.encoding ?? null,
        segments: Number.isInteger(segs) && segs >= 0 && segs < 1000 ? segs : (seg?.segments ?? 0),
        status: 'received',
        provider_sid: sid,
        error_code: null,
        provider_code: null,
        error_message: null,
        price: null,
        price_unit: null,
        attempts: 0,
        max_attempts: 0,
        next_attempt_at: null,
        locked_until: null,
        locked_by: null,
        in_flight_since: null,
        send_at: null,
        hold_reason: null,
        expires_at: null,
        validity_period: null,
        idempotency_key: null,
        conversation_id: conversation.id,
        category: 'transactional',
        template_name: null,
        template_version: null,
        truncated_from: null,
        recipient_timezone: null,
        metadata: JSON.stringify({ num_media: media.length, media_content_types: mediaTypes, geo, ...(optOutType ? { opt_out_type: optOutType } : {}) }),
        created_at: now,
        updated_at: now,
        sent_at: null,
        sensitive: 0,
      };
      const inserted = await this.d.messages.insertReceived(tx, { row, event: { source: 'callback', data: { params, idempotency_token: idempotencyToken } } });
      // Same SID already stored (another tenant's copy, or a row that predates the webhook log).
      if (!inserted) return null;
      await this.d.inbound.linkInboundWebhook(tx, tenantId, sid, messageId);
      if (revocation) {
        const data = { conversation_id: conversation.id, reason: 'free_text_revocation', contact: from, message_id: messageId };
        await this.d.events.append(tx, [newEvent(this.d.random, tenantId, 'conversation.needs_attention', now, data)]);
      }

      const phone = consentKey(from);
      let changed = false;
      if (keyword === 'opt_out' || keyword === 'opt_in' || revocation) {
        ({ changed } = await this.d.consent.record(tx, {
          tenantId,
          phone,
          action: keyword === 'opt_in' ? 'opt_in' : 'opt_out',
          source: revocation ? 'free_text' : 'keyword',
          actor: 'contact',
          detail: body.trim().slice(0, 160),
          messageId,
          now,
        }));
      }
      const suppressed = await this.d.suppressions.isSuppressed(tx, tenantId, phone);
      // A thread that starts after an opt-out (by API, or the provider's 21610) shows it too.
      if (suppressed && !changed) await this.d.conversations.markOptedOutIfActive(tx, conversation.id);
      return { messageId, conversationId: conversation.id, changed, suppressed, blocked: conversation.status === 'blocked' };
    });

    if (r === null) return { twiml: this.d.twiml.empty(), duplicate: true, messageId: null, conversationId: null, keyword, revocation };
    // A blocked conversation still stores what the contact sends (and its consent keywords), and answers nothing.
    const reply = r.blocked ? null : this.replyFor(settings, keyword, revocation, r.changed, r.suppressed, optOutType !== undefined);
    return {
      twiml: reply === null ? this.d.twiml.empty() : this.d.twiml.message(reply),
      duplicate: false,
      messageId: r.messageId,
      conversationId: r.conversationId,
      keyword,
      revocation,
    };
  }

  /** At most one reply: a confirmation only when the state changed, nothing to an opted-out contact. */
  private replyFor(
    s: TenantSettings,
    keyword: KeywordKind | null,
    revocation: boolean,
    changed: boolean,
    suppressed: boolean,
    providerHandled: boolean,
  ): string | null {
    // Twilio answers its own keywords (always with Advanced Opt-Out's OptOutType, by default on long
    // codes); a second answer from us would be a duplicate, or fail with 21610 after a STOP.
    const relayAnswers = s.keyword_replies === 'relay' && !providerHandled;
    if (revocation) return changed ? s.replies.opt_out : null;
    if (keyword === 'opt_out') return changed && relayAnswers ? s.replies.opt_out : null;
    if (keyword === 'opt_in' && changed) return relayAnswers ? s.replies.opt_in : null;
    if (keyword === 'help') return relayAnswers ? s.replies.help : null;
    if (suppressed) return null;
    return s.auto_reply;
  }
}
