// The read API behind the admin console's pages, over real HTTP on both databases: the messages
// list's category and template filters, the streamed CSV export (same filters, formula-safe
// cells), a tenant's own outbox depth and verification stats (never another tenant's).
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { startRelay, type TestRelay } from './support/relay.js';

/** The export as rows of cells (RFC 4180: quoted cells, doubled quotes, CRLF rows). */
const parseCsv = (text: string): string[][] => parse(text) as string[][];

// Marketing bodies carry the opt-out footer.
const text = (body: string | undefined) => body?.replace(/\nReply STOP to unsubscribe\.$/, '');

describe.each(backends)('console read API on $name', (backend) => {
  let t: TestRelay;
  let keyB: string;
  const asB = (path: string) => t.api(path, { key: keyB });

  beforeAll(async () => {
    // No worker: sent messages stay in the outbox.
    t = await startRelay(backend, 'console-api', {}, { worker: false });
    await t.relay.settings.update(t.relay.defaultTenant.id, { consent_mode: { marketing: 'opt_out' }, recipient_limits: { marketing: null } });
    const b = await t.relay.tenants.create({ slug: 'console-b', name: 'B', fromNumber: '+15005550009' });
    keyB = (await t.relay.apiKeys.create(b.id, 'b', ['admin'])).key;
    expect(
      (await t.api('/v1/templates', { body: { name: 'promo', category: 'marketing', default_locale: 'en', locales: { en: 'Sale {{ code }}' } } })).status,
    ).toBe(201);
    expect((await t.api('/v1/messages', { body: { to: '+14155550601', body: '=HYPERLINK("http://x")', category: 'transactional' } })).status).toBe(202);
    expect((await t.api('/v1/messages', { body: { to: '+14155550602', body: 'plain, "quoted"\nline', category: 'marketing' } })).status).toBe(202);
    for (const code of ['A1', 'B2'])
      expect((await t.api('/v1/messages', { body: { to: '+14155550603', template: { name: 'promo', variables: { code } } } })).status).toBe(202);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('filters the list by category and by template name, newest first, paged by the cursor', async () => {
    const marketing = await t.api('/v1/messages?category=marketing');
    expect(marketing.status).toBe(200);
    expect(marketing.body.data.map((m: { body: string }) => text(m.body))).toEqual(['Sale B2', 'Sale A1', 'plain, "quoted"\nline']);
    expect((await t.api('/v1/messages?category=transactional')).body.data.map((m: { to: string }) => m.to)).toEqual(['+14155550601']);
    const first = await t.api('/v1/messages?template=promo&limit=1');
    expect(first.body.data.map((m: { body: string }) => text(m.body))).toEqual(['Sale B2']);
    const second = await t.api(`/v1/messages?template=promo&limit=1&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((m: { body: string }) => text(m.body))).toEqual(['Sale A1']);
    expect(second.body.next_cursor).toBeNull();
    expect((await t.api('/v1/messages?template=promo&category=transactional')).body.data).toEqual([]);
    expect((await t.api('/v1/messages?template=nope')).body.data).toEqual([]);
    // Another tenant's key never sees these.
    expect((await asB('/v1/messages?template=promo')).body.data).toEqual([]);
  });

  it('refuses a bad category or template with a 400 naming the field', async () => {
    for (const q of ['category=promo', 'template=', `template=${'x'.repeat(65)}`, 'category=otp&category=x']) {
      const r = await t.api(`/v1/messages?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe('SMS_ERR_VALIDATION');
    }
    const csv = await t.api('/v1/messages.csv?category=promo');
    expect(csv.status).toBe(400);
    expect(csv.body.error.code).toBe('SMS_ERR_VALIDATION');
  });

  it('exports CSV with the same filters: header row, quoted cells, formula cells neutralised', async () => {
    const r = await t.api('/v1/messages.csv');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="messages.csv"');
    const rows = parseCsv(r.body as string);
    const header = rows[0]!;
    expect(header).toEqual(expect.arrayContaining(['id', 'created_at', 'to', 'status', 'category', 'template', 'body']));
    const col = (name: string) => header.indexOf(name);
    const data = rows.slice(1);
    expect(data).toHaveLength(4);
    expect(data.map((x) => text(x[col('body')]))).toEqual(['Sale B2', 'Sale A1', 'plain, "quoted"\nline', `'=HYPERLINK("http://x")`]);
    // A phone number stays as it is (it re-imports), though it starts with +.
    expect(data[3]![col('to')]).toBe('+14155550601');
    expect(data[0]![col('template')]).toBe('promo');

    const promo = parseCsv((await t.api('/v1/messages.csv?template=promo&category=marketing')).body as string);
    expect(promo.slice(1).map((x) => text(x[col('body')]))).toEqual(['Sale B2', 'Sale A1']);
    const none = await asB('/v1/messages.csv');
    expect(parseCsv(none.body as string)).toHaveLength(1);
  });

  it('exports more rows than one page, in order, without repeating one', async () => {
    const tenant = t.relay.defaultTenant.id;
    const base = await sqlOf(t.relay).selectFrom('messages').selectAll().where('tenant_id', '=', tenant).limit(1).executeTakeFirstOrThrow();
    // 2,500 rows across three export pages (1,000 each), written directly: the export reads, it does not send.
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      ...base,
      id: `0000bulk-${String(i).padStart(5, '0')}`,
      category: 'otp',
      provider_sid: null,
      idempotency_key: null,
      conversation_id: null,
    }));
    for (let i = 0; i < rows.length; i += 250)
      await sqlOf(t.relay)
        .insertInto('messages')
        .values(rows.slice(i, i + 250))
        .execute();
    const csv = parseCsv((await t.api('/v1/messages.csv?category=otp')).body as string).slice(1);
    expect(csv).toHaveLength(2500);
    const ids = csv.map((x) => x[0]);
    expect(new Set(ids).size).toBe(2500);
    expect(ids[0]).toBe('0000bulk-02499');
    expect(ids.at(-1)).toBe('0000bulk-00000');
    await sqlOf(t.relay).deleteFrom('messages').where('category', '=', 'otp').where('tenant_id', '=', tenant).execute();
  });

  it("shows a tenant its own outbox depth and oldest pending age, never another tenant's", async () => {
    const a = await t.api('/v1/outbox');
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ depth: 4, pending: 4, scheduled: 0 });
    expect(Date.parse(a.body.oldest_pending_at)).toBeLessThanOrEqual(Date.now());
    expect(a.body.oldest_pending_age_seconds).toBeGreaterThanOrEqual(0);

    expect(await asB('/v1/outbox').then((r) => r.body)).toEqual({
      depth: 0,
      pending: 0,
      scheduled: 0,
      oldest_pending_at: null,
      oldest_pending_age_seconds: null,
    });
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    expect((await t.api('/v1/messages', { body: { to: '+14155550604', body: 'later', send_at: sendAt }, key: keyB })).status).toBe(202);
    expect((await t.api('/v1/messages', { body: { to: '+14155550605', body: 'now' }, key: keyB })).status).toBe(202);
    expect((await asB('/v1/outbox')).body).toMatchObject({ depth: 2, pending: 1, scheduled: 1 });
    // A's numbers did not move with B's sends.
    expect((await t.api('/v1/outbox')).body).toMatchObject({ depth: 4, pending: 4, scheduled: 0 });
    // A canceled message leaves the outbox.
    const [first] = (await t.api('/v1/messages?limit=1')).body.data;
    expect((await t.api(`/v1/messages/${first.id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect((await t.api('/v1/outbox')).body).toMatchObject({ depth: 3, pending: 3 });
  });

  it("serves verification stats of the key's own tenant only", async () => {
    const now = Date.now();
    await sqlOf(t.relay)
      .insertInto('verifications')
      .values({
        id: 'v-console-api-1',
        tenant_id: t.relay.defaultTenant.id,
        backend: 'local',
        to_addr: '+447700900801',
        channel: 'sms',
        country: 'GB',
        prefix: '+447700',
        locale: 'en',
        code_length: 6,
        code_hash: null,
        provider_sid: null,
        message_id: null,
        attempts: 0,
        send_count: 1,
        status: 'approved',
        expires_at: now + 600_000,
        created_at: now - 60_000,
        updated_at: now,
        approved_at: now,
      })
      .execute();
    await sqlOf(t.relay)
      .insertInto('verify_blocked_prefixes')
      .values({ tenant_id: t.relay.defaultTenant.id, prefix: '+882355', blocked_until: now + 3_600_000, started: 40, approved: 1, created_at: now })
      .execute();
    const a = (await t.api('/v1/verifications/stats')).body;
    expect(a.total).toEqual({ started: 1, approved: 1, conversion: 1 });
    expect(a.countries).toEqual([{ country: 'GB', started: 1, approved: 1, conversion: 1 }]);
    expect(a.blocked_prefixes.map((b: { prefix: string }) => b.prefix)).toEqual(['+882355']);
    const b = (await asB('/v1/verifications/stats')).body;
    expect(b.total).toEqual({ started: 0, approved: 0, conversion: null });
    expect(b.countries).toEqual([]);
    expect(b.prefixes).toEqual([]);
    expect(b.blocked_prefixes).toEqual([]);
  });
});
