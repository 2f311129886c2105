// The messages aggregate in SQL: outbox, event history, idempotency keys and the one writer of
// message status. The hot paths are set-based: a batch costs one statement per table (rows.ts).
import { sql } from 'kysely';
import { MESSAGE_EVENT_STATUSES } from '../../core/events.js';
import { rounds } from '../../core/rounds.js';
import { canTransition, isMessageStatus, MESSAGE_STATUSES } from '../../core/status.js';
import type {
  AcceptItem,
  CallbackResult,
  EventRecord,
  IdempotencyOutcome,
  MessageEventRecord,
  MessageRecord,
  MessagesRepository,
  MoveResult,
  NewMessage,
  RawCallback,
  SignerScope,
  StatusMove,
  Tx,
} from '../../ports.js';
import type { Db } from '../db.js';
import { Params, rowsSource, run, type Columns, type ColumnType } from '../rows.js';
import { kx } from '../tx.js';
import { appendEvents } from './events.js';
import type { StorageWrite } from '../write-batcher.js';

type Col = keyof MessageRecord;
const BIGINT: ReadonlySet<Col> = new Set<Col>([
  'segments',
  'template_version',
  'truncated_from',
  'provider_code',
  'attempts',
  'max_attempts',
  'next_attempt_at',
  'locked_until',
  'in_flight_since',
  'send_at',
  'expires_at',
  'validity_period',
  'sensitive',
  'metered',
  'price_estimated',
  'redacted_at',
  'created_at',
  'updated_at',
  'sent_at',
]);
const MESSAGE_COLUMNS = [
  'id',
  'tenant_id',
  'direction',
  'channel',
  'to_addr',
  'from_addr',
  'messaging_service_sid',
  'body',
  'media_urls',
  'encoding',
  'segments',
  'status',
  'provider_sid',
  'error_code',
  'provider_code',
  'error_message',
  'price',
  'price_unit',
  'attempts',
  'max_attempts',
  'next_attempt_at',
  'locked_until',
  'locked_by',
  'in_flight_since',
  'send_at',
  'hold_reason',
  'expires_at',
  'validity_period',
  'idempotency_key',
  'conversation_id',
  'metadata',
  'category',
  'template_name',
  'template_version',
  'truncated_from',
  'recipient_timezone',
  'sensitive',
  'metered',
  'campaign_id',
  'created_at',
  'updated_at',
  'sent_at',
] as const satisfies readonly Col[];
const typeOf = (c: Col): ColumnType => (BIGINT.has(c) ? 'bigint' : 'text');
const MESSAGE_SOURCE: Columns = MESSAGE_COLUMNS.map((c) => [c, typeOf(c)] as const);
const EVENT_SOURCE: Columns = [
  ['message_id', 'text'],
  ['tenant_id', 'text'],
  ['status', 'text'],
  ['source', 'text'],
  ['error_code', 'text'],
  ['provider_code', 'bigint'],
  ['data', 'text'],
  ['created_at', 'bigint'],
];
const EVENT_COLUMNS = EVENT_SOURCE.map(([n]) => n).join(', ');
// An applied move's event fields after message_id and tenant_id, up to created_at (the move's `at`).
const MOVED_EVENT_SOURCE: [string, ColumnType][] = EVENT_SOURCE.slice(2, 7).map(([n, t]) => [`e_${n}`, t]);
const KEY_SOURCE: Columns = [
  ['tenant_id', 'text'],
  ['key', 'text'],
  ['request_hash', 'text'],
  ['response_status', 'bigint'],
  ['response_body', 'text'],
  ['created_at', 'bigint'],
  ['expires_at', 'bigint'],
];

// For each status, the statuses a message may move to it from (canTransition, precomputed). The
// names are the closed vocabulary of core/status.ts, so they are written into the SQL as literals.
const FROM: ReadonlyMap<string, string> = new Map(
  MESSAGE_STATUSES.map((to) => [
    to,
    MESSAGE_STATUSES.filter((from) => canTransition(from, to))
      .map((s) => `'${s}'`)
      .join(', '),
  ]),
);
const fromList = (to: string): string => (isMessageStatus(to) ? FROM.get(to)! : '');

/** The condition on `m` for the messages a signer may touch (see SignerScope); `tenant` is the signer's id. */
function scopeSql(scope: SignerScope, tenant: string): string {
  if ('tenantId' in scope) return `m.tenant_id = ${tenant}`;
  if ('all' in scope) return 'true';
  return 'NOT EXISTS (SELECT 1 FROM tenants ta WHERE ta.id = m.tenant_id AND ta.twilio_account_sid IS NOT NULL AND ta.twilio_auth_token_enc IS NOT NULL)';
}

const RAW_SOURCE: Columns = [
  ['id', 'text'],
  ['tenant_id', 'text'],
  ['message_sid', 'text'],
  ['message_status', 'text'],
  ['idempotency_token', 'text'],
  ['params', 'text'],
  ['created_at', 'bigint'],
];
const RAW_COLUMNS = 'id, tenant_id, kind, message_sid, message_status, idempotency_token, params, message_id, created_at';
// With the folded statement (PostgreSQL), each raw row also carries its move's not-applied event.
const RAW_EVENT_SOURCE: Columns = [
  ['e_status', 'text'],
  ['e_source', 'text'],
  ['e_provider_code', 'bigint'],
  ['e_data', 'text'],
  ['at', 'bigint'],
];

interface Moved {
  id: string;
  tenant_id: string;
  to_addr: string;
  status: string;
  provider_sid: string | null;
  category: string;
  channel: string;
}

// Status moves that raise `message.<status>` events for the host application (the events outbox).
const EVENT_STATUSES: ReadonlySet<string> = new Set(MESSAGE_EVENT_STATUSES);
const EVENT_STATUS_LIST = MESSAGE_EVENT_STATUSES.map((s) => `'${s}'`).join(', ');
// A message event's data is the row as committed (rendered as the API resource when read), without
// the body of a sensitive message: the outbox never holds a verification code.
const SNAPSHOT_SQL = `json_build_object(${MESSAGE_COLUMNS.map((c) => `'${c}', ${c === 'body' ? 'CASE WHEN sensitive = 1 THEN NULL ELSE body END' : c}`).join(', ')})::text`;

function snapshot(row: MessageRecord): string {
  const out: Record<string, unknown> = {};
  for (const c of MESSAGE_COLUMNS) out[c] = c === 'body' && row.sensitive ? null : (row[c] ?? null);
  return JSON.stringify(out);
}

function messageEvent(id: string, row: MessageRecord, at: number): EventRecord {
  return { id, tenant_id: row.tenant_id, type: `message.${row.status}`, occurred_at: at, data: snapshot(row) };
}

/** Every event row is built here: status, error and provider code follow the move that caused it. */
function eventRow(
  move: Pick<StatusMove, 'set' | 'at' | 'event' | 'record'>,
  msg: { id: string; tenant_id: string; status: string },
  applied: boolean,
): unknown[] {
  const e = move.event;
  let data: Record<string, unknown> | null = e.data ?? null;
  if (move.record === 'always') data = { ...data, applied, ...(applied ? {} : { kept: msg.status }) };
  return [
    msg.id,
    msg.tenant_id,
    move.set.status,
    e.source,
    applied ? (move.set.error_code ?? null) : null,
    e.provider_code !== undefined ? e.provider_code : (move.set.provider_code ?? null),
    data === null ? null : JSON.stringify(data),
    move.at,
  ];
}

/** A not-applied event's data up to its `kept` status, which the statement appends: eventRow's JSON. */
function keptPrefix(move: StatusMove): string {
  return JSON.stringify({ ...move.event.data, applied: false }).slice(0, -1);
}

const sidOf = (m: StatusMove): string => (m.target as { providerSid: string }).providerSid;
const targetKey = (m: StatusMove): string => ('id' in m.target ? `i:${m.target.id}` : `s:${m.target.providerSid}`);
const scopeKind = (s: SignerScope): string => ('tenantId' in s ? 'tenant' : 'all' in s ? 'all' : 'shared');
/** Moves of one shape go into one UPDATE: same target kind, guards and columns. */
function shapeOf(m: StatusMove): string {
  const t = m.target;
  return [
    'id' in t ? `id:${t.tenantId !== undefined}` : `sid:${scopeKind(t.scope)}`,
    m.leasedBy !== undefined ? 'lease' : m.set.status,
    m.cancelable ? 'cancel' : '',
    Object.keys(m.set).join(','),
  ].join('|');
}

export function messagesRepository(db: Db, write: StorageWrite, newId: () => string): MessagesRepository {
  const k = db.kysely;
  const dialect = db.dialect;
  // SQLite has no data-modifying CTEs: there the events of applied moves are a statement of their own.
  const foldEvents = dialect === 'postgres';

  async function insertEvents(tx: Tx, rows: unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    const p = new Params(dialect);
    await run(tx, `INSERT INTO message_events (${EVENT_COLUMNS}) SELECT ${EVENT_COLUMNS} FROM ${rowsSource(dialect, EVENT_SOURCE, rows, p)}`, p.values);
  }

  /** A new message's values in MESSAGE_COLUMNS order. */
  const messageRow = (m: NewMessage): unknown[] => MESSAGE_COLUMNS.map((c) => (c === 'metered' ? (m.row.metered ?? 0) : (m.row[c] ?? null)));
  const firstEvent = (m: NewMessage) =>
    eventRow({ set: { status: m.row.status, error_code: m.row.error_code, provider_code: null }, at: m.row.created_at, event: m.event }, m.row, true);

  async function insert(tx: Tx, messages: NewMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const p = new Params(dialect);
    const cols = MESSAGE_COLUMNS.join(', ');
    const rows = messages.map(messageRow);
    await run(tx, `INSERT INTO messages (${cols}) SELECT ${cols} FROM ${rowsSource(dialect, MESSAGE_SOURCE, rows, p)}`, p.values);
    await insertEvents(tx, messages.map(firstEvent));
  }

  async function insertReceived(tx: Tx, m: NewMessage): Promise<boolean> {
    const r = await kx(tx)
      .insertInto('messages')
      .values(m.row)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    await insertEvents(tx, [firstEvent(m)]);
    await appendEvents(db, tx, [messageEvent(newId(), m.row, m.row.created_at)]);
    return true;
  }

  /**
   * One UPDATE … FROM <rows> for moves of one shape (same target kind, guards and columns). `attach`
   * (PostgreSQL) adds CTEs and rows to the same statement: its SELECT's columns follow the moved
   * rows' (`k` first, `message_id` last).
   */
  async function applyShape(
    tx: Tx,
    unsorted: StatusMove[],
    outbox: EventRecord[],
    attach?: (p: Params, from: string) => { ctes: string; select: string },
  ): Promise<(Moved & { k?: string; message_id?: string | null })[]> {
    // Rows in one order, so that concurrent batches (other connections, other processes) lock them in the same order.
    const moves = [...unsorted].sort((a, b) => (targetKey(a) < targetKey(b) ? -1 : 1));
    const m0 = moves[0]!;
    const bySid = 'providerSid' in m0.target;
    const scope = 'scope' in m0.target ? m0.target.scope : null;
    const tenantGuard = scope ? 'tenantId' in scope : 'id' in m0.target && m0.target.tenantId !== undefined;
    const from = m0.leasedBy !== undefined ? null : fromList(m0.set.status);
    if (from === '') return [];
    const setCols = Object.keys(m0.set) as Col[];
    // Whether moves of this shape may raise message events (a worker's leased outcome may be sent or failed).
    const raises = m0.leasedBy !== undefined || EVENT_STATUSES.has(m0.set.status);
    const src: [string, ColumnType][] = [['t', 'text']];
    if (tenantGuard) src.push(['g', 'text']);
    if (m0.leasedBy !== undefined) src.push(['w', 'text']);
    src.push(['at', 'bigint'], ...setCols.map((c) => [`s_${c}`, typeOf(c)] as [string, ColumnType]));
    if (foldEvents) src.push(...MOVED_EVENT_SOURCE);
    if (foldEvents && raises) src.push(['ev', 'text']);
    const rows = moves.map((m) => {
      const t = m.target;
      const r: unknown[] = ['id' in t ? t.id : t.providerSid];
      if (tenantGuard) r.push('id' in t ? t.tenantId : 'tenantId' in t.scope ? t.scope.tenantId : null);
      if (m.leasedBy !== undefined) r.push(m.leasedBy);
      r.push(m.at, ...setCols.map((c) => (m.set as Partial<MessageRecord>)[c]));
      // The event of an applied move depends on the message only through its id and tenant (RETURNING).
      if (foldEvents) r.push(...eventRow(m, { id: '', tenant_id: '', status: '' }, true).slice(2, 7));
      if (foldEvents && raises) r.push(newId());
      return r;
    });
    const where = [bySid ? 'm.provider_sid = v.t' : 'm.id = v.t'];
    if (tenantGuard) where.push('m.tenant_id = v.g');
    if (m0.leasedBy !== undefined) where.push('m.locked_by = v.w');
    if (from !== null) where.push(`m.status IN (${from})`);
    if (m0.cancelable) where.push('m.in_flight_since IS NULL', '(m.locked_until IS NULL OR m.locked_until < v.at)');
    if (scope && 'withoutOwnAccount' in scope) where.push(scopeSql(scope, ''));
    const p = new Params(dialect);
    // Column names are unqualified: the row source's columns (t, g, w, at, s_*, e_*, ev) never clash with them.
    const returning = raises ? MESSAGE_COLUMNS.join(', ') : 'id, tenant_id, to_addr, status, provider_sid, category, channel';
    const update =
      `UPDATE messages AS m SET ${setCols.map((c) => `${c} = v.s_${c}`).join(', ')} FROM ${rowsSource(dialect, src, rows, p)}` +
      ` WHERE ${where.join(' AND ')} RETURNING ${returning}`;
    const extra = foldEvents && attach ? attach(p, from ?? '') : null;
    const cols = 'id, tenant_id, to_addr, status, provider_sid, category, channel';
    // PostgreSQL writes the applied moves' events (history and outbox) in the same statement (data-modifying CTEs).
    const text = foldEvents
      ? `WITH moved AS (${update}, ${MOVED_EVENT_SOURCE.map(([n]) => `v.${n}`).join(', ')}, v.at${raises ? ', v.ev' : ''}), ` +
        `ev AS (INSERT INTO message_events (${EVENT_COLUMNS}) SELECT id, tenant_id, ${MOVED_EVENT_SOURCE.map(([n]) => n).join(', ')}, at FROM moved) ` +
        (raises
          ? `, oe AS (INSERT INTO events (id, tenant_id, type, occurred_at, data) SELECT ev, tenant_id, 'message.' || status, at, ${SNAPSHOT_SQL} FROM moved WHERE status IN (${EVENT_STATUS_LIST})) `
          : '') +
        (extra ? `${extra.ctes} SELECT 'moved' AS k, ${cols}, NULL::text AS message_id FROM moved UNION ALL ${extra.select}` : `SELECT ${cols} FROM moved`)
      : update;
    const moved = (await run<Moved & { k?: string; message_id?: string | null }>(tx, text, p.values)).rows;
    // SQLite: the round's outbox events are one INSERT after its statements (transitionRound).
    if (!foldEvents && raises) {
      const at = new Map(moves.map((m) => [targetKey(m), m.at]));
      for (const r of moved as unknown as MessageRecord[])
        if (EVENT_STATUSES.has(r.status)) outbox.push(messageEvent(newId(), r, at.get(`i:${r.id}`) ?? at.get(`s:${r.provider_sid}`) ?? r.updated_at));
    }
    return moved;
  }

  async function transitionRound(tx: Tx, moves: StatusMove[], round: number[], results: MoveResult[]): Promise<void> {
    const shapes = new Map<string, number[]>();
    for (const i of round) {
      const m = moves[i]!;
      const t = m.target;
      if (
        'seen' in t &&
        t.seen &&
        !(m.leasedBy === undefined && isMessageStatus(m.set.status) && isMessageStatus(t.seen.status) && canTransition(t.seen.status, m.set.status))
      ) {
        results[i] = { moved: false, message: { id: t.id, ...t.seen } };
        continue;
      }
      const shape = shapeOf(m);
      const list = shapes.get(shape);
      if (list) list.push(i);
      else shapes.set(shape, [i]);
    }
    const outbox: EventRecord[] = [];
    for (const idx of shapes.values()) {
      const moved = await applyShape(
        tx,
        idx.map((i) => moves[i]!),
        outbox,
      );
      const byKey = new Map<string, Moved>();
      for (const r of moved) {
        byKey.set(`i:${r.id}`, r);
        if (r.provider_sid) byKey.set(`s:${r.provider_sid}`, r);
      }
      for (const i of idx) {
        const r = byKey.get(targetKey(moves[i]!));
        if (r) results[i] = { moved: true, message: r };
      }
    }
    // Moves recorded whether or not they applied need the status the message kept.
    const unmoved = round.filter((i) => !results[i]!.moved && !results[i]!.message && moves[i]!.record === 'always' && 'id' in moves[i]!.target);
    if (unmoved.length > 0) {
      const ids = [...new Set(unmoved.map((i) => (moves[i]!.target as { id: string }).id))];
      const rows = await selectCurrent(tx, ids);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const i of unmoved) {
        const t = moves[i]!.target as { id: string; tenantId?: string };
        const r = byId.get(t.id);
        if (r && (t.tenantId === undefined || r.tenant_id === t.tenantId)) results[i] = { moved: false, message: r };
      }
    }
    const events: unknown[][] = [];
    for (const i of round) {
      const r = results[i]!;
      if (r.message && (r.moved ? !foldEvents : moves[i]!.record === 'always')) events.push(eventRow(moves[i]!, r.message, r.moved));
    }
    await insertEvents(tx, events);
    await appendEvents(db, tx, outbox);
  }

  async function transition(tx: Tx, moves: StatusMove[]): Promise<MoveResult[]> {
    const results: MoveResult[] = moves.map(() => ({ moved: false }));
    // A message moves at most once per statement: its later moves in this batch wait for the next round.
    for (const round of rounds(moves, targetKey)) await transitionRound(tx, moves, round, results);
    return results;
  }

  /** Whether transitionCallbacks runs the moves as one statement: PostgreSQL, one round, one shape. */
  function oneStatement(moves: StatusMove[]): boolean {
    if (!foldEvents || moves.length === 0) return false;
    const shape = shapeOf(moves[0]!);
    const keys = new Set(moves.map(targetKey));
    return keys.size === moves.length && moves.every((m) => 'providerSid' in m.target && shapeOf(m) === shape) && fromList(moves[0]!.set.status) !== '';
  }

  async function transitionCallbacks(tx: Tx, moves: StatusMove[], raws: RawCallback[]): Promise<CallbackResult[]> {
    if (oneStatement(moves)) return foldedCallbacks(tx, moves, raws);
    const results = await transition(tx, moves);
    const found = await messagesBySid(
      tx,
      moves.filter((_, i) => !results[i]!.moved),
    );
    const isNew = await insertRaws(
      tx,
      raws.map((r, i) => [r, results[i]!.message?.id ?? found.get(sidOf(moves[i]!))?.id ?? null]),
    );
    return results.map((r, i) => {
      const f = r.moved || !isNew[i] ? undefined : found.get(sidOf(moves[i]!));
      return { ...r, isNew: isNew[i]!, ...(f ? { found: f } : {}), recorded: false };
    });
  }

  /**
   * The round in one statement: the moves (with their events), each raw row with the message it
   * names (from the statement's snapshot), and the not-applied events of callbacks whose message may
   * not move to their status. A message another transaction moved since the snapshot is returned
   * unrecorded (the caller observes it).
   */
  async function foldedCallbacks(tx: Tx, moves: StatusMove[], raws: RawCallback[]): Promise<CallbackResult[]> {
    const scope = (moves[0]!.target as { scope: SignerScope }).scope;
    // In SID order, as the moves: concurrent rounds then take the unique index's locks in one order.
    const order = raws.map((_, i) => i).sort((a, b) => (raws[a]!.message_sid < raws[b]!.message_sid ? -1 : 1));
    const rows = await applyShape(tx, moves, [], (p, from) => {
      const src = rowsSource(
        dialect,
        [...RAW_SOURCE, ...RAW_EVENT_SOURCE],
        order.map((i) => {
          const r = raws[i]!;
          const e = eventRow(moves[i]!, { id: '', tenant_id: '', status: '' }, false);
          return [
            r.id,
            r.tenant_id,
            r.message_sid,
            r.message_status,
            r.idempotency_token,
            r.params,
            r.created_at,
            e[2],
            e[3],
            e[5],
            keptPrefix(moves[i]!),
            moves[i]!.at,
          ];
        }),
        p,
        'r',
      );
      return {
        ctes:
          `, w AS (SELECT r.*, m.id AS mid, m.tenant_id AS mtenant, m.to_addr AS mto, m.status AS mstatus FROM ${src}` +
          ` LEFT JOIN messages AS m ON m.provider_sid = r.message_sid AND ${scopeSql(scope, 'r.tenant_id')})` +
          `, wi AS (INSERT INTO webhook_events (${RAW_COLUMNS}) SELECT id, tenant_id, 'status', message_sid, message_status, idempotency_token,` +
          ' CASE WHEN mid IS NULL THEN params END, mid, created_at FROM w ORDER BY message_sid ON CONFLICT DO NOTHING RETURNING id)' +
          `, late AS (INSERT INTO message_events (${EVENT_COLUMNS}) SELECT w.mid, w.mtenant, w.e_status, w.e_source, NULL, w.e_provider_code,` +
          ` w.e_data || ',"kept":' || to_json(w.mstatus)::text || '}', w.at FROM w JOIN wi ON wi.id = w.id` +
          ` WHERE w.mid IS NOT NULL AND w.mstatus NOT IN (${from}) AND w.mid NOT IN (SELECT id FROM moved))`,
        select: `SELECT 'raw', w.id, w.mtenant, w.mto, w.mstatus, NULL, NULL, NULL, w.mid FROM w JOIN wi ON wi.id = w.id`,
      };
    });
    const moved = new Map<string, Moved>();
    const fresh = new Map<string, { id: string; tenant_id: string; to_addr: string; status: string } | null>();
    for (const { k, message_id, ...r } of rows) {
      if (k === 'moved') moved.set(r.provider_sid!, r);
      else fresh.set(r.id, message_id ? { id: message_id, tenant_id: r.tenant_id, to_addr: r.to_addr, status: r.status } : null);
    }
    return moves.map((m, i) => {
      const message = moved.get(sidOf(m));
      const isNew = fresh.has(raws[i]!.id);
      if (message) return { moved: true, message, isNew, recorded: false };
      const f = fresh.get(raws[i]!.id) ?? undefined;
      const to = m.set.status;
      const recorded = f !== undefined && !(isMessageStatus(f.status) && isMessageStatus(to) && canTransition(f.status, to));
      return { moved: false, isNew, ...(f ? { found: f } : {}), recorded };
    });
  }

  /** The messages that unmoved callbacks name and their signers may touch, by SID. */
  async function messagesBySid(tx: Tx, moves: StatusMove[]): Promise<Map<string, { id: string; tenant_id: string; to_addr: string; status: string }>> {
    const out = new Map<string, { id: string; tenant_id: string; to_addr: string; status: string }>();
    const byScope = new Map<string, StatusMove[]>();
    for (const m of moves) {
      const kind = scopeKind((m.target as { scope: SignerScope }).scope);
      const group = byScope.get(kind);
      if (group) group.push(m);
      else byScope.set(kind, [m]);
    }
    for (const group of byScope.values()) {
      const p = new Params(dialect);
      const targets = group.map((m) => m.target as { providerSid: string; scope: SignerScope });
      const src = rowsSource(
        dialect,
        [
          ['sid', 'text'],
          ['signer', 'text'],
        ],
        targets.map((t) => [t.providerSid, 'tenantId' in t.scope ? t.scope.tenantId : null]),
        p,
      );
      const r = await run<{ id: string; tenant_id: string; to_addr: string; status: string; provider_sid: string }>(
        tx,
        `SELECT m.id, m.tenant_id, m.to_addr, m.status, m.provider_sid FROM messages AS m, ${src} WHERE m.provider_sid = v.sid AND ${scopeSql(targets[0]!.scope, 'v.signer')}`,
        p.values,
      );
      for (const x of r.rows) out.set(x.provider_sid, { id: x.id, tenant_id: x.tenant_id, to_addr: x.to_addr, status: x.status });
    }
    return out;
  }

  /** Inserts the raw rows that are not duplicates (both unique indexes de-duplicate); whether each was new. */
  async function insertRaws(tx: Tx, rows: [RawCallback, string | null][]): Promise<boolean[]> {
    if (rows.length === 0) return [];
    const p = new Params(dialect);
    const src = rowsSource(
      dialect,
      [...RAW_SOURCE, ['message_id', 'text']],
      rows.map(([r, messageId]) => [
        r.id,
        r.tenant_id,
        r.message_sid,
        r.message_status,
        r.idempotency_token,
        messageId ? null : r.params,
        r.created_at,
        messageId,
      ]),
      p,
    );
    const r = await run<{ id: string }>(
      tx,
      `INSERT INTO webhook_events (${RAW_COLUMNS}) SELECT id, tenant_id, 'status', message_sid, message_status, idempotency_token, params, message_id, created_at FROM ${src} WHERE true ON CONFLICT DO NOTHING RETURNING id`,
      p.values,
    );
    const inserted = new Set(r.rows.map((x) => x.id));
    return rows.map(([x]) => inserted.has(x.id));
  }

  /**
   * Records each idempotent answer unless a live entry exists, and decides the others from their
   * entries (see claimKeys). `then` (PostgreSQL) writes more in the same statement, given the keys
   * the upsert won (CTE `k`).
   */
  async function claim(tx: Tx, items: AcceptItem[], then: ((p: Params) => string) | null): Promise<IdempotencyOutcome[]> {
    const out: IdempotencyOutcome[] = items.map(() => ({ kind: 'new' }));
    const keyOf = (a: AcceptItem) => `${a.idempotency!.tenantId}\u0000${a.idempotency!.key}`;
    const keyed = items.flatMap((a, i) => (a.idempotency ? [i] : []));
    if (keyed.length === 0 && then === null) return out;
    // The first request per key writes; the upsert's rows are sorted so that concurrent batches
    // lock keys in one order. An expired entry is overwritten in the same statement.
    const first = new Map<string, number>();
    for (const i of keyed) if (!first.has(keyOf(items[i]!))) first.set(keyOf(items[i]!), i);
    const writers = [...first.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, i]) => items[i]!.idempotency!);
    const p = new Params(dialect);
    const cols = KEY_SOURCE.map(([n]) => n).join(', ');
    const rows = writers.map((e) => [e.tenantId, e.key, e.requestHash, e.status, e.body, e.now, e.now + e.ttlMs]);
    const set = ['request_hash', 'response_status', 'response_body', 'created_at', 'expires_at'].map((c) => `${c} = excluded.${c}`).join(', ');
    const upsert =
      `INSERT INTO idempotency_keys (${cols}) SELECT ${cols} FROM ${rowsSource(dialect, KEY_SOURCE, rows, p)} WHERE true` +
      ` ON CONFLICT (tenant_id, key) DO UPDATE SET ${set} WHERE idempotency_keys.expires_at <= excluded.created_at RETURNING tenant_id, key`;
    const inserted = await run<{ tenant_id: string; key: string }>(
      tx,
      then ? `WITH k AS (${upsert})${then(p)} SELECT tenant_id, key FROM k` : upsert,
      p.values,
    );
    const won = new Set(inserted.rows.map((r) => `${r.tenant_id}\u0000${r.key}`));
    const decided = keyed.filter((i) => !(first.get(keyOf(items[i]!)) === i && won.has(keyOf(items[i]!))));
    if (decided.length === 0) return out;
    // Read after the upsert: an entry another transaction committed meanwhile is visible now (with
    // `then`, the upsert's own statement could not see it).
    const q = new Params(dialect);
    const existing = await run<{ tenant_id: string; key: string; request_hash: string; response_status: number | null; response_body: string | null }>(
      tx,
      `SELECT k.tenant_id, k.key, k.request_hash, k.response_status, k.response_body FROM idempotency_keys AS k, ` +
        `${rowsSource(
          dialect,
          [
            ['tenant_id', 'text'],
            ['key', 'text'],
          ],
          decided.map((i) => [items[i]!.idempotency!.tenantId, items[i]!.idempotency!.key]),
          q,
        )}` +
        ` WHERE k.tenant_id = v.tenant_id AND k.key = v.key`,
      q.values,
    );
    const byKey = new Map(existing.rows.map((r) => [`${r.tenant_id}\u0000${r.key}`, r]));
    for (const i of decided) {
      const e = byKey.get(keyOf(items[i]!));
      if (!e) throw new Error('idempotency key vanished during its own transaction');
      out[i] =
        e.request_hash !== items[i]!.idempotency!.requestHash ? { kind: 'mismatch' } : { kind: 'replay', status: e.response_status!, body: e.response_body! };
    }
    return out;
  }

  /**
   * The CTEs that insert a batch's messages and first events in the key upsert's statement: those
   * without a key, and the first of each key the upsert won (`k`).
   */
  function insertNewSql(items: AcceptItem[], p: Params): string {
    const seen = new Set<string>();
    const rows = items.map((it) => {
      const e = it.idempotency;
      // A second request with the same key (the service never batches one) gets no row: it is decided by the first.
      const k = e ? `${e.tenantId}\u0000${e.key}` : null;
      const claim = k === null ? [null, null] : seen.has(k) ? null : [e!.tenantId, e!.key];
      if (k) seen.add(k);
      return claim && { it, claim };
    });
    const kept = rows.filter((r) => r !== null);
    const cols = MESSAGE_COLUMNS.join(', ');
    const msgs = rowsSource(
      dialect,
      [...MESSAGE_SOURCE, ['claim_tenant', 'text'], ['claim_key', 'text']],
      kept.map(({ it, claim }) => [...messageRow(it.message), ...claim]),
      p,
    );
    const events = rowsSource(
      dialect,
      EVENT_SOURCE,
      kept.map(({ it }) => firstEvent(it.message)),
      p,
      'e',
    );
    return (
      `, m AS (INSERT INTO messages (${cols}) SELECT ${cols} FROM ${msgs}` +
      ' WHERE v.claim_key IS NULL OR EXISTS (SELECT 1 FROM k WHERE k.tenant_id = v.claim_tenant AND k.key = v.claim_key) RETURNING id)' +
      `, ev AS (INSERT INTO message_events (${EVENT_COLUMNS}) SELECT ${EVENT_COLUMNS} FROM ${events} WHERE e.message_id IN (SELECT id FROM m))`
    );
  }

  async function selectCurrent(tx: Tx, ids: string[]): Promise<{ id: string; tenant_id: string; to_addr: string; status: string }[]> {
    const p = new Params(dialect);
    const text = `SELECT m.id, m.tenant_id, m.to_addr, m.status FROM messages AS m, ${rowsSource(
      dialect,
      [['id', 'text']],
      ids.map((id) => [id]),
      p,
    )} WHERE m.id = v.id`;
    return (await run<{ id: string; tenant_id: string; to_addr: string; status: string }>(tx, text, p.values)).rows;
  }

  return {
    insert,
    insertReceived,

    claimKeys: (tx: Tx, items: AcceptItem[]) => claim(tx, items, null),

    async accept(tx: Tx, items: AcceptItem[]): Promise<IdempotencyOutcome[]> {
      if (foldEvents) return claim(tx, items, (p) => insertNewSql(items, p));
      const out = await claim(tx, items, null);
      await insert(
        tx,
        items.flatMap((it, i) => (out[i]!.kind === 'new' ? [it.message] : [])),
      );
      return out;
    },
    singleAccept: foldEvents,

    async rewriteAnswers(tx, answers) {
      if (answers.length === 0) return;
      // One statement for a group commit's held requests, however many (as the claim was).
      const p = new Params(dialect);
      const src = rowsSource(
        dialect,
        [
          ['tenant_id', 'text'],
          ['key', 'text'],
          ['response_status', 'bigint'],
          ['response_body', 'text'],
        ],
        answers.map((a) => [a.tenantId, a.key, a.status, a.body]),
        p,
      );
      await run(
        tx,
        `UPDATE idempotency_keys AS k SET response_status = v.response_status, response_body = v.response_body FROM ${src}` +
          ' WHERE k.tenant_id = v.tenant_id AND k.key = v.key',
        p.values,
      );
    },

    async forgetAnswers(tx, keys) {
      for (const tenantId of new Set(keys.map((x) => x.tenantId))) {
        await kx(tx)
          .deleteFrom('idempotency_keys')
          .where('tenant_id', '=', tenantId)
          .where(
            'key',
            'in',
            keys.filter((x) => x.tenantId === tenantId).map((x) => x.key),
          )
          .execute();
      }
    },

    get: (tenantId, id) => k.selectFrom('messages').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst(),

    list(q) {
      let query = k.selectFrom('messages').selectAll().where('tenant_id', '=', q.tenantId);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.to) query = query.where('to_addr', '=', q.to);
      if (q.since !== undefined) query = query.where('created_at', '>=', q.since);
      if (q.until !== undefined) query = query.where('created_at', '<', q.until);
      if (q.category) query = query.where('category', '=', q.category);
      if (q.template) query = query.where('template_name', '=', q.template);
      if (q.campaign) query = query.where('campaign_id', '=', q.campaign);
      const before = q.before;
      if (before) {
        query = query.where((eb) =>
          eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]),
        );
      }
      // Newest first by created_at (then id): a date range is one index range (migration 0017).
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    },

    events: (messageId) =>
      k.selectFrom('message_events').selectAll().where('message_id', '=', messageId).orderBy('id').execute() as Promise<MessageEventRecord[]>,

    transition,
    transitionCallbacks,
    oneStatement,

    commitTransition(moves) {
      // With the events folded in (PostgreSQL), moves of one shape and one round are one statement,
      // unless some are recorded even when they do not apply (their events need the status kept).
      const single = foldEvents && new Set(moves.map(shapeOf)).size <= 1 && rounds(moves, targetKey).length <= 1 && moves.every((m) => m.record !== 'always');
      return write((tx) => transition(tx, moves), single);
    },

    async claimDue(workerId, now, leaseMs, limit) {
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
      if (dialect === 'postgres') {
        // A materialized CTE runs the locking SELECT once: as an IN (subquery) PostgreSQL may run it
        // again and claim past the limit (as the campaign claim did); its ids as one array, so the
        // update is primary-key lookups.
        return k
          .with(
            (cte) => cte('due').materialized(),
            () => due(k).forUpdate().skipLocked(),
          )
          .updateTable('messages')
          .set(set)
          .where('id', '=', sql<string>`any(array(select id from due))`)
          .returningAll()
          .execute();
      }
      // SQLite has a single writer: the UPDATE … WHERE id IN (SELECT …) is atomic on its own.
      return write((tx) =>
        kx(tx)
          .updateTable('messages')
          .set(set)
          .where('id', 'in', (eb) => due(eb))
          .returningAll()
          .execute(),
      );
    },

    async outboxStats() {
      // The partial outbox index's condition, written out (as in claimDue) so SQLite uses the index.
      const r = await k
        .selectFrom('messages')
        .select((eb) => [eb.fn.countAll<number | string>().as('depth'), eb.fn.min<number | string | null>('next_attempt_at').as('earliest')])
        .where(sql<boolean>`status in ('pending', 'scheduled')`)
        .executeTakeFirstOrThrow();
      return { depth: Number(r.depth), earliestAttemptAt: r.earliest === null ? null : Number(r.earliest) };
    },

    async tenantOutbox(tenantId) {
      // Two ranges of messages_tenant_status_recent (tenant_id, status, created_at; migration 0017).
      const rows = await k
        .selectFrom('messages')
        .select((eb) => ['status', eb.fn.countAll<number | string>().as('n'), eb.fn.min<number | string | null>('created_at').as('oldest')])
        .where('tenant_id', '=', tenantId)
        .where(sql<boolean>`status in ('pending', 'scheduled')`)
        .groupBy('status')
        .execute();
      const of = (s: string) => rows.find((r) => r.status === s);
      const oldest = of('pending')?.oldest;
      return { pending: Number(of('pending')?.n ?? 0), scheduled: Number(of('scheduled')?.n ?? 0), oldestPendingAt: oldest == null ? null : Number(oldest) };
    },

    async releaseLeases(workerId, claims, now) {
      if (claims.length === 0) return;
      await write(async (tx) => {
        // Placeholders in text order (SQLite's are positional).
        const p = new Params(dialect);
        const at = p.add(now);
        const src = rowsSource(
          dialect,
          [
            ['id', 'text'],
            ['claimed_at', 'bigint'],
          ],
          claims.map((c) => [c.id, c.claimedAt]),
          p,
        );
        const w = p.add(workerId);
        await run(
          tx,
          `UPDATE messages AS m SET locked_by = NULL, locked_until = NULL, updated_at = ${at}, ` +
            `in_flight_since = CASE WHEN m.in_flight_since = v.claimed_at THEN NULL ELSE m.in_flight_since END FROM ${src} WHERE m.id = v.id AND m.locked_by = ${w}`,
          p.values,
        );
      });
    },

    providerSidTaken: (sid) =>
      k
        .selectFrom('messages')
        .select('id')
        .where('provider_sid', '=', sid)
        .executeTakeFirst()
        .then((r) => r !== undefined),

    async idempotencyHash(tenantId, key, now) {
      const r = await k
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'expires_at'])
        .where('tenant_id', '=', tenantId)
        .where('key', '=', key)
        .executeTakeFirst();
      return r && r.expires_at > now ? r.request_hash : undefined;
    },

    async deleteExpiredIdempotencyKeys(now) {
      const r = await k.deleteFrom('idempotency_keys').where('expires_at', '<', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
