// The storage adapter's entry: builds every repository over one database and one group commit.
import type { Repositories } from '../ports.js';
import type { Db } from './db.js';
import { apiKeysRepository } from './repositories/api-keys.js';
import { consentRepository } from './repositories/consent.js';
import { conversationsRepository } from './repositories/conversations.js';
import { countersRepository } from './repositories/counters.js';
import { healthRepository } from './repositories/health.js';
import { settingsRepository } from './repositories/settings.js';
import { inboundRepository } from './repositories/inbound.js';
import { verificationsRepository } from './repositories/verifications.js';
import type { Store } from './store.js';
import { asTx } from './tx.js';

export function createRepositories(db: Db, store: Store): Repositories {
  return {
    write: (fn) => store.write((trx) => fn(asTx(trx))),
    health: healthRepository(db),
    apiKeys: apiKeysRepository(db.kysely),
    settings: settingsRepository(db),
    conversations: conversationsRepository(db.kysely),
    inbound: inboundRepository(store),
    consent: consentRepository(db.kysely),
    verifications: verificationsRepository(db),
    counters: countersRepository(db),
  };
}
