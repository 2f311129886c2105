// Campaigns and their audience. Recipients are appended in multi-row statements (rows.ts), claimed
// by the campaign dispatcher like the outbox claims messages (FOR UPDATE SKIP LOCKED on PostgreSQL,
// the single writer on SQLite), and read back joined with their messages' outcomes.
import { CompiledQuery, sql } from 'kysely';
import type { CampaignRecipientRecord, CampaignsRepository, RecipientOutcome } from '../../ports.js';
import type { Db } from '../db.js';
import { Params, rowsSource, run, type Columns } from '../rows.js';
import { kx } from '../tx.js';
import type { StorageWrite } from '../write-batcher.js';

const RECIPIENT_SOURCE: Columns = [
  ['seq', 'bigint'],
  ['phone', 'text'],
  ['dedupe_key', 'text'],
  ['country', 'text'],
  ['variables', 'text'],
  ['status', 'text'],
  ['row_number', 'bigint'],
  ['error_code', 'text'],
  ['error_message', 'text'],
];
const RECIPIENT_COLS = RECIPIENT_SOURCE.map(([n]) => n).join(', ');
// A campaign cancel refuses the campaign's messages that were already claimed: they count as canceled.
const CANCELED_BY_CAMPAIGN = 'SMS_ERR_CAMPAIGN_CANCELED';

export function campaignsRepository(db: Db, write: StorageWrite): CampaignsRepository {
  const k = db.kysely;
  const real = db.dialect === 'postgres' ? sql.raw('double precision') : sql.raw('real');
  const num = (v: unknown) => Number(v ?? 0);

  return {
    async insert(tx, row) {
      await kx(tx).insertInto('campaigns').values(row).execute();
    },

    get: (tenantId, id) => k.selectFrom('campaigns').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst(),

    byId: (id) => k.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirst(),

    list(tenantId, q) {
      let query = k.selectFrom('campaigns').selectAll().where('tenant_id', '=', tenantId);
      if (q.before !== undefined) query = query.where('id', '<', q.before);
      return query.orderBy('id', 'desc').limit(q.limit).execute();
    },

    move: (tx, tenantId, id, from, set) =>
      kx(tx)
        .updateTable('campaigns')
        .set(set)
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', 'in', [...from])
        .returningAll()
        .executeTakeFirst(),

    async appendRecipients(tx, campaign, rows, now) {
      if (rows.length === 0) return [];
      const t = kx(tx);
      // The campaign row is locked until the commit: concurrent uploads take distinct number ranges.
      const c = await t
        .updateTable('campaigns')
        .set({
          next_seq: sql<number>`next_seq + ${rows.length}`,
          uploaded_rows: sql<number>`uploaded_rows + ${rows.length}`,
          updated_at: now,
        })
        .where('id', '=', campaign.id)
        .returning('next_seq')
        .executeTakeFirstOrThrow();
      const first = num(c.next_seq) - rows.length;
      const p = new Params(db.dialect);
      const cid = p.add(campaign.id);
      const tid = p.add(campaign.tenant_id);
      // Placeholders in text order (SQLite's are positional): one per use.
      const created = p.add(now);
      const updated = p.add(now);
      const src = rowsSource(
        db.dialect,
        RECIPIENT_SOURCE,
        rows.map((r, i) => [first + i, r.phone, r.dedupe_key, r.country, r.variables, r.status, r.row_number, r.error_code, r.error_message]),
        p,
      );
      const inserted = await run<{ status: string }>(
        tx,
        `INSERT INTO campaign_recipients (campaign_id, tenant_id, created_at, updated_at, ${RECIPIENT_COLS}) ` +
          `SELECT ${cid}, ${tid}, ${created}, ${updated}, ${RECIPIENT_COLS} FROM ${src} WHERE true ON CONFLICT DO NOTHING RETURNING status`,
        p.values,
      );
      const n = inserted.rows.length;
      if (n < rows.length) {
        await t
          .updateTable('campaigns')
          .set({ duplicates: sql<number>`duplicates + ${rows.length - n}` })
          .where('id', '=', campaign.id)
          .execute();
      }
      return inserted.rows.map((r) => r.status);
    },

    async truncate(tx, campaignId, fromSeq, now) {
      const t = kx(tx);
      const gone = await t.deleteFrom('campaign_recipients').where('campaign_id', '=', campaignId).where('seq', '>=', fromSeq).executeTakeFirst();
      const c = await t.selectFrom('campaigns').select('next_seq').where('id', '=', campaignId).executeTakeFirstOrThrow();
      // Every number handed out from fromSeq on was a row of the upload: inserted, or dropped as a duplicate.
      const handedOut = num(c.next_seq) - fromSeq;
      const dropped = handedOut - Number(gone.numDeletedRows);
      await t
        .updateTable('campaigns')
        .set({
          uploaded_rows: sql<number>`uploaded_rows - ${handedOut}`,
          duplicates: sql<number>`duplicates - ${dropped}`,
          updated_at: now,
        })
        .where('id', '=', campaignId)
        .execute();
    },

    async suppressed(tenantId, phones) {
      if (phones.length === 0) return new Set();
      // A rows source, not an IN list: an upload's batches would otherwise each compile (and SQLite
      // cache) a statement of its own length.
      const p = new Params(db.dialect);
      // Placeholders in text order (SQLite's are positional).
      const src = rowsSource(
        db.dialect,
        [['phone', 'text']],
        phones.map((x) => [x]),
        p,
      );
      const t = p.add(tenantId);
      const r = await k.executeQuery<{ phone: string }>(
        CompiledQuery.raw(`SELECT s.phone FROM suppressions AS s, ${src} WHERE s.tenant_id = ${t} AND s.phone = v.phone`, p.values),
      );
      return new Set(r.rows.map((x) => x.phone));
    },

    active: (now) =>
      k
        .selectFrom('campaigns')
        .selectAll()
        .where((w) => w.or([w('status', '=', 'running'), w.and([w('status', '=', 'scheduled'), w('start_at', '<=', now)])]))
        .orderBy('id')
        .execute(),

    async claimRecipients(campaignId, now, leaseMs, limit) {
      // `status` as a one-value range, in the order: only campaign_recipients_status serves it without
      // a sort. With `status = 'pending'` PostgreSQL, whose statistics (taken after the upload) say
      // every recipient is pending, walked the primary key instead, past every messaged recipient
      // at each claim (10 ms at 90,000 of 100,000).
      const due = (eb: typeof k) =>
        eb
          .selectFrom('campaign_recipients')
          .select('seq')
          .where('campaign_id', '=', campaignId)
          .where('status', '>=', 'pending')
          .where('status', '<=', 'pending')
          .where((w) => w.or([w('locked_until', 'is', null), w('locked_until', '<', now)]))
          .orderBy('status')
          .orderBy('seq')
          .limit(limit);
      const set = { locked_until: now + leaseMs };
      let rows: CampaignRecipientRecord[];
      if (db.dialect === 'postgres') {
        // A materialized CTE runs the locking SELECT once: as an IN (subquery) PostgreSQL may run it
        // again per row and claim past the limit. Its rows as one array (`= any(array(…))`): the
        // update is then primary-key lookups, where a join with the CTE hashed the whole campaign.
        rows = await k
          .with(
            (cte) => cte('due').materialized(),
            () => due(k).forUpdate().skipLocked(),
          )
          .updateTable('campaign_recipients')
          .set(set)
          .where('campaign_id', '=', campaignId)
          .where('seq', '=', sql<number>`any(array(select seq from due))`)
          .returningAll()
          .execute();
      } else {
        // SQLite has a single writer: the UPDATE … WHERE seq IN (SELECT …) is atomic on its own.
        rows = await write((tx) =>
          kx(tx)
            .updateTable('campaign_recipients')
            .set(set)
            .where('campaign_id', '=', campaignId)
            .where('seq', 'in', due(kx(tx)))
            .returningAll()
            .execute(),
        );
      }
      return rows.map(fromRow).sort((a, b) => a.seq - b.seq);
    },

    async link(tx, links, now) {
      const byCampaign = new Map<string, { seq: number; messageId: string }[]>();
      for (const l of links) {
        const list = byCampaign.get(l.campaignId);
        if (list) list.push(l);
        else byCampaign.set(l.campaignId, [l]);
      }
      let linked = 0;
      // One statement per campaign (a group commit holds one or two), its recipients as a seq range
      // of the primary key: joined on a campaign column of the rows source, PostgreSQL hashed every
      // pending recipient of the campaign for each group commit (256 ms a statement at 30,000).
      for (const [campaignId, list] of byCampaign) {
        const p = new Params(db.dialect);
        // Placeholders in text order (SQLite's are positional).
        const at = p.add(now);
        const src = rowsSource(
          db.dialect,
          [
            ['s', 'bigint'],
            ['mid', 'text'],
          ],
          list.map((l) => [l.seq, l.messageId]),
          p,
        );
        const cid = p.add(campaignId);
        const seqs = list.map((l) => l.seq);
        const lo = p.add(Math.min(...seqs));
        const hi = p.add(Math.max(...seqs));
        const r = await run<{ seq: number }>(
          tx,
          `UPDATE campaign_recipients AS r SET status = 'messaged', message_id = v.mid, locked_until = NULL, updated_at = ${at} FROM ${src} ` +
            `WHERE r.campaign_id = ${cid} AND r.seq BETWEEN ${lo} AND ${hi} AND r.seq = v.s AND r.message_id IS NULL AND r.status = 'pending' RETURNING seq`,
          p.values,
        );
        linked += r.rows.length;
      }
      return linked;
    },

    async settle(campaignId, seq, status, error, now) {
      await write((tx) =>
        kx(tx)
          .updateTable('campaign_recipients')
          .set({ status, error_code: error.code, error_message: error.message, locked_until: null, updated_at: now })
          .where('campaign_id', '=', campaignId)
          .where('seq', '=', seq)
          .where('status', '=', 'pending')
          .execute(),
      );
    },

    async release(campaignId, seqs) {
      if (seqs.length === 0) return;
      await write((tx) =>
        kx(tx).updateTable('campaign_recipients').set({ locked_until: null }).where('campaign_id', '=', campaignId).where('seq', 'in', seqs).execute(),
      );
    },

    async windowSize(campaignId) {
      const r = await k
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('campaign_id', '=', campaignId)
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      return num(r.n);
    },

    async outstanding(campaignId) {
      const r = await k
        .selectFrom('campaign_recipients')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('campaign_id', '=', campaignId)
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      const m = await k
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('campaign_id', '=', campaignId)
        .where('status', 'in', ['pending', 'scheduled'])
        .executeTakeFirstOrThrow();
      return num(r.n) + num(m.n);
    },

    async sentSince(campaignId, since) {
      const r = await k
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('campaign_id', '=', campaignId)
        .where('sent_at', '>=', since)
        .executeTakeFirstOrThrow();
      return num(r.n);
    },

    async counts(campaignId) {
      // Two index-only scans instead of a join of every recipient with its message (a 100,000-recipient
      // campaign's page took 100–250 ms that way): the recipients not messaged by their row status,
      // the messaged ones by their messages' status (a recipient is messaged exactly when a message of
      // the campaign exists: both are written in one transaction), over messages_campaign.
      const rows = await k
        .selectFrom('campaign_recipients')
        .select(['status', (eb) => eb.fn.countAll().as('count')])
        .where('campaign_id', '=', campaignId)
        .where('status', '!=', 'messaged')
        .groupBy('status')
        .execute();
      // Inlined (a constant), so that the GROUP BY repeats the selected expression exactly (PostgreSQL).
      const ms = sql.raw<string>(`case when error_code = '${CANCELED_BY_CAMPAIGN}' then 'canceled' else status end`);
      const messaged = await k
        .selectFrom('messages')
        .select([ms.as('message_status'), (eb) => eb.fn.countAll().as('count'), sql<number | null>`sum(abs(cast(price as ${real})))`.as('cost')])
        .where('campaign_id', '=', campaignId)
        .groupBy(ms)
        .execute();
      return [
        ...rows.map((r) => ({ status: r.status, message_status: null, count: num(r.count), cost: 0 })),
        ...messaged.map((r) => ({ status: 'messaged', message_status: r.message_status, count: num(r.count), cost: num(r.cost) })),
      ];
    },

    async recipients(campaignId, q) {
      let query = k
        .selectFrom('campaign_recipients as r')
        .leftJoin('messages as m', 'm.id', 'r.message_id')
        .selectAll('r')
        .select(['m.status as message_status', 'm.error_code as message_error_code', 'm.provider_sid as provider_sid', 'm.price as price'])
        .where('r.campaign_id', '=', campaignId);
      if (q.filters.length > 0) {
        query = query.where((w) =>
          w.or(
            q.filters.map((f) =>
              f.messageStatuses ? w.and([w('r.status', '=', f.status), w('m.status', 'in', f.messageStatuses)]) : w('r.status', '=', f.status),
            ),
          ),
        );
      }
      if (q.afterSeq !== undefined) query = query.where('r.seq', '>', q.afterSeq);
      const rows = await query.orderBy('r.seq').limit(q.limit).execute();
      return rows.map(
        (r) =>
          ({
            ...fromRow(r),
            message_status: r.message_status,
            message_error_code: r.message_error_code,
            provider_sid: r.provider_sid,
            price: r.price,
          }) as RecipientOutcome,
      );
    },

    async releaseHeld(campaignId, now) {
      const r = await write((tx) =>
        kx(tx)
          .updateTable('messages')
          .set({ next_attempt_at: now, send_at: null, hold_reason: null, updated_at: now })
          .where('campaign_id', '=', campaignId)
          .where('status', '=', 'scheduled')
          .where('hold_reason', '=', 'campaign_paused')
          .executeTakeFirst(),
      );
      return Number(r.numUpdatedRows);
    },

    async unsentMessages(campaignId, limit) {
      const rows = await k
        .selectFrom('messages')
        .select('id')
        .where('campaign_id', '=', campaignId)
        .where('status', 'in', ['pending', 'scheduled'])
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },

    async audienceByCountry(campaignId) {
      const rows = await k
        .selectFrom('campaign_recipients')
        .select(['country', 'status', (eb) => eb.fn.countAll().as('count')])
        .where('campaign_id', '=', campaignId)
        .groupBy(['country', 'status'])
        .execute();
      return rows.map((r) => ({ country: r.country, status: r.status, count: num(r.count) }));
    },
  };
}

// pg returns bigint columns as numbers (db.ts); SQLite integers are numbers already.
function fromRow<R extends CampaignRecipientRecord>(r: R): R {
  return { ...r, seq: Number(r.seq), row_number: Number(r.row_number), locked_until: r.locked_until === null ? null : Number(r.locked_until) };
}
