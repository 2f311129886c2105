// The tenant settings document: validated as a whole, stored values over the environment's
// defaults, read by every feature through one service (auto-reply here), on both databases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import { createLogger, createSmsRelay, type SmsRelay } from '../src/main.js';
import { backends } from './support/backends.js';

describe.each(backends)('tenant settings on $name', (backend) => {
  let db: Awaited<ReturnType<typeof backend.create>>;
  let relay: SmsRelay;
  let other: SmsRelay;

  beforeAll(async () => {
    db = await backend.create('settings');
    const base = { host: '127.0.0.1', port: 0, databaseUrl: db.url, logLevel: 'silent' };
    relay = await createSmsRelay(
      { ...base, twilio: { fromNumber: '+15005550006' }, inbound: { autoReply: 'From the env' } },
      { schema: db.schema, logger: createLogger('silent') },
    );
    other = await createSmsRelay(
      { ...base, twilio: { fromNumber: '+15005550006' }, inbound: { autoReply: 'Another env' } },
      { schema: db.schema, logger: createLogger('silent') },
    );
  });
  afterAll(async () => {
    await other?.close();
    await relay?.close();
    await db?.drop();
  });

  it('defaults come from each process environment, for the default tenant only', async () => {
    const s = await relay.settings.get(relay.defaultTenant.id);
    expect(s).toMatchObject({ from_number: '+15005550006', auto_reply: 'From the env', default_region: 'US', keyword_replies: 'provider' });
    expect((await other.settings.get(relay.defaultTenant.id)).auto_reply).toBe('Another env');
    const t = await relay.tenants.create({ slug: 'acme', name: 'Acme' });
    expect(await relay.settings.get(t.id)).toMatchObject({ from_number: null, auto_reply: null, default_region: 'US' });
  });

  it('a bad patch names every bad field and saves nothing', async () => {
    const before = await relay.settings.get(relay.defaultTenant.id);
    const err = await relay.settings
      .update(relay.defaultTenant.id, { auto_reply: 'ok', default_region: 'usa', whatsapp_from: 'nope', verify_bogus: 1 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('SMS_ERR_VALIDATION');
    expect(err.details.map((d: { field: string }) => d.field).sort()).toEqual(['default_region', 'verify_bogus', 'whatsapp_from']);
    relay.settings.invalidate();
    expect(await relay.settings.get(relay.defaultTenant.id)).toEqual(before);
  });

  it('stored values win over every process environment; inbound replies with the stored auto-reply', async () => {
    await relay.settings.update(relay.defaultTenant.id, { auto_reply: 'Stored reply', keywords: { help: ['AIDE'] } });
    expect((await relay.settings.get(relay.defaultTenant.id)).auto_reply).toBe('Stored reply');
    other.settings.invalidate(); // another process sees it once its short cache expires
    expect(await other.settings.get(relay.defaultTenant.id)).toMatchObject({ auto_reply: 'Stored reply', keywords: { help: ['AIDE'] } });
    const url = await relay.listen();
    // The embedded emulator's handset texts in; the relay's TwiML answer lands in its thread.
    const r = await fetch(`${url}/emulator/api/handsets/%2B14155550100/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: '+15005550006', body: 'hello' }),
    });
    expect(r.status).toBeLessThan(300);
    const deadline = Date.now() + 5000;
    let thread: string[] = [];
    while (Date.now() < deadline) {
      const t = (await (await fetch(`${url}/emulator/api/messages?to=%2B14155550100`)).json()) as { messages?: { body: string }[] };
      thread = (t.messages ?? []).map((m) => m.body);
      if (thread.includes('Stored reply')) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(thread).toContain('Stored reply');
  });

  it('concurrent patches of different keys both land', async () => {
    const t = await relay.tenants.create({ slug: 'race', name: 'Race' });
    // better-sqlite3 waits for a lock synchronously, so two SQLite relays in one test process would
    // block each other's event loop: there the patches race inside one relay, on PostgreSQL across two.
    const second = backend.name === 'postgres' ? other : relay;
    await Promise.all([
      relay.settings.update(t.id, { auto_reply: 'A' }),
      second.settings.update(t.id, { default_region: 'MX' }),
      relay.settings.update(t.id, { replies: { help: 'H' } }),
    ]);
    relay.settings.invalidate(t.id);
    expect(await relay.settings.get(t.id)).toMatchObject({ auto_reply: 'A', default_region: 'MX', replies: { help: 'H' } });
  });
});
