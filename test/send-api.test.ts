// The send API over real sockets, on SQLite and PostgreSQL, with the embedded emulator as provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { countRows, sqlOf } from './support/db.js';

describe.each(backends)('send API on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'send_api');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('accepts a message, answers 202 with the resource, and the emulator receives exactly one SMS', async () => {
    const body = 'a'.repeat(161);
    const r = await t.api('/v1/messages', { body: { to: '+14155552671', body, metadata: { order: 42 } } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ to: '+14155552671', from: '+15005550006', status: 'pending', segments: 2, encoding: 'GSM-7', metadata: { order: 42 } });
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const sent = await waitFor(async () => {
      const g = await t.api(`/v1/messages/${r.body.id}`);
      return g.body.provider_sid ? g.body : null;
    });
    expect(sent.provider_sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(['queued', 'sending', 'sent', 'delivered']).toContain(sent.status);
    expect(sent.attempts).toBe(1);
    const atEmulator = t.relay.emulator!.messages({ to: '+14155552671' }).filter((m) => m.body === body);
    expect(atEmulator).toHaveLength(1);
    expect(atEmulator[0]).toMatchObject({ segments: 2, encoding: 'GSM-7' });
    expect(t.relay.emulator!.createCount('+14155552671', body)).toBe(1);
    expect(String(atEmulator[0].sid)).toBe(sent.provider_sid);
    const ev = await t.api(`/v1/messages/${r.body.id}/events`);
    expect(ev.body.data.map((e: { status: string }) => e.status).slice(0, 2)).toEqual(['pending', sent.status === 'queued' ? 'queued' : expect.any(String)]);
  });

  it('normalizes national numbers with the default region and counts UCS-2 segments', async () => {
    const r = await t.api('/v1/messages', { body: { to: '(415) 555-2672', body: '👋'.repeat(36) } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ to: '+14155552672', encoding: 'UCS-2', segments: 2 });
  });

  it.each([
    ['no to', { body: 'hi' }, 400, 'SMS_ERR_VALIDATION'],
    ['to of the wrong type', { to: 12, body: 'hi' }, 400, 'SMS_ERR_VALIDATION'],
    ['invalid number', { to: '+1234', body: 'hi' }, 400, 'SMS_ERR_INVALID_PHONE'],
    ['letters', { to: 'call me', body: 'hi' }, 400, 'SMS_ERR_INVALID_PHONE'],
    ['fixed line', { to: '+442071838750', body: 'hi' }, 422, 'SMS_ERR_NOT_MOBILE'],
    ['no body and no media', { to: '+14155552671' }, 400, 'SMS_ERR_BODY_REQUIRED'],
    ['empty body', { to: '+14155552671', body: '' }, 400, 'SMS_ERR_BODY_REQUIRED'],
    ['body over 1600', { to: '+14155552671', body: 'x'.repeat(1601) }, 400, 'SMS_ERR_BODY_TOO_LONG'],
    ['11 media', { to: '+14155552671', media_urls: Array.from({ length: 11 }, (_, i) => `https://e.com/${i}.png`) }, 400, 'SMS_ERR_TOO_MANY_MEDIA'],
    ['bad media url', { to: '+14155552671', media_urls: ['javascript:alert(1)'] }, 400, 'SMS_ERR_VALIDATION'],
    ['unknown field', { to: '+14155552671', body: 'hi', bodyy: 'typo' }, 400, 'SMS_ERR_VALIDATION'],
    ['bad channel', { to: '+14155552671', body: 'hi', channel: 'fax' }, 400, 'SMS_ERR_VALIDATION'],
    ['send_at in the past', { to: '+14155552671', body: 'hi', send_at: '2001-01-01T00:00:00Z' }, 400, 'SMS_ERR_INVALID_SEND_AT'],
    ['send_at not a date', { to: '+14155552671', body: 'hi', send_at: 'tomorrow' }, 400, 'SMS_ERR_VALIDATION'],
    ['validity out of range', { to: '+14155552671', body: 'hi', validity_period: 36001 }, 400, 'SMS_ERR_VALIDATION'],
    ['bad from', { to: '+14155552671', body: 'hi', from: 'not a valid sender!' }, 400, 'SMS_ERR_VALIDATION'],
    ['bad messaging service', { to: '+14155552671', body: 'hi', messaging_service_sid: 'MG123' }, 400, 'SMS_ERR_VALIDATION'],
    ['metadata array', { to: '+14155552671', body: 'hi', metadata: [1] }, 400, 'SMS_ERR_VALIDATION'],
  ])('rejects %s with a registry error and writes nothing', async (_name, payload, status, code) => {
    const before = await countRows(t.relay, 'messages');
    const r = await t.api('/v1/messages', { body: payload });
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(typeof r.body.error.message).toBe('string');
    expect(await countRows(t.relay, 'messages')).toBe(before);
  });

  it('answers malformed, oversized and non-JSON bodies with registry errors', async () => {
    const malformed = await t.api('/v1/messages', { rawBody: '{"to": "+1415', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('SMS_ERR_MALFORMED_BODY');
    const huge = await t.api('/v1/messages', { body: { to: '+14155552671', body: 'x'.repeat(200_000) } });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('SMS_ERR_PAYLOAD_TOO_LARGE');
    const xml = await t.api('/v1/messages', { rawBody: '<x/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe('SMS_ERR_UNSUPPORTED_MEDIA_TYPE');
    const empty = await t.api('/v1/messages', { rawBody: '', headers: { 'content-type': 'application/json' } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toMatch(/SMS_ERR_(MALFORMED_BODY|VALIDATION)/);
  });

  it('requires a valid key with the right scope', async () => {
    expect((await t.api('/v1/messages', { key: null })).body.error.code).toBe('SMS_ERR_UNAUTHENTICATED');
    const wrong = await t.api('/v1/messages', { key: 'smsr_not-a-real-key' });
    expect(wrong.status).toBe(401);
    const { key } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'reader', ['messages:read']);
    const forbidden = await t.api('/v1/messages', { key, body: { to: '+14155552671', body: 'hi' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('SMS_ERR_FORBIDDEN');
    expect((await t.api('/v1/messages', { key })).status).toBe(200);
    await t.relay.apiKeys.revoke(t.relay.defaultTenant.id, key.slice(0, 12));
    expect((await t.api('/v1/messages', { key })).status).toBe(401);
  });

  it('answers unknown routes and ids in the error format', async () => {
    const r = await t.api('/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('SMS_ERR_ROUTE_NOT_FOUND');
    const m = await t.api('/v1/messages/01890000-0000-7000-8000-000000000000');
    expect(m.status).toBe(404);
    expect(m.body.error.code).toBe('SMS_ERR_NOT_FOUND');
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for the same key and body, with no new row', async () => {
      const headers = { 'idempotency-key': `k-${backend.name}-1` };
      const a = await t.api('/v1/messages', { body: { to: '+14155550101', body: 'once' }, headers });
      const b = await t.api('/v1/messages', { body: { body: 'once', to: '+14155550101' }, headers });
      expect(a.status).toBe(202);
      expect(b.status).toBe(202);
      expect(b.body).toEqual(a.body);
      expect(b.headers.get('idempotent-replayed')).toBe('true');
      const rows = await sqlOf(t.relay).selectFrom('messages').select('id').where('to_addr', '=', '+14155550101').execute();
      expect(rows).toHaveLength(1);
    });

    it('refuses the same key with a different body (422)', async () => {
      const headers = { 'idempotency-key': `k-${backend.name}-2` };
      await t.api('/v1/messages', { body: { to: '+14155550102', body: 'first' }, headers });
      const r = await t.api('/v1/messages', { body: { to: '+14155550102', body: 'second' }, headers });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('SMS_ERR_IDEMPOTENCY_MISMATCH');
    });

    it('concurrent requests with one key create one message; the others get 409 or the replay', async () => {
      const headers = { 'idempotency-key': `k-${backend.name}-3` };
      const results = await Promise.all(Array.from({ length: 20 }, () => t.api('/v1/messages', { body: { to: '+14155550103', body: 'race' }, headers })));
      const statuses = results.map((r) => r.status);
      expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
      expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(1);
      const ids = new Set(results.filter((r) => r.status === 202).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('SMS_ERR_IDEMPOTENCY_CONFLICT');
      const rows = await sqlOf(t.relay).selectFrom('messages').select('id').where('to_addr', '=', '+14155550103').execute();
      expect(rows).toHaveLength(1);
    });
  });

  it('lists newest first with cursor pagination and filters', async () => {
    const to = '+14155550104';
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.api('/v1/messages', { body: { to, body: `page ${i}` } })).body.id);
    const p1 = await t.api(`/v1/messages?to=${encodeURIComponent(to)}&limit=2`);
    expect(p1.status).toBe(200);
    expect(p1.body.data.map((m: { id: string }) => m.id)).toEqual([ids[4], ids[3]]);
    const p2 = await t.api(`/v1/messages?to=${encodeURIComponent(to)}&limit=2&cursor=${p1.body.next_cursor}`);
    expect(p2.body.data.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    const p3 = await t.api(`/v1/messages?to=${encodeURIComponent(to)}&limit=2&cursor=${p2.body.next_cursor}`);
    expect(p3.body.data.map((m: { id: string }) => m.id)).toEqual([ids[0]]);
    expect(p3.body.next_cursor).toBeNull();
    const bad = await t.api('/v1/messages?cursor=%%%');
    expect(bad.status).toBe(400);
    const limit = await t.api('/v1/messages?limit=0');
    expect(limit.body.error.code).toBe('SMS_ERR_VALIDATION');
    const failed = await t.api('/v1/messages?status=failed');
    expect(failed.body.data.every((m: { status: string }) => m.status === 'failed')).toBe(true);
  });

  it('schedules with send_at and cancels only while pending or scheduled', async () => {
    const sendAt = new Date(Date.now() + 3600_000).toISOString();
    const r = await t.api('/v1/messages', { body: { to: '+14155550105', body: 'later', send_at: sendAt } });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('scheduled');
    expect(r.body.send_at).toBe(sendAt);
    const c = await t.api(`/v1/messages/${r.body.id}/cancel`, { method: 'POST' });
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('canceled');
    const again = await t.api(`/v1/messages/${r.body.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SMS_ERR_INVALID_STATE');
    expect(t.relay.emulator!.createCount('+14155550105')).toBe(0);
  });

  it('keeps the seed-compatible routes', async () => {
    const r = await t.api('/api/sms/send/', { body: { to_phone: '+14155550106', message: 'legacy' } });
    expect(r.status).toBe(202);
    expect(r.body.to).toBe('+14155550106');
    const s = await t.api(`/api/sms/${r.body.id}/status/`);
    expect(s.status).toBe(200);
    expect(s.body.id).toBe(r.body.id);
    const bad = await t.api('/api/sms/send/', { body: { message: 'no number' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('SMS_ERR_INVALID_PHONE');
  });

  it('serves health, readiness, OpenAPI and docs', async () => {
    expect((await t.api('/healthz', { key: null })).body).toEqual({ status: 'ok' });
    expect((await t.api('/readyz', { key: null })).body).toMatchObject({ status: 'ok', database: backend.name });
    const spec = await t.api('/openapi.json', { key: null });
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/v1/messages', '/v1/messages/{id}', '/v1/messages/{id}/cancel', '/api/sms/send/']));
    const docs = await fetch(`${t.url}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('<html');
  });
});
