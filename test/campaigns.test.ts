// Campaigns end to end over real HTTP against the emulator, on both databases: a streamed 2,000-row
// CSV with bad rows, duplicates and opted-out numbers; a STOP mid-campaign; pause, resume and
// cancel; quiet hours holding part of the audience by time zone; tenant isolation and bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/ports.js';
import { sqlOf } from './support/db.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const OURS = '+15005550006';
/** A valid San Francisco mobile-format number, distinct per i (< 100,000). */
const num = (i: number) => `+1415${String(2_000_000 + i).padStart(7, '0')}`;

describe.each(backends)('campaigns on $name', (backend) => {
  let t: TestRelay;
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  const setNow = (iso: string) => {
    offset = Date.parse(iso) - Date.now();
  };
  const upload = (id: string, text: string, type = 'text/csv', key?: string) =>
    t.api(`/v1/campaigns/${id}/recipients`, { method: 'POST', rawBody: text, headers: { 'content-type': type }, key });
  const create = async (body: Record<string, unknown>, key?: string) => {
    const r = await t.api('/v1/campaigns', { body, key });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; status: string };
  };
  const get = async (id: string) => (await t.api(`/v1/campaigns/${id}`)).body;
  const act = (id: string, action: string, key?: string) => t.api(`/v1/campaigns/${id}/${action}`, { method: 'POST', key });
  const received = (to: string, body?: string) =>
    t.relay.emulator!.messages({ to }).filter((m) => m.source === 'api' && (body === undefined || m.body.startsWith(body)));
  const done = (id: string, timeoutMs = 60_000) =>
    waitFor(
      async () => {
        const c = await get(id);
        return c.status === 'completed' || c.status === 'canceled' ? c : null;
      },
      timeoutMs,
      100,
    );

  beforeAll(async () => {
    t = await startRelay(backend, 'campaigns', { worker: { concurrency: 8 } }, { relay: { clock } });
    await t.relay.settings.update(t.relay.defaultTenant.id, {
      consent_mode: { marketing: 'opt_out' },
      recipient_limits: { marketing: null },
      allowed_countries: ['*'],
    });
    // Noon in New York, 09:00 in San Francisco: inside the marketing window on both coasts.
    setNow('2025-06-10T12:00:00-04:00');
    const tpl = await t.api('/v1/templates', { body: { name: 'promo', category: 'marketing', locales: { en: 'Hi {{ name }}, {{ offer }} today only' } } });
    expect(tpl.status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a 2,000-row CSV: exact counts of valid, invalid (row and reason), duplicate and opted-out rows; each valid consenting number gets exactly one message', async () => {
    const c = await create({ name: 'June sale', template: 'promo' });
    expect(c.status).toBe('draft');
    expect((await get(c.id)).variables).toEqual(['name', 'offer']);
    // 50 numbers opted out before the upload.
    for (let i = 1650; i < 1700; i++) expect((await t.api('/v1/consents', { body: { phone: num(i), action: 'opt_out' } })).status).toBe(200);
    const lines = ['phone,name,offer'];
    const invalidRows: number[] = [];
    for (let i = 0; i < 1700; i++) lines.push(`${num(i)},Ann ${i},"10% off, free ""gift"""`);
    for (let i = 0; i < 100; i++) {
      invalidRows.push(lines.length);
      if (i % 4 === 0)
        lines.push(`12345${i},Bob,x`); // not a phone number
      else if (i % 4 === 1)
        lines.push(`${num(5000 + i)},,x`); // a template variable is empty
      else if (i % 4 === 2)
        lines.push(`${num(5000 + i)},Bob`); // a field short
      else lines.push(`hello world,Bob,x`);
    }
    // 200 duplicates, half of them written in national format (the same number once normalized).
    for (let i = 0; i < 200; i++) lines.push(i % 2 ? `${num(i)},Dup,y` : `(415) ${num(i).slice(5, 8)}-${num(i).slice(8)},Dup,y`);
    expect(lines.length).toBe(2001);
    const r = await upload(c.id, `${lines.join('\r\n')}\r\n`);
    expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200);
    expect(r.body).toMatchObject({ rows: 2000, accepted: 1650, invalid: 100, duplicates: 200, suppressed: 50 });
    expect(r.body.errors).toHaveLength(100);
    expect(r.body.errors.map((e: { row: number }) => e.row)).toEqual(invalidRows);
    expect(r.body.errors[0]).toMatchObject({ row: 1701, code: 'SMS_ERR_INVALID_PHONE' });
    expect(r.body.errors[1]).toMatchObject({ row: 1702, code: 'SMS_ERR_TEMPLATE_UNKNOWN_VARIABLE' });
    // The invalid rows stay listable, with their reasons.
    const inv = await t.api(`/v1/campaigns/${c.id}/recipients?status=invalid&limit=1000`);
    expect(inv.body.data).toHaveLength(100);
    expect(inv.body.data[2]).toMatchObject({ row: 1703, status: 'invalid', error_code: 'SMS_ERR_VALIDATION' });

    const est = await t.api(`/v1/campaigns/${c.id}/estimate`, { method: 'POST' });
    expect(est.status).toBe(200);
    expect(est.body).toMatchObject({ valid: 1650, invalid: 100, duplicates: 200, suppressed: 50, segments: 1, held_by_quiet_hours_now: 0 });
    // The same price source as previews: US $0.0083 per segment.
    expect(est.body.cost).toMatchObject({ amount: (1650 * 0.0083).toFixed(4), unit: 'USD', by_country: { US: { recipients: 1650 } } });

    const s = await act(c.id, 'start');
    expect(s.status).toBe(200);
    expect(s.body.status).toBe('running');
    const end = await done(c.id, 120_000);
    expect(end.status).toBe('completed');
    expect(end.counts).toMatchObject({ pending: 0, held: 0, invalid: 100, suppressed: 50, failed: 0, canceled: 0 });
    expect(end.counts.sent + end.counts.delivered).toBe(1650);
    for (let i = 0; i < 1700; i++) expect(received(num(i), 'Hi ').length, `number ${i}`).toBe(i < 1650 ? 1 : 0);
    expect(received(num(0))[0]!.body).toMatch(/^Hi Ann 0, 10% off, free "gift" today only/);
    // The host application hears of it once, with the final counts.
    const completed = (await t.api('/v1/events?type=campaign.completed&limit=200')).body.data.filter((e: any) => e.data.id === c.id);
    expect(completed).toHaveLength(1);
    expect(completed[0].data).toMatchObject({ status: 'completed', total: end.total, counts: { invalid: 100, suppressed: 50, pending: 0 } });
    // Each message is an ordinary message linked to its campaign.
    const linked = await sqlOf(t.relay).selectFrom('messages').select(['id', 'campaign_id']).where('campaign_id', '=', c.id).execute();
    expect(linked).toHaveLength(1650);
    // The messages list filters by campaign.
    const ids = new Set(linked.map((m) => m.id));
    const listed = await t.api(`/v1/messages?campaign=${c.id}&limit=200`);
    expect(listed.body.data).toHaveLength(200);
    expect(listed.body.data.every((m: any) => ids.has(m.id))).toBe(true);
    expect((await t.api('/v1/messages?campaign=no-such-campaign')).body.data).toEqual([]);
    // The export lists every recipient with its outcome.
    const csv = await fetch(`${t.url}/v1/campaigns/${c.id}/recipients.csv`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = (await csv.text()).trim().split('\n');
    expect(rows[0]).toBe('row,phone,variables,status,error_code,provider_sid,price,message_id');
    expect(rows).toHaveLength(1801);
    expect(rows[1]).toMatch(/^1,\+14152000000,.*,(sent|delivered),,SM[0-9a-f]{32},/);
    // A later upload is deduplicated against the first.
    const again = await t.api(`/v1/campaigns/${c.id}/recipients`, {
      method: 'POST',
      rawBody: 'phone,name,offer\n+14152000001,A,B\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(again.status).toBe(409);
  });

  it('NDJSON uploads append, and dedupe across uploads', async () => {
    const c = await create({ name: 'ndjson', body: 'Plain text' });
    const a = await upload(c.id, `{"phone":"${num(20_000)}"}\n{"phone":"${num(20_001)}","x":1}\nnot json\n`, 'application/x-ndjson');
    expect(a.body).toMatchObject({ rows: 3, accepted: 2, invalid: 1, duplicates: 0 });
    expect(a.body.errors[0]).toMatchObject({ row: 3 });
    const b = await upload(c.id, `{"phone":"${num(20_001)}"}\n{"phone":"${num(20_002)}"}\n`, 'application/x-ndjson');
    expect(b.body).toMatchObject({ rows: 2, accepted: 1, duplicates: 1 });
    expect((await get(c.id)).counts.pending).toBe(3);
    // Without dedupe a repeated number is a second recipient.
    const d = await create({ name: 'no dedupe', body: 'x', dedupe: false });
    expect((await upload(d.id, `phone\n${num(20_003)}\n${num(20_003)}\n`)).body).toMatchObject({ accepted: 2, duplicates: 0 });
  });

  it('a STOP from a handset mid-campaign: that number gets nothing more, the others continue', async () => {
    const c = await create({ name: 'stop', body: 'Stop test', rate: 5 });
    const phones = Array.from({ length: 15 }, (_, i) => num(30_000 + i));
    expect((await upload(c.id, `phone\n${phones.join('\n')}\n`)).body.accepted).toBe(15);
    expect((await act(c.id, 'start')).status).toBe(200);
    await waitFor(() => received(phones[1]!, 'Stop test').length > 0, 20_000);
    const last = phones[14]!;
    expect(received(last, 'Stop test')).toHaveLength(0);
    const stop = await t.api(`/emulator/api/handsets/${encodeURIComponent(last)}/messages`, { body: { to: OURS, body: 'STOP' }, key: null });
    expect(stop.status).toBe(201);
    const end = await done(c.id);
    expect(end.status).toBe('completed');
    expect(received(last, 'Stop test')).toHaveLength(0);
    for (const p of phones.slice(0, 14)) expect(received(p, 'Stop test')).toHaveLength(1);
    expect(end.counts.suppressed + end.counts.failed).toBe(1);
    const rec = await t.api(`/v1/campaigns/${c.id}/recipients?status=${end.counts.suppressed ? 'suppressed' : 'failed'}`);
    expect(rec.body.data[0]).toMatchObject({ phone: last, error_code: 'SMS_ERR_RECIPIENT_OPTED_OUT' });
  });

  it('the campaign rate is a ceiling: 10 messages/s, never more than the rate in any second', async () => {
    const c = await create({ name: 'rate', body: 'Rate test', rate: 10 });
    const phones = Array.from({ length: 40 }, (_, i) => num(45_000 + i));
    expect((await upload(c.id, `phone\n${phones.join('\n')}\n`)).body.accepted).toBe(40);
    expect((await act(c.id, 'start')).status).toBe(200);
    expect((await done(c.id)).status).toBe('completed');
    const times = phones.map((p) => received(p, 'Rate test')[0]!.dateCreated.getTime()).sort((a, b) => a - b);
    // 40 at 10/s: about 4 s from the first to the last, and at most the rate (+1 for a slot's edge) in any 1 s window.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3000);
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    expect(busiest).toBeLessThanOrEqual(11);
  });

  it('pause stops sending within a second, resume continues, cancel ends the rest as canceled; illegal moves are 409', async () => {
    const c = await create({ name: 'pause', body: 'Pause test', rate: 20 });
    const phones = Array.from({ length: 300 }, (_, i) => num(40_000 + i));
    expect((await upload(c.id, `phone\n${phones.join('\n')}\n`)).body.accepted).toBe(300);
    const count = () => phones.reduce((s, p) => s + received(p, 'Pause test').length, 0);
    expect((await act(c.id, 'pause')).body).toMatchObject({ error: { code: 'SMS_ERR_CAMPAIGN_STATE' } });
    expect((await act(c.id, 'start')).status).toBe(200);
    await waitFor(() => count() >= 20, 20_000);
    const p = await act(c.id, 'pause');
    expect(p.status).toBe(200);
    expect(p.body.status).toBe('paused');
    await new Promise((r) => setTimeout(r, 1000));
    const atPause = count();
    await new Promise((r) => setTimeout(r, 1500));
    expect(count()).toBe(atPause);
    expect(atPause).toBeLessThan(300);
    expect((await act(c.id, 'pause')).status).toBe(409);
    expect((await act(c.id, 'start')).status).toBe(409);

    expect((await act(c.id, 'resume')).body.status).toBe('running');
    await waitFor(() => count() >= atPause + 20, 20_000);
    const x = await act(c.id, 'cancel');
    expect(x.body.status).toBe('canceled');
    await new Promise((r) => setTimeout(r, 1000));
    const atCancel = count();
    await new Promise((r) => setTimeout(r, 1500));
    expect(count()).toBe(atCancel);
    expect(atCancel).toBeLessThan(300);
    const end = await get(c.id);
    expect(end.counts.pending + end.counts.held).toBe(0);
    expect(end.counts, JSON.stringify(end.counts)).toMatchObject({ canceled: 300 - atCancel });
    expect(end.counts.sent + end.counts.delivered).toBe(atCancel);
    // No number got two messages.
    for (const ph of phones) expect(received(ph, 'Pause test').length).toBeLessThanOrEqual(1);
    expect((await act(c.id, 'resume')).body.error.code).toBe('SMS_ERR_CAMPAIGN_STATE');
    expect((await act(c.id, 'cancel')).status).toBe(409);
  });

  it('quiet hours hold the recipients whose local time is night while the others are sent; they go out when their morning comes', async () => {
    setNow('2025-06-10T12:00:00-04:00'); // New York noon, Tokyo 01:00
    const ny = Array.from({ length: 5 }, (_, i) => `+1212555${String(1000 + i)}`);
    const tokyo = Array.from({ length: 5 }, (_, i) => num(50_000 + i));
    for (const p of tokyo)
      expect((await t.api(`/v1/contacts/${encodeURIComponent(p)}`, { method: 'PUT', body: { time_zone: 'Asia/Tokyo' } })).status).toBeLessThan(300);
    const c = await create({ name: 'quiet', body: 'Quiet test' });
    expect((await upload(c.id, `phone\n${[...ny, ...tokyo].join('\n')}\n`)).body.accepted).toBe(10);
    expect((await t.api(`/v1/campaigns/${c.id}/estimate`, { method: 'POST' })).body.held_by_quiet_hours_now).toBe(5);
    expect((await act(c.id, 'start')).status).toBe(200);
    await waitFor(async () => (await get(c.id)).counts.held === 5 && ny.every((p) => received(p, 'Quiet test').length === 1), 20_000);
    for (const p of tokyo) expect(received(p, 'Quiet test')).toHaveLength(0);
    expect((await get(c.id)).status).toBe('running');
    setNow('2025-06-10T23:00:05Z'); // Tokyo 08:00:05
    const end = await done(c.id);
    expect(end.status).toBe('completed');
    for (const p of tokyo) expect(received(p, 'Quiet test')).toHaveLength(1);
    setNow('2025-06-10T12:00:00-04:00');
  });

  it("another tenant's campaign is a 404 for every route; a key without the campaigns scope is refused", async () => {
    const c = await create({ name: 'mine', body: 'x' });
    const b = await t.relay.tenants.create({ slug: 'campaigns-b', name: 'B' });
    const keyB = (await t.relay.apiKeys.create(b.id, 'b', ['admin'])).key;
    for (const [path, method] of [
      [`/v1/campaigns/${c.id}`, 'GET'],
      [`/v1/campaigns/${c.id}/recipients`, 'GET'],
      [`/v1/campaigns/${c.id}/recipients.csv`, 'GET'],
      [`/v1/campaigns/${c.id}/estimate`, 'POST'],
      [`/v1/campaigns/${c.id}/start`, 'POST'],
      [`/v1/campaigns/${c.id}/cancel`, 'POST'],
    ] as const) {
      const r = await t.api(path, { method, key: keyB });
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('SMS_ERR_NOT_FOUND');
    }
    expect((await upload(c.id, `phone\n${num(60_000)}\n`, 'text/csv', keyB)).status).toBe(404);
    expect((await t.api('/v1/campaigns', { key: keyB })).body.data).toEqual([]);
    expect((await get(c.id)).total).toBe(0);
    const narrow = (await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'narrow', ['messages:write'])).key;
    expect((await t.api('/v1/campaigns', { key: narrow })).status).toBe(403);
  });

  it('bad input is a 4xx with a stable code and writes nothing', async () => {
    const c = await create({ name: 'bad', template: 'promo' });
    const total = async () => (await get(c.id)).total;
    // Wrong content type, empty body, no phone column, a missing variable column.
    expect((await t.api(`/v1/campaigns/${c.id}/recipients`, { body: { phone: num(1) } })).body.error.code).toBe('SMS_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect((await upload(c.id, '', 'text/plain')).status).toBe(415);
    expect((await upload(c.id, '')).body.error.code).toBe('SMS_ERR_CAMPAIGN_UPLOAD_EMPTY');
    expect((await upload(c.id, 'phone,name,offer\n')).body.error.code).toBe('SMS_ERR_CAMPAIGN_UPLOAD_EMPTY');
    expect((await upload(c.id, `tel,name,offer\n${num(1)},a,b\n`)).body.error.code).toBe('SMS_ERR_CAMPAIGN_NO_PHONE_COLUMN');
    const miss = await upload(c.id, `phone,name\n${num(1)},a\n`);
    expect(miss.status).toBe(422);
    expect(miss.body.error).toMatchObject({ code: 'SMS_ERR_CAMPAIGN_MISSING_VARIABLE', details: { missing: ['offer'] } });
    // A malformed CSV (an unclosed quote) after 1,500 good rows: 400, and none of the upload is kept.
    const good = Array.from({ length: 1500 }, (_, i) => `${num(70_000 + i)},a,b`);
    const broken = await upload(c.id, `phone,name,offer\n${good.join('\n')}\n${num(71_999)},"unclosed,b\n${num(71_998)},a,b\n`);
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('SMS_ERR_CAMPAIGN_MALFORMED_UPLOAD');
    // A huge field (one record over 64 KiB).
    const huge = await upload(c.id, `phone,name,offer\n${num(1)},${'x'.repeat(70_000)},b\n`);
    expect(huge.status).toBe(400);
    expect(huge.body.error.code).toBe('SMS_ERR_CAMPAIGN_MALFORMED_UPLOAD');
    expect(await total()).toBe(0);
    expect((await get(c.id)).uploaded_rows).toBe(0);
    // Unicode is data: kept as given.
    const u = await upload(c.id, `phone,name,offer\n${num(72_000)},Zoë 🎉,½ price\n`);
    expect(u.body).toMatchObject({ accepted: 1 });
    expect((await t.api(`/v1/campaigns/${c.id}/recipients`)).body.data[0].variables).toEqual({ name: 'Zoë 🎉', offer: '½ price' });
    // Creation: unknown template, template and body, bad rate, bad start_at.
    for (const [body, code] of [
      [{ name: 'x', template: 'nope' }, 'SMS_ERR_UNKNOWN_TEMPLATE'],
      [{ name: 'x', template: 'promo', body: 'y' }, 'SMS_ERR_BODY_AND_TEMPLATE'],
      [{ name: 'x' }, 'SMS_ERR_BODY_AND_TEMPLATE'],
      [{ name: 'x', body: 'y', rate: 0 }, 'SMS_ERR_VALIDATION'],
      [{ name: 'x', body: 'y', start_at: 'tomorrow' }, 'SMS_ERR_VALIDATION'],
      [{ name: 'x'.repeat(201), body: 'y' }, 'SMS_ERR_VALIDATION'],
    ] as const) {
      const r = await t.api('/v1/campaigns', { body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.error.code).toBe(code);
    }
    // An empty campaign cannot start.
    const e = await create({ name: 'empty', body: 'y' });
    expect((await act(e.id, 'start')).body.error.code).toBe('SMS_ERR_CAMPAIGN_EMPTY');
    expect((await t.api('/v1/campaigns/nope')).status).toBe(404);
  });

  it('linking recipients to their messages: per campaign, only the listed pending ones, each once', async () => {
    // Two drafts (no dispatcher touches them) with the same recipient numbers (seq) 1..6.
    const a = await create({ name: 'link a', body: 'x' });
    const b = await create({ name: 'link b', body: 'x' });
    const phones = Array.from({ length: 6 }, (_, i) => num(85_000 + i)).join('\n');
    for (const c of [a, b]) expect((await upload(c.id, `phone\n${phones}\n`)).body.accepted).toBe(6);
    const { repos } = t.relay;
    const link = (links: { campaignId: string; seq: number; messageId: string }[]) => repos.write((tx) => repos.campaigns.link(tx, links, Date.now()));
    const linked = async (id: string) =>
      (
        await sqlOf(t.relay)
          .selectFrom('campaign_recipients')
          .select(['seq', 'message_id'])
          .where('campaign_id', '=', id)
          .where('status', '=', 'messaged')
          .orderBy('seq')
          .execute()
      ).map((r) => `${Number(r.seq)}:${r.message_id}`);
    // Out of order, with gaps, over both campaigns in one transaction (one group commit).
    expect(
      await link([
        { campaignId: a.id, seq: 5, messageId: 'ma5' },
        { campaignId: b.id, seq: 2, messageId: 'mb2' },
        { campaignId: a.id, seq: 1, messageId: 'ma1' },
        { campaignId: a.id, seq: 3, messageId: 'ma3' },
      ]),
    ).toBe(4);
    expect(await linked(a.id)).toEqual(['1:ma1', '3:ma3', '5:ma5']);
    expect(await linked(b.id)).toEqual(['2:mb2']);
    // Already linked (another worker's message): left as it is, not counted; the others link.
    expect(
      await link([
        { campaignId: a.id, seq: 3, messageId: 'other' },
        { campaignId: a.id, seq: 4, messageId: 'ma4' },
        { campaignId: b.id, seq: 6, messageId: 'mb6' },
      ]),
    ).toBe(2);
    expect(await linked(a.id)).toEqual(['1:ma1', '3:ma3', '4:ma4', '5:ma5']);
    expect(await linked(b.id)).toEqual(['2:mb2', '6:mb6']);
    expect((await get(a.id)).counts.pending).toBe(2);
  });

  it('start_at in the future schedules; the dispatcher starts it when the time comes', async () => {
    const c = await create({ name: 'later', body: 'Later test', start_at: new Date(clock.now().getTime() + 60_000).toISOString() });
    await upload(c.id, `phone\n${num(80_000)}\n`);
    expect((await act(c.id, 'start')).body.status).toBe('scheduled');
    await new Promise((r) => setTimeout(r, 300));
    expect(received(num(80_000), 'Later test')).toHaveLength(0);
    offset += 61_000;
    expect((await done(c.id)).status).toBe('completed');
    expect(received(num(80_000), 'Later test')).toHaveLength(1);
    offset -= 61_000;
  });
});
