// Prices and usage: the price pass fills prices the provider reports late (or estimates them), the
// aggregator keeps the rollup equal to a full recount of the messages, and GET /v1/usage reads it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { estimatePrice, DEFAULT_RATE_TABLE } from '../src/core/pricing.js';
import { contribution, countryOfAddress, keyString, priceMicros, UsageDeltas } from '../src/core/usage.js';
import type { Clock } from '../src/ports.js';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const FINAL = new Set(['delivered', 'undelivered', 'failed', 'sent']);
const slow = { usageIntervalMs: 3_600_000, priceIntervalMs: 3_600_000, priceDelayMs: 0, priceBatchSize: 100, retentionIntervalMs: 3_600_000 };

/** Rollup rows (non-zero) and a full recount from the messages table, keyed alike. */
async function rollupAndRecount(t: TestRelay): Promise<{ rollup: Map<string, unknown>; recount: Map<string, unknown> }> {
  const k = sqlOf(t.relay);
  const rollup = new Map<string, unknown>();
  for (const r of await k.selectFrom('usage_rollup').selectAll().execute()) {
    const amounts = {
      messages: Number(r.messages),
      segments: Number(r.segments),
      cost_actual: Number(r.cost_actual),
      cost_estimated: Number(r.cost_estimated),
    };
    if (Object.values(amounts).every((v) => v === 0)) continue;
    rollup.set(
      `${r.tenant_id}|${keyString({ bucket: Number(r.bucket), status: r.status, channel: r.channel, country: r.country, category: r.category })}`,
      amounts,
    );
  }
  const per = new Map<string, UsageDeltas>();
  for (const m of await k.selectFrom('messages').selectAll().execute()) {
    const d = per.get(m.tenant_id) ?? new UsageDeltas();
    per.set(m.tenant_id, d);
    const c = contribution({
      created_at: Number(m.created_at),
      status: m.status,
      channel: m.channel,
      country: countryOfAddress(m.direction === 'inbound' ? m.from_addr : m.to_addr),
      category: m.category,
      segments: Number(m.segments),
      price: m.price,
      estimated: Number(m.price_estimated) === 1,
    });
    d.add(c, 1);
  }
  const recount = new Map<string, unknown>();
  for (const [tenant, d] of per) for (const e of d.entries()) recount.set(`${tenant}|${keyString(e.key)}`, e.amounts);
  return { rollup, recount };
}

describe.each(backends)('prices and usage on $name', (backend) => {
  let t: TestRelay;
  const message = async (id: string) => (await t.api(`/v1/messages/${id}`)).body;

  beforeAll(async () => {
    t = await startRelay(backend, 'usage', {
      // Statuses arrive by callback only (the reconciler would fetch the price with a final status).
      reconciler: { ...loadConfig({}).reconciler, enabled: false },
      data: slow,
    });
    // Sends to several countries (the default allows the tenant's region only), marketing included.
    await t.relay.settings.update(t.relay.defaultTenant.id, {
      allowed_countries: ['*'],
      consent_mode: { marketing: 'opt_out' },
      recipient_limits: { marketing: null },
      quiet_hours: { marketing: null },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('fills late prices from the provider, estimates the rest, and reports actual and estimated cost apart', async () => {
    const script = (n: string, s: object) => t.api(`/emulator/api/scripts/${encodeURIComponent(n)}`, { method: 'PUT', body: s, key: null });
    expect((await script('+14155550202', { outcome: 'undelivered', errorCode: 30005 })).status).toBe(200);
    expect((await script('+14155550203', { outcome: 'failed' })).status).toBe(200);
    const sends = [
      { to: '+14155550201', body: 'delivered' },
      { to: '+14155550202', body: 'undelivered' },
      { to: '+14155550203', body: 'failed at the carrier' },
      { to: '+447400123456', body: 'x'.repeat(200) },
      { to: '+15005550001', body: 'refused by Twilio at once (21211)' },
    ];
    const ids: string[] = [];
    for (const s of sends) {
      const r = await t.api('/v1/messages', { body: s });
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
    const final = await waitFor(async () => {
      const ms = await Promise.all(ids.map(message));
      return ms.every((m) => FINAL.has(m.status) && m.status !== 'sent') ? ms : null;
    });
    expect(final.map((m) => m.status)).toEqual(['delivered', 'undelivered', 'failed', 'delivered', 'failed']);
    // Twilio's callbacks (and so our rows) carry no price yet.
    expect(final.map((m) => m.price)).toEqual([null, null, null, null, null]);

    expect(await t.relay.data.prices!.runOnce()).toBe(4);
    const priced = await Promise.all(ids.map(message));
    expect(priced[0]).toMatchObject({ price: '-0.00790', price_unit: 'USD', price_estimated: false });
    expect(priced[1]).toMatchObject({ price: '-0.00790', price_estimated: false });
    // The emulator, like Twilio, reports no price for a failed message: the rate table's estimate stands in.
    const est = estimatePrice(DEFAULT_RATE_TABLE, 'US', 'sms', 1);
    expect(priced[2]).toMatchObject({ price: est.amount, price_unit: 'USD', price_estimated: true });
    expect(priced[3]).toMatchObject({ price: '-0.10000', price_estimated: false, segments: 2 });
    // Never reached the provider: nothing to price.
    expect(priced[4]).toMatchObject({ price: null, price_estimated: false, provider_sid: null });
    expect(await t.relay.data.prices!.runOnce()).toBe(0);

    await t.relay.data.usage.aggregate();
    const u = await t.api('/v1/usage?granularity=hour&group_by=status');
    expect(u.status).toBe(200);
    expect(u.body.totals).toMatchObject({
      messages: 5,
      segments: 6,
      cost: { actual: ((7900 + 7900 + 100_000) / 1e6).toFixed(6), estimated: (priceMicros(est.amount) / 1e6).toFixed(6) },
      delivery_rate: 2 / 5,
    });
    const byStatus = Object.fromEntries(u.body.data.map((r: any) => [r.group, r.messages]));
    expect(byStatus).toEqual({ delivered: 2, failed: 2, undelivered: 1 });
    const byCountry = await t.api('/v1/usage?granularity=day&group_by=country');
    expect(Object.fromEntries(byCountry.body.data.map((r: any) => [r.group, r.segments]))).toEqual({ GB: 2, US: 4 });
    const { rollup, recount } = await rollupAndRecount(t);
    expect(rollup).toEqual(recount);
  });

  it('rejects bad usage queries with a 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['granularity=week', 'granularity'],
      ['group_by=to', 'group_by'],
      ['since=yesterday', 'since'],
      ['until=2026-13-40T00:00:00Z', 'until'],
      ['since=2026-05-02T00:00:00Z&until=2026-05-01T00:00:00Z', 'since'],
      ['granularity=hour&since=2026-01-01T00:00:00Z&until=2026-05-01T00:00:00Z', 'since'],
      ['color=red', 'color'],
    ];
    for (const [q, field] of cases) {
      const r = await t.api(`/v1/usage?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe('SMS_ERR_VALIDATION');
      expect(
        r.body.error.details.map((d: any) => d.field),
        q,
      ).toContain(field);
    }
  });

  it('needs the usage:read scope and shows only the calling tenant', async () => {
    const other = await t.relay.tenants.create({ slug: `u-${backend.name}`, name: 'Other' });
    const { key } = await t.relay.apiKeys.create(other.id, 'usage', ['usage:read']);
    const r = await t.api('/v1/usage', { key });
    expect(r.status).toBe(200);
    expect(r.body.totals.messages).toBe(0);
    const { key: noScope } = await t.relay.apiKeys.create(other.id, 'msgs', ['messages:read']);
    expect((await t.api('/v1/usage', { key: noScope })).status).toBe(403);
  });
});

describe.each(backends)('usage rollup property on $name', (backend) => {
  let t: TestRelay;
  let nowMs = Date.parse('2026-05-01T10:00:00Z');
  const clock: Clock = { now: () => new Date(nowMs) };

  beforeAll(async () => {
    t = await startRelay(backend, 'usage-prop', { data: slow }, { worker: false, relay: { clock } });
    // Sends to several countries (the default allows the tenant's region only), marketing included.
    await t.relay.settings.update(t.relay.defaultTenant.id, {
      allowed_countries: ['*'],
      consent_mode: { marketing: 'opt_out' },
      recipient_limits: { marketing: null },
      quiet_hours: { marketing: null },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('after any mix of sends, moves, late prices and (concurrent) aggregation, the rollup equals a full recount', async () => {
    const repos = t.relay.repos;
    const numbers = ['+14155550301', '+14155550302', '+447911123456', '+33612345678'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), to: fc.nat(numbers.length - 1), long: fc.boolean(), marketing: fc.boolean(), mms: fc.boolean() }),
      fc.record({
        kind: fc.constant('move' as const),
        pick: fc.nat(),
        status: fc.constantFrom('queued', 'sent', 'delivered', 'undelivered', 'failed', 'canceled'),
      }),
      fc.record({ kind: fc.constant('price' as const), pick: fc.nat(), cents: fc.integer({ min: 1, max: 900 }), estimated: fc.boolean() }),
      fc.record({ kind: fc.constant('aggregate' as const), concurrent: fc.boolean() }),
      fc.record({ kind: fc.constant('advance' as const), minutes: fc.integer({ min: 1, max: 180 }) }),
    );
    const ids: string[] = [];
    let sid = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        for (const o of ops) {
          const id = ids.length ? ids[('pick' in o ? o.pick : 0) % ids.length]! : null;
          if (o.kind === 'send') {
            const to = numbers[o.to]!;
            const r = await t.relay.send({
              to,
              body: o.long ? 'é'.repeat(80) : 'hi',
              media_urls: o.mms ? ['https://example.com/a.png'] : null,
              category: o.marketing ? 'marketing' : null,
            });
            ids.push(r.message.id);
          } else if (o.kind === 'move' && id) {
            const at = nowMs;
            await repos.write((tx) =>
              repos.messages.transition(tx, [
                {
                  target: { id },
                  set: { status: o.status, provider_sid: `SM${String(++sid).padStart(32, '0')}`, updated_at: at },
                  at,
                  event: { source: 'test' },
                },
              ]),
            );
          } else if (o.kind === 'price' && id) {
            await repos.write((tx) => repos.usage.setPrices(tx, [{ id, price: (-o.cents / 10_000).toFixed(5), price_unit: 'USD', estimated: o.estimated }]));
          } else if (o.kind === 'aggregate') {
            // Two aggregators at once (two worker processes) while a message moves: each change is counted once.
            if (o.concurrent && id) {
              await Promise.all([
                t.relay.data.usage.aggregate(1),
                t.relay.data.usage.aggregate(1),
                repos.write((tx) =>
                  repos.messages.transition(tx, [{ target: { id }, set: { status: 'delivered', updated_at: nowMs }, at: nowMs, event: { source: 'test' } }]),
                ),
              ]);
            } else await t.relay.data.usage.aggregate();
          } else if (o.kind === 'advance') nowMs += o.minutes * 60_000;
        }
        await t.relay.data.usage.aggregate();
        const { rollup, recount } = await rollupAndRecount(t);
        expect(rollup).toEqual(recount);
      }),
      { numRuns: 12 },
    );
  });
});
