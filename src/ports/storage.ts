// The storage ports. Services see repositories (one per aggregate) and a unit of work; only
// storage/ knows SQL, Kysely and the dialect differences.
import type { MessagesRepository } from './messages.js';
import type { ReconcileRepository } from './reconcile.js';
import type { TenantsRepository } from './tenants.js';
import type { WebhookEventsRepository } from './webhook-events.js';

/** An open database transaction. Opaque outside storage/: pass it back to repository methods. */
export interface Tx {
  readonly __tx: unique symbol;
}

export interface UnitOfWork {
  /**
   * Runs `fn` in the next group commit (writes queued in the same event-loop turn share one
   * transaction) and resolves only after that transaction committed. `fn` may be re-run alone
   * if its batch fails, so it must not have side effects outside the transaction.
   */
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Like write, for writes that are cheaper as one set-based step: the items of one BatchWrite
   * queued for the same group commit are handed to its `run` together (results in input order).
   */
  batch<I, R>(op: BatchWrite<I, R>, item: I): Promise<R>;
}

export interface BatchWrite<I, R> {
  run(tx: Tx, items: I[]): Promise<R[]>;
}

export interface HealthRepository {
  readonly dialect: 'sqlite' | 'postgres';
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Names of migrations not applied yet. */
  pendingMigrations(): Promise<string[]>;
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
  insert(row: ApiKeyRecord): Promise<void>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  list(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Revokes an active key by id or prefix; returns how many were revoked. */
  revoke(tenantId: string, idOrPrefix: string, now: number): Promise<number>;
  unrevoke(id: string): Promise<void>;
  touch(id: string, now: number): Promise<void>;
}

/** Every repository, and the unit of work that makes their writes atomic together. */
export interface Repositories {
  write: UnitOfWork['write'];
  batch: UnitOfWork['batch'];
  health: HealthRepository;
  apiKeys: ApiKeysRepository;
  messages: MessagesRepository;
  tenants: TenantsRepository;
  webhookEvents: WebhookEventsRepository;
  reconcile: ReconcileRepository;
}
