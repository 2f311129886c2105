// smsrelay embedded as a library: `createSmsRelay(config)` with no HTTP server.
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, createSmsRelay } from '../src/index.js';
import { backends } from './support/backends.js';
import { waitFor } from './support/relay.js';
import { sqlOf } from './support/db.js';

describe.each(backends)('library entry on $name', (backend) => {
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const d of drops) await d();
  });

  async function relayWith(label: string, overrides: object = {}, opts: object = {}) {
    const db = await backend.create(label);
    const relay = await createSmsRelay(
      { databaseUrl: db.url, logLevel: 'silent', ...overrides },
      { schema: db.schema, logger: createLogger('silent'), ...opts },
    );
    drops.push(async () => {
      await relay.close();
      await db.drop();
    });
    return relay;
  }

  it('sends, gets, lists and cancels without HTTP, through its own emulator', async () => {
    const relay = await relayWith('lib_basic', { worker: { pollIntervalMs: 20 } });
    relay.startWorker();
    const { message } = await relay.send({ to: '+14155552671', body: 'embedded' });
    const sent = await waitFor(async () => {
      const m = await relay.get(message.id);
      return m.provider_sid ? m : null;
    });
    expect(sent.status).not.toBe('pending');
    expect(relay.emulator!.createCount('+14155552671', 'embedded')).toBe(1);
    const later = await relay.send({ to: '+14155552671', body: 'later', send_at: new Date(Date.now() + 3_600_000) });
    expect((await relay.cancel(later.message.id)).status).toBe('canceled');
    const list = await relay.list({ to: '+14155552671' });
    expect(list.data.map((m) => m.id)).toEqual([later.message.id, message.id]);
    await expect(relay.get('01890000-0000-7000-8000-000000000000')).rejects.toMatchObject({ code: 'SMS_ERR_NOT_FOUND' });
  });

  it('keeps idempotency keys 24 hours, then treats the key as new', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const relay = await relayWith('lib_idem', {}, { clock: { now: () => new Date(now) } });
    const first = await relay.send({ to: '+14155552672', body: 'one' }, { idempotencyKey: 'order-42' });
    now += 23 * 3600_000;
    await expect(relay.send({ to: '+14155552672', body: 'two' }, { idempotencyKey: 'order-42' })).rejects.toMatchObject({
      code: 'SMS_ERR_IDEMPOTENCY_MISMATCH',
    });
    expect((await relay.send({ to: '+14155552672', body: 'one' }, { idempotencyKey: 'order-42' })).message.id).toBe(first.message.id);
    now += 2 * 3600_000;
    const fresh = await relay.send({ to: '+14155552672', body: 'two' }, { idempotencyKey: 'order-42' });
    expect(fresh.replayed).toBe(false);
    expect(fresh.message.id).not.toBe(first.message.id);
  });

  it('a graceful stop finishes the call in flight and gives back claimed messages it never started', async () => {
    const relay = await relayWith('lib_stop', { worker: { pollIntervalMs: 20, concurrency: 1 } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await relay.send({ to: '+14155552673', body: `stop ${i}` })).message.id);
    relay.emulator!.setChaos({ latencyMs: 400 });
    relay.startWorker();
    await waitFor(() => relay.worker !== null);
    await waitFor(async () => {
      const rows = await sqlOf(relay).selectFrom('messages').select('id').where('to_addr', '=', '+14155552673').where('locked_by', 'is not', null).execute();
      // Concurrency 1 claims up to 4 ahead: one call in flight, three waiting.
      return rows.length === 4;
    });
    await relay.worker!.stop();
    const rows = await sqlOf(relay)
      .selectFrom('messages')
      .select(['status', 'provider_sid', 'locked_by', 'in_flight_since'])
      .where('to_addr', '=', '+14155552673')
      .execute();
    const sent = rows.filter((r) => r.provider_sid !== null);
    const released = rows.filter((r) => r.provider_sid === null);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(released.length).toBeGreaterThanOrEqual(3);
    for (const r of released) expect(r).toMatchObject({ status: 'pending', locked_by: null, in_flight_since: null });
    expect(relay.emulator!.createCount('+14155552673')).toBe(sent.length);
  });
});
