// Templates over real HTTP on both databases: immutable versions, LiquidJS in strict mode with its
// limits, locale fallback, template sends delivered to the emulator's handset, previews, and the
// body policy (smart encoding, segment limits, the marketing opt-out footer).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const greeting = {
  name: 'greeting',
  category: 'transactional',
  default_locale: 'en',
  locales: { en: 'Hi {{ name }}, your order {{ order | upcase }} ships today.', es: 'Hola {{ name }}, tu pedido {{ order | upcase }} sale hoy.' },
};

describe.each(backends)('templates on $name', (backend) => {
  let t: TestRelay;
  let keyB: string;

  beforeAll(async () => {
    t = await startRelay(backend, 'templates');
    // Marketing sends here test bodies, not consent (opt-in by default) or the per-recipient limit.
    await t.relay.settings.update(t.relay.defaultTenant.id, { consent_mode: { marketing: 'opt_out' }, recipient_limits: { marketing: null } });
    const b = await t.relay.tenants.create({ slug: 'tpl-b', name: 'B', fromNumber: '+15005550009' });
    keyB = (await t.relay.apiKeys.create(b.id, 'b', ['admin'])).key;
  });
  afterAll(async () => {
    await t?.close();
  });
  const versionRows = async (name: string) =>
    (await sqlOf(t.relay).selectFrom('template_versions').select('version').where('name', '=', name).execute()).length;
  const messagesTo = async (to: string) => (await sqlOf(t.relay).selectFrom('messages').select('id').where('to_addr', '=', to).execute()).length;

  it('create, read, list, replace (new immutable version), versions, soft delete', async () => {
    const c = await t.api('/v1/templates', { body: greeting });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ name: 'greeting', version: 1, category: 'transactional', default_locale: 'en', smart_encoding: null });
    expect((await t.api('/v1/templates', { body: greeting })).body.error.code).toBe('SMS_ERR_TEMPLATE_EXISTS');

    const put = await t.api('/v1/templates/greeting', {
      method: 'PUT',
      body: { ...greeting, name: undefined, locales: { ...greeting.locales, en: 'Hello {{ name }}: order {{ order }}.' } },
    });
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(2);
    expect((await t.api('/v1/templates/greeting')).body.locales.en).toBe('Hello {{ name }}: order {{ order }}.');
    const versions = (await t.api('/v1/templates/greeting/versions')).body.data;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions[1].locales.en).toBe(greeting.locales.en); // version 1 unchanged
    const paged = await t.api('/v1/templates/greeting/versions?limit=1');
    expect(paged.body.data[0].version).toBe(2);
    expect((await t.api(`/v1/templates/greeting/versions?limit=1&cursor=${paged.body.next_cursor}`)).body.data[0].version).toBe(1);

    await t.api('/v1/templates', { body: { ...greeting, name: 'zz-last' } });
    const list = await t.api('/v1/templates?limit=1');
    expect(list.body.data[0].name).toBe('greeting');
    expect((await t.api(`/v1/templates?cursor=${list.body.next_cursor}`)).body.data.map((x: { name: string }) => x.name)).toEqual(['zz-last']);

    expect((await t.api('/v1/templates/zz-last', { method: 'DELETE' })).status).toBe(204);
    expect((await t.api('/v1/templates/zz-last')).status).toBe(404);
    expect((await t.api('/v1/templates/zz-last', { method: 'DELETE' })).status).toBe(404);
    expect(await versionRows('zz-last')).toBe(1); // kept for messages
    const again = await t.api('/v1/templates', { body: { ...greeting, name: 'zz-last' } });
    expect(again.body.version).toBe(2); // numbers continue: (name, version) stays unambiguous
  });

  it('concurrent writes: one create wins, parallel replacements get distinct consecutive versions', async () => {
    const creates = await Promise.all([1, 2, 3, 4].map(() => t.api('/v1/templates', { body: { ...greeting, name: 'race' } })));
    expect(creates.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    const puts = await Promise.all([1, 2, 3, 4, 5].map((i) => t.api('/v1/templates/race', { method: 'PUT', body: { locales: { en: `v{{ x }} ${i}` } } })));
    expect(puts.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(puts.map((r) => r.body.version).sort()).toEqual([2, 3, 4, 5, 6]);
    expect(await versionRows('race')).toBe(6);
  });

  it('strict mode: unknown variable, unknown filter and syntax errors are 422s naming them, nothing saved', async () => {
    const syntax = await t.api('/v1/templates', { body: { name: 'broken', locales: { en: 'ok {{ name }}', 'es-MX': 'Hola {% if x %} sin cerrar' } } });
    expect(syntax.status).toBe(422);
    expect(syntax.body.error).toMatchObject({ code: 'SMS_ERR_TEMPLATE_SYNTAX', details: { field: 'locales.es-MX', locale: 'es-MX', line: 1, column: 6 } });
    const filter = await t.api('/v1/templates', { body: { name: 'broken', locales: { en: 'Hi {{ name | shout }}' } } });
    expect(filter.body.error).toMatchObject({ code: 'SMS_ERR_TEMPLATE_UNKNOWN_FILTER', details: { filter: 'shout', locale: 'en' } });
    // File access and unsafe filters are not there at all.
    expect((await t.api('/v1/templates', { body: { name: 'broken', locales: { en: '{% include "/etc/passwd" %}' } } })).body.error.code).toBe(
      'SMS_ERR_TEMPLATE_SYNTAX',
    );
    expect((await t.api('/v1/templates', { body: { name: 'broken', locales: { en: '{{ name | sha256 }}' } } })).body.error.code).toBe(
      'SMS_ERR_TEMPLATE_UNKNOWN_FILTER',
    );
    expect((await t.api('/v1/templates/broken')).status).toBe(404);

    const v = await t.api('/v1/messages', { body: { to: '+14155550401', template: { name: 'greeting', variables: { name: 'Ana' } } } });
    expect(v.status).toBe(422);
    expect(v.body.error).toMatchObject({ code: 'SMS_ERR_TEMPLATE_UNKNOWN_VARIABLE', details: { variable: 'order', field: 'template.variables' } });
    expect(await messagesTo('+14155550401')).toBe(0);
  });

  it('limits: a loop over a huge range is a 422, and the relay keeps serving', async () => {
    await t.api('/v1/templates', { body: { name: 'loop', locales: { en: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' } } });
    const r = await t.api('/v1/templates/loop/preview', { body: { variables: {} } });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('SMS_ERR_TEMPLATE_LIMIT');
    // A range that fits in memory but renders too often hits the render limits instead.
    await t.api('/v1/templates', { body: { name: 'many', locales: { en: '{% for i in (1..200000) %}{% if i == 0 %}{{ i }}{% endif %}{% endfor %}' } } });
    const many = await t.api('/v1/messages', { body: { to: '+14155550402', template: { name: 'many' } } });
    expect(many.status).toBe(422);
    expect(many.body.error).toMatchObject({ code: 'SMS_ERR_TEMPLATE_LIMIT', details: { field: 'template', template: 'many' } });
    // The doubling-array attack of LiquidJS's DoS page needs concat, which is not an allowed filter.
    const doubling = '{% assign a = "1,2" | split: "," %}{% for i in (1..40) %}{% assign a = a | concat: a %}{% endfor %}x';
    expect((await t.api('/v1/templates', { body: { name: 'doubling', locales: { en: doubling } } })).body.error.code).toBe('SMS_ERR_TEMPLATE_UNKNOWN_FILTER');
    // A long output is bounded by the body limit.
    await t.api('/v1/templates', { body: { name: 'wide', locales: { en: '{% for i in (1..500) %}xxxxxxxxxx{% endfor %}' } } });
    const wide = await t.api('/v1/messages', { body: { to: '+14155550402', template: { name: 'wide' } } });
    expect(wide.body.error.code).toBe('SMS_ERR_BODY_TOO_LONG');
    expect((await t.api('/v1/templates/greeting')).status).toBe(200);
  });

  it('sends with a template: locale fallback, category, name and version recorded, rendered text delivered', async () => {
    const to = '+14155550403';
    const r = await t.api('/v1/messages', {
      body: { to, template: { name: 'greeting', locale: 'es-MX', variables: { name: 'Ana', order: 'a-17' } } },
      headers: { 'idempotency-key': 'tpl-1' },
    });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ body: 'Hola Ana, tu pedido A-17 sale hoy.', template: { name: 'greeting', version: 2 }, category: 'transactional' });
    const replay = await t.api('/v1/messages', {
      body: { to, template: { name: 'greeting', locale: 'es-MX', variables: { name: 'Ana', order: 'a-17' } } },
      headers: { 'idempotency-key': 'tpl-1' },
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(JSON.stringify(replay.body)).toBe(JSON.stringify(r.body));
    const other = await t.api('/v1/messages', {
      body: { to, template: { name: 'greeting', locale: 'es-MX', variables: { name: 'Bea', order: 'a-17' } } },
      headers: { 'idempotency-key': 'tpl-1' },
    });
    expect(other.body.error.code).toBe('SMS_ERR_IDEMPOTENCY_MISMATCH');
    await waitFor(() => t.relay.emulator!.messages({ to }).some((m) => m.body === 'Hola Ana, tu pedido A-17 sale hoy.'));

    // No es: the request's locale, then the template default.
    const fr = await t.api('/v1/messages', { body: { to, locale: 'fr-CA', template: { name: 'greeting', variables: { name: 'Al', order: 1 } } } });
    expect(fr.body.body).toBe('Hello Al: order 1.');
    const viaRequest = await t.api('/v1/messages', { body: { to, locale: 'es-AR', template: { name: 'greeting', variables: { name: 'Al', order: 1 } } } });
    expect(viaRequest.body.body).toMatch(/^Hola Al/);
    // Without a locale on the request, the stored contact's locale picks the text.
    const contact = '+14155550409';
    expect((await t.api(`/v1/contacts/${encodeURIComponent(contact)}`, { method: 'PUT', body: { locale: 'es-MX' } })).status).toBeLessThan(300);
    const viaContact = await t.api('/v1/messages', { body: { to: contact, template: { name: 'greeting', variables: { name: 'Al', order: 1 } } } });
    expect(viaContact.body.body).toMatch(/^Hola Al/);

    // The template's category applies unless the request sets one.
    await t.api('/v1/templates', { body: { name: 'promo', category: 'marketing', locales: { en: 'Sale: {{ pct }}% off' } } });
    const promo = await t.api('/v1/messages', { body: { to, template: { name: 'promo', variables: { pct: 20 } } } });
    expect(promo.body).toMatchObject({ category: 'marketing', body: 'Sale: 20% off\nReply STOP to unsubscribe.' });
    const asTx = await t.api('/v1/messages', { body: { to, category: 'transactional', template: { name: 'promo', variables: { pct: 20 } } } });
    expect(asTx.body).toMatchObject({ category: 'transactional', body: 'Sale: 20% off' });
  });

  it('bad input: body and template, unknown template, wrong types, unicode names, huge variables', async () => {
    const to = '+14155550404';
    const both = await t.api('/v1/messages', { body: { to, body: 'x', template: { name: 'greeting', variables: {} } } });
    expect(both.status).toBe(422);
    expect(both.body.error).toMatchObject({ code: 'SMS_ERR_BODY_AND_TEMPLATE', details: { field: 'template' } });
    const unknown = await t.api('/v1/messages', { body: { to, template: { name: 'nope', variables: {} } } });
    expect(unknown.body.error).toMatchObject({ code: 'SMS_ERR_UNKNOWN_TEMPLATE', details: { field: 'template.name' } });
    expect((await t.api('/v1/messages', { body: { to, template: { name: 'greeting', variables: [] } } })).status).toBe(400);
    expect(
      (await t.api('/v1/messages', { body: { to, template: { name: 'greeting', locale: 'no such tag!', variables: {} } } })).body.error.details.field,
    ).toBe('template.locale');
    const huge = await t.api('/v1/messages', { body: { to, template: { name: 'greeting', variables: { name: 'x'.repeat(20_000), order: 1 } } } });
    expect(huge.body.error.details.field).toBe('template.variables');
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: 'ok' }, 'locales'],
      [{ name: 'Ünïcode', locales: { en: 'x' } }, 'name'],
      [{ name: 'x'.repeat(65), locales: { en: 'x' } }, 'name'],
      [{ name: 'ok', locales: {} }, 'locales'],
      [{ name: 'ok', locales: { 'english!': 'x' } }, 'locales.english!'],
      [{ name: 'ok', locales: { en: '' } }, 'locales.en'],
      [{ name: 'ok', locales: { en: 'x'.repeat(5001) } }, 'locales.en'],
      [{ name: 'ok', locales: { en: 'x' }, default_locale: 'es' }, 'default_locale'],
      [{ name: 'ok', locales: { en: 'x', EN: 'y' } }, 'locales.EN'],
      [{ name: 'ok', locales: { en: 5 } }, 'locales.en'],
      [{ name: 'ok', locales: { en: 'x' }, category: 'otp' }, 'category'],
    ] as const) {
      const r = await t.api('/v1/templates', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    expect((await t.api(`/v1/templates/${encodeURIComponent('Ünï')}`)).status).toBe(404);
    expect((await t.api('/v1/templates', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });

  it('BOLA and scopes: another tenant never sees or changes a template; templates:* scopes guard the routes', async () => {
    for (const [method, path] of [
      ['GET', '/v1/templates/greeting'],
      ['GET', '/v1/templates/greeting/versions'],
      ['PUT', '/v1/templates/greeting'],
      ['DELETE', '/v1/templates/greeting'],
      ['POST', '/v1/templates/greeting/preview'],
    ]) {
      const r = await t.api(path, { method, key: keyB, body: method === 'PUT' ? greeting : method === 'POST' ? {} : undefined });
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect((await t.api('/v1/templates', { key: keyB })).body.data).toEqual([]);
    const send = await t.api('/v1/messages', { key: keyB, body: { to: '+14155550405', template: { name: 'greeting', variables: { name: 'x', order: 1 } } } });
    expect(send.body.error.code).toBe('SMS_ERR_UNKNOWN_TEMPLATE');
    // B's own template of the same name is its own.
    expect((await t.api('/v1/templates', { key: keyB, body: { ...greeting, locales: { en: 'B {{ name }}' } } })).body.version).toBe(1);
    expect((await t.api('/v1/templates/greeting')).body.version).toBe(2);

    const { key: reader } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'reader', ['templates:read', 'messages:read']);
    expect((await t.api('/v1/templates/greeting', { key: reader })).status).toBe(200);
    expect((await t.api('/v1/templates', { key: reader, body: { ...greeting, name: 'r' } })).status).toBe(403);
    const { key: sender } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'sender', ['messages:write']);
    expect((await t.api('/v1/templates', { key: sender })).status).toBe(403);
  });

  it('previews: UCS-2 culprits with positions, the smart-encoded alternative, price by country, footer, warnings', async () => {
    await t.api('/v1/templates', { body: { name: 'curly', category: 'marketing', locales: { en: '“{{ who }}” — it’s here… see http://x.example for more' } } });
    const us = await t.api('/v1/templates/curly/preview', { body: { variables: { who: 'Ana' }, to: '+14155550406' } });
    expect(us.status).toBe(200);
    const text = '“Ana” — it’s here… see http://x.example for more';
    expect(us.body).toMatchObject({ template: { name: 'curly', version: 1, locale: 'en' }, text, encoding: 'UCS-2', segments: 1 });
    expect(us.body.ucs2_characters).toEqual([
      { char: '“', index: 0, code_point: 'U+201C' },
      { char: '”', index: 4, code_point: 'U+201D' },
      { char: '—', index: 6, code_point: 'U+2014' },
      { char: '’', index: 10, code_point: 'U+2019' },
      { char: '…', index: 17, code_point: 'U+2026' },
    ]);
    expect(us.body.smart_encoded).toEqual({ text: '"Ana" - it\'s here... see http://x.example for more', segments: 1, encoding: 'GSM-7', changed: true });
    expect(us.body.send).toMatchObject({ footer: 'Reply STOP to unsubscribe.', footer_applied: true, segments: 2, encoding: 'UCS-2', smart_encoding: false });
    expect(us.body.price).toEqual({ amount: '0.0166', unit: 'USD', rate_country: 'US', country: 'US' });
    expect(us.body.warnings.join(' ')).toMatch(/2 segments.*http:\/\//);
    const gb = await t.api('/v1/templates/curly/preview', { body: { variables: { who: 'Ana' }, to: '+447400123456' } });
    expect(gb.body.price).toMatchObject({ amount: '0.1000', rate_country: '*', country: 'GB' });

    const raw = await t.api('/v1/messages/preview', { body: { body: 'Plain text, no footer needed' } });
    expect(raw.body).toMatchObject({ encoding: 'GSM-7', segments: 1, ucs2_characters: [], warnings: [], send: { footer: null } });
    const mk = await t.api('/v1/messages/preview', { body: { body: 'x'.repeat(500), category: 'marketing' } });
    expect(mk.body.send.error.code).toBe('SMS_ERR_TOO_MANY_SEGMENTS');
    expect(mk.body.warnings.join(' ')).toMatch(/opt-out language/);
    expect((await t.api('/v1/messages/preview', { body: { body: '' } })).status).toBe(400);
  });

  it('settings: smart encoding per tenant (a template overrides), segment limits reject or truncate, footer refusal', async () => {
    const tenant = t.relay.defaultTenant.id;
    const to = '+14155550407';
    await t.api('/v1/templates', { body: { name: 'quote', locales: { en: 'It’s {{ x }}' } } });
    await t.relay.settings.update(tenant, { smart_encoding: true });
    const smart = await t.api('/v1/messages', { body: { to, template: { name: 'quote', variables: { x: 'on' } } } });
    expect(smart.body).toMatchObject({ body: "It's on", encoding: 'GSM-7' });
    await t.api('/v1/templates/quote', { method: 'PUT', body: { locales: { en: 'It’s {{ x }}' }, smart_encoding: false } });
    expect((await t.api('/v1/messages', { body: { to, template: { name: 'quote', variables: { x: 'on' } } } })).body.body).toBe('It’s on');

    await t.relay.settings.update(tenant, { max_segments: { transactional: 2 } });
    const tooLong = await t.api('/v1/messages', { body: { to, body: 'x'.repeat(400) } });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error).toMatchObject({ code: 'SMS_ERR_TOO_MANY_SEGMENTS', details: { segments: 3, max_segments: 2 } });
    expect((await t.relay.settings.get(tenant)).max_segments).toEqual({ transactional: 2, marketing: 3, otp: 2 });

    await t.relay.settings.update(tenant, { on_too_long: { transactional: 'truncate' } });
    const cut = await t.api('/v1/messages', { body: { to, body: `${'x'.repeat(305)}€€` } });
    expect(cut.status).toBe(202);
    expect(cut.body).toMatchObject({ body: 'x'.repeat(306 - 1), segments: 2, truncated_from: 307 });
    expect((await t.api(`/v1/messages/${cut.body.id}`)).body.truncated_from).toBe(307);
    await waitFor(() => t.relay.emulator!.messages({ to }).some((m) => m.body === 'x'.repeat(305)));

    await t.relay.settings.update(tenant, {
      max_segments: { marketing: 1 },
      footer_when_no_room: 'refuse',
      opt_out_footer: { en: 'STOP to end', es: 'STOP para salir' },
    });
    const refused = await t.api('/v1/messages', { body: { to, body: 'y'.repeat(150), category: 'marketing' } });
    expect(refused.body.error.code).toBe('SMS_ERR_FOOTER_NO_ROOM');
    const es = await t.api('/v1/messages', { body: { to, body: 'Oferta', category: 'marketing', locale: 'es-MX' } });
    expect(es.body.body).toBe('Oferta\nSTOP para salir');

    const badSettings = await t.relay.settings
      .update(tenant, {
        max_segments: { promo: 2 },
        on_too_long: { marketing: 'cut' },
        opt_out_footer: { 'en-us': 'x' },
        footer_when_no_room: 'maybe',
        smart_encoding: 'yes',
      })
      .catch((e) => e);
    expect(badSettings.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'footer_when_no_room',
      'max_segments',
      'on_too_long.marketing',
      'opt_out_footer',
      'smart_encoding',
    ]);
    await t.relay.settings.update(tenant, { smart_encoding: false, max_segments: {}, on_too_long: {}, footer_when_no_room: 'send' });
  });
});
