// The CRM module's routes under /api/v1/sms/: the same use cases as /v1 with its paths, its send
// body and its single Twilio webhook that takes both status callbacks and inbound messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { newSid, postWebhook } from './support/webhooks.js';

const OURS = '+15005550006';

describe.each(backends)("the CRM module's routes on $name", (backend) => {
  let t: TestRelay;
  let other: string;

  beforeAll(async () => {
    t = await startRelay(backend, 'crm');
    const tenant = await t.relay.tenants.create({ slug: 'crm-other', name: 'Other firm' });
    other = (await t.relay.apiKeys.create(tenant.id, 'other', ['admin'])).key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends with {to_number, message}, then lists and reads the message at the CRM paths', async () => {
    const to = '+14155550301';
    const sent = await t.api('/api/v1/sms/messages/send/', { body: { to_number: to, message: 'Your appointment is at 3pm' } });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ to, body: 'Your appointment is at 3pm', status: 'pending' });
    const delivered = await waitFor(async () => {
      const g = await t.api(`/api/v1/sms/messages/${sent.body.id}/`);
      return g.body.status === 'delivered' ? g : null;
    });
    expect(delivered.status).toBe(200);
    const list = await t.api(`/api/v1/sms/messages/?to=${encodeURIComponent(to)}`);
    expect(list.body.data.map((m: any) => m.id)).toEqual([sent.body.id]);
    // The same tenant boundary as /v1: another firm's key does not see it.
    expect((await t.api(`/api/v1/sms/messages/${sent.body.id}/`, { key: other })).status).toBe(404);
    expect((await t.api('/api/v1/sms/messages/', { key: other })).body.data).toEqual([]);
  });

  it('refuses a send without a recipient or a body, and without a key, with the API errors', async () => {
    expect((await t.api('/api/v1/sms/messages/send/', { body: { message: 'x' } })).body.error.code).toBe('SMS_ERR_INVALID_PHONE');
    expect((await t.api('/api/v1/sms/messages/send/', { body: { to: '+14155550302' } })).body.error.code).toBe('SMS_ERR_BODY_REQUIRED');
    expect((await t.api('/api/v1/sms/messages/send/', { body: { to: '+14155550302', message: 'x', extra: 1 } })).status).toBe(400);
    expect((await t.api('/api/v1/sms/messages/', { key: null })).status).toBe(401);
  });

  it('takes inbound messages and status callbacks at one signed webhook, told apart by the payload', async () => {
    const emu = t.relay.emulator!;
    const url = `${t.url}/api/v1/sms/webhooks/twilio/`;
    const contact = '+14155550303';
    const inbound = await postWebhook(
      url,
      { AccountSid: emu.accountSid, MessageSid: newSid(), SmsStatus: 'received', From: contact, To: OURS, Body: 'hello firm' },
      emu.authToken,
    );
    expect(inbound.status).toBe(200);
    expect(inbound.headers.get('content-type')).toContain('text/xml');
    const conversation = (await t.api('/api/v1/sms/conversations/')).body.data.find((c: any) => c.contact === contact);
    expect(conversation).toMatchObject({ contact, unread_count: 1 });
    expect((await t.api(`/api/v1/sms/conversations/${conversation.id}/`)).body.id).toBe(conversation.id);
    const thread = await t.api(`/api/v1/sms/conversations/${conversation.id}/messages/`);
    expect(thread.body.data.map((m: any) => m.body)).toEqual(['hello firm']);
    expect((await t.api(`/api/v1/sms/conversations/${conversation.id}/`, { key: other })).status).toBe(404);

    // A status callback at the same URL moves an outbound message (here: to failed with Twilio's code).
    // The emulator gives this number no receipt of its own, so the callback below is the only one.
    await t.api('/emulator/api/scripts/%2B14155550304', { method: 'PUT', body: { outcome: 'sent' }, key: null });
    const sent = await t.api('/v1/messages', { body: { to: '+14155550304', body: 'x' } });
    const sid = (await waitFor(async () => (await t.api(`/v1/messages/${sent.body.id}`)).body.provider_sid)) as string;
    const status = await postWebhook(
      url,
      {
        AccountSid: emu.accountSid,
        MessageSid: sid,
        SmsSid: sid,
        MessageStatus: 'undelivered',
        SmsStatus: 'undelivered',
        ErrorCode: '30003',
        To: '+14155550304',
        From: OURS,
      },
      emu.authToken,
    );
    expect(status.status).toBe(204);
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${sent.body.id}`)).body;
      return g.provider_code === 30003 ? g : null;
    });
    expect(m.status).toBe('undelivered');
    // Unsigned: refused like the /webhooks routes.
    expect((await postWebhook(url, { MessageSid: newSid(), MessageStatus: 'delivered' }, emu.authToken, { signature: null })).status).toBe(403);
  });

  it('reads and changes the configuration at /config/ and test-sends at /config/test/, never showing the auth token', async () => {
    const before = await t.api('/api/v1/sms/config/');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ default_region: 'US', auth_token_last4: null });
    // Every key of the settings document is in the answer (the response schema drops none).
    const doc = await t.relay.settings.get(t.relay.defaultTenant.id);
    expect(Object.keys(before.body)).toEqual(expect.arrayContaining(Object.keys(doc)));
    expect((await t.api('/v1/settings')).body).toMatchObject(JSON.parse(JSON.stringify(doc)));
    const put = await t.api('/api/v1/sms/config/?verify=false', { method: 'PUT', body: { auto_reply: 'We got it', default_region: 'CA' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ auto_reply: 'We got it', default_region: 'CA' });
    expect((await t.api('/v1/settings')).body).toMatchObject({ auto_reply: 'We got it', default_region: 'CA' });
    // Validated as a whole, nothing half-saved.
    const bad = await t.api('/api/v1/sms/config/', { method: 'PUT', body: { auto_reply: 'changed', default_region: 'Canada' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('default_region');
    expect((await t.api('/api/v1/sms/config/')).body.auto_reply).toBe('We got it');
    await t.api('/api/v1/sms/config/?verify=false', { method: 'PUT', body: { default_region: 'US', auto_reply: null } });

    const test = await t.api('/api/v1/sms/config/test/', { body: { to: '+14155550305' } });
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, status: 'delivered', hint: null });
    expect((await t.api('/api/v1/sms/config/', { key: other })).body.auto_reply).toBeNull();
  });
});
