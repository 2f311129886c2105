// Quiet hours over real HTTP on both databases, with the relay's clock set to chosen instants: a
// message outside its window in the recipient's zone is held (scheduled, hold_reason quiet_hours,
// send_at at the next opening), released by the worker then, and can be cancelled while it waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/ports.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

describe.each(backends)('quiet hours on $name', (backend) => {
  let t: TestRelay;
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  /** From now on the relay's clock reads `iso` (and runs on in real time). */
  const setNow = (iso: string) => {
    offset = Date.parse(iso) - Date.now();
  };
  const send = (body: Record<string, unknown>) => t.api('/v1/messages', { body: { body: 'Sale today', category: 'marketing', ...body } });
  const handset = (to: string) => t.relay.emulator!.messages({ to }).length;

  beforeAll(async () => {
    t = await startRelay(backend, 'quiet', {}, { relay: { clock } });
    // These marketing sends test windows, not consent (opt-in by default) or the per-recipient limit.
    await t.relay.settings.update(t.relay.defaultTenant.id, {
      consent_mode: { marketing: 'opt_out' },
      recipient_limits: { marketing: null },
      allowed_countries: ['*'],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('marketing at the window edges in New York: 07:59 and 21:00 are held until 08:00, 08:00 and 20:59 go out', async () => {
    const to = '+12125550101';
    setNow('2025-06-10T07:59:00-04:00');
    const early = await send({ to });
    expect(early.status).toBe(202);
    expect(early.body).toMatchObject({ status: 'scheduled', hold_reason: 'quiet_hours', send_at: '2025-06-10T12:00:00.000Z' });
    setNow('2025-06-10T08:00:00-04:00');
    expect((await send({ to })).body).toMatchObject({ status: 'pending', hold_reason: null, send_at: null });
    setNow('2025-06-10T20:59:00-04:00');
    expect((await send({ to })).body.status).toBe('pending');
    setNow('2025-06-10T21:00:00-04:00');
    expect((await send({ to })).body).toMatchObject({ status: 'scheduled', hold_reason: 'quiet_hours', send_at: '2025-06-11T12:00:00.000Z' });
  });

  it('DST: the night before spring-forward and fall-back opens at 08:00 local time (America/New_York, Europe/Berlin)', async () => {
    setNow('2025-03-08T22:00:00-05:00');
    expect((await send({ to: '+12125550102' })).body.send_at).toBe('2025-03-09T12:00:00.000Z');
    setNow('2025-11-01T23:00:00-04:00');
    expect((await send({ to: '+12125550102' })).body.send_at).toBe('2025-11-02T13:00:00.000Z');
    // A German mobile number: Europe/Berlin from the number itself.
    setNow('2025-03-29T22:00:00+01:00');
    expect((await send({ to: '+4915112345678' })).body.send_at).toBe('2025-03-30T06:00:00.000Z');
    setNow('2025-10-25T21:30:00+02:00');
    expect((await send({ to: '+4915112345678' })).body.send_at).toBe('2025-10-26T07:00:00.000Z');
  });

  it('Florida area code: 08:00–20:00 (state rule as data) where New York still allows 20:30', async () => {
    setNow('2025-06-10T20:30:00-04:00');
    expect((await send({ to: '+13055550103' })).body).toMatchObject({ status: 'scheduled', send_at: '2025-06-11T12:00:00.000Z' });
    expect((await send({ to: '+12125550103' })).body.status).toBe('pending');
    // State rules are about solicitation: a transactional window configured without them is not narrowed.
    await t.relay.settings.update(t.relay.defaultTenant.id, { quiet_hours: { transactional: { start: '08:00', end: '21:00' } } });
    expect((await send({ to: '+13055550103', category: 'transactional' })).body.status).toBe('pending');
    await t.relay.settings.update(t.relay.defaultTenant.id, { quiet_hours: { transactional: null } });
  });

  it('an area code with two zones gets the hours allowed in both (208: Boise and Los Angeles)', async () => {
    setNow('2025-06-10T14:30:00Z'); // Boise 08:30, Los Angeles 07:30
    expect((await send({ to: '+12085550104' })).body).toMatchObject({ status: 'scheduled', send_at: '2025-06-10T15:00:00.000Z' });
    setNow('2025-06-11T02:30:00Z'); // Boise 20:30, Los Angeles 19:30
    expect((await send({ to: '+12085550104' })).body.status).toBe('pending');
  });

  it("a stored contact's time zone wins over the number's; recipient_timezone over the contact's", async () => {
    const to = '+12125550110';
    expect((await t.api(`/v1/contacts/${encodeURIComponent(to)}`, { method: 'PUT', body: { time_zone: 'Asia/Tokyo' } })).status).toBeLessThan(300);
    setNow('2025-06-10T12:00:00-04:00'); // New York noon; Tokyo 01:00 the next day
    expect((await send({ to })).body).toMatchObject({ status: 'scheduled', hold_reason: 'quiet_hours', send_at: '2025-06-10T23:00:00.000Z' });
    expect((await send({ to, recipient_timezone: 'America/New_York' })).body.status).toBe('pending');
  });

  it('recipient_timezone overrides the number, on both sides of the date line; an unknown zone is a 422 naming the field', async () => {
    setNow('2025-06-10T12:00:00Z'); // San Francisco 05:00; Kiritimati 11 June 02:00; Pago Pago 10 June 01:00
    expect((await send({ to: '+14155550105', recipient_timezone: 'Pacific/Kiritimati' })).body).toMatchObject({
      recipient_timezone: 'Pacific/Kiritimati',
      status: 'scheduled',
      send_at: '2025-06-10T18:00:00.000Z',
    });
    expect((await send({ to: '+14155550105', recipient_timezone: 'Pacific/Pago_Pago' })).body.send_at).toBe('2025-06-10T19:00:00.000Z');
    expect((await send({ to: '+14155550105', recipient_timezone: 'Europe/Berlin' })).body.status).toBe('pending'); // 14:00 there
    for (const bad of ['Mars/Olympus_Mons', 'EST5EDT!', '']) {
      const r = await send({ to: '+14155550105', recipient_timezone: bad });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'SMS_ERR_INVALID_TIMEZONE', details: { field: 'recipient_timezone' } });
    }
    expect((await send({ to: '+14155550105', recipient_timezone: 7 })).status).toBe(400);
    expect((await t.api(`/v1/messages?to=${encodeURIComponent('+14155550105')}`)).body.data).toHaveLength(3);
  });

  it('transactional is not held by default; verification codes (otp) never are', async () => {
    setNow('2025-06-10T03:00:00-04:00');
    expect((await send({ to: '+12125550106', category: 'transactional' })).body.status).toBe('pending');
    expect((await send({ to: '+12125550106' })).body.status).toBe('scheduled');
    const otp = await t.relay.messages.send(t.relay.defaultTenant, { to: '+12125550106', body: 'Your code is 123456' }, { category: 'otp', sensitive: true });
    expect(otp.message).toMatchObject({ status: 'pending', category: 'otp' });
  });

  it('a held message is released at send_at, checked again, and delivered', async () => {
    const to = '+12125550107';
    setNow('2025-06-10T07:59:58-04:00');
    const r = await send({ to });
    expect(r.body).toMatchObject({ status: 'scheduled', send_at: '2025-06-10T12:00:00.000Z' });
    expect(handset(to)).toBe(0);
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
      return g.status === 'delivered' ? g : null;
    });
    expect(Date.parse(m.sent_at)).toBeGreaterThanOrEqual(Date.parse('2025-06-10T12:00:00.000Z'));
    expect(handset(to)).toBe(1);
  });

  it('a message released early (the window moved meanwhile) is held again at dispatch', async () => {
    const to = '+12125550108';
    setNow('2025-06-10T07:59:59-04:00');
    const r = await send({ to });
    expect(r.body.status).toBe('scheduled');
    // Meanwhile the tenant moves marketing's opening to 09:00: the release at 08:00 is held again.
    await t.relay.settings.update(t.relay.defaultTenant.id, { quiet_hours: { marketing: { start: '09:00', end: '21:00' } } });
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
      return g.send_at === '2025-06-10T13:00:00.000Z' && g.status === 'scheduled' ? g : null;
    });
    expect(m.hold_reason).toBe('quiet_hours');
    expect(m.attempts).toBe(0);
    expect(handset(to)).toBe(0);
    await t.relay.settings.update(t.relay.defaultTenant.id, { quiet_hours: {} });
  });

  it('cancelling a held message works as for any scheduled one: it is never sent', async () => {
    const to = '+12125550109';
    setNow('2025-06-10T07:59:59-04:00');
    const r = await send({ to });
    expect(r.body.status).toBe('scheduled');
    const c = await t.api(`/v1/messages/${r.body.id}/cancel`, { method: 'POST' });
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('canceled');
    setNow('2025-06-10T08:00:05-04:00');
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.api(`/v1/messages/${r.body.id}`)).body.status).toBe('canceled');
    expect(handset(to)).toBe(0);
  });

  it('a malformed window is refused naming the field, and nothing is saved', async () => {
    const before = await t.relay.settings.get(t.relay.defaultTenant.id);
    const err = await t.relay.settings
      .update(t.relay.defaultTenant.id, { quiet_hours: { marketing: { start: '25:00', end: '21:00' } }, sender_rates: { '+14155550100': 10 } })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'SMS_ERR_VALIDATION', details: [{ field: 'quiet_hours.marketing.start' }] });
    t.relay.settings.invalidate();
    expect(await t.relay.settings.get(t.relay.defaultTenant.id)).toEqual(before);
  });
});
