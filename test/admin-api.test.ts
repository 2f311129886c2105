// The operator's API over real HTTP on both databases: tenants (tenants:admin and the
// Smsrelay-Tenant header), settings with write-only Twilio credentials checked against the
// emulator's account, the test send, API keys, the audit log; BOLA on every route; no secret in
// any answer or log line.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cipher } from '../src/core/cipher.js';
import { createEmulator, type EmulatorInstance } from '../src/emulator/index.js';
import { createLogger } from '../src/main.js';
import { tokenAad } from '../src/services/tenants.js';
import { backends } from './support/backends.js';
import { countRows } from './support/db.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const DELIVERED = '+14155550101';
const FILTERED = '+14155550107'; // undelivered 30007 (failure script)
const NO_RECEIPT = '+14155550108'; // stays 'sent'

describe.each(backends)('operator API on $name', (backend) => {
  let emulator: EmulatorInstance;
  let t: TestRelay;
  let platformKey: string;
  let platformKeyId: string;
  const logLines: string[] = [];
  /** Every answer body, to show that no secret is ever in one. */
  const answers: string[] = [];
  const masterKey = randomBytes(32).toString('hex');

  let acme: { id: string; slug: string };
  let acmeKey: string;

  async function call(path: string, init: { method?: string; body?: unknown; key?: string; tenant?: string; keepAnswer?: boolean } = {}) {
    const r = await t.api(path, {
      method: init.method,
      body: init.body,
      key: init.key ?? platformKey,
      headers: init.tenant ? { 'smsrelay-tenant': init.tenant } : {},
    });
    if (init.keepAnswer !== false) answers.push(JSON.stringify(r.body));
    return r;
  }

  beforeAll(async () => {
    emulator = createEmulator({
      delays: { queuedToSending: 5, sendingToSent: 5, sentToDelivered: 5 },
      scripts: { [FILTERED]: { outcome: 'undelivered', errorCode: 30007 }, [NO_RECEIPT]: { outcome: 'sent' } },
    });
    const base = await emulator.listen(0, '127.0.0.1');
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    t = await startRelay(
      backend,
      'admin_api',
      {
        masterKey,
        twilio: { accountSid: emulator.accountSid, authToken: emulator.authToken, apiBaseUrl: base, fromNumber: '+15005550006' },
        // Real Twilio mode paces a long code at 1 message/s by default; these tests send faster.
        worker: { pacingDefaults: false },
      },
      { relay: { testSendTimeoutMs: 1500 }, logger: createLogger('debug', sink) },
    );
    emulator.setDefaultStatusCallback(`${t.url}/webhooks/twilio/status`);
    const k = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'platform', ['admin', 'tenants:admin']);
    platformKey = k.key;
    platformKeyId = k.info.id;
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  it('tenant lifecycle: create, configure with the emulator account, key, test send, send', async () => {
    const created = await call('/v1/tenants', { body: { slug: `acme-${backend.name}`, name: 'Acme' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug: `acme-${backend.name}`, name: 'Acme', enabled: true });
    acme = created.body;
    expect((await call(`/v1/tenants/${acme.id}`)).body.slug).toBe(acme.slug);
    expect((await call(`/v1/tenants/${acme.slug}`)).body.id).toBe(acme.id);
    expect((await call('/v1/tenants', { body: { slug: acme.slug, name: 'Again' } })).body.error.code).toBe('SMS_ERR_TENANT_EXISTS');

    const configured = await call('/v1/settings', {
      method: 'PATCH',
      tenant: acme.slug,
      body: {
        twilio_account_sid: emulator.accountSid,
        twilio_auth_token: emulator.authToken,
        from_number: '+15005550006',
        timezone: 'Europe/Paris',
        auto_reply: 'Thanks, Acme will answer soon.',
      },
    });
    expect(configured.status).toBe(200);
    expect(configured.body).toMatchObject({
      twilio_account_sid: emulator.accountSid,
      auth_token_last4: emulator.authToken.slice(-4),
      from_number: '+15005550006',
      timezone: 'Europe/Paris',
    });
    expect(Date.parse(configured.body.auth_token_set_at)).toBeGreaterThan(0);
    expect(await t.relay.tenants.twilioCredentials(acme.id)).toEqual({ accountSid: emulator.accountSid, authToken: emulator.authToken });

    const k = await call('/v1/api-keys', {
      tenant: acme.slug,
      body: { name: 'acme app', scopes: ['admin', 'messages:write', 'messages:read'] },
      keepAnswer: false,
    });
    expect(k.status).toBe(201);
    expect(k.body.api_key).toMatchObject({ name: 'acme app', scopes: ['admin', 'messages:write', 'messages:read'], revoked_at: null });
    acmeKey = k.body.key;

    const test = await call('/v1/settings/test', { key: acmeKey, body: { to: DELIVERED } });
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, status: 'delivered', error_code: null, provider_code: null, hint: null });
    expect(test.body.provider_sid).toMatch(/^SM/);

    const sent = await call('/v1/messages', { key: acmeKey, body: { to: DELIVERED, body: 'hello from acme' } });
    expect(sent.status).toBe(202);
    const final = await waitFor(async () => {
      const m = await call(`/v1/messages/${sent.body.id}`, { key: acmeKey });
      return m.body.status === 'delivered' ? m.body : null;
    });
    expect(final.from).toBe('+15005550006');
    expect(emulator.createCount(DELIVERED, 'hello from acme')).toBe(1);
  });

  it('the test send explains failures in plain words, and gives up waiting after its time limit', async () => {
    const filtered = await call('/v1/settings/test', { key: acmeKey, body: { to: FILTERED, body: 'check' } });
    expect(filtered.body).toMatchObject({ ok: false, status: 'undelivered', provider_code: 30007 });
    expect(filtered.body.hint).toMatch(/carrier filtered/i);

    const started = Date.now();
    const waiting = await call('/v1/settings/test', { key: acmeKey, body: { to: NO_RECEIPT } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(waiting.body).toMatchObject({ ok: false, status: 'sent' });
    expect(waiting.body.hint).toMatch(/No final status within 2 s/);
  });

  it('wrong credentials are refused before anything is saved; ?verify=false saves them and the test send says why it fails', async () => {
    const before = await call('/v1/settings', { tenant: acme.slug });
    const audits = await countRows(t.relay, 'audit_log');
    const wrong = await call('/v1/settings', {
      method: 'PATCH',
      tenant: acme.slug,
      body: { twilio_auth_token: 'wrong-token-0000', auto_reply: 'changed' },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error).toMatchObject({ code: 'SMS_ERR_TWILIO_CREDENTIALS_INVALID', details: { provider_code: 20003 } });
    t.relay.settings.invalidate();
    expect((await call('/v1/settings', { tenant: acme.slug })).body).toEqual(before.body);
    expect(await countRows(t.relay, 'audit_log')).toBe(audits);

    const unchecked = await call('/v1/settings?verify=false', { method: 'PATCH', tenant: acme.slug, body: { twilio_auth_token: 'wrong-token-0000' } });
    expect(unchecked.status).toBe(200);
    expect(unchecked.body.auth_token_last4).toBe('0000');
    const test = await call('/v1/settings/test', { key: acmeKey, body: { to: DELIVERED } });
    expect(test.body).toMatchObject({ ok: false, status: 'failed', provider_code: 20003 });
    expect(test.body.hint).toMatch(/credentials/);

    const fixed = await call('/v1/settings', { method: 'PATCH', tenant: acme.slug, body: { twilio_auth_token: emulator.authToken } });
    expect(fixed.status).toBe(200);
  });

  it('a bad patch names every bad field and saves nothing (settings and credentials alike)', async () => {
    const before = await call('/v1/settings', { key: acmeKey });
    const audits = await countRows(t.relay, 'audit_log');
    const bad = await call('/v1/settings', {
      method: 'PATCH',
      key: acmeKey,
      body: { timezone: 'Mars/Olympus', from_number: 'not a number!', twilio_account_sid: 'ACxyz', auto_reply: 'fine', colour: 'red' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('SMS_ERR_VALIDATION');
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['colour', 'from_number', 'timezone', 'twilio_account_sid']);
    const pairless = await call('/v1/settings', { method: 'PATCH', key: acmeKey, body: { twilio_account_sid: `AC${'1'.repeat(32)}`, auto_reply: 'x' } });
    expect(pairless.body.error.details).toEqual([{ field: 'twilio_auth_token', message: 'is required with a new account SID' }]);
    for (const body of [null, [], 'text', { twilio_auth_token: 42 }, { twilio_auth_token: 'has space in it' }, { timezone: '\u0000' }]) {
      const r = await t.api('/v1/settings', { method: 'PATCH', rawBody: JSON.stringify(body), headers: { 'content-type': 'application/json' }, key: acmeKey });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    t.relay.settings.invalidate();
    expect((await call('/v1/settings', { key: acmeKey })).body).toEqual(before.body);
    expect(await countRows(t.relay, 'audit_log')).toBe(audits);
  });

  it('BOLA: a tenant key never reads or changes another tenant; only tenants:admin crosses, through the header', async () => {
    const defaultId = t.relay.defaultTenant.id;
    // The header is refused to keys without tenants:admin, whichever tenant it names.
    for (const tenant of ['default', acme.slug]) {
      for (const [method, path] of [
        ['GET', '/v1/settings'],
        ['GET', '/v1/api-keys'],
        ['GET', '/v1/audit-log'],
        ['GET', '/v1/messages'],
      ] as const) {
        const r = await call(path, { method, key: acmeKey, tenant });
        expect(r.status, `${method} ${path} as ${tenant}`).toBe(403);
        expect(r.body.error.code).toBe('SMS_ERR_TENANT_HEADER_FORBIDDEN');
      }
    }
    for (const [method, path, body] of [
      ['GET', '/v1/tenants', undefined],
      ['POST', '/v1/tenants', { slug: 'evil', name: 'Evil' }],
      ['GET', `/v1/tenants/${defaultId}`, undefined],
      ['PATCH', `/v1/tenants/${defaultId}`, { enabled: false }],
    ] as const) {
      const r = await call(path, { method, key: acmeKey, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error.code).toBe('SMS_ERR_FORBIDDEN');
    }
    // Another tenant's key cannot be revoked or listed; the tenant admin (admin scope) of default cannot cross either.
    const r = await call(`/v1/api-keys/${platformKeyId}/revoke`, { method: 'POST', key: acmeKey });
    expect(r.status).toBe(404);
    expect((await call('/v1/settings', { key: platformKey })).status).toBe(200);
    const acmeKeys = (await call('/v1/api-keys', { key: acmeKey })).body.data.map((k: { id: string }) => k.id);
    expect(acmeKeys).not.toContain(platformKeyId);
    expect((await call('/v1/settings', { key: t.apiKey, tenant: acme.slug })).body.error.code).toBe('SMS_ERR_TENANT_HEADER_FORBIDDEN');
    // A tenant's settings answer is its own.
    expect((await call('/v1/settings', { key: acmeKey })).body.timezone).toBe('Europe/Paris');
    expect((await call('/v1/settings', { key: t.apiKey })).body.timezone).toBe('UTC');
    // The platform admin crosses with the header, and only to a tenant that exists.
    expect((await call('/v1/api-keys', { tenant: acme.slug })).body.data.map((k: { id: string }) => k.id)).toEqual(acmeKeys);
    expect((await call('/v1/settings', { tenant: 'nobody' })).body.error.code).toBe('SMS_ERR_TENANT_NOT_FOUND');
    // Audit logs are tenant-scoped.
    const acmeLog = (await call('/v1/audit-log', { key: acmeKey })).body.data;
    expect(acmeLog.length).toBeGreaterThan(0);
    expect(acmeLog.every((e: { tenant_id: string }) => e.tenant_id === acme.id)).toBe(true);
    const defaultLog = (await call('/v1/audit-log', { key: t.apiKey })).body.data;
    expect(defaultLog.every((e: { tenant_id: string; platform: boolean }) => e.tenant_id === defaultId && !e.platform)).toBe(true);
    const platformLog = (await call('/v1/audit-log')).body.data;
    expect(platformLog.some((e: { action: string; tenant_id: string }) => e.action === 'tenant.create' && e.tenant_id === acme.id)).toBe(true);
  });

  it('API keys: the secret once, scopes no wider than the grantor, revocation, audited', async () => {
    const created = await call('/v1/api-keys', { key: acmeKey, body: { name: 'reader', scopes: ['messages:read'] }, keepAnswer: false });
    expect(created.status).toBe(201);
    const reader = created.body.key as string;
    expect(reader).toMatch(/^smsr_/);
    const listed = await call('/v1/api-keys', { key: acmeKey });
    expect(JSON.stringify(listed.body)).not.toContain(reader);
    expect(listed.body.data.find((k: { id: string }) => k.id === created.body.api_key.id)).toMatchObject({ prefix: reader.slice(0, 12), last_used_at: null });

    expect((await call('/v1/messages', { key: reader })).status).toBe(200);
    const touched = (await call('/v1/api-keys', { key: acmeKey })).body.data.find((k: { id: string }) => k.id === created.body.api_key.id);
    expect(touched.last_used_at).not.toBeNull();
    expect((await call('/v1/api-keys', { key: reader })).body.error.code).toBe('SMS_ERR_FORBIDDEN');
    const tooWide = await call('/v1/api-keys', { key: acmeKey, body: { name: 'x', scopes: ['tenants:admin'] } });
    expect(tooWide.status).toBe(403);
    expect(tooWide.body.error.code).toBe('SMS_ERR_SCOPE_NOT_GRANTABLE');
    for (const body of [{ name: 'x', scopes: [] }, { name: 'x', scopes: ['root'] }, { name: '', scopes: ['admin'] }, { scopes: ['admin'] }]) {
      expect((await call('/v1/api-keys', { key: acmeKey, body })).status, JSON.stringify(body)).toBe(400);
    }

    const revoked = await call(`/v1/api-keys/${created.body.api_key.id}/revoke`, { method: 'POST', key: acmeKey });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expect((await call('/v1/messages', { key: reader })).status).toBe(401);

    const log = (await call('/v1/audit-log', { key: acmeKey, method: 'GET' })).body.data as {
      action: string;
      target: string;
      changes: Record<string, unknown>;
      actor_key_id: string;
    }[];
    expect(log.find((e) => e.action === 'api_key.revoke' && e.target === created.body.api_key.id)).toBeTruthy();
    expect(log.find((e) => e.action === 'api_key.create' && e.target === created.body.api_key.id)).toMatchObject({
      changes: { name: 'reader', scopes: ['messages:read'], secret: '[redacted]' },
    });
  });

  it('the audit log records who, on whose behalf, and what (secrets redacted), paged by cursor', async () => {
    const log = (await call('/v1/audit-log', { tenant: acme.slug })).body.data as Record<string, any>[];
    const configured = log.filter((e) => e.action === 'settings.update' && e.changes.twilio_account_sid === emulator.accountSid).at(-1)!;
    expect(configured).toMatchObject({
      actor_key_id: platformKeyId,
      actor_tenant_id: t.relay.defaultTenant.id,
      on_behalf_of: acme.slug,
      changes: { twilio_auth_token: '[redacted]', from_number: '+15005550006', timezone: 'Europe/Paris' },
    });
    // Consent changes through the API are audited in the same transaction.
    expect((await call('/v1/consents', { key: acmeKey, body: { phone: DELIVERED, action: 'opt_out', reason: 'asked by phone' } })).status).toBe(200);
    const consent = (await call('/v1/audit-log?limit=1', { key: acmeKey })).body;
    expect(consent.data[0]).toMatchObject({
      action: 'consent.set',
      target: DELIVERED,
      changes: { action: 'opt_out', reason: 'asked by phone' },
      on_behalf_of: null,
    });
    // Paging walks every entry once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const p: { body: { data: { id: string }[]; next_cursor: string | null } } = await call(`/v1/audit-log?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        key: acmeKey,
      });
      seen.push(...p.body.data.map((e) => e.id));
      cursor = p.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe((await call('/v1/audit-log?limit=200', { key: acmeKey })).body.data.length);
    expect((await call('/v1/audit-log?cursor=bogus!', { key: acmeKey })).status).toBe(400);
  });

  it('tenants are paged, renamed, disabled (the flag the sending policy reads) and validated', async () => {
    const p = await call('/v1/tenants?limit=1');
    expect(p.body.data).toHaveLength(1);
    const rest = await call(`/v1/tenants?limit=200&cursor=${p.body.next_cursor}`);
    expect([...p.body.data, ...rest.body.data].map((x: { slug: string }) => x.slug)).toContain(acme.slug);
    const off = await call(`/v1/tenants/${acme.id}`, { method: 'PATCH', body: { enabled: false, name: 'Acme Inc' } });
    expect(off.body).toMatchObject({ enabled: false, name: 'Acme Inc' });
    expect((await t.relay.tenants.byId(acme.id))?.enabled).toBe(false);
    expect((await call(`/v1/tenants/${acme.id}`, { method: 'PATCH', body: { enabled: true } })).body.enabled).toBe(true);
    for (const body of [{ slug: 'Bad Slug', name: 'x' }, { slug: 'ok', name: '' }, { slug: 'ok' }, { slug: 'ok', name: 'x', extra: 1 }])
      expect((await call('/v1/tenants', { body })).status, JSON.stringify(body)).toBe(400);
    expect((await call(`/v1/tenants/${acme.id}`, { method: 'PATCH', body: {} })).status).toBe(400);
    expect((await call('/v1/tenants/nope', { method: 'PATCH', body: { enabled: false } })).body.error.code).toBe('SMS_ERR_TENANT_NOT_FOUND');
    const log = (await call('/v1/audit-log')).body.data as Record<string, any>[];
    expect(log.find((e) => e.action === 'tenant.update' && e.changes.enabled === false)).toMatchObject({ platform: true, tenant_id: acme.id });
  });

  it('no secret is in any answer or log line; requests on behalf of a tenant are logged as such', async () => {
    const secrets = [emulator.authToken, 'wrong-token-0000', platformKey, acmeKey, t.apiKey, masterKey];
    const answerText = answers.join('\n');
    const logText = logLines.join('\n');
    for (const s of secrets) {
      expect(answerText.includes(s), `answer has ${s.slice(0, 6)}…`).toBe(false);
      expect(logText.includes(s), `log has ${s.slice(0, 6)}…`).toBe(false);
    }
    const crossing = logLines.map((l) => JSON.parse(l)).filter((l) => l.on_behalf_of === acme.slug);
    expect(crossing.length).toBeGreaterThan(0);
    expect(crossing[0]).toMatchObject({ key_id: platformKeyId, msg: 'request on behalf of another tenant' });
  });

  it('master key rotation: a failure midway leaves every secret readable with the old key; then all move to the new one', async () => {
    for (const slug of ['rot-a', 'rot-b', 'rot-c'])
      await t.relay.tenants.create({
        slug: `${slug}-${backend.name}`,
        name: slug,
        twilioAccountSid: `AC${'c'.repeat(32)}`,
        twilioAuthToken: `${slug}-token-xyz`,
      });
    const newKey = randomBytes(32).toString('base64');
    const bytes = { bytes: (n: number) => randomBytes(n) };
    const readAll = async (key: string) => {
      const c = new Cipher(key, bytes);
      const rows = (await t.relay.repos.tenants.list()).filter((r) => r.twilio_auth_token_enc);
      return rows.map((r) => c.decrypt(r.twilio_auth_token_enc!, tokenAad(r.id)));
    };
    const before = await readAll(masterKey);
    expect(before.length).toBeGreaterThanOrEqual(4);

    await expect(
      t.relay.rotateMasterKey(newKey, (i) => {
        if (i === 2) throw new Error('crash at row 2');
      }),
    ).rejects.toThrow('crash at row 2');
    expect(await readAll(masterKey)).toEqual(before);

    const r = await t.relay.rotateMasterKey(newKey);
    expect(r).toEqual({ reencrypted: before.length, alreadyCurrent: 0 });
    expect(await readAll(newKey)).toEqual(before);
    await expect(readAll(masterKey)).rejects.toThrow();
    // Run again (e.g. after a crash of the command): nothing left to do.
    expect(await t.relay.rotateMasterKey(newKey)).toEqual({ reencrypted: 0, alreadyCurrent: before.length });
  });
});
