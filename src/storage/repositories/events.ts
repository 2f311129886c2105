// The events outbox and the webhook endpoints, deliveries and attempts in SQL. Appends and fan-out
// are set-based: one multi-row statement per table per batch.
import { sql } from 'kysely';
import type { ClaimedDelivery, EventRecord, EventsRepository, Tx, WebhookDeliveryRecord, WebhookEndpointsRepository } from '../../ports.js';
import type { Db } from '../db.js';
import { Params, rowsSource, run, type Columns } from '../rows.js';
import { kx } from '../tx.js';
import type { StorageWrite } from '../write-batcher.js';

const EVENT_SOURCE: Columns = [
  ['id', 'text'],
  ['tenant_id', 'text'],
  ['type', 'text'],
  ['occurred_at', 'bigint'],
  ['data', 'text'],
];
const EVENT_NAMES = EVENT_SOURCE.map(([n]) => n).join(', ');
const DELIVERY_SOURCE: Columns = [
  ['id', 'text'],
  ['tenant_id', 'text'],
  ['event_id', 'text'],
  ['endpoint_id', 'text'],
  ['status', 'text'],
  ['attempts', 'bigint'],
  ['next_attempt_at', 'bigint'],
  ['created_at', 'bigint'],
  ['updated_at', 'bigint'],
];
const DELIVERY_NAMES = DELIVERY_SOURCE.map(([n]) => n).join(', ');
const ATTEMPT_SOURCE: Columns = [
  ['id', 'text'],
  ['tenant_id', 'text'],
  ['delivery_id', 'text'],
  ['endpoint_id', 'text'],
  ['event_id', 'text'],
  ['attempted_at', 'bigint'],
  ['status_code', 'bigint'],
  ['error', 'text'],
  ['latency_ms', 'bigint'],
  ['response_excerpt', 'text'],
  ['success', 'bigint'],
];
const ATTEMPT_NAMES = ATTEMPT_SOURCE.map(([n]) => n).join(', ');

/** The events' multi-row INSERT (also used by the messages repository for status events on SQLite). */
export async function appendEvents(db: Db, tx: Tx, events: readonly EventRecord[]): Promise<void> {
  if (events.length === 0) return;
  const p = new Params(db.dialect);
  const rows = events.map((e) => [e.id, e.tenant_id, e.type, e.occurred_at, e.data]);
  await run(tx, `INSERT INTO events (${EVENT_NAMES}) SELECT ${EVENT_NAMES} FROM ${rowsSource(db.dialect, EVENT_SOURCE, rows, p)}`, p.values);
}

export function eventsRepository(db: Db, write: StorageWrite): EventsRepository {
  const k = db.kysely;
  return {
    append: (tx, events) => appendEvents(db, tx, events),

    list(q) {
      let query = k.selectFrom('events').select(['id', 'tenant_id', 'type', 'occurred_at', 'data']).where('tenant_id', '=', q.tenantId);
      if (q.types?.length) query = query.where('type', 'in', q.types);
      if (q.since !== undefined) query = query.where('occurred_at', '>=', q.since);
      if (q.after !== undefined) query = query.where('id', '>', q.after);
      return query.orderBy('id').limit(q.limit).execute();
    },

    get: (tenantId, id) =>
      k
        .selectFrom('events')
        .select(['id', 'tenant_id', 'type', 'occurred_at', 'data'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst(),

    feed: (after, limit) => {
      let query = k.selectFrom('events').select(['id', 'tenant_id', 'type', 'occurred_at', 'data']);
      if (after !== null) query = query.where('id', '>', after);
      return query.orderBy('id').limit(limit).execute();
    },

    async fanOut(limit, now, newId, matches) {
      // A read first: most polls find nothing, and need no write transaction (SQLite's single writer is the send path's too).
      if (!(await k.selectFrom('events').select('id').where('fanout_pending', '=', 1).limit(1).executeTakeFirst())) return 0;
      return write(async (tx) => {
        const t = kx(tx);
        let pick = t.selectFrom('events').select(['id', 'tenant_id', 'type']).where('fanout_pending', '=', 1).orderBy('id').limit(limit);
        // Another process fanning out at the same time takes other events.
        if (db.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
        const events = await pick.execute();
        if (events.length === 0) return 0;
        const tenants = [...new Set(events.map((e) => e.tenant_id))];
        const endpoints = await t
          .selectFrom('webhook_endpoints')
          .select(['id', 'tenant_id', 'event_types'])
          .where('tenant_id', 'in', tenants)
          .where('enabled', '=', 1)
          .execute();
        const byTenant = new Map<string, { id: string; patterns: string[] }[]>();
        for (const e of endpoints) {
          const list = byTenant.get(e.tenant_id) ?? [];
          list.push({ id: e.id, patterns: JSON.parse(e.event_types) as string[] });
          byTenant.set(e.tenant_id, list);
        }
        const rows: unknown[][] = [];
        for (const ev of events)
          for (const ep of byTenant.get(ev.tenant_id) ?? [])
            if (matches(ep.patterns, ev.type)) rows.push([newId(), ev.tenant_id, ev.id, ep.id, 'pending', 0, now, now, now]);
        if (rows.length > 0) {
          const p = new Params(db.dialect);
          await run(
            tx,
            `INSERT INTO webhook_deliveries (${DELIVERY_NAMES}) SELECT ${DELIVERY_NAMES} FROM ${rowsSource(db.dialect, DELIVERY_SOURCE, rows, p)} WHERE true ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
            p.values,
          );
        }
        await t
          .updateTable('events')
          .set({ fanout_pending: 0 })
          .where(
            'id',
            'in',
            events.map((e) => e.id),
          )
          .execute();
        return events.length;
      });
    },

    async deleteOlderThan(before, limit) {
      const r = await write((tx) =>
        kx(tx)
          .deleteFrom('events')
          .where('id', 'in', (eb) =>
            eb.selectFrom('events').select('id').where('occurred_at', '<', before).where('fanout_pending', '=', 0).orderBy('id').limit(limit),
          )
          .executeTakeFirst(),
      );
      return Number(r.numDeletedRows);
    },
  };
}

export function webhookEndpointsRepository(db: Db, write: StorageWrite): WebhookEndpointsRepository {
  const k = db.kysely;
  const dialect = db.dialect;
  return {
    async insert(row) {
      await k.insertInto('webhook_endpoints').values(row).execute();
    },
    get: (tenantId, id) => k.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst(),
    list: (tenantId) => k.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute(),
    // The pending rows are the webhook_deliveries_due partial index's: few, unless endpoints are failing.
    async backlog() {
      const r = await k
        .selectFrom('webhook_deliveries')
        .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.min('created_at').as('oldest')])
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return { pending: Number(r?.n ?? 0), oldestCreatedAt: r?.oldest == null ? null : Number(r.oldest) };
    },
    async update(tenantId, id, set) {
      const r = await k.updateTable('webhook_endpoints').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).returningAll().executeTakeFirst();
      return r;
    },
    async delete(tenantId, id) {
      return write(async (tx) => {
        const t = kx(tx);
        const r = await t.deleteFrom('webhook_endpoints').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        if (Number(r.numDeletedRows) === 0) return false;
        // Its pending deliveries go with it; its attempts stay readable by nobody and are removed too.
        await t.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
        await t.deleteFrom('webhook_attempts').where('endpoint_id', '=', id).execute();
        return true;
      });
    },
    attempts(tenantId, endpointId, before, limit) {
      let q = k.selectFrom('webhook_attempts').selectAll().where('tenant_id', '=', tenantId).where('endpoint_id', '=', endpointId);
      if (before !== null) q = q.where('id', '<', before);
      return q.orderBy('id', 'desc').limit(limit).execute();
    },

    async claimDue(workerId, now, leaseMs, limit, exclude) {
      const due = (eb: any) => {
        let q = eb
          .selectFrom('webhook_deliveries')
          .select('id')
          // Written out, not bound, so that SQLite uses the partial index webhook_deliveries_due.
          .where(sql<boolean>`status = 'pending'`)
          .where('next_attempt_at', '<=', now)
          .where((w: any) => w.or([w('locked_until', 'is', null), w('locked_until', '<', now)]))
          .where('endpoint_id', 'in', (s: any) => s.selectFrom('webhook_endpoints').select('id').where('enabled', '=', 1));
        if (exclude.length > 0) q = q.where('endpoint_id', 'not in', exclude);
        return q.orderBy('next_attempt_at').limit(limit);
      };
      const set = { locked_by: workerId, locked_until: now + leaseMs };
      // SQLite: a read first, so that a poll that finds nothing due takes no write transaction.
      if (dialect === 'sqlite' && !(await due(k).executeTakeFirst())) return [];
      const claimed: WebhookDeliveryRecord[] =
        dialect === 'postgres'
          ? await k
              .updateTable('webhook_deliveries')
              .set(set)
              .where('id', 'in', (eb) => due(eb).forUpdate().skipLocked())
              .returningAll()
              .execute()
          : await write((tx) =>
              kx(tx)
                .updateTable('webhook_deliveries')
                .set(set)
                .where('id', 'in', (eb) => due(eb))
                .returningAll()
                .execute(),
            );
      if (claimed.length === 0) return [];
      const [events, endpoints] = await Promise.all([
        k
          .selectFrom('events')
          .select(['id', 'tenant_id', 'type', 'occurred_at', 'data'])
          .where('id', 'in', [...new Set(claimed.map((c) => c.event_id))])
          .execute(),
        k
          .selectFrom('webhook_endpoints')
          .selectAll()
          .where('id', 'in', [...new Set(claimed.map((c) => c.endpoint_id))])
          .execute(),
      ]);
      const ev = new Map(events.map((e) => [e.id, e]));
      const ep = new Map(endpoints.map((e) => [e.id, e]));
      const out: ClaimedDelivery[] = [];
      for (const d of claimed) {
        const event = ev.get(d.event_id);
        const endpoint = ep.get(d.endpoint_id);
        if (event && endpoint) out.push({ delivery: d, event, endpoint });
      }
      return out;
    },

    async release(workerId, ids) {
      if (ids.length === 0) return;
      await write((tx) =>
        kx(tx)
          .updateTable('webhook_deliveries')
          .set({ locked_by: null, locked_until: null })
          .where('id', 'in', ids)
          .where('locked_by', '=', workerId)
          .execute(),
      );
    },

    async record(workerId, outcomes, now) {
      if (outcomes.length === 0) return;
      await write(async (tx) => {
        const p = new Params(dialect);
        const rows = outcomes.map(({ attempt: a }) => [
          a.id,
          a.tenant_id,
          a.delivery_id,
          a.endpoint_id,
          a.event_id,
          a.attempted_at,
          a.status_code,
          a.error,
          a.latency_ms,
          a.response_excerpt,
          a.success,
        ]);
        await run(tx, `INSERT INTO webhook_attempts (${ATTEMPT_NAMES}) SELECT ${ATTEMPT_NAMES} FROM ${rowsSource(dialect, ATTEMPT_SOURCE, rows, p)}`, p.values);
        // Placeholders in text order (SQLite's are positional).
        const q = new Params(dialect);
        const at = q.add(now);
        const src = rowsSource(
          dialect,
          [
            ['id', 'text'],
            ['status', 'text'],
            ['next_at', 'bigint'],
          ],
          outcomes.map((o) => [o.attempt.delivery_id, o.status, o.nextAttemptAt ?? now]),
          q,
        );
        const w = q.add(workerId);
        await run(
          tx,
          `UPDATE webhook_deliveries AS d SET status = v.status, attempts = d.attempts + 1, next_attempt_at = v.next_at, locked_by = NULL, locked_until = NULL, updated_at = ${at} FROM ${src} WHERE d.id = v.id AND d.locked_by = ${w}`,
          q.values,
        );
        // An endpoint's run of failures starts at its first failed attempt and ends with a success.
        const ok = [...new Set(outcomes.filter((o) => o.attempt.success === 1).map((o) => o.attempt.endpoint_id))];
        const bad = [...new Set(outcomes.filter((o) => o.attempt.success === 0).map((o) => o.attempt.endpoint_id))].filter((id) => !ok.includes(id));
        const t = kx(tx);
        if (ok.length > 0)
          await t.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', 'in', ok).where('failing_since', 'is not', null).execute();
        if (bad.length > 0)
          await t.updateTable('webhook_endpoints').set({ failing_since: now }).where('id', 'in', bad).where('failing_since', 'is', null).execute();
      });
    },

    disable(tenantId, id, reason, now, alert) {
      return write(async (tx) => {
        const r = await kx(tx)
          .updateTable('webhook_endpoints')
          .set({ enabled: 0, disabled_reason: reason, updated_at: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('enabled', '=', 1)
          .executeTakeFirst();
        const changed = Number(r.numUpdatedRows) > 0;
        if (changed && alert) await appendEvents(db, tx, [alert]);
        return changed;
      });
    },

    async redeliver(event, endpoints, now, newId) {
      if (endpoints.length === 0) return 0;
      return write(async (tx) => {
        const p = new Params(dialect);
        const rows = endpoints.map((e) => [newId(), event.tenant_id, event.id, e.id, 'pending', 0, now, now, now]);
        // A post in flight loses its lease: its outcome no longer settles the delivery, which is sent again.
        await run(
          tx,
          `INSERT INTO webhook_deliveries (${DELIVERY_NAMES}) SELECT ${DELIVERY_NAMES} FROM ${rowsSource(dialect, DELIVERY_SOURCE, rows, p)} WHERE true ` +
            `ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at, locked_by = NULL, locked_until = NULL`,
          p.values,
        );
        return endpoints.length;
      });
    },
  };
}
