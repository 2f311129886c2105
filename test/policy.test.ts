// The sending policy port: one decision (send | hold | refuse) taken on accept and again before
// each send, with consent as its first rule and the embedding application's rules after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND, type Decision } from '../src/core/policy.js';
import type { Policy, PolicyContext, PolicyMessage } from '../src/ports.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

describe.each(backends)('sending policy on $name', (backend) => {
  let t: TestRelay;
  const calls: { stage: string; to: string; category: string }[] = [];
  // The rule under test reads the body: "hold-accept", "hold-dispatch", "refuse-accept", "refuse-dispatch".
  let dispatchHolds = 0;
  const rule: Policy = {
    async decide(m: PolicyMessage, ctx: PolicyContext): Promise<Decision> {
      calls.push({ stage: ctx.stage, to: m.to, category: m.category });
      const b = m.body ?? '';
      if (ctx.stage === 'accept' && b.startsWith('hold-accept')) return { action: 'hold', until: ctx.now + 800, reason: 'quiet_hours' };
      if (ctx.stage === 'dispatch' && b.startsWith('hold-dispatch') && dispatchHolds++ === 0) return { action: 'hold', until: ctx.now + 500, reason: 'pacing' };
      if (ctx.stage === 'accept' && b.startsWith('refuse-accept')) return { action: 'refuse', code: 'SMS_ERR_RATE_LIMITED', details: { limit: 'daily_cap' } };
      if (ctx.stage === 'dispatch' && b.startsWith('refuse-dispatch')) return { action: 'refuse', code: 'SMS_ERR_RATE_LIMITED', message: 'Daily cap reached.' };
      return SEND;
    },
  };
  const handset = (to: string) => t.relay.emulator!.messages({ to }).length;

  beforeAll(async () => {
    t = await startRelay(backend, 'policy', {}, { relay: { policies: [rule] } });
    // Marketing sends below must not depend on the time of day (quiet hours: test/quiet-hours.test.ts).
    await t.relay.settings.update(t.relay.defaultTenant.id, { quiet_hours: { marketing: null } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a hold on accept stores the message scheduled with its reason, and the worker sends it at that time', async () => {
    const to = '+14155550201';
    const before = Date.now();
    const r = await t.api('/v1/messages', { body: { to, body: 'hold-accept please' } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'scheduled', hold_reason: 'quiet_hours' });
    expect(Date.parse(r.body.send_at)).toBeGreaterThanOrEqual(before + 700);
    expect(handset(to)).toBe(0);
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
      return g.status === 'delivered' ? g : null;
    });
    expect(Date.parse(m.updated_at)).toBeGreaterThanOrEqual(Date.parse(r.body.send_at));
    expect(handset(to)).toBe(1);
  });

  it('a hold at dispatch puts the message back as scheduled (no attempt counted), then it is sent', async () => {
    const to = '+14155550202';
    const r = await t.api('/v1/messages', { body: { to, body: 'hold-dispatch please' } });
    expect(r.body.status).toBe('pending');
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
      return g.status === 'delivered' ? g : null;
    });
    expect(m).toMatchObject({ hold_reason: 'pacing', attempts: 1 });
    const events = (await t.api(`/v1/messages/${r.body.id}/events`)).body.data;
    const held = events.find((e: { status: string }) => e.status === 'scheduled');
    expect(held).toMatchObject({ source: 'worker', data: { reason: 'pacing' } });
    expect(handset(to)).toBe(1);
  });

  it("a refusal on accept is the rule's error code, and nothing is stored (with or without an idempotency key)", async () => {
    const to = '+14155550203';
    const r = await t.api('/v1/messages', { body: { to, body: 'refuse-accept' }, headers: { 'idempotency-key': 'policy-refused-1' } });
    expect(r.status).toBe(429);
    expect(r.body.error).toMatchObject({ code: 'SMS_ERR_RATE_LIMITED', details: { limit: 'daily_cap' } });
    expect((await t.api(`/v1/messages?to=${encodeURIComponent(to)}`)).body.data).toEqual([]);
    // The key was not used up: the same key with an acceptable body is a new message.
    const ok = await t.api('/v1/messages', { body: { to, body: 'fine' }, headers: { 'idempotency-key': 'policy-refused-1' } });
    expect(ok.status).toBe(202);
  });

  it('a refusal at dispatch fails the message locally with that code: the provider never sees it', async () => {
    const to = '+14155550204';
    const r = await t.api('/v1/messages', { body: { to, body: 'refuse-dispatch' } });
    expect(r.status).toBe(202);
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
      return g.status === 'failed' ? g : null;
    });
    expect(m).toMatchObject({ error_code: 'SMS_ERR_RATE_LIMITED', error_message: 'Daily cap reached.', attempts: 0, provider_sid: null });
    expect(handset(to)).toBe(0);
  });

  it('consent is the first rule: an opted-out number is refused before later rules are asked', async () => {
    const to = '+14155550205';
    expect((await t.api('/v1/consents', { body: { phone: to, action: 'opt_out', reason: 'test' } })).status).toBeLessThan(300);
    calls.length = 0;
    const r = await t.api('/v1/messages', { body: { to, body: 'hello' } });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('SMS_ERR_RECIPIENT_OPTED_OUT');
    expect(calls.filter((c) => c.to === to)).toEqual([]);
  });

  it('every message has a category: transactional by default, marketing on request, seen by the rules at both stages', async () => {
    const to = '+14155550206';
    calls.length = 0;
    const plain = await t.api('/v1/messages', { body: { to, body: 'hi' } });
    expect(plain.body).toMatchObject({ category: 'transactional', template: null });
    // Marketing is opt-in by default (consent_mode): the recipient opted in first.
    expect((await t.api('/v1/consents', { body: { phone: to, action: 'opt_in', source: 'web_form' } })).status).toBe(200);
    const promo = await t.api('/v1/messages', { body: { to, body: 'sale', category: 'marketing' } });
    expect(promo.status).toBe(202);
    expect(promo.body.category).toBe('marketing');
    await waitFor(async () => ((await t.api(`/v1/messages/${promo.body.id}`)).body.status === 'delivered' ? true : null));
    expect(calls.filter((c) => c.to === to).map((c) => `${c.stage}:${c.category}`)).toEqual(
      expect.arrayContaining(['accept:transactional', 'accept:marketing', 'dispatch:marketing']),
    );
    expect((await t.api(`/v1/messages/${promo.body.id}`)).body.category).toBe('marketing');
  });

  it('otp is reserved for verification codes, and an unknown category is a 400 naming the field', async () => {
    for (const category of ['otp', 'promo', 7]) {
      const r = await t.api('/v1/messages', { body: { to: '+14155550207', body: 'x', category } });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body.error)).toContain('category');
    }
  });
});
