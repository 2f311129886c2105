// Simulated handsets texting owned numbers: Twilio's opt-out keywords and default replies, the
// signed inbound webhook (docs/twilio-reference.md §5) and the TwiML answer delivered back into the thread.
import { XMLParser } from 'fast-xml-parser';
import type { Core } from './core.js';
import { addWebhook, type Msg } from './store.js';
import { contentTypeOf } from './util.js';

// Twilio's default keyword lists (whole body, trimmed, case-insensitive).
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE']);
const START_WORDS = new Set(['START', 'YES', 'UNSTOP']);
const HELP_WORDS = new Set(['HELP', 'INFO']);

// Twilio's default opt-out handling answers these itself (the message is still forwarded).
const DEFAULT_REPLIES = {
  STOP: 'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  START: 'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
  HELP: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
} as const;

/** Twilio stops after 10 <Message> replies to one inbound message (warning 14109). */
const MAX_REPLIES = 10;

type Keyword = keyof typeof DEFAULT_REPLIES;

function keywordOf(body: string): Keyword | null {
  const w = body.trim().toUpperCase();
  if (STOP_WORDS.has(w)) return 'STOP';
  if (START_WORDS.has(w)) return 'START';
  if (HELP_WORDS.has(w)) return 'HELP';
  return null;
}

interface TwimlReply {
  to: string | null;
  from: string | null;
  body: string;
  media: string[];
  action: string | null;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'Message' || name === 'Media' || name === 'Body',
});

type XmlNode = string | { '#text'?: string; [k: string]: unknown };

function text(n: unknown): string {
  if (typeof n === 'string') return n;
  if (n && typeof n === 'object' && '#text' in n) return String((n as { '#text': unknown })['#text']);
  return '';
}

/** The <Message> verbs of a messaging TwiML document; throws on anything that is not one. */
function parseTwiml(xml: string): TwimlReply[] {
  const trimmed = xml.trim();
  if (trimmed === '') return [];
  const doc = parser.parse(trimmed, true) as { Response?: unknown };
  if (!('Response' in doc)) throw new Error('TwiML has no <Response> root');
  const response = doc.Response;
  if (response === '' || response === undefined) return [];
  if (typeof response !== 'object' || response === null) throw new Error('unexpected text in <Response>');
  const messages = ((response as { Message?: XmlNode[] }).Message ?? []) as XmlNode[];
  return messages.map((m) => {
    if (typeof m === 'string') return { to: null, from: null, body: m, media: [], action: null };
    const bodies = (m.Body as unknown[] | undefined) ?? [];
    const media = ((m.Media as unknown[] | undefined) ?? []).map(text);
    const attr = (k: string): string | null => (typeof m[`@${k}`] === 'string' ? (m[`@${k}`] as string) : null);
    return {
      to: attr('to'),
      from: attr('from'),
      body: bodies.length > 0 ? bodies.map(text).join('') : text(m),
      media,
      action: attr('action') ?? attr('statusCallback'),
    };
  });
}

export interface HandsetResult {
  message: Msg;
  autoReply: Msg | null;
  replies: Msg[];
  /** Why the TwiML answer gave no replies (non-2xx, transport error, unparsable). */
  webhookError: string | null;
}

/**
 * A handset texts an owned number. Both numbers must already be E.164 (the caller validated
 * them); `country` is the handset's.
 */
export async function handsetSends(
  core: Core,
  handset: string,
  owned: string,
  body: string,
  media: string[],
  country: string | undefined,
  baseUrl: string,
): Promise<HandsetResult> {
  const inbound = core.createInbound(handset, owned, body, media, country);
  const keyword = keywordOf(body);
  const pair = owned + '|' + handset;
  if (keyword === 'STOP') core.optOuts.add(pair);
  else if (keyword === 'START') core.optOuts.delete(pair);
  const autoReply = keyword ? reply(core, owned, handset, DEFAULT_REPLIES[keyword], [], null, 'auto-reply', false) : null;

  const url = core.inboundUrlFor(owned);
  const result: HandsetResult = { message: inbound, autoReply, replies: [], webhookError: null };
  if (!url) return result;
  const params: Record<string, string> = {
    ToCountry: core.recipient(owned)?.country ?? '',
    ToState: '',
    SmsMessageSid: inbound.sid,
    NumMedia: String(media.length),
    ToCity: '',
    FromZip: '',
    SmsSid: inbound.sid,
    FromState: '',
    SmsStatus: 'received',
    FromCity: '',
    Body: body,
    FromCountry: country ?? '',
    To: owned,
    ToZip: '',
    NumSegments: String(inbound.segments),
    ReferralNumMedia: '0',
    MessageSid: inbound.sid,
    AccountSid: core.accountSid,
    From: handset,
    ApiVersion: '2010-04-01',
  };
  if (inbound.messagingServiceSid) params.MessagingServiceSid = inbound.messagingServiceSid;
  media.forEach((u, i) => {
    params[`MediaUrl${i}`] = `${baseUrl}/2010-04-01/Accounts/${core.accountSid}/Messages/${inbound.sid}/Media/${inbound.mediaSids[i]!}`;
    params[`MediaContentType${i}`] = contentTypeOf(u);
  });
  if (core.advancedOptOut && keyword) params.OptOutType = keyword;

  const res = await core.webhooks.send({
    kind: 'inbound',
    url,
    params,
    messageStatus: 'received',
    keepBody: true,
    record: (d) => addWebhook(inbound, d),
  });
  if (res.statusCode === null || res.statusCode < 200 || res.statusCode >= 300) {
    // Twilio logs 11200 and sends nothing to the handset.
    result.webhookError = res.error ?? `HTTP ${res.statusCode}`;
    return result;
  }
  let twiml: TwimlReply[];
  try {
    twiml = parseTwiml(res.body);
  } catch (e) {
    result.webhookError = `unparsable TwiML: ${(e as Error).message}`;
    return result;
  }
  for (const t of twiml.slice(0, MAX_REPLIES)) {
    const to = t.to ?? handset;
    const from = t.from ?? owned;
    result.replies.push(reply(core, from, to, t.body, t.media, t.action, 'twiml', true));
  }
  return result;
}

function reply(
  core: Core,
  from: string,
  to: string,
  body: string,
  media: string[],
  statusCallback: string | null,
  source: 'twiml' | 'auto-reply',
  checkOptOut: boolean,
): Msg {
  const r = core.recipient(to);
  const m = core.createOutbound({
    to: r?.address ?? to,
    from,
    messagingServiceSid: null,
    body,
    media,
    statusCallback,
    validityPeriod: 36_000,
    sendAt: null,
    direction: 'outbound-reply',
    source,
    counted: false,
    country: r?.country,
    lineType: r?.type,
    ...(checkOptOut && core.isOptedOut(from, r?.address ?? to) ? { failCode: 21610 } : {}),
  });
  return m;
}
