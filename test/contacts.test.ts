// Contacts over HTTP: create/replace/read/delete by number, validation naming the field, list
// filters and cursor, and tenant isolation (another tenant's key never reads or changes them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { startRelay, type TestRelay } from './support/relay.js';

describe.each(backends)('contacts on $name', (backend) => {
  let t: TestRelay;
  const path = (p: string) => `/v1/contacts/${encodeURIComponent(p)}`;

  beforeAll(async () => {
    t = await startRelay(backend, 'contacts', {}, { worker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates, reads, replaces and deletes a contact by number', async () => {
    const body = { name: 'Zoë Ünicode', locale: 'pt-br', time_zone: 'America/Sao_Paulo', external_ref: 'lead:42', fields: { plan: 'gold', visits: 3 } };
    const created = await t.api(path('(415) 555-0142'), { method: 'PUT', body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      phone: '+14155550142',
      name: 'Zoë Ünicode',
      locale: 'pt-BR',
      time_zone: 'America/Sao_Paulo',
      external_ref: 'lead:42',
      fields: { plan: 'gold', visits: 3 },
    });
    expect((await t.api(path('+14155550142'))).body).toEqual(created.body);
    // The profile other features read.
    expect(await t.relay.data.contacts.get(t.relay.defaultTenant.id, '+14155550142')).toEqual({
      locale: 'pt-BR',
      timezone: 'America/Sao_Paulo',
      fields: { plan: 'gold', visits: 3 },
    });
    const replaced = await t.api(path('+14155550142'), { method: 'PUT', body: { name: 'Zoe' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'Zoe', locale: null, external_ref: null, fields: {}, created_at: created.body.created_at });
    expect((await t.api(path('+14155550142'), { method: 'DELETE' })).status).toBe(204);
    expect((await t.api(path('+14155550142'))).status).toBe(404);
    expect((await t.api(path('+14155550142'), { method: 'DELETE' })).status).toBe(404);
    expect(await t.relay.data.contacts.get(t.relay.defaultTenant.id, '+14155550142')).toBeNull();
  });

  it('rejects bad input with a 400 naming the field, and stores nothing', async () => {
    const cases: [string, unknown, string][] = [
      ['+14155550143', { locale: 'not a locale!' }, 'locale'],
      ['+14155550143', { time_zone: 'Mars/Olympus' }, 'time_zone'],
      ['+14155550143', { fields: { big: 'x'.repeat(9000) } }, 'fields'],
      ['+14155550143', { fields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, 'fields'],
      ['+14155550143', { fields: 'nope' }, 'fields'],
      ['+14155550143', { name: 'x'.repeat(201) }, 'name'],
      ['+14155550143', { colour: 'red' }, 'colour'],
      ['not-a-number', { name: 'x' }, 'phone'],
    ];
    for (const [phone, body, field] of cases) {
      const r = await t.api(path(phone), { method: 'PUT', body });
      expect(r.status, field).toBe(400);
      const fields = Array.isArray(r.body.error.details) ? r.body.error.details.map((d: any) => d.field) : [r.body.error.details.field];
      expect(fields, JSON.stringify(r.body)).toContain(field);
    }
    expect((await t.api(path('+14155550143'))).status).toBe(404);
  });

  it('lists by number with filters and a cursor', async () => {
    for (let i = 0; i < 5; i++) {
      await t.api(path(`+1415555020${i}`), { method: 'PUT', body: { name: i % 2 ? `Ann ${i}` : `Bob ${i}`, external_ref: i < 2 ? 'firm:7' : null } });
    }
    const byRef = await t.api('/v1/contacts?external_ref=firm%3A7');
    expect(byRef.body.data.map((c: any) => c.phone)).toEqual(['+14155550200', '+14155550201']);
    const byName = await t.api('/v1/contacts?q=ann');
    expect(byName.body.data.map((c: any) => c.name)).toEqual(['Ann 1', 'Ann 3']);
    // LIKE wildcards are literal.
    expect((await t.api('/v1/contacts?q=%25')).body.data).toEqual([]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: any = await t.api(`/v1/contacts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.data.map((c: any) => c.phone));
      cursor = r.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['+14155550200', '+14155550201', '+14155550202', '+14155550203', '+14155550204']);
    expect((await t.api('/v1/contacts?cursor=%%%')).status).toBe(400);
  });

  it("never shows or changes another tenant's contacts", async () => {
    await t.api(path('+14155550300'), { method: 'PUT', body: { name: 'Mine' } });
    const other = await t.relay.tenants.create({ slug: `c-${backend.name}`, name: 'Other' });
    const { key } = await t.relay.apiKeys.create(other.id, 'contacts', ['contacts:read', 'contacts:write']);
    expect((await t.api(path('+14155550300'), { key })).status).toBe(404);
    expect((await t.api('/v1/contacts', { key })).body.data).toEqual([]);
    expect((await t.api(path('+14155550300'), { method: 'DELETE', key })).status).toBe(404);
    const theirs = await t.api(path('+14155550300'), { method: 'PUT', key, body: { name: 'Theirs' } });
    expect(theirs.status).toBe(201);
    expect((await t.api(path('+14155550300'))).body.name).toBe('Mine');
    const { key: readOnly } = await t.relay.apiKeys.create(other.id, 'ro', ['contacts:read']);
    expect((await t.api(path('+14155550300'), { method: 'PUT', key: readOnly, body: {} })).status).toBe(403);
    expect((await t.api(path('+14155550300'), { key: readOnly })).body.name).toBe('Theirs');
  });
});
