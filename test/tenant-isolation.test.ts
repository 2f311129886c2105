// Tenant isolation over real sockets: a key of tenant B never reads or writes tenant A's messages,
// conversations or consents (404), and a webhook lands only in the tenant whose token signed it.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { sqlOf } from './support/db.js';
import { hex32, newSid, postWebhook } from './support/webhooks.js';

const OURS = '+15005550006';

describe.each(backends)('tenant isolation on $name', (backend) => {
  let t: TestRelay;
  let keyB: string;
  let tenantB: string;
  const accountB = 'AC' + hex32();
  const tokenB = 'tenant-b-token-' + hex32();
  const asB = (path: string, init: { method?: string; body?: unknown } = {}) => t.api(path, { ...init, key: keyB });

  beforeAll(async () => {
    t = await startRelay(backend, 'isolation', {
      masterKey: randomBytes(32).toString('base64'),
      reconciler: { ...loadConfig({}).reconciler, attachIntervalMs: 30 },
    });
    const b = await t.relay.tenants.create({ slug: 'tenant-b', name: 'B', twilioAccountSid: accountB, twilioAuthToken: tokenB, fromNumber: '+15005550009' });
    tenantB = b.id;
    keyB = (await t.relay.apiKeys.create(b.id, 'b', ['admin'])).key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("stores tenant B's auth token encrypted", async () => {
    const row = await sqlOf(t.relay).selectFrom('tenants').selectAll().where('id', '=', tenantB).executeTakeFirstOrThrow();
    expect(row.twilio_account_sid).toBe(accountB);
    expect(row.twilio_auth_token_enc).toMatch(/^v1:/);
    expect(row.twilio_auth_token_enc).not.toContain(tokenB);
  });

  it("gives B 404 for A's message and never lists it", async () => {
    const a = await t.api('/v1/messages', { body: { to: '+14155550301', body: 'for A only' } });
    expect(a.status).toBe(202);
    for (const r of [
      await asB(`/v1/messages/${a.body.id}`),
      await asB(`/v1/messages/${a.body.id}/events`),
      await asB(`/v1/messages/${a.body.id}/cancel`, { method: 'POST' }),
    ]) {
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('SMS_ERR_NOT_FOUND');
    }
    expect((await asB('/v1/messages')).body.data.map((m: any) => m.id)).not.toContain(a.body.id);
  });

  it("gives B 404 for A's conversation, its messages, replies and read marks", async () => {
    const h = '+14155550302';
    const r = await t.api(`/emulator/api/handsets/${encodeURIComponent(h)}/messages`, { body: { to: OURS, body: 'hello A' }, key: null });
    expect(r.status).toBe(201);
    const conv = (await t.api('/v1/conversations')).body.data.find((c: any) => c.contact === h);
    expect(conv).toBeDefined();
    for (const res of [
      await asB(`/v1/conversations/${conv.id}`),
      await asB(`/v1/conversations/${conv.id}/messages`),
      await asB(`/v1/conversations/${conv.id}/messages`, { body: { body: 'sneaky' } }),
      await asB(`/v1/conversations/${conv.id}/read`, { method: 'POST' }),
    ]) {
      expect(res.status).toBe(404);
    }
    expect((await asB('/v1/conversations')).body.data).toEqual([]);
    expect((await t.api(`/v1/conversations/${conv.id}`)).body.unread_count).toBe(1);
  });

  it("keeps consent per tenant: A's opt-out is invisible to B and does not block B", async () => {
    const phone = '+14155550303';
    expect((await t.api('/v1/consents', { body: { phone, action: 'opt_out', reason: 'A only' } })).status).toBe(200);
    expect((await asB(`/v1/consents/${encodeURIComponent(phone)}`)).status).toBe(404);
    expect((await asB('/v1/opt-outs')).body.data).toEqual([]);
    expect((await asB('/v1/messages', { body: { to: phone, body: 'from B' } })).status).toBe(202);
    expect((await t.api('/v1/messages', { body: { to: phone, body: 'from A' } })).status).toBe(422);
    // B opting in does not lift A's suppression.
    await asB('/v1/consents', { body: { phone, action: 'opt_in' } });
    expect((await t.api(`/v1/consents/${encodeURIComponent(phone)}`)).body.state).toBe('opted_out');
  });

  it('lands an inbound webhook only in the tenant whose token signed it', async () => {
    const url = `${t.url}/webhooks/twilio/inbound`;
    const tokenA = t.relay.emulator!.authToken;
    const base = { MessageSid: newSid(), From: '+14155550304', To: '+15005550009', Body: 'which tenant?' };
    // Claims to be B but is signed with A's token.
    const forged = await postWebhook(url, { ...base, AccountSid: accountB }, tokenA);
    expect(forged.status).toBe(403);
    // Signed with B's token but claims A's account.
    const forged2 = await postWebhook(url, { ...base, AccountSid: t.relay.emulator!.accountSid }, tokenB);
    expect(forged2.status).toBe(403);
    const ok = await postWebhook(url, { ...base, AccountSid: accountB }, tokenB);
    expect(ok.status).toBe(200);
    expect((await asB('/v1/conversations')).body.data.map((c: any) => c.contact)).toEqual(['+14155550304']);
    expect((await t.api('/v1/conversations')).body.data.map((c: any) => c.contact)).not.toContain('+14155550304');
    // A STOP to B's number suppresses the contact for B only.
    await postWebhook(url, { ...base, MessageSid: newSid(), Body: 'STOP', AccountSid: accountB }, tokenB);
    expect((await asB(`/v1/consents/${encodeURIComponent('+14155550304')}`)).body.state).toBe('opted_out');
    expect((await t.api(`/v1/consents/${encodeURIComponent('+14155550304')}`)).status).toBe(404);
  });

  it("never applies B's status callback to A's message", async () => {
    t.relay.emulator!.setChaos({ callbacks: 'off' });
    const a = await t.api('/v1/messages', { body: { to: '+14155550305', body: 'A status' } });
    const sent = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${a.body.id}`)).body;
      return g.provider_sid ? g : null;
    });
    const r = await postWebhook(
      `${t.url}/webhooks/twilio/status`,
      { AccountSid: accountB, MessageSid: sent.provider_sid, MessageStatus: 'failed', ErrorCode: '30007' },
      tokenB,
    );
    expect(r.status).toBe(204);
    await new Promise((res) => setTimeout(res, 150)); // several late-matching passes
    expect((await t.api(`/v1/messages/${a.body.id}`)).body.status).not.toBe('failed');
    const row = await sqlOf(t.relay).selectFrom('webhook_events').selectAll().where('message_sid', '=', sent.provider_sid).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ tenant_id: tenantB, message_id: null });
  });
});
