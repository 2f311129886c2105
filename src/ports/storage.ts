import type { SettingsRepository } from './settings.js';
import type { AuditRepository } from './audit.js';

// The storage ports. Services see repositories (one per aggregate) and a unit of work; only
// storage/ knows SQL, Kysely and the dialect differences.
import type { AlertsRepository } from './alerts.js';
import type { CampaignsRepository } from './campaigns.js';
import type { ConsentRepository } from './consent.js';
import type { ConversationsRepository, InboundRepository } from './conversations.js';
import type { CountersRepository } from './counters.js';
import type { EventsRepository, WebhookEndpointsRepository } from './events.js';
import type { MessagesRepository } from './messages.js';
import type { SenderPaceRepository } from './pacing.js';
import type { ReconcileRepository } from './reconcile.js';
import type { TemplatesRepository } from './templates.js';
import type { TenantsRepository } from './tenants.js';
import type { Tx, UnitOfWork } from './tx.js';
import type { ContactsRepository } from './contacts.js';
import type { UsageRepository } from './usage.js';
import type { LookupCacheRepository } from './lookups.js';
import type { PrivacyRepository } from './privacy.js';
import type { ConsoleSessionsRepository } from './console-sessions.js';
import type { VerificationsRepository } from './verifications.js';
import type { WebhookEventsRepository } from './webhook-events.js';

// In their own file, so that repository ports can take a Tx without an import cycle.
export type { BatchWrite, Tx, UnitOfWork } from './tx.js';

export interface HealthRepository {
  readonly dialect: 'sqlite' | 'postgres';
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Names of migrations not applied yet. */
  pendingMigrations(): Promise<string[]>;
  /** Connection pool usage (PostgreSQL); null on SQLite (one connection, no pool). */
  poolUsage(): { total: number; idle: number; waiting: number; max: number } | null;
}

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface ApiKeysRepository {
  insert(tx: Tx, row: ApiKeyRecord): Promise<void>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  list(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Revokes a tenant's active key by id or prefix; returns the ids revoked. */
  revoke(tx: Tx, tenantId: string, idOrPrefix: string, now: number): Promise<string[]>;
  unrevoke(id: string): Promise<void>;
  touch(id: string, now: number): Promise<void>;
}

/** Every repository, and the unit of work that makes their writes atomic together. */
export interface Repositories {
  write: UnitOfWork['write'];
  batch: UnitOfWork['batch'];
  health: HealthRepository;
  apiKeys: ApiKeysRepository;
  settings: SettingsRepository;
  conversations: ConversationsRepository;
  inbound: InboundRepository;
  consent: ConsentRepository;
  verifications: VerificationsRepository;
  counters: CountersRepository;
  alerts: AlertsRepository;
  messages: MessagesRepository;
  tenants: TenantsRepository;
  webhookEvents: WebhookEventsRepository;
  reconcile: ReconcileRepository;
  audit: AuditRepository;
  templates: TemplatesRepository;
  events: EventsRepository;
  webhookEndpoints: WebhookEndpointsRepository;
  pacing: SenderPaceRepository;
  // --- usage, lookups, contacts, privacy ---
  usage: UsageRepository;
  contacts: ContactsRepository;
  lookups: LookupCacheRepository;
  privacy: PrivacyRepository;
  // --- admin console ---
  consoleSessions: ConsoleSessionsRepository;
  // --- campaigns ---
  campaigns: CampaignsRepository;
}
