// Opt-out / opt-in / help keywords (Twilio Advanced Opt-Out defaults) and the free-text revocation
// detector: since the FCC's 2025 consent rule, "please stop texting me" revokes consent just like
// STOP does, so inbound text is checked for the common phrasings too.

export type KeywordKind = 'opt_out' | 'opt_in' | 'help';

export interface KeywordLists {
  opt_out: readonly string[];
  opt_in: readonly string[];
  help: readonly string[];
}

export type KeywordReplies = Record<KeywordKind, string>;

export const DEFAULT_KEYWORDS: KeywordLists = {
  opt_out: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'],
  opt_in: ['START', 'YES', 'UNSTOP'],
  help: ['HELP', 'INFO'],
};

// Twilio's default confirmation texts: no marketing content, one reply per change.
export const DEFAULT_REPLIES: KeywordReplies = {
  opt_out: 'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  opt_in: 'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
  help: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
};

/** Whole body, trimmed, case-insensitive — Twilio's rule ("Stop please" is not a keyword). */
export function matchKeyword(body: string | null | undefined, lists: KeywordLists = DEFAULT_KEYWORDS): KeywordKind | null {
  if (typeof body !== 'string' || body.length > 64) return null;
  const w = body.trim().toUpperCase();
  if (w === '') return null;
  // Opt-out is checked first so that a tenant list putting a word in two lists errs on not texting.
  for (const kind of ['opt_out', 'opt_in', 'help'] as const) {
    if (lists[kind].some((k) => k.toUpperCase() === w)) return kind;
  }
  return null;
}

/** Twilio's `OptOutType` parameter (Advanced Opt-Out): STOP, START or HELP. */
export function fromOptOutType(v: unknown): KeywordKind | null {
  if (typeof v !== 'string') return null;
  switch (v.trim().toUpperCase()) {
    case 'STOP':
      return 'opt_out';
    case 'START':
      return 'opt_in';
    case 'HELP':
      return 'help';
    default:
      return null;
  }
}

const NEGATION = String.raw`(?<!\b(?:don't|dont|do not|never|not|can't|cant|cannot|won't|wont|didn't|didnt|shouldn't|please don't)\s)`;
const WHOLE =
  /^(?:please\s)?(?:stop|stop all|stopall|unsubscribe|cancel|end|quit|revoke|opt out|optout)(?:\s(?:please|now|thanks|thank you|it|all|asap|immediately))*$/;
const PHRASES: RegExp[] = [
  new RegExp(NEGATION + String.raw`\b(?:stop|quit|cease)\s(?:texting|txting|messaging|msging|sending|contacting|calling|spamming|bothering|emailing)\b`),
  new RegExp(NEGATION + String.raw`\bunsubscribe\b`),
  new RegExp(NEGATION + String.raw`\bopt(?:ing)?\s(?:me\s|us\s)?out\b`),
  new RegExp(NEGATION + String.raw`\b(?:remove|take)\s(?:me|us|my number|this number)\s(?:off|from)\b`),
  new RegExp(NEGATION + String.raw`\b(?:revoke|withdraw)\s(?:my\s|all\s)?consent\b`),
  new RegExp(NEGATION + String.raw`\bcancel\s(?:my\s|these\s|the\s|all\s)?(?:subscription|texts|messages|alerts|notifications|sms)\b`),
  /\b(?:don't|dont|do not|never)\s(?:ever\s)?(?:text|txt|message|msg|sms|contact)\s(?:me|us|this number)\b/,
  /\bno\smore\s(?:texts|text messages|messages|msgs|sms)\b/,
  /\bleave\sme\salone\b/,
  /\bi\s(?:don't|dont|do not)\swant\s(?:any\s|any more\s|these\s|your\s|to get\s|to receive\s)*(?:texts|messages|msgs|sms|text messages)\b/,
];

function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`]/g, "'")
    .replace(/[-_]/g, ' ')
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * True when free text asks to stop messages ("please stop texting me", "unsubscribe me", "take me
 * off your list"). Negated forms ("don't stop", "never stop texting me") do not match.
 */
export function isRevocation(body: string | null | undefined): boolean {
  if (typeof body !== 'string' || body.length === 0) return false;
  const t = normalize(body.slice(0, 1600));
  if (t === '') return false;
  if (WHOLE.test(t)) return true;
  return PHRASES.some((re) => re.test(t));
}
