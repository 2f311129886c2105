// The events smsrelay tells the host application about (webhooks, the event log, the live stream,
// `relay.on`), and the pure rules around them: which endpoint wants which event, and when a failed
// delivery is tried again.

/** Every event type, including those raised by features that call the events port later. */
export const EVENT_TYPES = [
  'message.sent',
  'message.delivered',
  'message.undelivered',
  'message.failed',
  'message.received',
  'conversation.needs_attention',
  'consent.opted_out',
  'consent.opted_in',
  'verification.approved',
  'verification.locked',
  'usage.cap_threshold',
  'usage.cap_reached',
  'campaign.completed',
  'webhook_endpoint.disabled',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (t: string): t is EventType => (EVENT_TYPES as readonly string[]).includes(t);

/** Message statuses whose transition raises `message.<status>`. */
export const MESSAGE_EVENT_STATUSES = ['sent', 'delivered', 'undelivered', 'failed'] as const;

/** A subscription pattern: an exact type, `<group>.*`, or `*`. */
export function isEventPattern(p: string): boolean {
  if (p === '*') return true;
  if (p.endsWith('.*')) return EVENT_TYPES.some((t) => t.startsWith(p.slice(0, -1)));
  return isEventType(p);
}

export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/**
 * Delay before the next attempt after `failures` failed ones (Svix's schedule by default), with
 * ±20 % jitter so that retries after an outage do not arrive together; null when the schedule is
 * exhausted. `unit` is a random number in [0, 1).
 */
export function retryDelay(scheduleMs: readonly number[], failures: number, unit: number): number | null {
  const base = scheduleMs[failures];
  if (base === undefined) return null;
  return Math.round(base * (0.8 + 0.4 * unit));
}

/** Svix's retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE_MS = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
