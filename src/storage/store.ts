import { sql, type Kysely, type Selectable, type Insertable, type Transaction, type Updateable } from 'kysely';
import type { Database, MessageEventsTable, MessagesTable, TenantsTable } from './schema.js';
import { prepare, type Prepared } from './prepared.js';
import { WriteBatcher } from './write-batcher.js';
import type { Db } from './db.js';

export type MessageRow = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
export type TenantRow = Selectable<TenantsTable>;
export type MessageEventRow = Selectable<MessageEventsTable>;
export type NewMessageEvent = Insertable<MessageEventsTable>;
type Executor = Kysely<Database> | Transaction<Database>;

const MESSAGE_COLUMNS = [
  'id', 'tenant_id', 'direction', 'channel', 'to_addr', 'from_addr', 'messaging_service_sid', 'body', 'media_urls', 'encoding',
  'segments', 'status', 'provider_sid', 'error_code', 'provider_code', 'error_message', 'price', 'price_unit', 'attempts',
  'max_attempts', 'next_attempt_at', 'locked_until', 'locked_by', 'in_flight_since', 'send_at', 'expires_at', 'validity_period',
  'idempotency_key', 'conversation_id', 'metadata', 'sensitive', 'created_at', 'updated_at', 'sent_at',
] as const satisfies readonly (keyof MessagesTable)[];
const EVENT_COLUMNS = ['message_id', 'tenant_id', 'status', 'source', 'error_code', 'provider_code', 'data', 'created_at'] as const satisfies readonly (keyof MessageEventsTable)[];

function byName<C extends string>(cols: readonly C[], p: (name: C) => unknown): Record<C, unknown> {
  return Object.fromEntries(cols.map((c) => [c, p(c)])) as Record<C, unknown>;
}

export interface MessageListQuery {
  tenantId: string;
  status?: string;
  to?: string;
  since?: number;
  until?: number;
  /** Return rows with id < cursor (newest first). */
  before?: string;
  limit: number;
}

export type IdempotencyOutcome = { kind: 'new' } | { kind: 'replay'; status: number; body: string } | { kind: 'mismatch' };

/** Outcome of a worker attempt, written back in one batched update. */
export interface AttemptResult {
  id: string;
  workerId: string;
  set: Updateable<MessagesTable>;
  /** Only apply when the row is still leased by this worker. */
  event?: NewMessageEvent;
}

/** The Kysely store shared by services and the worker; one schema on SQLite and PostgreSQL. */
export class Store {
  readonly kysely: Kysely<Database>;
  readonly dialect: Db['dialect'];
  private readonly batcher: WriteBatcher;

  // The send path's writes, compiled once (see prepared.ts).
  private readonly insertMessageQ: Prepared<Record<(typeof MESSAGE_COLUMNS)[number], unknown>, unknown>;
  private readonly insertEventQ: Prepared<Record<(typeof EVENT_COLUMNS)[number], unknown>, unknown>;
  private readonly upsertIdempotencyQ: Prepared<Record<string, unknown>, { key: string }>;

  constructor(readonly db: Db) {
    this.kysely = db.kysely;
    this.dialect = db.dialect;
    this.batcher = new WriteBatcher(db.kysely);
    const k = db.kysely;
    this.insertMessageQ = prepare((p) => k.insertInto('messages').values(byName(MESSAGE_COLUMNS, p) as any));
    this.insertEventQ = prepare((p) => k.insertInto('message_events').values(byName(EVENT_COLUMNS, p) as any));
    this.upsertIdempotencyQ = prepare((p) => {
      const set = { request_hash: p('hash'), response_status: p('status'), response_body: p('body'), created_at: p('now'), expires_at: p('expires') };
      return k
        .insertInto('idempotency_keys')
        .values({ tenant_id: p('tenant'), key: p('key'), ...set })
        .onConflict((oc) => oc.columns(['tenant_id', 'key']).doUpdateSet(set).where('idempotency_keys.expires_at', '<=', p('now')))
        .returning('key');
    });
  }

  /** Runs a write in the next group commit (see WriteBatcher). */
  write<T>(op: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.batcher.run(op);
  }

  // ---- tenants -------------------------------------------------------------------------------

  getTenantBySlug(slug: string): Promise<TenantRow | undefined> {
    return this.kysely.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  }

  getTenant(id: string): Promise<TenantRow | undefined> {
    return this.kysely.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertTenantIfMissing(row: Insertable<TenantsTable>): Promise<TenantRow> {
    await this.kysely.insertInto('tenants').values(row).onConflict((oc) => oc.column('slug').doNothing()).execute();
    return (await this.getTenantBySlug(row.slug))!;
  }

  // ---- messages ------------------------------------------------------------------------------

  async insertMessage(trx: Executor, row: NewMessage, event: NewMessageEvent): Promise<void> {
    await this.insertMessageQ(trx, row as Record<(typeof MESSAGE_COLUMNS)[number], unknown>);
    await this.insertEvent(trx, event);
  }

  /** Appends to a message's history (every status change, with its source). */
  async insertEvent(trx: Executor, event: NewMessageEvent): Promise<void> {
    await this.insertEventQ(trx, event as Record<(typeof EVENT_COLUMNS)[number], unknown>);
  }

  getMessage(tenantId: string, id: string): Promise<MessageRow | undefined> {
    return this.kysely.selectFrom('messages').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  listMessages(q: MessageListQuery): Promise<MessageRow[]> {
    let query = this.kysely.selectFrom('messages').selectAll().where('tenant_id', '=', q.tenantId);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.to) query = query.where('to_addr', '=', q.to);
    if (q.since !== undefined) query = query.where('created_at', '>=', q.since);
    if (q.until !== undefined) query = query.where('created_at', '<', q.until);
    if (q.before) query = query.where('id', '<', q.before);
    return query.orderBy('id', 'desc').limit(q.limit).execute();
  }

  listEvents(messageId: string): Promise<MessageEventRow[]> {
    return this.kysely.selectFrom('message_events').selectAll().where('message_id', '=', messageId).orderBy('id').execute();
  }

  /** Moves a message to `canceled` only while nothing can have reached the provider. */
  async cancelMessage(tenantId: string, id: string, now: number, event: NewMessageEvent): Promise<boolean> {
    return this.write(async (trx) => {
      const r = await trx
        .updateTable('messages')
        .set({ status: 'canceled', updated_at: now, next_attempt_at: null, locked_by: null, locked_until: null })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', 'in', ['pending', 'scheduled'])
        .where('in_flight_since', 'is', null)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await this.insertEvent(trx, event);
      return true;
    });
  }

  // ---- outbox (worker) -----------------------------------------------------------------------

  /**
   * Leases up to `limit` due messages to `workerId`. Marks them in flight in the same statement, so
   * a crash after this commit can never lead to a blind resend: the next claimer sees
   * `in_flight_since` older than its own `now` and settles with the provider first.
   */
  async claimDue(workerId: string, now: number, leaseMs: number, limit: number): Promise<MessageRow[]> {
    const due = (eb: any) =>
      eb
        .selectFrom('messages')
        .select('id')
        // Written out, not bound: SQLite uses the partial outbox index only when the query
        // repeats its condition literally (with parameters it scans the whole table and sorts).
        .where(sql<boolean>`status in ('pending', 'scheduled')`)
        .where('next_attempt_at', '<=', now)
        .where((w: any) => w.or([w('locked_until', 'is', null), w('locked_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(limit);
    const set = {
      locked_by: workerId,
      locked_until: now + leaseMs,
      in_flight_since: sql<number>`coalesce(in_flight_since, ${now})`,
      updated_at: now,
    };
    if (this.dialect === 'postgres') {
      return this.kysely
        .updateTable('messages')
        .set(set)
        .where('id', 'in', (eb) => due(eb).forUpdate().skipLocked())
        .returningAll()
        .execute();
    }
    // SQLite has a single writer: the UPDATE … WHERE id IN (SELECT …) is atomic on its own.
    return this.write((trx) => trx.updateTable('messages').set(set).where('id', 'in', (eb) => due(eb)).returningAll().execute());
  }

  /** Applies attempt outcomes in one group commit; rows whose lease moved to another worker are skipped. */
  async applyResults(results: AttemptResult[]): Promise<void> {
    if (results.length === 0) return;
    await this.write(async (trx) => {
      for (const r of results) {
        const u = await this.updateLeasedQ(Object.keys(r.set))(trx, { ...r.set, lease_id: r.id, lease_worker: r.workerId });
        if (Number(u.numAffectedRows ?? 0) > 0 && r.event) await this.insertEvent(trx, r.event);
      }
    });
  }

  // Worker outcomes come in a handful of shapes (sent, failed, retry…): one prepared update each.
  private readonly updateLeasedByShape = new Map<string, Prepared<Record<string, unknown>, unknown>>();

  private updateLeasedQ(columns: string[]): Prepared<Record<string, unknown>, unknown> {
    const shape = columns.join(',');
    let q = this.updateLeasedByShape.get(shape);
    if (!q) {
      q = prepare((p) =>
        this.kysely
          .updateTable('messages')
          .set(Object.fromEntries(columns.map((c) => [c, p(c)])))
          .where('id', '=', p('lease_id'))
          .where('locked_by', '=', p('lease_worker')),
      );
      this.updateLeasedByShape.set(shape, q);
    }
    return q;
  }

  /**
   * Gives back messages this worker claimed but never started (graceful stop). Their in-flight
   * marker is cleared only when this claim set it: nothing of theirs reached the provider.
   */
  async releaseLeases(workerId: string, claims: { id: string; claimedAt: number }[], now: number): Promise<void> {
    if (claims.length === 0) return;
    await this.write(async (trx) => {
      for (const c of claims) {
        await trx
          .updateTable('messages')
          .set({
            locked_by: null,
            locked_until: null,
            updated_at: now,
            in_flight_since: sql<number | null>`case when in_flight_since = ${c.claimedAt} then null else in_flight_since end`,
          })
          .where('id', '=', c.id)
          .where('locked_by', '=', workerId)
          .execute();
      }
    });
  }

  providerSidTaken(sid: string): Promise<boolean> {
    return this.kysely
      .selectFrom('messages')
      .select('id')
      .where('provider_sid', '=', sid)
      .executeTakeFirst()
      .then((r) => r !== undefined);
  }

  // ---- idempotency ---------------------------------------------------------------------------

  /**
   * Records the answer under an idempotency key in the caller's transaction, unless a live entry
   * exists: then that entry decides (same request → replay, different request → mismatch). One
   * upsert in the common case; an expired entry is overwritten in the same statement.
   */
  async recordIdempotent(trx: Executor, e: { tenantId: string; key: string; requestHash: string; status: number; body: string; now: number; ttlMs: number }): Promise<IdempotencyOutcome> {
    const inserted = await this.upsertIdempotencyQ(trx, { tenant: e.tenantId, key: e.key, hash: e.requestHash, status: e.status, body: e.body, now: e.now, expires: e.now + e.ttlMs });
    if (inserted.rows.length > 0) return { kind: 'new' };
    const existing = await trx
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'response_status', 'response_body'])
      .where('tenant_id', '=', e.tenantId)
      .where('key', '=', e.key)
      .executeTakeFirstOrThrow();
    if (existing.request_hash !== e.requestHash) return { kind: 'mismatch' };
    return { kind: 'replay', status: existing.response_status!, body: existing.response_body! };
  }

  async deleteExpiredIdempotencyKeys(now: number): Promise<number> {
    const r = await this.kysely.deleteFrom('idempotency_keys').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
