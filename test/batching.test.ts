// The hot paths are set-based: requests and callbacks that arrive together are written as one batch
// (one statement per table), with each caller still getting its own outcome.
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, createSmsRelay } from '../src/index.js';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { newSid } from './support/webhooks.js';

describe.each(backends)('batched writes on $name', (backend) => {
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const d of drops) await d();
  });

  async function relayWith(label: string) {
    const db = await backend.create(label);
    const counter = { statements: 0, texts: [] as string[] };
    const relay = await createSmsRelay(
      { databaseUrl: db.url, logLevel: 'silent' },
      {
        schema: db.schema,
        logger: createLogger('silent'),
        onQuery: (text) => {
          counter.statements++;
          counter.texts.push(text.trim().toLowerCase());
        },
      },
    );
    drops.push(async () => {
      await relay.close();
      await db.drop();
    });
    return { relay, counter };
  }

  it('accepts concurrent requests in a few statements, each with its own outcome (new, replay, mismatch)', async () => {
    const { relay, counter } = await relayWith('batch_accept');
    const first = await relay.send({ to: '+14155550601', body: 'a' }, { idempotencyKey: 'replayed' });
    await relay.send({ to: '+14155550601', body: 'b' }, { idempotencyKey: 'mismatched' });
    const rows = async () => (await sqlOf(relay).selectFrom('messages').select('id').execute()).length;
    const before = await rows();
    counter.statements = 0;
    const results = await Promise.allSettled([
      ...Array.from({ length: 40 }, (_, i) => relay.send({ to: '+14155550602', body: `plain ${i}` })),
      ...Array.from({ length: 20 }, (_, i) => relay.send({ to: '+14155550603', body: `keyed ${i}` }, { idempotencyKey: `fresh-${i}` })),
      relay.send({ body: 'a', to: '+14155550601' }, { idempotencyKey: 'replayed' }),
      relay.send({ to: '+14155550601', body: 'other' }, { idempotencyKey: 'mismatched' }),
    ]);
    const statements = counter.statements;
    const ok = results.slice(0, 60).map((r) => (r.status === 'fulfilled' ? r.value : null));
    expect(ok.every((r) => r !== null && r.status === 202 && !r.replayed)).toBe(true);
    expect(new Set(ok.map((r) => r!.message.id)).size).toBe(60);
    const replay = results[60]!;
    expect(replay.status === 'fulfilled' && replay.value.replayed && replay.value.json === first.json).toBe(true);
    expect(results[61]).toMatchObject({ status: 'rejected', reason: { code: 'SMS_ERR_IDEMPOTENCY_MISMATCH' } });
    expect(await rows()).toBe(before + 60);
    const events = await sqlOf(relay)
      .selectFrom('message_events')
      .select(['message_id', 'status', 'source'])
      .where(
        'message_id',
        'in',
        ok.map((r) => r!.message.id),
      )
      .execute();
    expect(events).toHaveLength(60);
    expect(events.every((e) => e.status === 'pending' && e.source === 'api')).toBe(true);
    // One group commit: BEGIN, the keys' upsert, the select of the two that were not new, one insert
    // per table, COMMIT (and the consent lookup). One request at a time took 2 or 3 statements each.
    expect(statements).toBeLessThanOrEqual(10);
  });

  it('writes a batch of plain sends (keys, messages, first events) in one statement without BEGIN/COMMIT on PostgreSQL', async () => {
    const { relay, counter } = await relayWith('batch_accept_one');
    const replayed = await relay.send({ to: '+14155550607', body: 'x' }, { idempotencyKey: 'again' });
    counter.texts = [];
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => relay.send({ to: '+14155550607', body: `k ${i}` }, { idempotencyKey: `one-${i}` })),
      ...Array.from({ length: 10 }, (_, i) => relay.send({ to: '+14155550607', body: `n ${i}` })),
      relay.send({ to: '+14155550607', body: 'x' }, { idempotencyKey: 'again' }),
    ]);
    expect(results.slice(0, 20).every((r) => r.status === 202 && !r.replayed)).toBe(true);
    expect(results[20]!.replayed && results[20]!.json === replayed.json).toBe(true);
    const writes = counter.texts.filter((t) => !t.startsWith('select'));
    // The replay's answer is read after the write (a select), like the consent and conversation lookups.
    if (backend.name === 'postgres') expect(writes.map((t) => t.split(' ')[0])).toEqual(['with']);
    else expect(writes.map((t) => t.split(' ')[0])).toEqual(['begin', 'insert', 'insert', 'insert', 'commit']);
    const ids = results.slice(0, 20).map((r) => r.message.id);
    const events = await sqlOf(relay).selectFrom('message_events').select(['message_id', 'status']).where('message_id', 'in', ids).execute();
    expect(events.map((e) => e.message_id).sort()).toEqual([...ids].sort());
    const keys = await sqlOf(relay).selectFrom('idempotency_keys').select('key').where('key', 'like', 'one-%').execute();
    expect(keys).toHaveLength(10);
  });

  it('applies callbacks arriving together as a batch: forward-only, in order per message, duplicates once', async () => {
    const { relay, counter } = await relayWith('batch_callbacks');
    const tenantId = relay.defaultTenant.id;
    const staged: { id: string; sid: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const { message } = await relay.send({ to: '+14155550604', body: `cb ${i}`, send_at: new Date(Date.now() + 3_600_000) });
      const sid = newSid();
      await sqlOf(relay).updateTable('messages').set({ status: 'queued', provider_sid: sid, next_attempt_at: null }).where('id', '=', message.id).execute();
      staged.push({ id: message.id, sid });
    }
    const cb = (sid: string, status: string, token: string) =>
      relay.statusCallbacks.handle({ tenantId, params: { MessageSid: sid, MessageStatus: status }, idempotencyToken: token });
    counter.statements = 0;
    const outcomes = await Promise.all([
      ...staged.map((m, i) => cb(m.sid, 'sent', `sent-${i}`)),
      ...staged.map((m, i) => cb(m.sid, 'delivered', `delivered-${i}`)),
      cb(staged[0]!.sid, 'delivered', 'delivered-0'),
      cb(staged[1]!.sid, 'sent', 'late-sent-1'),
      cb(newSid(), 'delivered', 'unknown'),
    ]);
    const statements = counter.statements;
    expect(outcomes.slice(0, 60).every((o) => o === 'applied')).toBe(true);
    expect(outcomes.slice(60)).toEqual(['duplicate', 'duplicate', 'orphan']);
    const statuses = await sqlOf(relay)
      .selectFrom('messages')
      .select('status')
      .where(
        'id',
        'in',
        staged.map((m) => m.id),
      )
      .execute();
    expect(statuses.every((s) => s.status === 'delivered')).toBe(true);
    const history = await relay.messages.events(relay.defaultTenant, staged[0]!.id);
    expect(history.map((e) => [e.status, e.source])).toEqual([
      ['scheduled', 'api'],
      ['sent', 'callback'],
      ['delivered', 'callback'],
    ]);
    expect((history[2]!.data as { applied: boolean }).applied).toBe(true);
    // Two rounds (a message moves once per statement) of: BEGIN, the move, its events and outbox
    // events (PostgreSQL: in the move's statement), the raw rows, the lookup of the callbacks that
    // did not move, COMMIT. One callback at a time took three or more.
    expect(statements).toBeLessThanOrEqual(backend.name === 'postgres' ? 12 : 16);
  });

  it('applies a round of callbacks of one status in one statement on PostgreSQL: applied, late, duplicate and orphan alike', async () => {
    const { relay, counter } = await relayWith('batch_callback_round');
    const tenantId = relay.defaultTenant.id;
    const staged: { id: string; sid: string }[] = [];
    for (const status of ['queued', 'queued', 'delivered', 'queued']) {
      const { message } = await relay.send({ to: '+14155550606', body: status, send_at: new Date(Date.now() + 3_600_000) });
      const sid = newSid();
      await sqlOf(relay).updateTable('messages').set({ status, provider_sid: sid, next_attempt_at: null }).where('id', '=', message.id).execute();
      staged.push({ id: message.id, sid });
    }
    const cb = (sid: string, token: string) =>
      relay.statusCallbacks.handle({ tenantId, params: { MessageSid: sid, MessageStatus: 'sent', Extra: `é ${token}` }, idempotencyToken: token });
    // Recorded before: the last message's 'sent' (a retry of it is a duplicate).
    expect(await cb(staged[3]!.sid, 'first')).toBe('applied');
    const orphanSid = newSid();
    counter.texts = [];
    const outcomes = await Promise.all([
      cb(staged[0]!.sid, 'a'),
      cb(staged[1]!.sid, 'b'),
      cb(staged[2]!.sid, 'late'),
      cb(staged[3]!.sid, 'first'),
      cb(orphanSid, 'o'),
    ]);
    expect(outcomes).toEqual(['applied', 'applied', 'ignored', 'duplicate', 'orphan']);
    if (backend.name === 'postgres') expect(counter.texts.map((t) => t.split(' ')[0])).toEqual(['with']);
    else expect(counter.texts[0]).toBe('begin');
    const statuses = await sqlOf(relay)
      .selectFrom('messages')
      .select(['id', 'status'])
      .where(
        'id',
        'in',
        staged.map((m) => m.id),
      )
      .execute();
    expect(new Map(statuses.map((m) => [m.id, m.status]))).toEqual(new Map(staged.map((m, i) => [m.id, i === 2 ? 'delivered' : 'sent'])));
    // The out-of-order callback is in its message's history, not applied, with the status kept.
    const late = (await relay.messages.events(relay.defaultTenant, staged[2]!.id)).filter((e) => e.source === 'callback');
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ status: 'sent', error_code: null });
    expect(late[0]!.data).toEqual({
      params: { MessageSid: staged[2]!.sid, MessageStatus: 'sent', Extra: 'é late' },
      idempotency_token: 'late',
      applied: false,
      kept: 'delivered',
    });
    const applied = (await relay.messages.events(relay.defaultTenant, staged[0]!.id)).filter((e) => e.source === 'callback');
    expect(applied.map((e) => [e.status, (e.data as { applied: boolean }).applied])).toEqual([['sent', true]]);
    // Raw rows: one per callback that was not a duplicate; the fields kept only for the orphan.
    const raw = await sqlOf(relay)
      .selectFrom('webhook_events')
      .select(['message_sid', 'message_id', 'params', 'idempotency_token'])
      .where('kind', '=', 'status')
      .where('idempotency_token', 'in', ['a', 'b', 'late', 'first', 'o'])
      .orderBy('idempotency_token')
      .execute();
    expect(raw.map((r) => [r.idempotency_token, r.message_id, r.params === null ? null : JSON.parse(r.params)])).toEqual([
      ['a', staged[0]!.id, null],
      ['b', staged[1]!.id, null],
      ['first', staged[3]!.id, null],
      ['late', staged[2]!.id, null],
      ['o', null, { MessageSid: orphanSid, MessageStatus: 'sent', Extra: 'é o' }],
    ]);
  });

  it('claims due messages within the limit, each by one worker, with concurrent claims', async () => {
    const { relay } = await relayWith('batch_claim');
    for (let i = 0; i < 60; i++) await relay.send({ to: '+14155550608', body: `due ${i}` });
    const now = Date.now() + 1000;
    const claims = await Promise.all(Array.from({ length: 8 }, (_, w) => relay.repos.messages.claimDue(`w${w}`, now, 60_000, 7)));
    expect(claims.every((c) => c.length <= 7)).toBe(true);
    const ids = claims.flat().map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    // SQLite's claims run one after the other: every one is full; on PostgreSQL, SKIP LOCKED may leave one short.
    if (backend.name === 'sqlite') expect(ids).toHaveLength(56);
    const leased = await sqlOf(relay).selectFrom('messages').select(['id', 'locked_by']).where('locked_by', 'is not', null).execute();
    expect(new Map(leased.map((m) => [m.id, m.locked_by]))).toEqual(new Map(claims.flatMap((c, w) => c.map((m) => [m.id, `w${w}`]))));
  });

  it("writes a worker's outcomes of one shape in one statement without BEGIN/COMMIT on PostgreSQL", async () => {
    const { relay, counter } = await relayWith('batch_outcomes');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await relay.send({ to: '+14155550605', body: `out ${i}` })).message.id);
    await sqlOf(relay).updateTable('messages').set({ locked_by: 'w1', next_attempt_at: null }).where('id', 'in', ids).execute();
    const now = Date.now();
    const sent = (id: string, by = 'w1') => ({
      target: { id },
      set: { status: 'sent', provider_sid: newSid(), updated_at: now, locked_by: null },
      leasedBy: by,
      at: now,
      event: { source: 'worker', data: { outcome: 'sent' } },
    });
    counter.texts = [];
    // The last one's lease moved to another worker: it does not move and gets no event.
    const r = await relay.repos.messages.commitTransition([...ids.slice(0, 4).map((id) => sent(id)), sent(ids[4]!, 'w2')]);
    expect(r.map((x) => x.moved)).toEqual([true, true, true, true, false]);
    if (backend.name === 'postgres') expect(counter.texts.map((t) => t.split(' ')[0])).toEqual(['with']);
    // SQLite: the history's and the outbox's (message.sent) inserts follow the move.
    else expect(counter.texts.map((t) => t.split(' ')[0])).toEqual(['begin', 'update', 'insert', 'insert', 'commit']);
    const events = await sqlOf(relay)
      .selectFrom('message_events')
      .select(['message_id', 'status', 'source'])
      .where('message_id', 'in', ids)
      .where('source', '=', 'worker')
      .execute();
    expect(events.map((e) => e.message_id).sort()).toEqual(ids.slice(0, 4).sort());
    expect(events.every((e) => e.status === 'sent')).toBe(true);
    // Two shapes are two statements: they still share one transaction.
    counter.texts = [];
    await relay.repos.messages.commitTransition([
      { ...sent(ids[4]!, 'w1'), set: { status: 'sent', updated_at: now } },
      { ...sent(ids[0]!), set: { status: 'delivered', updated_at: now, price: '-0.0075' } },
    ]);
    expect(counter.texts[0]).toBe('begin');
    expect(counter.texts.at(-1)).toBe('commit');
  });
});
