// Verify v2 through the official client: the code arrives in the handset's inbox, Twilio's send
// and check limits, expiry (injected clock), approval and cancellation.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, startEmulator, type TestEmulator } from './support.js';

const PHONE = '+14155552671';

let now = Date.parse('2026-05-01T12:00:00Z');
const clock = { now: () => new Date(now) };
let t: TestEmulator;
let service: string;

beforeAll(async () => {
  t = await startEmulator({ clock });
});
afterAll(() => t.close());
afterEach(() => {
  t.emulator.reset();
  expect(t.drift.splice(0)).toEqual([]);
});

async function newService(codeLength?: number): Promise<string> {
  const s = await t.client.verify.v2.services.create({ friendlyName: 'Acme', ...(codeLength ? { codeLength } : {}) });
  return s.sid;
}

/** The latest code texted to the handset, read like a test would: from /emulator/api. */
async function codeInInbox(to = PHONE): Promise<string> {
  const r = await api(t.base, 'GET', `/emulator/api/messages/latest?to=${encodeURIComponent(to)}`);
  const m = /verification code is: (\d+)$/.exec(r.body.body as string);
  if (!m) throw new Error(`no code in ${String(r.body.body)}`);
  return m[1]!;
}

function errorOf(p: Promise<unknown>): Promise<{ status: number; code: number }> {
  return p.then(
    () => {
      throw new Error('expected an error');
    },
    (e: { status: number; code: number }) => e,
  );
}

describe('services', () => {
  it('creates and fetches a service; FriendlyName and CodeLength are checked (60200)', async () => {
    service = await newService(8);
    const s = await t.client.verify.v2.services(service).fetch();
    expect([s.friendlyName, s.codeLength]).toEqual(['Acme', 8]);
    expect((await t.client.verify.v2.services.list()).map((x) => x.sid)).toContain(service);
    expect((await errorOf(t.client.verify.v2.services.create({ friendlyName: 'x'.repeat(33) }))).code).toBe(60200);
    expect((await errorOf(t.client.verify.v2.services.create({ friendlyName: 'x', codeLength: 3 }))).code).toBe(60200);
    expect((await errorOf(t.client.verify.v2.services('VA' + '0'.repeat(32)).fetch())).code).toBe(20404);
  });
});

describe('verifications', () => {
  it('texts the code to the handset, approves the right code, then the verification is gone', async () => {
    service = await newService();
    const v = await t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' });
    expect(v.status).toBe('pending');
    expect(v.sid).toMatch(/^VE[0-9a-f]{32}$/);
    const code = await codeInInbox();
    expect(code).toMatch(/^\d{6}$/);
    const wrong = await t.client.verify.v2.services(service).verificationChecks.create({ to: PHONE, code: code === '000000' ? '111111' : '000000' });
    expect([wrong.status, wrong.valid]).toEqual(['pending', false]);
    const ok = await t.client.verify.v2.services(service).verificationChecks.create({ verificationSid: v.sid, code });
    expect([ok.status, ok.valid]).toEqual(['approved', true]);
    expect((await errorOf(t.client.verify.v2.services(service).verificationChecks.create({ to: PHONE, code }))).code).toBe(20404);
    expect((await errorOf(t.client.verify.v2.services(service).verifications(v.sid).fetch())).code).toBe(20404);
    // Verify's SMS is not a Messages API create and not on the account's message list.
    expect(t.emulator.createCount(PHONE)).toBe(0);
    expect(await t.client.messages.list({ to: PHONE })).toEqual([]);
  });

  it('resending keeps the code; the 6th send is 429 / 60203', async () => {
    service = await newService();
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = await t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' });
      expect(v.sendCodeAttempts).toHaveLength(i + 1);
      codes.push(await codeInInbox());
    }
    expect(new Set(codes).size).toBe(1);
    const e = await errorOf(t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' }));
    expect([e.status, e.code]).toEqual([429, 60203]);
  });

  it('after 5 failed checks the next check is 429 / 60202', async () => {
    service = await newService();
    await t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' });
    const code = await codeInInbox();
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      expect((await t.client.verify.v2.services(service).verificationChecks.create({ to: PHONE, code: wrong })).valid).toBe(false);
    }
    const e = await errorOf(t.client.verify.v2.services(service).verificationChecks.create({ to: PHONE, code }));
    expect([e.status, e.code]).toEqual([429, 60202]);
  });

  it('expires after 10 minutes (404 / 20404); a new verification then gets a new lifecycle', async () => {
    service = await newService();
    const v = await t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' });
    const code = await codeInInbox();
    now += 9 * 60_000;
    expect((await t.client.verify.v2.services(service).verifications(v.sid).fetch()).status).toBe('pending');
    now += 60_000;
    expect((await errorOf(t.client.verify.v2.services(service).verificationChecks.create({ to: PHONE, code }))).code).toBe(20404);
    const again = await t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' });
    expect(again.sid).not.toBe(v.sid);
    expect(again.sendCodeAttempts).toHaveLength(1);
  });

  it('cancel and approve through update; unknown ones are 404', async () => {
    service = await newService();
    const a = await t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' });
    expect((await t.client.verify.v2.services(service).verifications(a.sid).update({ status: 'canceled' })).status).toBe('canceled');
    expect((await errorOf(t.client.verify.v2.services(service).verifications(a.sid).fetch())).code).toBe(20404);
    const b = await t.client.verify.v2.services(service).verifications.create({ to: PHONE, channel: 'sms' });
    expect(b.sid).not.toBe(a.sid);
    expect((await t.client.verify.v2.services(service).verifications(PHONE).update({ status: 'approved' })).status).toBe('approved');
    expect((await errorOf(t.client.verify.v2.services(service).verifications(b.sid).update({ status: 'canceled' }))).code).toBe(20404);
  });

  it('rejects bad parameters (60200) and SMS to a landline (60205)', async () => {
    service = await newService();
    const verifications = t.client.verify.v2.services(service).verifications;
    expect((await errorOf(verifications.create({ to: '4155552671', channel: 'sms' }))).code).toBe(60200);
    expect((await errorOf(verifications.create({ to: PHONE, channel: 'pigeon' }))).code).toBe(60200);
    const e = await errorOf(verifications.create({ to: '+442071838750', channel: 'sms' }));
    expect([e.status, e.code]).toEqual([403, 60205]);
    expect((await errorOf(verifications.create({ to: PHONE, channel: 'sms', customCode: '1234' }))).code).toBe(60200);
  });
});
