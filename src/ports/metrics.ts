// The metrics port: what services, the worker and the HTTP layer report. Every method is a counter
// or histogram update in memory (no I/O on the hot path); gauges that need the database are read by
// the adapter when scraped. The Prometheus adapter is src/metrics/prometheus.ts.

/** What identifies a message in metrics: bounded values only (never a phone number or an id). */
export interface MessageLabels {
  /** Becomes a `tenant` label only when SMSRELAY_METRICS_TENANT_LABEL=true. */
  tenantId: string;
  category: string;
  channel: string;
}

/** Where a policy decision was taken. */
export type DecisionStage = 'accept' | 'dispatch';

export type ProviderOperation = 'send' | 'fetch' | 'list' | 'lookup';

/** How an ambiguous send (request out, no answer) was settled before anything was sent again. */
export type Settlement = 'found' | 'not_found' | 'unreachable';

/** The outcome of one delivery of an event to a subscribed endpoint (the events feature). */
export type EventDeliveryOutcome = 'delivered' | 'retry' | 'failed';

export interface Metrics {
  /** A new message was stored in the outbox (replays are not counted). */
  accepted(m: MessageLabels): void;
  /** The provider accepted a message (it has a provider SID). */
  sent(m: MessageLabels): void;
  /** The provider reported the message delivered. */
  delivered(m: MessageLabels): void;
  /** The message ended failed or undelivered: `code` is the SMS_ERR_ code, `providerCode` Twilio's. */
  failed(m: MessageLabels, code: string, providerCode: number | null): void;
  /** The sending policy held a message until later. */
  held(m: MessageLabels, reason: string, stage: DecisionStage): void;
  /** A request or message was refused by the sending policy or a rate limit (an SMS_ERR_ code). */
  refused(code: string, stage: DecisionStage | 'api'): void;
  /** One provider call: its duration, and on failure its kind and Twilio error code. */
  providerCall(op: ProviderOperation, seconds: number, error: { kind: string; providerCode: number | null } | null): void;
  /** A send attempt ended without an answer (it may have reached the provider). */
  ambiguous(): void;
  settled(how: Settlement): void;
  /**
   * A status callback moved a message: lag from the provider's time when the callback carries one
   * (`basis` 'provider'), else from when the relay received it ('received').
   */
  callbackApplied(status: string, lagSeconds: number, basis: 'provider' | 'received'): void;
  /** A Twilio webhook was refused for its X-Twilio-Signature. */
  signatureFailure(): void;
  /**
   * Hook for the events feature: one attempt to deliver an event to an endpoint. The backlog
   * (undelivered events) is a gauge read on scrape: pass its reader to `eventBacklog`.
   */
  eventDelivery(outcome: EventDeliveryOutcome, seconds: number): void;
  /** Registers the reader of the events backlog (one cheap, index-served query), read on scrape. */
  eventBacklog(read: () => Promise<{ pending: number; oldestAgeSeconds: number }>): void;
}

/** Metrics that go nowhere (services built without an adapter, e.g. in unit tests). */
export const NO_METRICS: Metrics = {
  accepted() {},
  sent() {},
  delivered() {},
  failed() {},
  held() {},
  refused() {},
  providerCall() {},
  ambiguous() {},
  settled() {},
  callbackApplied() {},
  signatureFailure() {},
  eventDelivery() {},
  eventBacklog() {},
};
