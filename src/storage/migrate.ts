import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import { isSqlite } from './dialect.js';
import * as m0001 from './migrations/0001_send_pipeline.js';
import * as m0002 from './migrations/0002_conversations_consent.js';
import * as m0003 from './migrations/0003_verifications.js';
import * as m0004 from './migrations/0004_default_tenant_env.js';
import * as m0005 from './migrations/0005_mms_channel.js';
import * as m0006 from './migrations/0006_hold_reason.js';
import * as m0007 from './migrations/0007_message_category.js';
import * as m0008 from './migrations/0008_templates.js';
import * as m0009 from './migrations/0009_sending_limits.js';
import * as m0010 from './migrations/0010_quiet_hours_pacing.js';
import * as m0011 from './migrations/0011_events.js';
import * as m0012 from './migrations/0012_admin_audit.js';
import * as m0013 from './migrations/0013_usage_contacts.js';
import * as m0014 from './migrations/0014_campaigns.js';
import * as m0015 from './migrations/0015_console_sessions.js';
import * as m0016 from './migrations/0016_policy_windows.js';
import * as m0017 from './migrations/0017_console_indexes.js';

// Forward-only: migrations are listed statically (no filesystem scan) so the compiled package and
// the test runner see the same set. Add new ones at the end; never edit a released one.
export const MIGRATIONS: Record<string, Migration> = {
  '0001_send_pipeline': m0001,
  '0002_conversations_consent': m0002,
  '0003_verifications': m0003,
  '0004_default_tenant_env': m0004,
  '0005_mms_channel': m0005,
  '0006_hold_reason': m0006,
  '0007_message_category': m0007,
  '0008_templates': m0008,
  '0009_sending_limits': m0009,
  '0010_quiet_hours_pacing': m0010,
  '0011_events': m0011,
  '0012_admin_audit': m0012,
  '0013_usage_contacts': m0013,
  '0014_campaigns': m0014,
  '0015_console_sessions': m0015,
  '0016_policy_windows': m0016,
  '0017_console_indexes': m0017,
};

// On PostgreSQL the migration tables are pinned to the current schema: otherwise Kysely finds
// another schema's kysely_migration_lock (tests, several tenants of one server) and skips creating its own.
async function migrator(db: Kysely<any>): Promise<Migrator> {
  const schema = isSqlite(db) ? undefined : (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s;
  return new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS }, ...(schema ? { migrationTableSchema: schema } : {}) });
}

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  return applied(await (await migrator(db)).migrateToLatest());
}

/** Migrates up (or down) to the named migration: upgrade tests start from an older schema. */
export async function migrateTo(db: Kysely<any>, name: string): Promise<string[]> {
  return applied(await (await migrator(db)).migrateTo(name));
}

function applied({ error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '?'} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = await (await migrator(db)).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
