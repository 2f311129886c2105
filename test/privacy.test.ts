// Privacy: retention redacts old bodies and media URLs per tenant; erasing a number redacts its
// messages and replaces it by a keyed hash everywhere but the consent ledger (and the usage counts
// stay); the export holds everything kept about a number.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Clock } from '../src/ports.js';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const OURS = '+15005550006';
const DAY = 86_400_000;

describe.each(backends)('privacy on $name', (backend) => {
  let t: TestRelay;
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  const message = async (id: string, key?: string) => (await t.api(`/v1/messages/${id}`, { key })).body;
  const text = async (handset: string, body: string, mediaUrl?: string) => {
    const r = await t.api(`/emulator/api/handsets/${encodeURIComponent(handset)}/messages`, {
      body: { to: OURS, body, ...(mediaUrl ? { mediaUrls: [mediaUrl] } : {}) },
      key: null,
    });
    expect(r.status).toBe(201);
  };
  const sendDelivered = async (to: string, body: string, key?: string) => {
    const r = await t.api('/v1/messages', { body: { to, body }, key });
    expect(r.status).toBe(202);
    return waitFor(async () => {
      const m = await message(r.body.id, key);
      return m.status === 'delivered' ? m : null;
    });
  };

  beforeAll(async () => {
    t = await startRelay(
      backend,
      'privacy',
      { verify: { ...loadConfig({}).verify, secret: 'an installation secret of 32+ chars!' }, data: { ...loadConfig({}).data, usageIntervalMs: 3_600_000 } },
      { relay: { clock } },
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('redacts bodies and media URLs after retention_days, per tenant, and validates the setting', async () => {
    const tenant = t.relay.defaultTenant.id;
    const bad = await t.relay.settings.update(tenant, { retention_days: 0 }).catch((e) => e);
    expect(bad.code).toBe('SMS_ERR_VALIDATION');
    expect(JSON.stringify(bad.details)).toContain('retention_days');
    const old = await sendDelivered('+14155550701', 'old secret');
    // Off by default: nothing is redacted however old.
    offset += 40 * DAY;
    expect(await t.relay.data.privacy.retentionPass()).toBe(0);
    expect((await message(old.id)).body).toBe('old secret');

    await t.relay.settings.update(tenant, { retention_days: 30 });
    const fresh = await sendDelivered('+14155550702', 'fresh');
    expect(await t.relay.data.privacy.retentionPass()).toBeGreaterThanOrEqual(1);
    expect(await message(old.id)).toMatchObject({ body: null, media_urls: [], status: 'delivered' });
    expect((await message(fresh.id)).body).toBe('fresh');
    // Its inbound copy in the event history goes too.
    const events = (await t.api(`/v1/messages/${old.id}/events`)).body.data;
    expect(JSON.stringify(events)).not.toContain('old secret');
    expect(await t.relay.data.privacy.retentionPass()).toBe(0);
    await t.relay.settings.update(tenant, { retention_days: null });
  });

  it('exports everything held about a number, then erases it: hash in place of the number, consent and usage kept', async () => {
    const n = '+14155550710';
    await t.api(`/v1/contacts/${encodeURIComponent(n)}`, { method: 'PUT', body: { name: 'Erin', external_ref: 'lead:7', fields: { note: 'vip' } } });
    await text(n, 'hello, my address is 1 Main St', 'https://example.com/photo.jpg');
    const out = await sendDelivered(n, 'your code is ready');
    await t.api(`/v1/lookups/${encodeURIComponent(n)}?fields=line_type_intelligence`);
    await text(n, 'STOP');
    const conv = (await t.api('/v1/conversations?limit=200')).body.data.find((c: any) => c.contact === n);
    await t.api(`/v1/conversations/${conv.id}`, { method: 'PATCH', body: { external_ref: 'lead:7' } });

    const ex = await t.api(`/v1/contacts/${encodeURIComponent(n)}/export`);
    expect(ex.status).toBe(200);
    expect(ex.body).toMatchObject({ phone: n, contact: { name: 'Erin', external_ref: 'lead:7' }, messages_truncated: false, consent: { suppressed: true } });
    expect(ex.body.conversations.map((c: any) => c.id)).toEqual([conv.id]);
    expect(ex.body.messages.map((m: any) => m.body).sort()).toEqual(['STOP', 'hello, my address is 1 Main St', 'your code is ready']);
    expect(ex.body.messages.every((m: any) => m.events.length > 0)).toBe(true);
    expect(ex.body.consent.events.map((e: any) => e.action)).toEqual(['opt_out']);
    expect(ex.body.lookup).toMatchObject({ type: 'mobile' });

    const usageQuery = () =>
      `/v1/usage?group_by=country&granularity=day&since=${new Date(clock.now().getTime() - 60 * DAY).toISOString()}&until=${new Date(clock.now().getTime() + DAY).toISOString()}`;
    await t.relay.data.usage.aggregate();
    const usageBefore = (await t.api(usageQuery())).body;

    const er = await t.api(`/v1/contacts/${encodeURIComponent(n)}/erase`, { method: 'POST' });
    expect(er.status).toBe(200);
    expect(er.body).toMatchObject({ messages: 3, conversations: 1, contacts: 1, canceled: 0 });
    expect(er.body.replacement).toMatch(/^erased:[0-9a-f]{32}$/);
    // Keyed: the same number gives the same replacement, and it is not a plain hash of the number.
    expect(t.relay.data.privacy.replacementOf(n)).toBe(er.body.replacement);
    // Audited by key, naming the replacement and never the number.
    const log = (await t.api('/v1/audit-log')).body.data;
    const entry = log.find((e: any) => e.action === 'contact.erase');
    expect(entry).toMatchObject({ target: er.body.replacement, changes: { messages: 3, conversations: 1 } });
    expect(entry.actor_key_id).toBeTruthy();
    expect(JSON.stringify(log)).not.toContain(n);

    const m = await message(out.id);
    expect(m).toMatchObject({ to: er.body.replacement, body: null, status: 'delivered' });
    const c = (await t.api(`/v1/conversations/${conv.id}`)).body;
    expect(c).toMatchObject({ contact: er.body.replacement, external_ref: null });
    expect((await t.api(`/v1/contacts/${encodeURIComponent(n)}`)).status).toBe(404);
    // Nothing readable is left about the number, but the consent proof.
    const after = (await t.api(`/v1/contacts/${encodeURIComponent(n)}/export`)).body;
    expect(after).toMatchObject({ contact: null, conversations: [], messages: [], lookup: null, consent: { suppressed: true } });
    expect(after.consent.events.map((e: any) => e.action)).toEqual(['opt_out']);
    const k = sqlOf(t.relay);
    for (const table of ['messages', 'conversations', 'contacts', 'message_events', 'webhook_events', 'lookup_cache', 'idempotency_keys'] as const) {
      const rows = await k.selectFrom(table).selectAll().execute();
      expect(JSON.stringify(rows), table).not.toContain('5550710');
      expect(JSON.stringify(rows), table).not.toContain('Main St');
    }
    // Still refused: the suppression outlives the erasure.
    expect((await t.api('/v1/messages', { body: { to: n, body: 'hi again' } })).body.error.code).toBe('SMS_ERR_RECIPIENT_OPTED_OUT');
    await t.relay.data.usage.aggregate();
    const usageAfter = (await t.api(usageQuery())).body;
    expect(usageBefore.totals.messages).toBeGreaterThanOrEqual(5);
    expect(usageAfter.totals).toEqual(usageBefore.totals);
    expect(usageAfter.data.filter((r: any) => r.group === 'US')).toEqual(usageBefore.data.filter((r: any) => r.group === 'US'));
  });

  it("another tenant's key neither exports nor erases this tenant's number; bad numbers are 400", async () => {
    const n = '+14155550720';
    await sendDelivered(n, 'mine');
    const other = await t.relay.tenants.create({ slug: `p-${backend.name}`, name: 'Other', fromNumber: OURS });
    const { key } = await t.relay.apiKeys.create(other.id, 'c', ['contacts:read', 'contacts:write']);
    const ex = await t.api(`/v1/contacts/${encodeURIComponent(n)}/export`, { key });
    expect(ex.body).toMatchObject({ contact: null, conversations: [], messages: [] });
    const er = await t.api(`/v1/contacts/${encodeURIComponent(n)}/erase`, { method: 'POST', key });
    expect(er.body).toMatchObject({ messages: 0, conversations: 0, contacts: 0 });
    expect((await t.api(`/v1/contacts/${encodeURIComponent(n)}/export`)).body.messages.map((m: any) => m.body)).toEqual(['mine']);
    const { key: ro } = await t.relay.apiKeys.create(other.id, 'ro', ['contacts:read']);
    expect((await t.api(`/v1/contacts/${encodeURIComponent(n)}/erase`, { method: 'POST', key: ro })).status).toBe(403);
    const bad = await t.api('/v1/contacts/not-a-number/erase', { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('phone');
  });

  it('cancels messages still waiting for an erased number', async () => {
    const n = '+14155550730';
    const later = await t.api('/v1/messages', { body: { to: n, body: 'tomorrow', send_at: new Date(clock.now().getTime() + DAY).toISOString() } });
    expect(later.status).toBe(202);
    const er = await t.api(`/v1/contacts/${encodeURIComponent(n)}/erase`, { method: 'POST' });
    expect(er.body).toMatchObject({ canceled: 1, messages: 1 });
    expect(await message(later.body.id)).toMatchObject({ status: 'canceled', body: null, to: er.body.replacement });
  });
});
