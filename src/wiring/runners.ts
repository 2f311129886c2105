// The background work: the outbox dispatcher and the reconciler (built once a provider exists,
// sharing its per-tenant lookup) and the periodic runner every timed loop runs on.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { webhookUrls } from '../core/wiring.js';
import type { Clock, Metrics, Policy, ProviderFor, Random, Repositories } from '../ports.js';
import type { ConsentService } from '../services/consent.js';
import type { SettingsService } from '../services/settings.js';
import type { StatusCallbacksService } from '../services/status-callbacks.js';
import type { CampaignDispatcher } from '../worker/campaign-dispatcher.js';
import { Dispatcher } from '../worker/dispatcher.js';
import type { EventDelivery } from '../worker/event-delivery.js';
import { PeriodicRunner } from '../worker/periodic.js';
import { Reconciler } from '../worker/reconciler.js';
import type { Data } from './data.js';
import type { ProviderHub } from './provider.js';

const HOUSEKEEPING_MS = 10 * 60 * 1000;

export interface RunnersDeps {
  config: Config;
  logger: Logger;
  repos: Repositories;
  clock: Clock;
  random: Random;
  hub: ProviderHub;
  policy: Policy;
  settings: SettingsService;
  consent: ConsentService;
  statusCallbacks: StatusCallbacksService;
  metrics: Metrics;
  /** The webhook delivery worker (started and stopped with the others). */
  eventDelivery: EventDelivery;
  /** Usage, prices and retention loops. */
  data: Pick<Data, 'tasks' | 'providerTasks'>;
  /** Turns campaign recipients into messages (started and stopped with the others). */
  campaignDispatcher: CampaignDispatcher;
}

export class Runners {
  private dispatcher: Dispatcher | null = null;
  private reconcilerRunner: Reconciler | null = null;
  private wanted = false;
  // Every loop on a timer (reconciliation, late callbacks, housekeeping) runs here, started with the worker.
  private readonly periodic: PeriodicRunner;

  constructor(private readonly d: RunnersDeps) {
    const { repos, clock, random, logger } = d;
    this.periodic = new PeriodicRunner({ random, onError: (task, e) => logger.error({ err: e }, `${task} failed`) });
    // Idempotency keys are kept 24 h; the workers delete expired ones (any worker may).
    this.periodic.add({
      name: 'idempotency key cleanup',
      intervalMs: HOUSEKEEPING_MS,
      runAtStart: true,
      run: () => repos.messages.deleteExpiredIdempotencyKeys(clock.now().getTime()),
    });
    // Events are kept for the event log and redelivery, then deleted (oldest first, in bounded batches).
    this.periodic.add({
      name: 'event retention',
      intervalMs: HOUSEKEEPING_MS,
      runAtStart: false,
      run: () => repos.events.deleteOlderThan(clock.now().getTime() - d.config.events.retentionDays * 86_400_000, 10_000),
    });
    for (const task of d.data.tasks()) this.periodic.add(task);
    // Per-recipient windows whose every send has left the window decide nothing any more.
    this.periodic.add({
      name: 'recipient windows cleanup',
      intervalMs: HOUSEKEEPING_MS,
      runAtStart: true,
      run: () => repos.counters.pruneWindows(clock.now().getTime()),
    });
    d.hub.onProvider((providerFor) => this.build(providerFor));
  }

  /** The outbox dispatcher; null until a provider exists. */
  get worker(): Dispatcher | null {
    return this.dispatcher;
  }

  /** Converges stale provider statuses and late-matched callbacks; null until a provider exists. */
  get reconciler(): Reconciler | null {
    return this.reconcilerRunner;
  }

  wake(): void {
    this.dispatcher?.wake();
  }

  /** Starts the periodic tasks and the dispatcher (now, or as soon as a provider exists). */
  start(): void {
    this.wanted = true;
    this.periodic.start();
    this.dispatcher?.start();
    this.d.eventDelivery.start();
    this.d.campaignDispatcher.start();
  }

  async stop(): Promise<void> {
    await this.d.campaignDispatcher.stop();
    await this.periodic.stop();
    await this.dispatcher?.stop();
    await this.d.eventDelivery.stop();
  }

  private build(providerFor: ProviderFor): void {
    const { config, logger, repos, clock, policy, settings, consent, statusCallbacks } = this.d;
    this.dispatcher = new Dispatcher({
      messages: repos.messages,
      write: repos.write,
      providerFor,
      clock,
      config: config.worker,
      logger,
      statusCallback: config.publicUrl ? webhookUrls(config.publicUrl).status : null,
      policy,
      settings,
      onRejected: (row, code) => consent.onProviderRejected(row, code),
      metrics: this.d.metrics,
      pacing: { reserve: repos.pacing.reserve, defaults: config.worker.pacingDefaults ?? config.provider === 'twilio' },
    });
    this.reconcilerRunner = new Reconciler({
      reconcile: repos.reconcile,
      messages: repos.messages,
      write: repos.write,
      providerFor,
      clock,
      config: config.reconciler,
      logger,
      statusCallbacks,
    });
    for (const task of this.reconcilerRunner.tasks()) this.periodic.add(task);
    for (const task of this.d.data.providerTasks(providerFor)) this.periodic.add(task);
    if (this.wanted) this.dispatcher.start();
  }
}
