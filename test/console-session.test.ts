// The admin console's sign-in: an API key exchanged for an HttpOnly session cookie, accepted by
// the /v1 API in place of the bearer key, with a CSRF token on every state-changing request, an
// idle timeout, an absolute lifetime, sign-out, and the key's revocation ending its sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/ports.js';
import { backends } from './support/backends.js';
import { startRelay, type TestRelay } from './support/relay.js';

const IDLE_MIN = 30;
const MAX_HOURS = 2;

/** Real time plus an offset the test moves forward. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => (offset += ms) };
}

describe.each(backends)('console sessions on $name', (backend) => {
  let t: TestRelay;
  const clock = movableClock();

  beforeAll(async () => {
    t = await startRelay(
      backend,
      'console-session',
      { console: { sessionIdleMs: IDLE_MIN * 60_000, sessionMaxMs: MAX_HOURS * 3_600_000 } },
      { relay: { clock }, worker: false },
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Signs in with `key`; returns the cookie header value and the CSRF token. */
  async function signIn(key = t.apiKey): Promise<{ cookie: string; csrf: string; setCookie: string }> {
    const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    const body = (await res.json()) as { csrf_token: string };
    return { cookie: setCookie.split(';')[0]!, csrf: body.csrf_token, setCookie };
  }
  const call = async (path: string, init: { method?: string; cookie?: string; csrf?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.cookie) headers.cookie = init.cookie;
    if (init.csrf) headers['x-csrf-token'] = init.csrf;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(t.url + path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };

  it('exchanges a key for an HttpOnly, SameSite=Strict cookie; a wrong key gets 401 and no cookie', async () => {
    const { setCookie, csrf } = await signIn();
    expect(setCookie).toMatch(/^smsrelay_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/i);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    for (const key of ['smsr_wrong', '', 'x'.repeat(300)]) {
      const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
      expect([400, 401]).toContain(res.status);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^SMS_ERR_/);
    }
  });

  it('bad sign-in bodies get a 400 with a stable code and open no session', async () => {
    const before = await t.relay.db.kysely.selectFrom('console_sessions').select('id_hash').execute();
    const bodies: [string, string][] = [
      ['application/json', '{"key": 42}'],
      ['application/json', '{"key": "smsr_x", "extra": 1}'],
      ['application/json', '{"key": '],
      ['application/json', '[]'],
      ['application/json', ''],
    ];
    for (const [type, body] of bodies) {
      const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': type }, body });
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^SMS_ERR_(VALIDATION|MALFORMED_BODY|BODY_REQUIRED)/);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(await t.relay.db.kysely.selectFrom('console_sessions').select('id_hash').execute()).toHaveLength(before.length);
  });

  it('marks the cookie Secure when the client came over HTTPS through a trusted proxy', async () => {
    const proxied = await startRelay(backend, 'console-session-proxy', { trustProxy: true }, { worker: false });
    try {
      const res = await fetch(`${proxied.url}/admin/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ key: proxied.apiKey }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('set-cookie')).toMatch(/; Secure/i);
    } finally {
      await proxied.close();
    }
  });

  it('stores the session id hashed, never the id itself', async () => {
    const { cookie } = await signIn();
    const id = cookie.split('=')[1]!;
    const rows = await t.relay.db.kysely.selectFrom('console_sessions').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(id);
  });

  it('the /v1 API accepts the cookie for reads, and for writes only with the CSRF token', async () => {
    const { cookie, csrf } = await signIn();
    expect((await call('/v1/messages', { cookie })).status).toBe(200);
    const tenant = await call('/admin/session', { cookie });
    expect(tenant.status).toBe(200);
    expect(tenant.body).toMatchObject({ tenant: { slug: t.relay.defaultTenant.slug }, csrf_token: csrf });

    const body = { to: '+14155552671', body: 'from the console', from: '+15005550006' };
    const noToken = await call('/v1/messages', { method: 'POST', cookie, body });
    expect(noToken.status).toBe(403);
    expect(noToken.body.error.code).toBe('SMS_ERR_CSRF');
    const wrong = await call('/v1/messages', { method: 'POST', cookie, csrf: csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A'), body });
    expect(wrong.body.error.code).toBe('SMS_ERR_CSRF');
    const otherSession = await signIn();
    expect((await call('/v1/messages', { method: 'POST', cookie, csrf: otherSession.csrf, body })).body.error.code).toBe('SMS_ERR_CSRF');
    expect(await t.relay.db.kysely.selectFrom('messages').select('id').execute()).toHaveLength(0);

    const ok = await call('/v1/messages', { method: 'POST', cookie, csrf, body });
    expect(ok.status).toBe(202);
  });

  it('a garbage or unknown cookie is 401, and a bearer key still works beside a cookie', async () => {
    for (const v of ['nope', 'x'.repeat(5000), '%ZZ', 'ünïcode']) {
      const r = await call('/v1/messages', { cookie: `smsrelay_session=${encodeURIComponent(v)}` });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('SMS_ERR_UNAUTHENTICATED');
    }
    const r = await call('/v1/messages', { cookie: 'smsrelay_session=nope', headers: { authorization: `Bearer ${t.apiKey}` } });
    expect(r.status).toBe(200);
  });

  it('a session acts with its key’s scopes and tenant only', async () => {
    const other = await t.relay.tenants.create({ slug: 'console-other', name: 'Other' });
    const { key } = await t.relay.apiKeys.create(other.id, 'reader', ['messages:read']);
    const { cookie, csrf } = await signIn(key);
    const me = await call('/admin/session', { cookie });
    expect(me.body).toMatchObject({ tenant: { slug: 'console-other' }, scopes: ['messages:read'] });
    expect((await call('/v1/messages', { cookie })).body.data).toEqual([]);
    const send = await call('/v1/messages', { method: 'POST', cookie, csrf, body: { to: '+14155552671', body: 'x' } });
    expect(send.status).toBe(403);
    expect(send.body.error.code).toBe('SMS_ERR_FORBIDDEN');
    // Only a platform key may switch tenant.
    const sw = await call('/v1/messages', { cookie, headers: { 'smsrelay-tenant': t.relay.defaultTenant.slug } });
    expect(sw.body.error.code).toBe('SMS_ERR_TENANT_HEADER_FORBIDDEN');
  });

  it('a platform admin session switches tenant with the Smsrelay-Tenant header', async () => {
    const { key } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'platform', ['admin', 'tenants:admin']);
    const { cookie } = await signIn(key);
    const r = await call('/v1/messages', { cookie, headers: { 'smsrelay-tenant': 'console-other' } });
    expect(r.status).toBe(200);
    expect((await call('/v1/tenants', { cookie })).status).toBe(200);
  });

  it('ends after the idle timeout, and at its absolute lifetime however busy', async () => {
    const idle = await signIn();
    clock.advance((IDLE_MIN - 1) * 60_000);
    expect((await call('/v1/messages', { cookie: idle.cookie })).status).toBe(200);
    clock.advance((IDLE_MIN - 1) * 60_000);
    // Still alive: the last request was less than the idle timeout ago.
    expect((await call('/v1/messages', { cookie: idle.cookie })).status).toBe(200);
    clock.advance(IDLE_MIN * 60_000 + 1);
    const expired = await call('/v1/messages', { cookie: idle.cookie });
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('SMS_ERR_UNAUTHENTICATED');

    const busy = await signIn();
    for (let used = 0; used < MAX_HOURS * 60; used += IDLE_MIN - 5) {
      clock.advance((IDLE_MIN - 5) * 60_000);
      if (used + IDLE_MIN - 5 >= MAX_HOURS * 60) break;
      expect((await call('/v1/messages', { cookie: busy.cookie })).status).toBe(200);
    }
    expect((await call('/v1/messages', { cookie: busy.cookie })).status).toBe(401);
  });

  it('a short idle timeout never ends a session in use', async () => {
    const short = movableClock();
    const relay = await startRelay(
      backend,
      'console-session-short',
      { console: { sessionIdleMs: 60_000, sessionMaxMs: 3_600_000 } },
      { relay: { clock: short }, worker: false },
    );
    try {
      const res = await fetch(`${relay.url}/admin/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: relay.apiKey }),
      });
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      for (let i = 0; i < 4; i++) {
        short.advance(50_000);
        expect((await fetch(`${relay.url}/v1/messages`, { headers: { cookie } })).status).toBe(200);
      }
      short.advance(61_000);
      expect((await fetch(`${relay.url}/v1/messages`, { headers: { cookie } })).status).toBe(401);
    } finally {
      await relay.close();
    }
  });

  it('signing out needs the CSRF token, deletes the session and clears the cookie', async () => {
    const { cookie, csrf } = await signIn();
    const refused = await call('/admin/session', { method: 'DELETE', cookie });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('SMS_ERR_CSRF');
    expect((await call('/v1/messages', { cookie })).status).toBe(200);
    const out = await call('/admin/session', { method: 'DELETE', cookie, csrf });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^smsrelay_session=;.*Expires=Thu, 01 Jan 1970/);
    expect((await call('/v1/messages', { cookie })).status).toBe(401);
    expect((await call('/admin/session', { cookie })).status).toBe(401);
    const audit = await t.api('/v1/audit-log?limit=5');
    expect(audit.body.data.map((e: { action: string }) => e.action).slice(0, 2)).toEqual(['console.sign_out', 'console.sign_in']);
  });

  it('revoking the key ends its sessions', async () => {
    const { key, info } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'short-lived', ['admin']);
    const { cookie } = await signIn(key);
    expect((await call('/v1/messages', { cookie })).status).toBe(200);
    await t.relay.apiKeys.revoke(t.relay.defaultTenant.id, info.id);
    expect((await call('/v1/messages', { cookie })).status).toBe(401);
  });

  it('serves the console page with a strict CSP and its hashed assets with a long cache', async () => {
    const res = await fetch(`${t.url}/admin`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<style>| on[a-z]+=|style="/);
    const src = /src="(\/admin\/assets\/admin-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const href = /href="(\/admin\/assets\/admin-style-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    expect(src).toBeDefined();
    expect(href).toBeDefined();
    for (const p of [src!, href!]) {
      const a = await fetch(t.url + p);
      expect(a.status).toBe(200);
      expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(`${t.url}/admin/assets/..%2Fmanifest.json`)).status).toBe(404);
    expect((await fetch(`${t.url}/admin/assets/nope.js`)).status).toBe(404);
  });
});
