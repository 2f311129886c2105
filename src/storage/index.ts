// The storage adapter's entry: builds every repository over one database and one group commit.
import type { Repositories, UnitOfWork } from '../ports.js';
import type { Db } from './db.js';
import { apiKeysRepository } from './repositories/api-keys.js';
import { healthRepository } from './repositories/health.js';
import { messagesRepository } from './repositories/messages.js';
import { reconcileRepository } from './repositories/reconcile.js';
import { tenantsRepository } from './repositories/tenants.js';
import { webhookEventsRepository } from './repositories/webhook-events.js';
import { Store } from './store.js';
import { asTx } from './tx.js';

export function createRepositories(db: Db, store: Store): Repositories {
  const write: UnitOfWork['write'] = (fn) => store.write((trx) => fn(asTx(trx)));
  return {
    write,
    health: healthRepository(db),
    apiKeys: apiKeysRepository(db.kysely),
    messages: messagesRepository(db, write),
    tenants: tenantsRepository(db.kysely),
    webhookEvents: webhookEventsRepository(db),
    reconcile: reconcileRepository(db.kysely),
  };
}
