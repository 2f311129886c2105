// The embedded emulator owns every sender the configuration names (TWILIO_FROM_NUMBER,
// TWILIO_WHATSAPP_NUMBER, TWILIO_MESSAGING_SERVICE_SID), so each channel works with no Twilio
// credentials, and the web inbox's API shows the WhatsApp thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { startRelay, waitFor, type TestRelay } from '../support/relay.js';

const WA_SENDER = 'whatsapp:+14155238886';
const FROM = '+14155550123';
const MG = 'MG' + 'ab'.repeat(16);

async function finalOf(t: TestRelay, id: string): Promise<any> {
  return waitFor(async () => {
    const g = await t.api(`/v1/messages/${id}`);
    return ['delivered', 'failed', 'undelivered'].includes(g.body.status) ? g.body : null;
  });
}

describe.each(backends)('embedded emulator senders on $name', (backend) => {
  describe('with a WhatsApp sender and a from number', () => {
    let t: TestRelay;
    beforeAll(async () => {
      t = await startRelay(backend, 'emu_senders', { twilio: { whatsappNumber: WA_SENDER, fromNumber: FROM } });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('delivers a WhatsApp message from the configured WhatsApp sender', async () => {
      const r = await t.api('/v1/messages', { body: { to: '+14155552671', body: 'wa hello', channel: 'whatsapp' } });
      expect(r.status).toBe(202);
      const m = await finalOf(t, r.body.id);
      expect(m).toMatchObject({ status: 'delivered', from: WA_SENDER });
    });

    it('delivers an SMS from the configured TWILIO_FROM_NUMBER', async () => {
      const r = await t.api('/v1/messages', { body: { to: '+14155552672', body: 'sms hello' } });
      expect(r.status).toBe(202);
      expect((await finalOf(t, r.body.id)).status).toBe('delivered');
    });

    it('shows the WhatsApp thread in the inbox API', async () => {
      await waitFor(() => t.relay.emulator!.messages({ to: 'whatsapp:+14155552671' }).length > 0);
      const res = await fetch(`${t.url}/emulator/api/numbers`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.owned.map((o: any) => o.number)).toEqual(expect.arrayContaining(['+14155238886', FROM]));
      const hs = body.handsets.find((h: any) => h.number === 'whatsapp:+14155552671');
      expect(hs?.threads[0]).toMatchObject({ with: WA_SENDER, last: { body: 'wa hello' } });
    });
  });

  describe('with a Messaging Service SID', () => {
    let t: TestRelay;
    beforeAll(async () => {
      t = await startRelay(backend, 'emu_senders_mg', { twilio: { messagingServiceSid: MG } });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('delivers through the configured Messaging Service', async () => {
      const r = await t.api('/v1/messages', { body: { to: '+14155552673', body: 'mg hello' } });
      expect(r.status).toBe(202);
      const m = await finalOf(t, r.body.id);
      expect(m.status).toBe('delivered');
      expect(t.relay.emulator!.messages({ to: '+14155552673' })[0]).toMatchObject({ messagingServiceSid: MG });
    });
  });

  describe('with an alphanumeric sender ID', () => {
    let t: TestRelay;
    beforeAll(async () => {
      t = await startRelay(backend, 'emu_senders_alpha', { twilio: { fromNumber: 'ACME' } });
      // A sender ID is for destinations abroad (the default allows the tenant's region only).
      await t.relay.settings.update(t.relay.defaultTenant.id, { allowed_countries: ['*'] });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('delivers from the configured sender ID', async () => {
      const r = await t.api('/v1/messages', { body: { to: '+447911123456', body: 'alpha hello' } });
      expect(r.body.error ?? null).toBeNull();
      expect(r.status).toBe(202);
      expect(await finalOf(t, r.body.id)).toMatchObject({ status: 'delivered', from: 'ACME' });
    });
  });
});
