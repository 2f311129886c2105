// The usage rollup in SQL. The aggregator's queue is the partial index messages_usage_dirty (rows
// whose counted status/price differ from their status/price): no watermark over ids, so nothing
// depends on the order in which concurrent transactions commit (PostgreSQL's serial ids do not
// commit in order). A message is marked counted with a conditional UPDATE that only matches the
// state that was read, in the same transaction as its rollup delta: each change is counted once.
import { CompiledQuery, sql } from 'kysely';
import { DAY_MS } from '../../core/usage.js';
import type { PriceUpdate, RollupDelta, UncountedMessage, UsageRepository, UsageRow } from '../../ports.js';
import type { Db } from '../db.js';
import { Params, rowsSource, run, type Columns } from '../rows.js';

const ROLLUP_SOURCE: Columns = [
  ['tenant_id', 'text'],
  ['bucket', 'bigint'],
  ['status', 'text'],
  ['channel', 'text'],
  ['country', 'text'],
  ['category', 'text'],
  ['messages', 'bigint'],
  ['segments', 'bigint'],
  ['cost_actual', 'bigint'],
  ['cost_estimated', 'bigint'],
];

const GROUP_COLUMNS = { status: 'status', channel: 'channel', country: 'country', category: 'category' } as const;

export function usageRepository(db: Db): UsageRepository {
  const k = db.kysely;
  const dialect = db.dialect;
  const differs = dialect === 'sqlite' ? 'IS NOT' : 'IS DISTINCT FROM';
  const same = dialect === 'sqlite' ? 'IS' : 'IS NOT DISTINCT FROM';
  // Written exactly as the partial index's predicate (migration 0013), so both databases use it.
  // The counted price of an estimate is 'e:'-prefixed: an estimate replaced by an equal actual price still is a change.
  const dirty = `usage_status ${differs} status OR usage_price ${differs} (CASE WHEN price_estimated = 1 THEN 'e:' || price ELSE price END)`;
  const select = <R>(text: string, params: unknown[]) => k.executeQuery<R>(CompiledQuery.raw(text, params));
  const num = (v: unknown): number => Number(v ?? 0);

  return {
    async uncounted(limit) {
      const p = new Params(dialect);
      const r = await select<UncountedMessage>(
        'SELECT id, tenant_id, direction, to_addr, from_addr, country, status, price, price_estimated, channel, category, segments, created_at, usage_status, usage_price' +
          // Ordered by the index's key: PostgreSQL has no statistics on the predicate and would otherwise scan the table.
          ` FROM messages WHERE ${dirty} ORDER BY id LIMIT ${p.add(limit)}`,
        p.values,
      );
      return r.rows.map((m) => ({ ...m, price_estimated: num(m.price_estimated), segments: num(m.segments), created_at: num(m.created_at) }));
    },

    async markCounted(tx, marks) {
      if (marks.length === 0) return [];
      const p = new Params(dialect);
      const src = rowsSource(
        dialect,
        [
          ['mid', 'text'],
          ['status', 'text'],
          ['price', 'text'],
          ['pe', 'bigint'],
          ['old_status', 'text'],
          ['old_price', 'text'],
          ['country', 'text'],
        ],
        [...marks]
          .sort((a, b) => (a.message.id < b.message.id ? -1 : 1))
          .map(({ message: m, country }) => [m.id, m.status, m.price, m.price_estimated, m.usage_status, m.usage_price, country]),
        p,
      );
      // PostgreSQL: the aggregator never waits on a message row the send path holds (it would
      // deadlock against a status move locking rows in another order): a locked row is skipped and
      // counted by a later pass, as it is changing anyway. SQLite has one writer.
      const unlocked =
        dialect === 'postgres'
          ? ` AND m.id IN (SELECT l.id FROM messages AS l WHERE l.id = ANY(${p.add(marks.map((x) => x.message.id))}::text[]) FOR UPDATE SKIP LOCKED)`
          : '';
      const r = await run<{ id: string }>(
        tx,
        `UPDATE messages AS m SET usage_status = v.status, usage_price = CASE WHEN v.pe = 1 THEN 'e:' || v.price ELSE v.price END, country = v.country` +
          ` FROM ${src} WHERE m.id = v.mid AND m.status = v.status AND m.price ${same} v.price AND m.price_estimated = v.pe` +
          ` AND m.usage_status ${same} v.old_status AND m.usage_price ${same} v.old_price${unlocked} RETURNING id`,
        p.values,
      );
      return r.rows.map((x) => x.id);
    },

    async addToRollup(tx, deltas: RollupDelta[]) {
      if (deltas.length === 0) return;
      const rows = deltas
        .map((d) => [
          d.tenant_id,
          d.key.bucket,
          d.key.status,
          d.key.channel,
          d.key.country,
          d.key.category,
          d.amounts.messages,
          d.amounts.segments,
          d.amounts.cost_actual,
          d.amounts.cost_estimated,
        ])
        // One order for every writer, so concurrent aggregators lock rollup rows alike.
        .sort((a, b) => (a.slice(0, 6).join('\u0000') < b.slice(0, 6).join('\u0000') ? -1 : 1));
      const p = new Params(dialect);
      const cols = ROLLUP_SOURCE.map(([n]) => n).join(', ');
      const src = rowsSource(dialect, ROLLUP_SOURCE, rows, p);
      const conflict = (table: string) =>
        ` ON CONFLICT (tenant_id, bucket, status, channel, country, category) DO UPDATE SET ${['messages', 'segments', 'cost_actual', 'cost_estimated']
          .map((c) => `${c} = ${table}.${c} + excluded.${c}`)
          .join(', ')}`;
      await run(tx, `INSERT INTO usage_rollup (${cols}) SELECT ${cols} FROM ${src} WHERE true${conflict('usage_rollup')}`, p.values);
      // The day table gets the same deltas summed per day (one row per key and statement, as ON CONFLICT needs).
      const q = new Params(dialect);
      const day = `bucket - bucket % ${DAY_MS}`;
      await run(
        tx,
        `INSERT INTO usage_rollup_day (${cols}) SELECT tenant_id, ${day}, status, channel, country, category, SUM(messages), SUM(segments), SUM(cost_actual), SUM(cost_estimated)` +
          ` FROM ${rowsSource(dialect, ROLLUP_SOURCE, rows, q)} WHERE true GROUP BY tenant_id, ${day}, status, channel, country, category${conflict('usage_rollup_day')}`,
        q.values,
      );
    },

    async report(q) {
      const p = new Params(dialect);
      const group = q.groupBy ? GROUP_COLUMNS[q.groupBy] : `''`;
      // Hour buckets in the hourly table, day buckets in the daily one: the bucket is the period.
      // The final outcomes the delivery rate needs are summed here, so rows are per period and group only.
      const text =
        `SELECT bucket AS period, ${group} AS grp, SUM(messages) AS messages, SUM(segments) AS segments,` +
        ' SUM(cost_actual) AS cost_actual, SUM(cost_estimated) AS cost_estimated,' +
        ` SUM(CASE WHEN status = 'delivered' THEN messages ELSE 0 END) AS delivered,` +
        ` SUM(CASE WHEN status IN ('undelivered', 'failed') THEN messages ELSE 0 END) AS not_delivered` +
        ` FROM ${q.periodMs === DAY_MS ? 'usage_rollup_day' : 'usage_rollup'}` +
        ` WHERE tenant_id = ${p.add(q.tenantId)} AND bucket >= ${p.add(q.since)} AND bucket < ${p.add(q.until)}` +
        ` GROUP BY bucket${q.groupBy ? `, ${group}` : ''}`;
      const r = await select<Record<string, unknown>>(text, p.values);
      return r.rows.map(
        (x): UsageRow => ({
          period: num(x.period),
          group: String(x.grp ?? ''),
          messages: num(x.messages),
          segments: num(x.segments),
          cost_actual: num(x.cost_actual),
          cost_estimated: num(x.cost_estimated),
          delivered: num(x.delivered),
          not_delivered: num(x.not_delivered),
        }),
      );
    },

    async unpriced(updatedBefore, limit) {
      const rows = await k
        .selectFrom('messages')
        .select(['id', 'tenant_id', 'provider_sid', 'direction', 'to_addr', 'from_addr', 'channel', 'segments'])
        // Spelled out, not bound, as in the partial index messages_unpriced (SQLite uses it only then).
        .where(sql<boolean>`price IS NULL AND provider_sid IS NOT NULL AND status IN ('sent', 'delivered', 'undelivered', 'failed')`)
        .where('updated_at', '<', updatedBefore)
        .orderBy('updated_at')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ ...r, provider_sid: r.provider_sid!, segments: num(r.segments) }));
    },

    async setPrices(tx, updates: PriceUpdate[]) {
      if (updates.length === 0) return 0;
      const p = new Params(dialect);
      const src = rowsSource(
        dialect,
        [
          ['mid', 'text'],
          ['price', 'text'],
          ['price_unit', 'text'],
          ['estimated', 'bigint'],
        ],
        updates.map((u) => [u.id, u.price, u.price_unit, u.estimated ? 1 : 0]),
        p,
      );
      const r = await run<{ id: string }>(
        tx,
        `UPDATE messages AS m SET price = v.price, price_unit = v.price_unit, price_estimated = v.estimated FROM ${src} WHERE m.id = v.mid AND m.price IS NULL RETURNING id`,
        p.values,
      );
      return r.rows.length;
    },
  };
}
