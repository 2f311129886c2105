// The metrics adapter: the metrics port on prom-client (the only module that imports it). One
// registry per relay instance, never prom-client's global one: several relays may share a process
// (tests, an application embedding two). Counters and histograms are updated in memory; the
// gauges that need the database are read when scraped, with one index-served query each.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionStage, EventDeliveryOutcome, MessageLabels, Metrics, ProviderOperation, Settlement } from '../ports.js';

export interface PrometheusMetricsOptions {
  /** Adds a `tenant` label (the tenant id) to the message counters: one series per tenant, so opt-in. */
  tenantLabel: boolean;
  /** Outbox depth (pending and scheduled messages) and the earliest next attempt among them. */
  outbox(): Promise<{ depth: number; earliestAttemptAt: number | null }>;
  /** PostgreSQL pool usage; null on SQLite (one connection, no pool). */
  pool: (() => { total: number; idle: number; waiting: number; max: number }) | null;
  now(): number;
}

const PREFIX = 'smsrelay_';
// Provider calls take tens to hundreds of ms; the tail (timeouts) reaches tens of seconds.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Callbacks trail their send by seconds to minutes (carrier receipts); RawDlrDoneDate has minute precision.
const LAG_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900, 3600];

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly messageLabels: string[];
  private readonly acceptedC: Counter;
  private readonly sentC: Counter;
  private readonly deliveredC: Counter;
  private readonly failedC: Counter;
  private readonly heldC: Counter;
  private readonly refusedC: Counter;
  private readonly providerLatency: Histogram;
  private readonly providerErrors: Counter;
  private readonly ambiguousC: Counter;
  private readonly settledC: Counter;
  private readonly callbackLag: Histogram;
  private readonly signatureFailures: Counter;
  private readonly eventDeliveries: Histogram;
  private backlogReader: (() => Promise<{ pending: number; oldestAgeSeconds: number }>) | null = null;

  constructor(private readonly o: PrometheusMetricsOptions) {
    const registers = [this.registry];
    this.messageLabels = o.tenantLabel ? ['category', 'channel', 'tenant'] : ['category', 'channel'];
    const messages = (name: string, help: string, extra: string[] = []) =>
      new Counter({ name: PREFIX + name, help, labelNames: [...this.messageLabels, ...extra], registers });

    this.acceptedC = messages('messages_accepted_total', 'Messages stored in the outbox by the send API (idempotent replays not counted).');
    this.sentC = messages('messages_sent_total', 'Messages the provider accepted (a provider SID was stored).');
    this.deliveredC = messages('messages_delivered_total', 'Messages the provider reported delivered.');
    this.failedC = messages(
      'messages_failed_total',
      'Messages that ended failed or undelivered, by smsrelay error code and Twilio error code ("none" without one).',
      ['code', 'twilio_code'],
    );
    this.heldC = messages('messages_held_total', 'Messages the sending policy held until later, by reason and stage (accept or dispatch).', [
      'reason',
      'stage',
    ]);
    this.refusedC = new Counter({
      name: PREFIX + 'refusals_total',
      help: 'Requests and messages refused by the sending policy (stage accept/dispatch) or a rate limit answered with 429 (stage api), by error code.',
      labelNames: ['code', 'stage'],
      registers,
    });
    this.providerLatency = new Histogram({
      name: PREFIX + 'provider_call_duration_seconds',
      help: 'Duration of calls to the provider (Twilio or the emulator), by operation and outcome (ok or the failure kind).',
      labelNames: ['operation', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.providerErrors = new Counter({
      name: PREFIX + 'provider_errors_total',
      help: 'Failed provider calls by operation, failure kind (permanent, transient, ambiguous) and Twilio error code ("none" without one).',
      labelNames: ['operation', 'kind', 'twilio_code'],
      registers,
    });
    this.ambiguousC = new Counter({
      name: PREFIX + 'ambiguous_sends_total',
      help: 'Send attempts that ended without an answer (the request may have reached the provider); each is settled before any resend.',
      registers,
    });
    this.settledC = new Counter({
      name: PREFIX + 'ambiguous_settlements_total',
      help: 'How ambiguous sends were settled by asking the provider: found (it has the message), not_found (sent again), unreachable (asked again later).',
      labelNames: ['result'],
      registers,
    });
    this.callbackLag = new Histogram({
      name: PREFIX + 'callback_lag_seconds',
      help: "Status callbacks applied, by status: seconds from the provider's time (basis provider, RawDlrDoneDate) or from receipt (basis received) to applied.",
      labelNames: ['status', 'basis'],
      buckets: LAG_BUCKETS,
      registers,
    });
    this.signatureFailures = new Counter({
      name: PREFIX + 'webhook_signature_failures_total',
      help: 'Twilio webhooks refused because X-Twilio-Signature was missing or did not match.',
      registers,
    });
    this.eventDeliveries = new Histogram({
      name: PREFIX + 'event_delivery_duration_seconds',
      help: 'Deliveries of events to subscribed endpoints, by outcome (delivered, retry, failed).',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });

    const self = this;
    // Both outbox gauges come from one query: a scrape collects every metric at once, so the second
    // collector joins the query the first started.
    let outboxRead: Promise<{ depth: number; earliestAttemptAt: number | null }> | null = null;
    const outbox = () => {
      outboxRead ??= o.outbox().finally(() => {
        outboxRead = null;
      });
      return outboxRead;
    };
    new Gauge({
      name: PREFIX + 'outbox_depth',
      help: 'Messages waiting in the outbox (pending or scheduled, held ones included).',
      registers,
      async collect() {
        this.set((await outbox()).depth);
      },
    });
    new Gauge({
      name: PREFIX + 'outbox_oldest_due_age_seconds',
      help: 'How long the longest-waiting due message in the outbox has been due (0 when none is due).',
      registers,
      async collect() {
        const earliest = (await outbox()).earliestAttemptAt;
        // An earliest attempt in the future means nothing is due yet.
        this.set(earliest === null ? 0 : Math.max(0, (o.now() - earliest) / 1000));
      },
    });
    new Gauge({
      name: PREFIX + 'event_backlog',
      help: 'Webhook deliveries not yet made (pending) and the age of the oldest in seconds.',
      labelNames: ['measure'],
      registers,
      async collect() {
        this.reset();
        if (!self.backlogReader) return;
        const b = await self.backlogReader();
        this.labels('pending').set(b.pending);
        this.labels('oldest_age_seconds').set(b.oldestAgeSeconds);
      },
    });
    if (o.pool) {
      const pool = o.pool;
      new Gauge({
        name: PREFIX + 'db_pool_connections',
        help: 'PostgreSQL pool: connections open (total), idle, clients waiting for one (waiting), and the pool size (max).',
        labelNames: ['state'],
        registers,
        collect() {
          const p = pool();
          this.labels('total').set(p.total);
          this.labels('idle').set(p.idle);
          this.labels('waiting').set(p.waiting);
          this.labels('max').set(p.max);
        },
      });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (collects the database gauges first). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  private labels(m: MessageLabels): Record<string, string> {
    return this.o.tenantLabel ? { category: m.category, channel: m.channel, tenant: m.tenantId } : { category: m.category, channel: m.channel };
  }

  accepted(m: MessageLabels): void {
    this.acceptedC.inc(this.labels(m));
  }

  sent(m: MessageLabels): void {
    this.sentC.inc(this.labels(m));
  }

  delivered(m: MessageLabels): void {
    this.deliveredC.inc(this.labels(m));
  }

  failed(m: MessageLabels, code: string, providerCode: number | null): void {
    this.failedC.inc({ ...this.labels(m), code, twilio_code: providerCode === null ? 'none' : String(providerCode) });
  }

  held(m: MessageLabels, reason: string, stage: DecisionStage): void {
    this.heldC.inc({ ...this.labels(m), reason, stage });
  }

  refused(code: string, stage: DecisionStage | 'api'): void {
    this.refusedC.inc({ code, stage });
  }

  providerCall(op: ProviderOperation, seconds: number, error: { kind: string; providerCode: number | null } | null): void {
    this.providerLatency.observe({ operation: op, outcome: error ? error.kind : 'ok' }, seconds);
    if (error) this.providerErrors.inc({ operation: op, kind: error.kind, twilio_code: error.providerCode === null ? 'none' : String(error.providerCode) });
  }

  ambiguous(): void {
    this.ambiguousC.inc();
  }

  settled(how: Settlement): void {
    this.settledC.inc({ result: how });
  }

  callbackApplied(status: string, lagSeconds: number, basis: 'provider' | 'received'): void {
    this.callbackLag.observe({ status, basis }, Math.max(0, lagSeconds));
  }

  signatureFailure(): void {
    this.signatureFailures.inc();
  }

  eventDelivery(outcome: EventDeliveryOutcome, seconds: number): void {
    this.eventDeliveries.observe({ outcome }, seconds);
  }

  eventBacklog(read: () => Promise<{ pending: number; oldestAgeSeconds: number }>): void {
    this.backlogReader = read;
  }
}
