// Webhooks to the host application end to end: a real HTTP receiver on 127.0.0.1 verifies every
// delivery with the standardwebhooks package.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { addressRefusal, webhookTransport } from '../src/providers/webhook-http.js';
import { backends } from './support/backends.js';
import { startReceiver, type Received, type Receiver } from './support/receiver.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const OURS = '+15005550006';
const EVENTS = { ...loadConfig({}).events, allowPrivate: true, retryScheduleMs: [0, 50, 50, 50, 50], timeoutMs: 300, pollIntervalMs: 20 };

const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id']!,
    'webhook-timestamp': r.headers['webhook-timestamp']!,
    'webhook-signature': r.headers['webhook-signature']!,
  }) as { id: string; type: string; tenant: string; occurred_at: string; data: any };

describe.each(backends)('webhooks on $name', (backend) => {
  let t: TestRelay;
  let rx: Receiver;
  const secrets = new Map<string, string>();
  /** Every delivery so far to `path`, verified with the endpoint's secret. */
  const deliveries = (path: string, secret = secrets.get(path)!) => rx.received.filter((r) => r.path === path).map((r) => verify(secret, r));
  const endpoint = async (path: string, event_types: string[] = ['*'], key?: string) => {
    const r = await t.api('/v1/webhook-endpoints', { body: { url: rx.url + path, event_types, description: path }, key });
    expect(r.status).toBe(201);
    secrets.set(path, r.body.secret);
    return r.body as { id: string; secret: string };
  };
  const send = async (to: string, body = 'hello') => {
    const r = await t.api('/v1/messages', { body: { to, body } });
    expect(r.status).toBe(202);
    return r.body.id as string;
  };

  beforeAll(async () => {
    rx = await startReceiver();
    t = await startRelay(backend, 'webhooks', { events: EVENTS, inbound: { ...loadConfig({}).inbound, keywordReplies: 'relay' } });
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });
  beforeEach(() => {
    rx.answer = () => 200;
  });

  it('delivers message.sent and message.delivered, signed, with the message as the API shows it', async () => {
    const ep = await endpoint('/all');
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    // The secret is shown once.
    expect((await t.api(`/v1/webhook-endpoints/${ep.id}`)).body.secret).toBeUndefined();
    const id = await send('+14155550301', 'your tow truck is 5 minutes away');
    const got = await waitFor(() => {
      const d = deliveries('/all').filter((e) => e.data.id === id);
      return d.length >= 2 && d;
    });
    expect(got.map((e) => e.type)).toEqual(['message.sent', 'message.delivered']);
    const api = (await t.api(`/v1/messages/${id}`)).body;
    expect(got[1]).toMatchObject({ tenant: t.relay.defaultTenant.id, data: { id, status: 'delivered', to: '+14155550301', body: api.body } });
    expect(got[1]!.data.conversation_id).toBeNull();
    // webhook-id is the event id, also in the event log.
    const logged = (await t.api(`/v1/events/${got[1]!.id}`)).body;
    expect(logged).toMatchObject({ id: got[1]!.id, type: 'message.delivered' });
    // A tampered body does not verify.
    const r = rx.received.find((x) => x.path === '/all')!;
    expect(() => verify(ep.secret, { ...r, body: r.body.replace('hello', 'HELLO').replace('}', ',"x":1}') })).toThrow();
  });

  it('delivers message.received for an inbound text, with its conversation, and consent events', async () => {
    await endpoint('/inbound', ['message.received', 'consent.*']);
    const h = '+14155550302';
    const r = await t.api(`/emulator/api/handsets/${encodeURIComponent(h)}/messages`, { body: { to: OURS, body: 'DONE 123' }, key: null });
    expect(r.status).toBe(201);
    const got = await waitFor(() => deliveries('/inbound').find((e) => e.type === 'message.received' && e.data.from === h));
    expect(got.data).toMatchObject({ body: 'DONE 123', direction: 'inbound', to: OURS });
    expect(got.data.conversation_id).toMatch(/^[0-9a-f-]{36}$/);
    await t.api(`/emulator/api/handsets/${encodeURIComponent(h)}/messages`, { body: { to: OURS, body: 'STOP' }, key: null });
    await waitFor(() => deliveries('/inbound').find((e) => e.type === 'consent.opted_out' && e.data.phone === h));
    // Only the subscribed types reach this endpoint.
    expect(deliveries('/inbound').every((e) => e.type === 'message.received' || e.type.startsWith('consent.'))).toBe(true);
  });

  it('retries after 500s, timeouts and connection resets until a 2xx, with the same webhook-id', async () => {
    const ep = await endpoint('/flaky', ['message.sent']);
    const answers: Array<'reset' | number | { hang: number }> = [500, 'reset', { hang: 1000 }, 200];
    let n = 0;
    rx.answer = (r) => (r.path === '/flaky' ? answers[Math.min(n++, answers.length - 1)]! : 200);
    const id = await send('+14155550303');
    await waitFor(async () => {
      const a = (await t.api(`/v1/webhook-endpoints/${ep.id}/attempts`)).body.data;
      return a.some((x: any) => x.success) && a;
    });
    const attempts = (await t.api(`/v1/webhook-endpoints/${ep.id}/attempts`)).body.data.reverse();
    expect(attempts.map((a: any) => a.status_code)).toEqual([500, null, null, 200]);
    expect(attempts[1].error).toBeTruthy();
    expect(attempts[2].error).toMatch(/timeout/);
    expect(attempts[3]).toMatchObject({ success: true, response_excerpt: 'ok' });
    const ids = new Set(rx.received.filter((r) => r.path === '/flaky').map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect(deliveries('/flaky')[0]!.data.id).toBe(id);
    // The metrics count each attempt by outcome; the backlog gauge is read from the deliveries table.
    const text = await t.relay.metrics.render();
    const count = (outcome: string) =>
      Number(new RegExp(`^smsrelay_event_delivery_duration_seconds_count\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    expect(count('retry')).toBeGreaterThanOrEqual(3);
    expect(count('delivered')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^smsrelay_event_backlog\{measure="pending"\} \d+/m);
  });

  it('signs with both secrets for 24 hours after a rotation', async () => {
    const ep = await endpoint('/rotate', ['message.sent']);
    const rotated = await t.api(`/v1/webhook-endpoints/${ep.id}/rotate-secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23 * 3600_000);
    await send('+14155550304');
    const r = await waitFor(() => rx.received.find((x) => x.path === '/rotate'));
    expect(r.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(ep.secret, r).type).toBe('message.sent');
    expect(verify(rotated.body.secret, r).type).toBe('message.sent');
  });

  it('redelivers an event with the same webhook-id', async () => {
    await endpoint('/again', ['message.sent']);
    await send('+14155550305');
    const first = await waitFor(() => rx.received.find((x) => x.path === '/again'));
    const eventId = first.headers['webhook-id']!;
    const r = await t.api(`/v1/events/${eventId}/redeliver`, { method: 'POST' });
    expect(r.status).toBe(202);
    expect(r.body.endpoints).toBeGreaterThanOrEqual(1);
    await waitFor(() => rx.received.filter((x) => x.path === '/again' && x.headers['webhook-id'] === eventId).length === 2);
  });

  it('disables an endpoint that answers 410 and raises an alert event', async () => {
    const ep = await endpoint('/gone', ['message.sent']);
    rx.answer = (r) => (r.path === '/gone' ? 410 : 200);
    await send('+14155550306');
    const e = await waitFor(async () => {
      const b = (await t.api(`/v1/webhook-endpoints/${ep.id}`)).body;
      return !b.enabled && b;
    });
    expect(e.disabled_reason).toBe('gone');
    const alerts = (await t.api('/v1/events?type=webhook_endpoint.disabled')).body.data;
    expect(alerts.find((a: any) => a.data.id === ep.id)).toMatchObject({ data: { reason: 'gone', enabled: false } });
    // Enabling it again clears the reason.
    expect((await t.api(`/v1/webhook-endpoints/${ep.id}`, { method: 'PATCH', body: { enabled: true } })).body).toMatchObject({
      enabled: true,
      disabled_reason: null,
    });
  });

  it('a slow endpoint holds back only itself: bounded posts in flight, other endpoints on time', async () => {
    await endpoint('/slow', ['message.sent']);
    await endpoint('/fast', ['message.sent']);
    rx.answer = (r) => (r.path === '/slow' ? { hang: 2000 } : 200);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await send(`+141555504${String(10 + i)}`));
    const t0 = Date.now();
    await waitFor(() => ids.every((id) => deliveries('/fast').some((e) => e.data.id === id)), 5_000);
    expect(Date.now() - t0).toBeLessThan(3_000);
    // At most 4 posts to one endpoint at once (SMSRELAY_WEBHOOK_ENDPOINT_CONCURRENCY).
    expect(rx.maxOpen.get('/slow')).toBeLessThanOrEqual(4);
    expect(rx.maxOpen.get('/slow')).toBeGreaterThanOrEqual(1);
  });

  it('keeps tenants apart: endpoints, events and deliveries', async () => {
    const b = await t.relay.tenants.create({ slug: 'events-b', name: 'B', fromNumber: OURS });
    const keyB = (await t.relay.apiKeys.create(b.id, 'b', ['admin'])).key;
    const epA = (await t.api('/v1/webhook-endpoints')).body.data[0];
    expect((await t.api(`/v1/webhook-endpoints/${epA.id}`, { key: keyB })).status).toBe(404);
    expect((await t.api(`/v1/webhook-endpoints/${epA.id}`, { method: 'PATCH', body: { enabled: false }, key: keyB })).status).toBe(404);
    expect((await t.api(`/v1/webhook-endpoints/${epA.id}`, { method: 'DELETE', key: keyB })).status).toBe(404);
    expect((await t.api(`/v1/webhook-endpoints/${epA.id}/attempts`, { key: keyB })).status).toBe(404);
    const anEvent = (await t.api('/v1/events?limit=1')).body.data[0];
    expect((await t.api(`/v1/events/${anEvent.id}`, { key: keyB })).status).toBe(404);
    expect((await t.api(`/v1/events/${anEvent.id}/redeliver`, { method: 'POST', key: keyB })).status).toBe(404);
    await endpoint('/tenant-b', ['*'], keyB);
    const r = await t.api('/v1/messages', { body: { to: '+14155550307', body: 'for b' }, key: keyB });
    expect(r.status).toBe(202);
    await waitFor(() => deliveries('/tenant-b').some((e) => e.data.id === r.body.id && e.type === 'message.delivered'));
    expect(deliveries('/tenant-b').every((e) => e.tenant === b.id)).toBe(true);
    expect((await t.api('/v1/events?limit=200', { key: keyB })).body.data.every((e: any) => e.tenant === b.id)).toBe(true);
    expect(deliveries('/all').some((e) => e.data.id === r.body.id)).toBe(false);
  });

  it('validates endpoints: 4xx with the field, nothing written', async () => {
    const bad = async (body: unknown, field: string, code = 'SMS_ERR_VALIDATION') => {
      const r = await t.api('/v1/webhook-endpoints', { body });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.error.code).toBe(code);
      if (field) expect(r.body.error.details?.field).toBe(field);
    };
    const before = (await t.api('/v1/webhook-endpoints')).body.data.length;
    await bad({ url: 'ftp://example.com/x' }, 'url', 'SMS_ERR_WEBHOOK_URL_REFUSED');
    await bad({ url: 'not a url' }, 'url', 'SMS_ERR_WEBHOOK_URL_REFUSED');
    await bad({ url: `${rx.url}/x`, event_types: ['message.nope'] }, 'event_types');
    await bad({ url: `${rx.url}/x`, event_types: [] }, 'event_types');
    await bad({ url: 'https://169.254.169.254/latest/meta-data' }, 'url', 'SMS_ERR_WEBHOOK_URL_REFUSED');
    await bad({ url: `${rx.url}/${'x'.repeat(3000)}` }, 'url');
    expect((await t.api('/v1/webhook-endpoints')).body.data.length).toBe(before);
  });
});

describe.each(backends)('an endpoint failing for too long on $name', (backend) => {
  it('is disabled with an alert event once its failures span SMSRELAY_WEBHOOK_DISABLE_AFTER_HOURS', async () => {
    const rx = await startReceiver();
    rx.answer = () => 503;
    // The relay's clock, moved forward by the test. The schedule has retries left when it moves (a
    // delivery whose retries ran out is failed), and they are 2 s apart so that the circuit breaker
    // (open for 30 s after 5 failures in a row) has not opened before it moves.
    let offset = 0;
    const clock = { now: () => new Date(Date.now() + offset) };
    const t = await startRelay(backend, 'failing', { events: { ...EVENTS, retryScheduleMs: [0, ...Array(50).fill(2000)] } }, { relay: { clock } });
    try {
      const ep = (await t.api('/v1/webhook-endpoints', { body: { url: `${rx.url}/dead`, event_types: ['message.sent'] } })).body;
      await t.api('/v1/messages', { body: { to: '+14155550499', body: 'x' } });
      // The first failure is recorded (it starts the endpoint's failure run) before the clock moves.
      await waitFor(async () => (await t.api(`/v1/webhook-endpoints/${ep.id}/attempts`)).body.data.length >= 1);
      expect((await t.api(`/v1/webhook-endpoints/${ep.id}`)).body.enabled).toBe(true);
      offset = 73 * 3600_000;
      const e = await waitFor(async () => {
        const b = (await t.api(`/v1/webhook-endpoints/${ep.id}`)).body;
        return !b.enabled && b;
      });
      expect(e.disabled_reason).toBe('failing');
      const alerts = (await t.api('/v1/events?type=webhook_endpoint.disabled')).body.data;
      expect(alerts).toHaveLength(1);
      expect(alerts[0].data).toMatchObject({ id: ep.id, reason: 'failing' });
    } finally {
      await t.close();
      await rx.close();
    }
  });
});

describe('SSRF guard', () => {
  it('classifies addresses: private, loopback, link-local, unique-local, IPv4-mapped; metadata always refused', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.1.1',
      '0.0.0.0',
      '100.64.0.1',
      '::1',
      'fe80::1',
      'fc00::1',
      'fd12::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '::',
    ])
      expect(addressRefusal(ip, false), ip).not.toBeNull();
    for (const ip of ['169.254.169.254', 'fd00:ec2::254', '::ffff:169.254.169.254', '100.100.100.200']) {
      expect(addressRefusal(ip, true), ip).toMatch(/metadata/);
    }
    for (const ip of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']) expect(addressRefusal(ip, false), ip).toBeNull();
    expect(addressRefusal('127.0.0.1', true)).toBeNull();
  });

  it('refuses at create time and again at delivery time (the connection’s own DNS lookup)', async () => {
    const rx = await startReceiver();
    try {
      const strict = webhookTransport({ allowPrivate: false, userAgent: 'test' });
      for (const u of [
        rx.url,
        'https://127.0.0.1/x',
        'https://[::1]/x',
        'https://[::ffff:127.0.0.1]/x',
        'https://[fe80::1]/x',
        'https://[fd00:ec2::254]/x',
        'https://metadata.google.internal/x',
        'https://localhost/x',
        'https://user:pw@example.com/x',
      ])
        expect(await strict.check(u), u).not.toBeNull();
      // At delivery: localhost resolves to loopback inside the connection's lookup, and is refused there.
      const port = new URL(rx.url).port;
      const r = await strict.post({ url: `https://localhost:${port}/x`, headers: {}, body: '{}', timeoutMs: 1000 });
      expect(r.status).toBeNull();
      expect(r.error).toMatch(/refused/);
      const loose = webhookTransport({ allowPrivate: true, userAgent: 'test' });
      expect(await loose.check(`${rx.url}/x`)).toBeNull();
      expect(await loose.check('http://169.254.169.254/')).toMatch(/metadata/);
      const ok = await loose.post({ url: `http://localhost:${port}/y`, headers: {}, body: '{}', timeoutMs: 1000 });
      expect(ok.status).toBe(200);
      expect(rx.received.map((x) => x.path)).toEqual(['/y']);
    } finally {
      await rx.close();
    }
  });
});
