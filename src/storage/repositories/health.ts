import { sql } from 'kysely';
import type { HealthRepository } from '../../ports.js';
import type { Db } from '../db.js';
import { pendingMigrations } from '../migrate.js';

export function healthRepository(db: Db): HealthRepository {
  return {
    dialect: db.dialect,
    async ping() {
      await sql`select 1`.execute(db.kysely);
    },
    pendingMigrations: () => pendingMigrations(db.kysely),
    poolUsage: () => db.pool?.() ?? null,
  };
}
