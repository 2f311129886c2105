// The webhook delivery worker: fans committed events out to the subscribed endpoints (one delivery
// row per event and endpoint), claims due deliveries (SKIP LOCKED on PostgreSQL, so any number of
// processes share the work), signs them per Standard Webhooks and posts them. At least once: a
// delivery is done only when its outcome is recorded. Retries follow the schedule with jitter; a
// 410 disables the endpoint, and so do failures for too long (with an alert event). Each endpoint
// has a bounded number of posts in flight and a circuit breaker, so a slow or dead endpoint holds
// only its own deliveries back, never the send path or other endpoints.
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { EventsConfig } from '../config.js';
import { matchesEventType, retryDelay } from '../core/events.js';
import type {
  Metrics,
  ClaimedDelivery,
  Clock,
  DeliveryOutcome,
  EventsRepository,
  Random,
  WebhookEndpointRecord,
  WebhookEndpointsRepository,
  WebhookTransport,
} from '../ports.js';
import { newEvent, toEventResource } from '../services/events.js';
import { toEndpointResource } from '../services/webhook-endpoints.js';

export interface EventDeliveryDeps {
  events: Pick<EventsRepository, 'fanOut'>;
  endpoints: WebhookEndpointsRepository;
  transport: Pick<WebhookTransport, 'post'>;
  signingSecrets(endpoint: WebhookEndpointRecord, now: number): string[];
  clock: Clock;
  random: Random;
  logger: Logger;
  config: EventsConfig;
  metrics?: Metrics;
}

const FANOUT_BATCH = 500;
const FLUSH_DELAY_MS = 5;
// The circuit opens after this many failures in a row, for BREAKER_OPEN_MS; then one try decides.
const BREAKER_FAILURES = 5;
const BREAKER_OPEN_MS = 30_000;

interface Breaker {
  failures: number;
  openUntil: number;
}

export class EventDelivery {
  readonly id: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private started = false;
  private woken = false;
  private readonly inFlight = new Map<string, number>();
  private total = 0;
  private readonly sends = new Set<Promise<void>>();
  private readonly breakers = new Map<string, Breaker>();
  private readonly signers = new Map<string, Webhook>();
  private outcomes: DeliveryOutcome[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly d: EventDeliveryDeps) {
    this.id = `events-${d.random.id()}`;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Look now (events were committed, or a delivery was queued). */
  wake(): void {
    if (!this.started) return;
    if (this.running) this.woken = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await Promise.all([...this.sends]);
    await this.flush();
  }

  private schedule(ms: number): void {
    if (!this.started) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick()
        .catch((e) => this.d.logger.error({ err: e }, 'event delivery failed'))
        .finally(() => {
          this.running = null;
          const again = this.woken;
          this.woken = false;
          this.schedule(again ? 0 : this.d.config.pollIntervalMs);
        });
    }, ms);
  }

  /** One round: fan out what was committed, then start what is due (exposed for tests). */
  async tick(): Promise<void> {
    const now = () => this.d.clock.now().getTime();
    while ((await this.d.events.fanOut(FANOUT_BATCH, now(), () => this.d.random.id(), matchesEventType)) === FANOUT_BATCH) {}
    const free = this.d.config.concurrency - this.total;
    if (free <= 0) return;
    const t = now();
    const cap = this.d.config.perEndpointConcurrency;
    const exclude = [...this.inFlight.entries()].filter(([, n]) => n >= cap).map(([id]) => id);
    for (const [id, b] of this.breakers) if (b.openUntil > t) exclude.push(id);
    // The lease outlives the post (timeout) and the recording of its outcome.
    const claimed = await this.d.endpoints.claimDue(this.id, t, this.d.config.timeoutMs + 10_000, free, exclude);
    const extra: string[] = [];
    for (const c of claimed) {
      const n = this.inFlight.get(c.endpoint.id) ?? 0;
      if (n >= cap) {
        extra.push(c.delivery.id);
        continue;
      }
      this.inFlight.set(c.endpoint.id, n + 1);
      this.total++;
      const p = this.send(c).finally(() => {
        this.sends.delete(p);
        this.total--;
        const left = (this.inFlight.get(c.endpoint.id) ?? 1) - 1;
        if (left <= 0) this.inFlight.delete(c.endpoint.id);
        else this.inFlight.set(c.endpoint.id, left);
        this.wake();
      });
      this.sends.add(p);
    }
    await this.d.endpoints.release(this.id, extra);
  }

  private signer(secret: string): Webhook {
    let w = this.signers.get(secret);
    if (!w) {
      if (this.signers.size > 1000) this.signers.clear();
      w = new Webhook(secret);
      this.signers.set(secret, w);
    }
    return w;
  }

  private async send(c: ClaimedDelivery): Promise<void> {
    const { delivery, event, endpoint } = c;
    const sentAt = this.d.clock.now();
    const body = JSON.stringify(toEventResource(event));
    // Both signatures while a rotated secret overlaps: receivers holding either one verify.
    const signature = this.d
      .signingSecrets(endpoint, sentAt.getTime())
      .map((s) => this.signer(s).sign(event.id, sentAt, body))
      .join(' ');
    const headers = { 'webhook-id': event.id, 'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)), 'webhook-signature': signature };
    const r = await this.d.transport.post({ url: endpoint.url, headers, body, timeoutMs: this.d.config.timeoutMs });
    const now = this.d.clock.now().getTime();
    const success = r.status !== null && r.status >= 200 && r.status < 300;
    const breaker = this.breakers.get(endpoint.id) ?? { failures: 0, openUntil: 0 };
    if (success) this.breakers.delete(endpoint.id);
    else {
      breaker.failures++;
      if (breaker.failures >= BREAKER_FAILURES) breaker.openUntil = now + BREAKER_OPEN_MS;
      this.breakers.set(endpoint.id, breaker);
    }
    const gone = r.status === 410;
    const delay = success || gone ? null : retryDelay(this.d.config.retryScheduleMs, delivery.attempts + 1, this.d.random.int(0, 1_000_000) / 1_000_000);
    this.outcomes.push({
      attempt: {
        id: this.d.random.id(),
        tenant_id: delivery.tenant_id,
        delivery_id: delivery.id,
        endpoint_id: endpoint.id,
        event_id: event.id,
        attempted_at: sentAt.getTime(),
        status_code: r.status,
        error: r.error?.slice(0, 500) ?? null,
        latency_ms: r.latencyMs,
        response_excerpt: r.excerpt,
        success: success ? 1 : 0,
      },
      status: success ? 'succeeded' : delay === null ? 'failed' : 'pending',
      nextAttemptAt: delay === null ? null : now + delay,
    });
    this.d.metrics?.eventDelivery(success ? 'delivered' : delay === null ? 'failed' : 'retry', r.latencyMs / 1000);
    await this.flush();
    if (gone) await this.disable(endpoint, 'gone', now);
    else if (!success && endpoint.failing_since !== null && now - endpoint.failing_since >= this.d.config.disableAfterMs)
      await this.disable(endpoint, 'failing', now);
  }

  /** Outcomes of posts that finished together (within a few ms) are recorded in one transaction. */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.outcomes.length === 0) return;
    if (this.started) await new Promise((r) => setTimeout(r, FLUSH_DELAY_MS));
    while (this.flushing) await this.flushing;
    if (this.outcomes.length === 0) return;
    const batch = this.outcomes;
    this.outcomes = [];
    this.flushing = this.d.endpoints.record(this.id, batch, this.d.clock.now().getTime()).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  private async disable(endpoint: WebhookEndpointRecord, reason: 'gone' | 'failing', now: number): Promise<void> {
    const data = { ...toEndpointResource({ ...endpoint, enabled: 0, disabled_reason: reason, updated_at: now }, now), reason };
    const alert = newEvent(this.d.random, endpoint.tenant_id, 'webhook_endpoint.disabled', now, data);
    if (await this.d.endpoints.disable(endpoint.tenant_id, endpoint.id, reason, now, alert))
      this.d.logger.warn({ endpoint: endpoint.id, tenant: endpoint.tenant_id, reason }, 'webhook endpoint disabled');
  }
}
