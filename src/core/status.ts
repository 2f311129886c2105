// The message status machine. Twilio's status callbacks arrive late, twice and out of order, so a
// status only ever moves forward by rank and terminal states stay terminal (DESIGN "send path" 4).

export const MESSAGE_STATUSES = [
  'pending',
  'scheduled',
  'accepted',
  'queued',
  'sending',
  'sent',
  'receiving',
  'received',
  'delivered',
  'undelivered',
  'failed',
  'read',
  'canceled',
  'partially_delivered',
] as const;

export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

// 'scheduled' ranks before 'pending': a scheduled message that becomes due goes back into the
// outbox as pending and is sent from there. All outcomes share one rank so that none of them can
// overwrite another; only 'read' (WhatsApp) ranks above 'delivered'.
const RANK: Readonly<Record<MessageStatus, number>> = {
  scheduled: 0,
  pending: 1,
  accepted: 2,
  queued: 3,
  sending: 4,
  receiving: 4,
  sent: 5,
  delivered: 6,
  undelivered: 6,
  failed: 6,
  canceled: 6,
  received: 6,
  partially_delivered: 6,
  read: 7,
};

const STATUS_SET: ReadonlySet<string> = new Set(MESSAGE_STATUSES);
const TERMINAL: ReadonlySet<MessageStatus> = new Set<MessageStatus>(['delivered', 'undelivered', 'failed', 'canceled', 'read', 'received']);
// Inbound and outbound messages share the vocabulary but never each other's states.
const INBOUND: ReadonlySet<MessageStatus> = new Set<MessageStatus>(['receiving', 'received']);

export function isMessageStatus(s: string): s is MessageStatus {
  return STATUS_SET.has(s);
}

export function isTerminal(s: MessageStatus): boolean {
  return TERMINAL.has(s);
}

export function rank(s: MessageStatus): number {
  return RANK[s];
}

export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  if (from === to) return false;
  // The one move out of a terminal state: a WhatsApp read receipt after delivery.
  if (from === 'delivered') return to === 'read';
  if (isTerminal(from)) return false;
  // Only a message that has not reached Twilio yet (or is held there as scheduled) can be canceled.
  if (to === 'canceled') return from === 'scheduled' || from === 'pending';
  // Anything still in flight may fail (validity expiry, max attempts, provider error).
  if (to === 'failed') return true;
  if (INBOUND.has(from) !== INBOUND.has(to)) return false;
  // partially_delivered shares the outcome rank but is not final: the final outcome may follow it.
  if (from === 'partially_delivered') return isTerminal(to) || RANK[to] > RANK[from];
  return RANK[to] > RANK[from];
}
