// The reconciler with the emulator's status callbacks down for the whole run: messages stuck in
// non-terminal states are fetched from the provider and converged forward.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { sqlOf } from './support/db.js';

describe.each(backends)('reconciler on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'reconciler', { reconciler: { ...loadConfig({}).reconciler, minAgeMs: 300, intervalMs: 50 } });
    t.relay.emulator!.setChaos({ callbacks: 'off' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('converges stuck messages to the provider status, failures with their error code', async () => {
    const r1 = await t.api('/v1/messages', { body: { to: '+14155550401', body: 'converge me' } });
    await t.api('/emulator/api/scripts/%2B14155550402', { method: 'PUT', body: { outcome: 'undelivered', errorCode: 30005 }, key: null });
    const r2 = await t.api('/v1/messages', { body: { to: '+14155550402', body: 'I will fail' } });
    // Without callbacks the relay only knows the create answer for a while.
    const early = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r1.body.id}`)).body;
      return g.provider_sid ? g : null;
    });
    expect(early.status).toBe('queued');
    expect(t.relay.emulator!.messages({ to: '+14155550401' }).every((m) => m.webhooks.length === 0)).toBe(true);

    const m1 = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r1.body.id}`)).body;
      return g.status === 'delivered' ? g : null;
    }, 10_000);
    expect(m1.price).toMatch(/^-0\.\d+/);
    const m2 = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r2.body.id}`)).body;
      return g.status === 'undelivered' ? g : null;
    }, 10_000);
    expect(m2).toMatchObject({ provider_code: 30005, error_code: 'SMS_ERR_DELIVERY_FAILED' });
    const ev = (await t.api(`/v1/messages/${r1.body.id}/events`)).body.data;
    expect(ev.at(-1)).toMatchObject({ status: 'delivered', source: 'reconciler' });
    // Terminal messages are left alone afterwards.
    const checks = await sqlOf(t.relay).selectFrom('reconcile_checks').selectAll().where('message_id', '=', r1.body.id).executeTakeFirstOrThrow();
    await new Promise((res) => setTimeout(res, 400));
    const again = await sqlOf(t.relay).selectFrom('reconcile_checks').selectAll().where('message_id', '=', r1.body.id).executeTakeFirstOrThrow();
    expect(again.checks).toBe(checks.checks);
  });

  it('a message the provider does not know (20404) keeps its status, gets one event and is not fetched again', async () => {
    const r = await t.api('/v1/messages', { body: { to: '+14155550403', body: 'forgotten by the provider' } });
    await waitFor(async () => (await t.api(`/v1/messages/${r.body.id}`)).body.provider_sid);
    // The emulator forgets every message: a fetch of this SID is now 404 / 20404.
    expect((await t.api('/emulator/api/messages', { method: 'DELETE', key: null })).status).toBe(204);
    type Ev = { status: string; source: string; provider_code: number | null; data: unknown };
    const notFound = (ev: Ev[]) => ev.filter((e) => e.provider_code === 20404);
    const ev: Ev[] = await waitFor(async () => {
      const data = (await t.api(`/v1/messages/${r.body.id}/events`)).body.data as Ev[];
      return notFound(data).length ? data : null;
    }, 10_000);
    const m = (await t.api(`/v1/messages/${r.body.id}`)).body;
    expect(['queued', 'sent']).toContain(m.status);
    expect(notFound(ev)).toEqual([
      expect.objectContaining({
        status: m.status,
        source: 'reconciler',
        provider_code: 20404,
        data: { provider_status: null, not_found: true, applied: false, kept: m.status },
      }),
    ]);
    const checks = await sqlOf(t.relay).selectFrom('reconcile_checks').selectAll().where('message_id', '=', r.body.id).executeTakeFirstOrThrow();
    await new Promise((res) => setTimeout(res, 1000));
    const again = await sqlOf(t.relay).selectFrom('reconcile_checks').selectAll().where('message_id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(again.checks).toBe(checks.checks);
    expect(notFound((await t.api(`/v1/messages/${r.body.id}/events`)).body.data)).toHaveLength(1);
    expect((await t.api(`/v1/messages/${r.body.id}`)).body.status).toBe(m.status);
  });
});
