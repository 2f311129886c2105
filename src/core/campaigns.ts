// Campaign states and the recipient states shown to users (pure).
//   draft → scheduled → running ⇄ paused → completed | canceled
// A draft may also start at once (running); every state before completed may be canceled.

export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'canceled'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export type CampaignAction = 'start' | 'pause' | 'resume' | 'cancel';

/** The states each action may leave from. */
export const CAMPAIGN_MOVES: Record<CampaignAction, readonly CampaignStatus[]> = {
  start: ['draft'],
  pause: ['scheduled', 'running'],
  resume: ['paused'],
  cancel: ['draft', 'scheduled', 'running', 'paused'],
};

/** What users see per recipient. */
export const RECIPIENT_STATES = ['pending', 'held', 'sent', 'delivered', 'failed', 'undelivered', 'suppressed', 'invalid', 'canceled'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

const BY_MESSAGE: Record<string, RecipientState> = {
  pending: 'pending',
  scheduled: 'held',
  queued: 'sent',
  accepted: 'sent',
  sending: 'sent',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  failed: 'failed',
  undelivered: 'undelivered',
  canceled: 'canceled',
};

/**
 * A recipient's state from its row (pending, messaged, invalid, suppressed, failed) and its
 * message's status; recipients a canceled campaign never reached, and messages it stopped, are canceled.
 */
export function recipientState(rowStatus: string, messageStatus: string | null, campaign: string): RecipientState {
  const ended = campaign === 'canceled';
  if (rowStatus === 'messaged' && messageStatus !== null) {
    const s = BY_MESSAGE[messageStatus] ?? 'sent';
    return ended && (s === 'pending' || s === 'held') ? 'canceled' : s;
  }
  if (rowStatus === 'pending') return ended ? 'canceled' : 'pending';
  if (rowStatus === 'invalid' || rowStatus === 'suppressed' || rowStatus === 'failed') return rowStatus;
  return 'pending';
}

/** The row and message statuses that show as `state` (the inverse of recipientState, for filters). */
export function stateFilter(state: RecipientState, campaign: string): { status: string; messageStatuses?: string[] }[] {
  const ended = campaign === 'canceled';
  const messageStatuses = Object.keys(BY_MESSAGE).filter((m) => BY_MESSAGE[m] === state);
  switch (state) {
    case 'invalid':
    case 'suppressed':
      return [{ status: state }];
    case 'failed':
      return [{ status: 'failed' }, { status: 'messaged', messageStatuses }];
    case 'pending':
      return ended ? [] : [{ status: 'pending' }, { status: 'messaged', messageStatuses }];
    case 'held':
      return ended ? [] : [{ status: 'messaged', messageStatuses }];
    case 'canceled':
      return ended
        ? [{ status: 'pending' }, { status: 'messaged', messageStatuses: ['canceled', 'pending', 'scheduled'] }]
        : [{ status: 'messaged', messageStatuses }];
    default:
      return [{ status: 'messaged', messageStatuses }];
  }
}
