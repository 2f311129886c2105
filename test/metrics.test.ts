// GET /metrics: after a mixed run (delivered, failed with Twilio codes, refused, held, a forged
// webhook) the scraped values match what happened; who may scrape (a token, else loopback only,
// decided by the socket address); every metric has help text; the outbox gauges' query is served
// by the outbox index.
import { networkInterfaces } from 'node:os';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Policy } from '../src/ports.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { postWebhook } from './support/webhooks.js';

/** Prometheus text → samples; `value(name, labels)` sums the series whose labels include `labels`. */
function parse(text: string) {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
  const has = (name: string) => samples.some((s) => s.name === name);
  return { samples, value, has };
}

// Rules of the embedding application: HOLD… is held for an hour on accept; LATER… is held and
// NEVER… refused only when the worker is about to send them (dispatch).
const holdPolicy: Policy = {
  async decide(m, ctx) {
    if (m.body?.startsWith('HOLD')) return { action: 'hold', until: ctx.now + 3_600_000, reason: 'test_hold' };
    if (ctx.stage === 'dispatch' && m.body?.startsWith('LATER')) return { action: 'hold', until: ctx.now + 3_600_000, reason: 'test_later' };
    if (ctx.stage === 'dispatch' && m.body?.startsWith('NEVER')) return { action: 'refuse', code: 'SMS_ERR_COUNTRY_NOT_ALLOWED' };
    return { action: 'send' };
  },
};

describe.each(backends)('metrics after a mixed run on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'metrics', {}, { relay: { policies: [holdPolicy] } });
    // Marketing's default quiet hours would hold the marketing sends below at night.
    // Nor consent (opt-in by default for marketing) or the per-recipient limit: they are not what is measured.
    await t.relay.settings.update(t.relay.defaultTenant.id, {
      quiet_hours: { marketing: null },
      consent_mode: { marketing: 'opt_out' },
      recipient_limits: { marketing: null },
    });
  });
  afterAll(() => t?.close());

  const scrape = async () => {
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const send = async (body: Record<string, unknown>) => t.api('/v1/messages', { body });
  const settled = (id: string, status: string) => waitFor(async () => ((await t.api(`/v1/messages/${id}`)).body.status === status ? true : null));

  it('counts what happened, by category and channel, with Twilio codes and no phone number', async () => {
    const emulator = t.relay.emulator!;
    await fetch(`${t.url}/emulator/api/scripts/${encodeURIComponent('+14155550302')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'undelivered', errorCode: 30005 }),
    });
    await fetch(`${t.url}/emulator/api/scripts/${encodeURIComponent('+14155550305')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'sent' }),
    });

    const delivered = await send({ to: '+14155550301', body: 'hello' });
    const undelivered = await send({ to: '+14155550302', body: 'promo', category: 'marketing' });
    const rejected = await send({ to: '+15005550001', body: 'to an invalid number' });
    const lateReceipt = await send({ to: '+14155550305', body: 'receipt comes later' });
    expect([delivered.status, undelivered.status, rejected.status, lateReceipt.status]).toEqual([202, 202, 202, 202]);
    // A refusal by the policy (consent) on accept.
    expect((await t.api('/v1/consents', { body: { phone: '+14155550303', action: 'opt_out' } })).status).toBeLessThan(300);
    const refused = await send({ to: '+14155550303', body: 'not wanted' });
    expect(refused.body.error.code).toBe('SMS_ERR_RECIPIENT_OPTED_OUT');
    // Held by the application's rule.
    const held = await send({ to: '+14155550304', body: 'HOLD me' });
    expect(held.body).toMatchObject({ status: 'scheduled' });
    // A forged status callback.
    const forged = await postWebhook(`${t.url}/webhooks/twilio/status`, { MessageSid: `SM${'0'.repeat(32)}`, MessageStatus: 'delivered' }, 'wrong-token');
    expect(forged.status).toBe(403);

    await settled(delivered.body.id, 'delivered');
    await settled(undelivered.body.id, 'undelivered');
    await settled(rejected.body.id, 'failed');
    await settled(lateReceipt.body.id, 'sent');
    // The carrier's receipt time (two minutes ago, minute precision) arrives with the final callback.
    const m = (await t.api(`/v1/messages/${lateReceipt.body.id}`)).body;
    const d = new Date(Date.now() - 120_000);
    const p2 = (n: number) => String(n).padStart(2, '0');
    const dlr = `${p2(d.getUTCFullYear() % 100)}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}`;
    const receipt = await postWebhook(
      `${t.url}/webhooks/twilio/status`,
      { AccountSid: emulator.accountSid, MessageSid: m.provider_sid, MessageStatus: 'delivered', RawDlrDoneDate: dlr },
      emulator.authToken,
    );
    expect(receipt.status).toBe(204);
    await settled(lateReceipt.body.id, 'delivered');

    const text = await scrape();
    const v = parse(text);
    const sms = { channel: 'sms' };
    expect(v.value('smsrelay_messages_accepted_total', { ...sms, category: 'transactional' })).toBe(4);
    expect(v.value('smsrelay_messages_accepted_total', { ...sms, category: 'marketing' })).toBe(1);
    expect(v.value('smsrelay_messages_sent_total', sms)).toBe(3);
    expect(v.value('smsrelay_messages_delivered_total', { ...sms, category: 'transactional' })).toBe(2);
    expect(v.value('smsrelay_messages_failed_total', { category: 'marketing', code: 'SMS_ERR_DELIVERY_FAILED', twilio_code: '30005' })).toBe(1);
    expect(v.value('smsrelay_messages_failed_total', { category: 'transactional', code: 'SMS_ERR_PROVIDER_REJECTED', twilio_code: '21211' })).toBe(1);
    expect(v.value('smsrelay_messages_failed_total')).toBe(2);
    expect(v.value('smsrelay_messages_held_total', { reason: 'test_hold', stage: 'accept', category: 'transactional' })).toBe(1);
    expect(v.value('smsrelay_refusals_total', { code: 'SMS_ERR_RECIPIENT_OPTED_OUT', stage: 'accept' })).toBe(1);
    expect(v.value('smsrelay_webhook_signature_failures_total')).toBe(1);
    // Four sends reached the provider; one was refused with 21211.
    expect(v.value('smsrelay_provider_call_duration_seconds_count', { operation: 'send' })).toBe(4);
    expect(v.value('smsrelay_provider_call_duration_seconds_count', { operation: 'send', outcome: 'permanent' })).toBe(1);
    expect(v.value('smsrelay_provider_errors_total', { operation: 'send', kind: 'permanent', twilio_code: '21211' })).toBe(1);
    // Callback lag: from the carrier's receipt time (RawDlrDoneDate) on final callbacks, which the
    // emulator sends (this minute) and the late receipt above (two minutes ago); else from receipt.
    expect(v.value('smsrelay_callback_lag_seconds_count', { status: 'sent', basis: 'received' })).toBe(3);
    expect(v.value('smsrelay_callback_lag_seconds_count', { status: 'delivered', basis: 'provider' })).toBe(2);
    expect(v.value('smsrelay_callback_lag_seconds_count', { status: 'undelivered', basis: 'provider' })).toBe(1);
    expect(v.value('smsrelay_callback_lag_seconds_count', { basis: 'received', status: 'delivered' })).toBe(0);
    expect(v.value('smsrelay_callback_lag_seconds_bucket', { status: 'delivered', basis: 'provider', le: '60' })).toBe(1);
    expect(v.value('smsrelay_callback_lag_seconds_bucket', { status: 'delivered', basis: 'provider', le: '300' })).toBe(2);
    // The held message waits in the outbox, not due yet.
    expect(v.value('smsrelay_outbox_depth')).toBe(1);
    expect(v.value('smsrelay_outbox_oldest_due_age_seconds')).toBe(0);
    expect(v.value('smsrelay_ambiguous_sends_total')).toBe(0);
    if (backend.name === 'postgres') {
      expect(v.value('smsrelay_db_pool_connections', { state: 'max' })).toBe(10);
      expect(v.value('smsrelay_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
    } else expect(v.has('smsrelay_db_pool_connections')).toBe(false);

    // Bounded labels: no phone number, no tenant (not enabled), no message id.
    expect(text).not.toMatch(/\+?1415555030\d/);
    expect(text).not.toContain('tenant=');
    expect(text).not.toContain(delivered.body.id);
    // Every metric has help text.
    const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]!);
    expect(types.length).toBeGreaterThanOrEqual(14);
    for (const name of types) expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.{10,}$`, 'm'));
  });

  it('counts ambiguous sends and how they were settled; an overdue outbox shows its age', async () => {
    t.relay.emulator!.setChaos({ reset: { next: 1, rate: 0, endpoints: ['messages.create'] } });
    const r = await send({ to: '+14155550306', body: 'answer lost' });
    await waitFor(async () => ((await t.api(`/v1/messages/${r.body.id}`)).body.provider_sid ? true : null));
    const v = parse(await scrape());
    expect(v.value('smsrelay_ambiguous_sends_total')).toBe(1);
    expect(v.value('smsrelay_ambiguous_settlements_total', { result: 'found' })).toBe(1);
    expect(v.value('smsrelay_provider_errors_total', { operation: 'send', kind: 'ambiguous' })).toBe(1);
    expect(v.value('smsrelay_provider_call_duration_seconds_count', { operation: 'list' })).toBe(1);

    // Stop the worker: a due message then ages in the outbox.
    await t.relay.worker!.stop();
    const late = await send({ to: '+14155550307', body: 'waiting' });
    expect(late.status).toBe(202);
    await new Promise((res) => setTimeout(res, 1100));
    const wt = await scrape();
    const w = parse(wt);
    expect(w.value('smsrelay_outbox_depth')).toBe(2);
    expect(w.value('smsrelay_outbox_oldest_due_age_seconds')).toBeGreaterThanOrEqual(1);
    t.relay.worker!.start();
  });

  it('counts holds and refusals the worker decides at dispatch', async () => {
    const later = await send({ to: '+14155550308', body: 'LATER please' });
    const never = await send({ to: '+14155550309', body: 'NEVER mind', category: 'marketing' });
    await settled(never.body.id, 'failed');
    await waitFor(async () => ((await t.api(`/v1/messages/${later.body.id}`)).body.hold_reason === 'test_later' ? true : null));
    // The outcome is counted once written, just after the status is readable.
    const v = parse(
      await waitFor(async () => {
        const text = await scrape();
        const p = parse(text);
        return p.value('smsrelay_messages_held_total', { stage: 'dispatch' }) > 0 &&
          p.value('smsrelay_messages_failed_total', { code: 'SMS_ERR_COUNTRY_NOT_ALLOWED' }) > 0
          ? text
          : null;
      }),
    );
    expect(v.value('smsrelay_messages_held_total', { reason: 'test_later', stage: 'dispatch', category: 'transactional' })).toBe(1);
    expect(v.value('smsrelay_refusals_total', { code: 'SMS_ERR_COUNTRY_NOT_ALLOWED', stage: 'dispatch' })).toBe(1);
    expect(v.value('smsrelay_messages_failed_total', { code: 'SMS_ERR_COUNTRY_NOT_ALLOWED', category: 'marketing', twilio_code: 'none' })).toBe(1);
  });
});

describe('metrics with a tenant label', () => {
  it('adds the tenant only when enabled', async () => {
    const t = await startRelay(backends[0]!, 'metrics-tenant', { metrics: { token: null, tenantLabel: true } });
    try {
      expect((await t.api('/v1/messages', { body: { to: '+14155550311', body: 'hi' } })).status).toBe(202);
      const v = parse(await (await fetch(`${t.url}/metrics`)).text());
      expect(v.value('smsrelay_messages_accepted_total', { tenant: t.relay.defaultTenant.id })).toBe(1);
    } finally {
      await t.close();
    }
  });
});

describe('the outbox gauges query', () => {
  it('is served by the partial outbox index (SQLite plan)', async () => {
    const statements: string[] = [];
    const t = await startRelay(backends[0]!, 'metrics-plan', {}, { worker: false, relay: { onQuery: (s) => statements.push(s) } });
    try {
      statements.length = 0;
      await t.relay.repos.messages.outboxStats();
      expect(statements).toHaveLength(1);
      const plan = await sql.raw(`EXPLAIN QUERY PLAN ${statements[0]}`).execute(t.relay.db.kysely);
      const detail = (plan.rows as { detail: string }[]).map((r) => r.detail).join('\n');
      expect(detail).toMatch(/USING (COVERING )?INDEX messages_outbox/);
      expect(detail).not.toMatch(/SCAN messages(?! USING)/);
    } finally {
      await t.close();
    }
  });
});

/** A non-loopback IPv4 address of this machine (the tests only ever connect to it and 127.0.0.1). */
const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe.skipIf(!external)('who may scrape /metrics', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';

  it('answers loopback clients only without a token, by socket address (not X-Forwarded-For)', async () => {
    const t = await startRelay(backends[0]!, 'metrics-loopback', { host: '0.0.0.0', trustProxy: true }, { worker: false });
    try {
      const port = new URL(t.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      const far = await fetch(`http://${external}:${port}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } });
      expect(far.status).toBe(403);
      expect(((await far.json()) as any).error.code).toBe('SMS_ERR_METRICS_LOOPBACK_ONLY');
    } finally {
      await t.close();
    }
  });

  it('requires the bearer token from everyone when one is set', async () => {
    const t = await startRelay(backends[0]!, 'metrics-token', { host: '0.0.0.0', metrics: { token: TOKEN, tenantLabel: false } }, { worker: false });
    try {
      const port = new URL(t.url).port;
      for (const host of [external!, '127.0.0.1']) {
        const none = await fetch(`http://${host}:${port}/metrics`);
        expect(none.status).toBe(401);
        expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(((await none.json()) as any).error.code).toBe('SMS_ERR_METRICS_TOKEN_REQUIRED');
        expect((await fetch(`http://${host}:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
        expect((await fetch(`http://${host}:${port}/metrics`, { headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(401);
        const ok = await fetch(`http://${host}:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(ok.status).toBe(200);
        expect(await ok.text()).toContain('# HELP smsrelay_messages_accepted_total');
      }
    } finally {
      await t.close();
    }
  });
});

describe('metrics configuration', () => {
  it('reads SMSRELAY_METRICS_TOKEN (at least 24 characters) and SMSRELAY_METRICS_TENANT_LABEL', () => {
    expect(loadConfig({}).metrics).toEqual({ token: null, tenantLabel: false });
    expect(loadConfig({ SMSRELAY_METRICS_TOKEN: 'x'.repeat(24), SMSRELAY_METRICS_TENANT_LABEL: 'true' }).metrics).toEqual({
      token: 'x'.repeat(24),
      tenantLabel: true,
    });
    expect(() => loadConfig({ SMSRELAY_METRICS_TOKEN: 'short' })).toThrow(/SMSRELAY_METRICS_TOKEN/);
    expect(() => loadConfig({ SMSRELAY_METRICS_TENANT_LABEL: 'maybe' })).toThrow(/SMSRELAY_METRICS_TENANT_LABEL/);
  });
});
