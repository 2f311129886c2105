// Events to the host application: the event log and redelivery, webhook endpoints, the delivery
// worker, and the in-process feed behind the live stream and `relay.on`.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Cipher } from '../core/cipher.js';
import { matchesEventType } from '../core/events.js';
import type { Clock, Metrics, Random, Repositories } from '../ports.js';
import { webhookTransport } from '../providers/webhook-http.js';
import { EventsService, toEventResource, type EventResource } from '../services/events.js';
import { WebhookEndpointsService } from '../services/webhook-endpoints.js';
import { EventDelivery } from '../worker/event-delivery.js';
import { EventFeed } from '../worker/event-feed.js';

export interface EventsWiringDeps {
  config: Config;
  logger: Logger;
  repos: Repositories;
  clock: Clock;
  random: Random;
  cipher: Cipher | null;
  version: string;
  metrics: Metrics;
}

export type EventHandler = (event: EventResource) => void | Promise<void>;

export interface EventsWiring {
  service: EventsService;
  endpoints: WebhookEndpointsService;
  delivery: EventDelivery;
  feed: EventFeed;
  /** Calls `handler` with each committed event whose type matches `pattern` (exact, `group.*`, `*`); returns the unsubscribe. */
  on(pattern: string, handler: EventHandler): () => void;
  stop(): Promise<void>;
}

export function createEvents(d: EventsWiringDeps): EventsWiring {
  const { config, logger, repos, clock, random } = d;
  const transport = webhookTransport({ allowPrivate: config.events.allowPrivate, userAgent: `smsrelay/${d.version} (+webhooks)` });
  // `delivery` is built below; nothing is queued before this function returns.
  const service = new EventsService({ events: repos.events, endpoints: repos.webhookEndpoints, clock, random, onQueued: () => delivery.wake() });
  const endpoints = new WebhookEndpointsService({ endpoints: repos.webhookEndpoints, transport, cipher: d.cipher, clock, random });
  const delivery = new EventDelivery({
    events: repos.events,
    endpoints: repos.webhookEndpoints,
    transport,
    signingSecrets: (e, now) => endpoints.signingSecrets(e, now),
    clock,
    random,
    logger,
    config: config.events,
    metrics: d.metrics,
  });
  d.metrics.eventBacklog(async () => {
    const b = await repos.webhookEndpoints.backlog();
    return { pending: b.pending, oldestAgeSeconds: b.oldestCreatedAt === null ? 0 : Math.max(0, (clock.now().getTime() - b.oldestCreatedAt) / 1000) };
  });
  const feed = new EventFeed({ events: repos.events, logger, pollIntervalMs: config.events.pollIntervalMs });
  return {
    service,
    endpoints,
    delivery,
    feed,
    on(pattern, handler) {
      return feed.subscribe((events) => {
        for (const e of events) {
          if (!matchesEventType([pattern], e.type)) continue;
          void (async () => handler(toEventResource(e)))().catch((err) => logger.error({ err, event: e.id }, 'event handler failed'));
        }
      });
    },
    stop: () => feed.stop(),
  };
}
