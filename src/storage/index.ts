// The storage adapter's entry: builds every repository over one database and one group commit.
import type { BatchWrite, Repositories, UnitOfWork } from '../ports.js';
import type { Db } from './db.js';
import { apiKeysRepository } from './repositories/api-keys.js';
import { consentRepository } from './repositories/consent.js';
import { conversationsRepository } from './repositories/conversations.js';
import { alertsRepository } from './repositories/alerts.js';
import { countersRepository } from './repositories/counters.js';
import { healthRepository } from './repositories/health.js';
import { settingsRepository } from './repositories/settings.js';
import { inboundRepository } from './repositories/inbound.js';
import { verificationsRepository } from './repositories/verifications.js';
import { messagesRepository } from './repositories/messages.js';
import { reconcileRepository } from './repositories/reconcile.js';
import { tenantsRepository } from './repositories/tenants.js';
import { webhookEventsRepository } from './repositories/webhook-events.js';
import { asTx } from './tx.js';
import { WriteBatcher, type BatchOp, type StorageWrite } from './write-batcher.js';

export function createRepositories(db: Db): Repositories {
  // One group commit shared by every repository (see write-batcher.ts).
  const batcher = new WriteBatcher(db.kysely, db.maxWriters);
  const write: StorageWrite = (fn, single) => batcher.run((trx) => fn(asTx(trx)), single);
  // One adapter per BatchWrite, so that its items queued together still find each other.
  const adapters = new WeakMap<BatchWrite<unknown, unknown>, BatchOp<unknown, unknown>>();
  const batch: UnitOfWork['batch'] = (op, item) => {
    const key = op as BatchWrite<unknown, unknown>;
    let a = adapters.get(key);
    if (!a) {
      a = { run: (trx, items) => key.run(asTx(trx), items) };
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
    alerts: alertsRepository(db.kysely),
    messages: messagesRepository(db, write),
    tenants: tenantsRepository(db.kysely),
    webhookEvents: webhookEventsRepository(db),
    reconcile: reconcileRepository(db.kysely),
  };
}
