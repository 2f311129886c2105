// The storage adapter's entry: builds every repository over one database and one group commit.
import { systemRandom, type BatchWrite, type Repositories, type UnitOfWork } from '../ports.js';
import type { Db } from './db.js';
import { apiKeysRepository } from './repositories/api-keys.js';
import { auditRepository } from './repositories/audit.js';
import { consentRepository } from './repositories/consent.js';
import { conversationsRepository } from './repositories/conversations.js';
import { alertsRepository } from './repositories/alerts.js';
import { countersRepository } from './repositories/counters.js';
import { eventsRepository, webhookEndpointsRepository } from './repositories/events.js';
import { healthRepository } from './repositories/health.js';
import { settingsRepository } from './repositories/settings.js';
import { inboundRepository } from './repositories/inbound.js';
import { verificationsRepository } from './repositories/verifications.js';
import { messagesRepository } from './repositories/messages.js';
import { pacingRepository } from './repositories/pacing.js';
import { reconcileRepository } from './repositories/reconcile.js';
import { templatesRepository } from './repositories/templates.js';
import { tenantsRepository } from './repositories/tenants.js';
import { webhookEventsRepository } from './repositories/webhook-events.js';
import { contactsRepository } from './repositories/contacts.js';
import { usageRepository } from './repositories/usage.js';
import { lookupCacheRepository } from './repositories/lookups.js';
import { privacyRepository } from './repositories/privacy.js';
import { consoleSessionsRepository } from './repositories/console-sessions.js';
import { campaignsRepository } from './repositories/campaigns.js';
import { asTx } from './tx.js';
import { WriteBatcher, type BatchOp, type StorageWrite } from './write-batcher.js';

/** `newId` makes the ids of the events the storage raises itself (message status events): the Random port's. */
export function createRepositories(db: Db, newId: () => string = systemRandom.id): Repositories {
  // One group commit shared by every repository (see write-batcher.ts).
  const batcher = new WriteBatcher(db.kysely, db.maxWriters);
  const write: StorageWrite = (fn, single) => batcher.run((trx) => fn(asTx(trx)), single);
  // One adapter per BatchWrite, so that its items queued together still find each other.
  const adapters = new WeakMap<BatchWrite<unknown, unknown>, BatchOp<unknown, unknown>>();
  const batch: UnitOfWork['batch'] = (op, item) => {
    const key = op as BatchWrite<unknown, unknown>;
    let a = adapters.get(key);
    if (!a) {
      a = { run: (trx, items) => key.run(asTx(trx), items), ...(key.single ? { single: (items) => key.single!(items) } : {}) };
      adapters.set(key, a);
    }
    return batcher.batch(a, item) as Promise<never>;
  };
  return {
    write,
    batch,
    health: healthRepository(db),
    apiKeys: apiKeysRepository(db.kysely),
    settings: settingsRepository(db),
    conversations: conversationsRepository(db.kysely),
    inbound: inboundRepository(),
    consent: consentRepository(db.kysely),
    verifications: verificationsRepository(db),
    counters: countersRepository(db),
    messages: messagesRepository(db, write, newId),
    alerts: alertsRepository(db.kysely),
    tenants: tenantsRepository(db.kysely),
    webhookEvents: webhookEventsRepository(db),
    reconcile: reconcileRepository(db.kysely),
    audit: auditRepository(db.kysely),
    templates: templatesRepository(db),
    events: eventsRepository(db, write),
    webhookEndpoints: webhookEndpointsRepository(db, write),
    pacing: pacingRepository(db),
    // --- usage, lookups, contacts, privacy ---
    usage: usageRepository(db),
    contacts: contactsRepository(db.kysely),
    lookups: lookupCacheRepository(db.kysely),
    privacy: privacyRepository(db.kysely),
    // --- admin console ---
    consoleSessions: consoleSessionsRepository(db.kysely),
    // --- campaigns ---
    campaigns: campaignsRepository(db, write),
  };
}
