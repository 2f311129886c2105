import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WorkerConfig } from '../config.js';
import { ERRORS } from '../core/errors.js';
import { maskPhonesIn, messageFields } from '../core/log-fields.js';
import { defaultRate, paceCostMs, senderKey } from '../core/pacing.js';
import { maskPhone } from '../core/phone.js';
import type { TenantSettings } from '../core/settings.js';
import { canTransition, isMessageStatus } from '../core/status.js';
import {
  NO_METRICS,
  ProviderError,
  type Clock,
  type EventSpec,
  type MessageChanges,
  type MessageRecord,
  type MessagesRepository,
  type Metrics,
  type MoveResult,
  type SenderPaceRepository,
  type Policy,
  type Provider,
  type ProviderFor,
  type ProviderMessage,
  type UnitOfWork,
} from '../ports.js';

export interface DispatcherDeps {
  messages: MessagesRepository;
  write: UnitOfWork['write'];
  providerFor: ProviderFor;
  clock: Clock;
  config: WorkerConfig;
  logger: Logger;
  /** Status callback URL passed to the provider, when a public URL is configured. */
  statusCallback: string | null;
  random?: () => number;
  /** The sending policy, asked again before each send: a refusal fails the message locally, a hold reschedules it. */
  policy: Policy;
  settings: { get(tenantId: string): Promise<TenantSettings> };
  /** Told about permanent provider refusals (a 21610 answer means the recipient opted out). */
  onRejected?: (row: MessageRecord, providerCode: number | null) => Promise<void>;
  metrics?: Metrics;
  /**
   * Sender pacing, shared by every worker through the database: senders in the tenant's
   * `sender_rates` are paced, and with `defaults` every other sender at its type's rate (core/pacing.ts).
   */
  pacing?: { reserve: SenderPaceRepository['reserve']; defaults: boolean };
}

/** How far ahead a worker takes a sender's slot and waits for it; a later slot holds the message instead. */
const PACE_HORIZON_MS = 1000;

/** What an attempt changes on its message, written back under this worker's lease. */
interface Outcome {
  row: MessageRecord;
  set: MessageChanges & { updated_at: number };
  event: EventSpec;
}

/**
 * The outbox dispatcher: claims due messages with a lease, calls the provider with bounded
 * concurrency, and writes outcomes back in batches. Safe to run in several processes at once.
 */
export class Dispatcher {
  readonly id = `w-${randomUUID().slice(0, 8)}`;
  private running = false;
  private stopping = false;
  private inFlight = 0;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeResolve: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private pendingResults: Outcome[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  private readonly random: () => number;
  private readonly metrics: Metrics;
  /** Per tenant and sender: after when this worker holds the next message it could not pace now. */
  private readonly paceBacklog = new Map<string, number>();
  /** Per tenant and sender: when the sender is next free, as this worker last learnt from the database. */
  private readonly senderFree = new Map<string, number>();

  constructor(private readonly d: DispatcherDeps) {
    this.random = d.random ?? Math.random;
    this.metrics = d.metrics ?? NO_METRICS;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.loopDone = this.loop();
  }

  /** New work was committed: claim now instead of at the next poll. */
  wake(): void {
    this.wakeResolve?.();
  }

  /**
   * Stops claiming, gives back claimed messages that were not started, lets in-flight provider
   * calls finish and their results land, then resolves.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wake();
    await this.loopDone;
    const unstarted = this.queue.splice(0);
    this.inFlight -= unstarted.length;
    if (this.inFlight === 0) for (const r of this.idleWaiters.splice(0)) r();
    await this.d.messages.releaseLeases(
      this.id,
      unstarted.map(({ row, claimedAt }) => ({ id: row.id, claimedAt })),
      this.d.clock.now().getTime(),
    );
    await this.whenIdle();
    await this.flushResults();
    this.running = false;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let claimed = 0;
      try {
        const free = this.d.config.concurrency * 4 - this.inFlight;
        if (free > 0) claimed = await this.claimAndDispatch(Math.min(free, this.d.config.batchSize));
      } catch (e) {
        this.d.logger.error({ err: e }, 'worker claim failed');
      }
      if (this.stopping) break;
      if (claimed === 0 || this.inFlight >= this.d.config.concurrency * 4) await this.sleep(this.d.config.pollIntervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeResolve = () => {
        this.wakeResolve = null;
        if (this.wakeTimer) clearTimeout(this.wakeTimer);
        this.wakeTimer = null;
        resolve();
      };
      this.wakeTimer = setTimeout(() => this.wakeResolve?.(), ms);
    });
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async claimAndDispatch(limit: number): Promise<number> {
    const now = this.d.clock.now().getTime();
    const rows = await this.d.messages.claimDue(this.id, now, this.d.config.leaseMs, limit);
    for (const row of rows) this.dispatch(row, now);
    return rows.length;
  }

  // Concurrency is bounded by a simple counter and a FIFO of claimed rows: claims never exceed
  // 4× the concurrency, so the queue stays small and leases stay far from expiring.
  private queue: { row: MessageRecord; claimedAt: number }[] = [];

  private dispatch(row: MessageRecord, claimedAt: number): void {
    this.queue.push({ row, claimedAt });
    this.inFlight++;
    this.pump();
  }

  private active = 0;

  private pump(): void {
    while (this.active < this.d.config.concurrency && this.queue.length > 0) {
      const { row, claimedAt } = this.queue.shift()!;
      this.active++;
      void this.process(row, claimedAt)
        .catch((e) => {
          // A bug, not a provider outcome: leave the lease to expire so the message is settled later.
          this.d.logger.error({ err: e, ...messageFields(row) }, 'worker failed to process a message');
        })
        .finally(() => {
          this.active--;
          this.inFlight--;
          if (this.inFlight === 0) for (const r of this.idleWaiters.splice(0)) r();
          // Claim more as soon as the local queue runs low, rather than at the next poll.
          if (this.inFlight === this.d.config.concurrency) this.wake();
          this.pump();
        });
    }
  }

  private async process(row: MessageRecord, claimedAt: number): Promise<void> {
    const now = this.d.clock.now().getTime();
    if (row.expires_at !== null && now > row.expires_at && row.in_flight_since === claimedAt) {
      return this.record(this.fail(row, now, 'SMS_ERR_EXPIRED', null, 'The validity period expired before the message could be sent.'));
    }
    // Judged by the rules of the moment it is sent; only while nothing of an earlier attempt can be
    // at the provider (otherwise it is settled first).
    if (row.in_flight_since === claimedAt) {
      const decision = await this.d.policy.decide(
        {
          id: row.id,
          tenantId: row.tenant_id,
          to: row.to_addr,
          channel: row.channel,
          category: row.category,
          body: row.body,
          segments: row.segments,
          recipientTimezone: row.recipient_timezone,
          metered: row.metered === 1,
          campaignId: row.campaign_id ?? null,
        },
        { stage: 'dispatch', now, settings: await this.d.settings.get(row.tenant_id) },
      );
      if (decision.action === 'refuse') {
        this.metrics.refused(decision.code, 'dispatch');
        return this.record(this.fail(row, now, decision.code, null, decision.message ?? ERRORS[decision.code].message));
      }
      if (decision.action === 'hold' && decision.until > now) return this.record(this.hold(row, now, decision.until, decision.reason));
    }
    // An in-flight marker older than this claim means an earlier attempt may have reached the
    // provider (its answer was lost, or its worker died). Twilio has no idempotency key on create,
    // so ask it before sending again.
    if (row.in_flight_since !== claimedAt) {
      const settled = await this.settle(row, now);
      if (settled) return this.record(settled);
    }
    if (row.expires_at !== null && now > row.expires_at) {
      return this.record(this.fail(row, now, 'SMS_ERR_EXPIRED', null, 'The validity period expired before the message could be sent.'));
    }
    if (row.attempts >= row.max_attempts) {
      return this.record(this.fail(row, now, 'SMS_ERR_MAX_ATTEMPTS', row.provider_code, `Gave up after ${row.attempts} attempts.`));
    }
    if (await this.paced(row)) await this.attempt(row);
  }

  /**
   * Takes the sender's next send slot (segments at the sender's rate) and waits for it; false when
   * the slot is beyond the horizon: then the message is held until about when its sender is free,
   * without counting an attempt. Claims of many messages of one sender are thus paced one by one,
   * and a wait does not take a concurrency slot that other senders' messages could use.
   */
  private async paced(row: MessageRecord): Promise<boolean> {
    const pacing = this.d.pacing;
    const key = senderKey({ from: row.from_addr, messagingServiceSid: row.messaging_service_sid });
    if (!pacing || key === null) return true;
    const rate = (await this.d.settings.get(row.tenant_id)).sender_rates[key] ?? (pacing.defaults ? defaultRate(key) : null);
    if (rate === null) return true;
    const cost = paceCostMs(row.segments, rate);
    const senderKeyOf = `${row.tenant_id}\u0000${key}`;
    // A slot missed by more than half its length (this process was busy) is left empty and another
    // taken (once): sending that late would crowd the next slots' messages into one second.
    for (let tries = 0; ; tries++) {
      // One reservation per sender at a time in this worker, so that a claim of many messages of one
      // sender asks the database once per slot, not all at once (with a stale "now").
      const { slot, now } = await this.oneAtATime(senderKeyOf, async () => {
        const now = this.d.clock.now().getTime();
        if (this.senderFree.size >= 10_000) this.forgetPast(now);
        // Known to be busy beyond the horizon (this worker's last answer): held without asking the database.
        const busyUntil = this.senderFree.get(senderKeyOf) ?? 0;
        const slot =
          busyUntil > now + PACE_HORIZON_MS ? { granted: false, at: busyUntil } : await pacing.reserve(row.tenant_id, key, now, cost, PACE_HORIZON_MS);
        this.senderFree.set(senderKeyOf, Math.max(busyUntil, slot.granted ? slot.at + cost : slot.at));
        return { slot, now };
      });
      if (!slot.granted) {
        // This worker's held messages of one sender come back one slot apart, not all at once.
        const until = Math.max(slot.at, this.paceBacklog.get(senderKeyOf) ?? 0);
        this.paceBacklog.set(senderKeyOf, until + cost);
        this.record(this.hold(row, now, until, 'pacing'));
        return false;
      }
      if (slot.at > now) {
        this.active--;
        this.pump();
        await new Promise((r) => setTimeout(r, slot.at - now));
        this.active++;
      }
      if (this.d.clock.now().getTime() - slot.at < cost / 2 || tries >= 1) return true;
    }
  }

  private readonly paceTurns = new Map<string, Promise<unknown>>();

  private oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.paceTurns.get(key) ?? Promise.resolve()).then(fn);
    const turn = result.catch(() => undefined);
    this.paceTurns.set(key, turn);
    void turn.then(() => {
      if (this.paceTurns.get(key) === turn) this.paceTurns.delete(key);
    });
    return result;
  }

  private forgetPast(now: number): void {
    for (const map of [this.senderFree, this.paceBacklog]) for (const [k, t] of map) if (t < now) map.delete(k);
  }

  /** Returns an outcome when the provider already has the message or cannot be asked; null to send. */
  private async settle(row: MessageRecord, now: number): Promise<Outcome | null> {
    let candidates: ProviderMessage[];
    try {
      const provider = await this.d.providerFor(row.tenant_id);
      candidates = await provider.list({ to: row.to_addr, from: row.from_addr, sentAfter: new Date(row.in_flight_since!) });
    } catch (e) {
      const err = e instanceof ProviderError ? e : new ProviderError('ambiguous', String(e));
      this.metrics.settled('unreachable');
      this.d.logger.warn({ ...messageFields(row), err: maskPhonesIn(err.message) }, 'could not settle an ambiguous send yet');
      return this.retryLater(row, now, err, false);
    }
    const body = row.body ?? '';
    for (const c of candidates) {
      if ((c.body ?? '') !== body) continue;
      if (await this.d.messages.providerSidTaken(c.sid)) continue;
      this.metrics.settled('found');
      this.d.logger.info(messageFields({ ...row, provider_sid: c.sid }), 'ambiguous send settled: the provider has it');
      return this.accepted(row, now, c, { settled: true });
    }
    this.metrics.settled('not_found');
    this.d.logger.info({ ...messageFields(row), to: maskPhone(row.to_addr) }, 'ambiguous send settled: not at the provider, sending');
    return null;
  }

  private async attempt(row: MessageRecord): Promise<void> {
    const attempt = row.attempts + 1;
    const start = this.d.clock.now().getTime();
    const validityLeft = row.expires_at === null ? null : Math.max(1, Math.min(36_000, Math.floor((row.expires_at - start) / 1000)));
    let provider: Provider;
    try {
      provider = await this.d.providerFor(row.tenant_id);
    } catch (e) {
      // Nothing was sent: retry like a refused connection, so a broken credential ends in SMS_ERR_MAX_ATTEMPTS.
      const err = new ProviderError('transient', `no provider for the tenant: ${e instanceof Error ? e.message : String(e)}`);
      this.record(this.retryLater({ ...row, attempts: attempt }, this.d.clock.now().getTime(), err, true));
      return;
    }
    this.d.logger.debug({ ...messageFields(row), to: maskPhone(row.to_addr), attempt, category: row.category, channel: row.channel }, 'send attempt');
    try {
      const m = await provider.send({
        to: row.to_addr,
        from: row.from_addr,
        messagingServiceSid: row.messaging_service_sid,
        body: row.body,
        mediaUrls: row.media_urls ? (JSON.parse(row.media_urls) as string[]) : [],
        statusCallback: this.d.statusCallback,
        validityPeriod: validityLeft,
        attempt,
      });
      this.record(this.accepted({ ...row, attempts: attempt }, this.d.clock.now().getTime(), m, null));
    } catch (e) {
      const now = this.d.clock.now().getTime();
      const err = e instanceof ProviderError ? e : new ProviderError('ambiguous', e instanceof Error ? e.message : String(e));
      const r = { ...row, attempts: attempt };
      if (err.kind === 'permanent') {
        this.record(this.fail(r, now, 'SMS_ERR_PROVIDER_REJECTED', err.providerCode, err.message));
        await this.d.onRejected?.(row, err.providerCode).catch((e) => this.d.logger.error({ err: e, ...messageFields(row) }, 'onRejected hook failed'));
      } else {
        if (err.kind === 'ambiguous') this.metrics.ambiguous();
        this.d.logger.warn(
          { ...messageFields(row), kind: err.kind, provider_code: err.providerCode, attempt, reason: maskPhonesIn(err.message) },
          'send attempt did not complete',
        );
        this.record(this.retryLater(r, now, err, err.kind === 'transient'));
      }
    }
  }

  private accepted(row: MessageRecord, now: number, m: ProviderMessage, data: Record<string, unknown> | null): Outcome {
    const status = isMessageStatus(m.status) && canTransition('pending', m.status) ? m.status : 'queued';
    return {
      row,
      set: {
        status,
        provider_sid: m.sid,
        // A secret (verification code) is not kept once the provider has it.
        ...(row.sensitive ? { body: null } : {}),
        attempts: row.attempts,
        segments: m.numSegments && m.numSegments > 0 ? m.numSegments : row.segments,
        sent_at: now,
        updated_at: now,
        locked_by: null,
        locked_until: null,
        in_flight_since: null,
        next_attempt_at: null,
      },
      event: { source: 'worker', data: { provider_sid: m.sid, ...data } },
    };
  }

  private fail(row: MessageRecord, now: number, code: string, providerCode: number | null, message: string): Outcome {
    return {
      row,
      set: {
        status: 'failed',
        error_code: code,
        provider_code: providerCode,
        error_message: message,
        attempts: row.attempts,
        updated_at: now,
        locked_by: null,
        locked_until: null,
        in_flight_since: null,
        next_attempt_at: null,
      },
      event: { source: 'worker' },
    };
  }

  /** Held by the policy: scheduled again for `until`, not counted as an attempt. */
  private hold(row: MessageRecord, now: number, until: number, reason: string): Outcome {
    return {
      row,
      set: {
        status: 'scheduled',
        send_at: until,
        next_attempt_at: until,
        hold_reason: reason,
        updated_at: now,
        locked_by: null,
        locked_until: null,
        in_flight_since: null,
      },
      event: { source: 'worker', data: { held_until: new Date(until).toISOString(), reason } },
    };
  }

  /**
   * Back to the outbox with exponential backoff and full jitter, at least Retry-After. `notSent`
   * clears the in-flight marker (the provider did not process the request); otherwise the marker
   * stays and the next claim settles before sending.
   */
  private retryLater(row: MessageRecord, now: number, err: ProviderError, notSent: boolean): Outcome {
    if (row.attempts >= row.max_attempts && notSent) {
      return this.fail(row, now, 'SMS_ERR_MAX_ATTEMPTS', err.providerCode, `Gave up after ${row.attempts} attempts: ${err.message}`);
    }
    const cfg = this.d.config;
    const ceiling = Math.min(cfg.backoffMaxMs, cfg.backoffBaseMs * 2 ** Math.max(0, row.attempts - 1));
    let delay = Math.floor(this.random() * ceiling);
    if (err.retryAfterMs !== null) delay = Math.max(delay, err.retryAfterMs);
    if (!notSent) delay = Math.max(delay, cfg.settleDelayMs);
    return {
      row,
      set: {
        status: 'pending',
        attempts: row.attempts,
        provider_code: err.providerCode,
        error_message: err.message,
        next_attempt_at: now + delay,
        updated_at: now,
        locked_by: null,
        locked_until: null,
        ...(notSent ? { in_flight_since: null } : {}),
      },
      event: { source: 'worker', data: { retry_in_ms: delay, outcome: err.kind, attempt: row.attempts, reason: err.message } },
    };
  }

  // Outcomes are written in batches: one transaction for everything that finished in this tick;
  // rows whose lease moved to another worker are skipped.
  private record(o: Outcome): void {
    this.pendingResults.push(o);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flushResults();
      });
    }
  }

  /**
   * Outcomes are counted and logged once written (a move whose lease had moved on did not happen).
   * Retries are logged where the attempt ended ('send attempt did not complete').
   */
  private counted(batch: Outcome[], moved: MoveResult[]): void {
    const log = this.d.logger;
    for (const [i, o] of batch.entries()) {
      if (!moved[i]?.moved) continue;
      const labels = { tenantId: o.row.tenant_id, category: o.row.category, channel: o.row.channel };
      const s = o.set;
      const ids = messageFields({ ...o.row, provider_sid: s.provider_sid ?? o.row.provider_sid });
      if (s.status === 'failed') {
        this.metrics.failed(labels, s.error_code ?? 'SMS_ERR_INTERNAL', s.provider_code ?? null);
        log.info({ ...ids, status: s.status, error_code: s.error_code, provider_code: s.provider_code ?? null, attempts: s.attempts }, 'message failed');
      } else if (s.status === 'scheduled') {
        this.metrics.held(labels, s.hold_reason ?? 'unknown', 'dispatch');
        log.info({ ...ids, status: s.status, hold_reason: s.hold_reason, send_at: s.send_at }, 'message held by the sending policy');
      } else if (s.status !== 'pending') {
        this.metrics.sent(labels);
        log.info({ ...ids, status: s.status, attempts: s.attempts }, 'message sent to the provider');
      }
    }
  }

  private flushResults(): Promise<void> {
    const batch = this.pendingResults.splice(0);
    if (batch.length > 0) {
      // Not chained behind the previous write: each message has one outcome per claim, so batches
      // are independent and may commit concurrently (several writers on PostgreSQL).
      const written = this.d.messages
        .commitTransition(batch.map((o) => ({ target: { id: o.row.id }, set: o.set, leasedBy: this.id, at: o.set.updated_at, event: o.event })))
        .then(
          (moved) => this.counted(batch, moved),
          (e) => this.d.logger.error({ err: e }, 'failed to record send outcomes; leases will expire and be settled'),
        );
      this.flushing = Promise.all([this.flushing, written]).then(() => undefined);
    }
    return this.flushing;
  }
}
