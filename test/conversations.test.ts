// Inbound messages and conversations over real sockets: the emulator's handsets text the relay,
// which threads, counts unread, answers TwiML and lets the API read and reply.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { sqlOf } from './support/db.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { newSid, postWebhook, type Params } from './support/webhooks.js';

const OURS = '+15005550006';
const AUTO = 'Thanks for your message, we\'ll get back to you soon <&> "ok"';

describe.each(backends)('inbound and conversations on $name', (backend) => {
  let t: TestRelay;
  const text = async (handset: string, body: string) => {
    const r = await t.api(`/emulator/api/handsets/${encodeURIComponent(handset)}/messages`, { body: { to: OURS, body }, key: null });
    expect(r.status).toBe(201);
    expect(r.body.webhookError).toBeNull();
    return r.body as { message: { sid: string }; replies: { body: string; to: string }[]; webhook: { statusCode: number } };
  };
  const conversationOf = async (contact: string) => (await t.api('/v1/conversations?limit=200')).body.data.find((c: any) => c.contact === contact);

  beforeAll(async () => {
    t = await startRelay(backend, 'conversations', { inbound: { ...loadConfig({}).inbound, autoReply: AUTO } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores an inbound message, threads it, counts unread and auto-replies with escaped TwiML', async () => {
    const handset = '+14155550101';
    const r = await text(handset, 'Hi there 👋 café');
    expect(r.webhook.statusCode).toBe(200);
    expect(r.replies.map((m) => m.body)).toEqual([AUTO]);
    await text(handset, 'second');
    const c = await conversationOf(handset);
    expect(c).toMatchObject({ contact: handset, our_number: OURS, status: 'active', unread_count: 2, needs_attention: false });
    const thread = await t.api(`/v1/conversations/${c.id}/messages`);
    expect(thread.status).toBe(200);
    expect(thread.body.data.map((m: any) => m.body)).toEqual(['second', 'Hi there 👋 café']);
    expect(thread.body.data[1]).toMatchObject({ direction: 'inbound', status: 'received', from: handset, to: OURS, provider_sid: r.message.sid, segments: 1 });
  });

  it('answers the raw TwiML document from twilio MessagingResponse', async () => {
    const token = t.relay.emulator!.authToken;
    const r = await postWebhook(
      `${t.url}/webhooks/twilio/inbound`,
      { AccountSid: t.relay.emulator!.accountSid, MessageSid: newSid(), From: '+14155550109', To: OURS, Body: 'x' },
      token,
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(r.text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks for your message, we\'ll get back to you soon &lt;&amp;&gt; "ok"</Message></Response>',
    );
  });

  it('stores a duplicate delivery once and does not reply twice', async () => {
    const token = t.relay.emulator!.authToken;
    const sid = newSid();
    const params = { AccountSid: t.relay.emulator!.accountSid, MessageSid: sid, From: '+14155550102', To: OURS, Body: 'dup', NumSegments: '1', NumMedia: '0' };
    const a = await postWebhook(`${t.url}/webhooks/twilio/inbound`, params, token);
    const b = await postWebhook(`${t.url}/webhooks/twilio/inbound`, params, token);
    const c = await Promise.all(Array.from({ length: 10 }, () => postWebhook(`${t.url}/webhooks/twilio/inbound`, params, token)));
    expect(a.text).toContain('<Message>');
    expect(b.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(c.every((x) => x.status === 200 && !x.text.includes('<Message>'))).toBe(true);
    const rows = await sqlOf(t.relay).selectFrom('messages').select('id').where('provider_sid', '=', sid).execute();
    expect(rows).toHaveLength(1);
    expect((await conversationOf('+14155550102')).unread_count).toBe(1);
  });

  it('keeps NumSegments, media URLs and content types, and geo fields', async () => {
    const token = t.relay.emulator!.authToken;
    const sid = 'MM' + randomUUID().replace(/-/g, '');
    const params = {
      AccountSid: t.relay.emulator!.accountSid,
      MessageSid: sid,
      SmsMessageSid: sid,
      From: '+14155550103',
      To: OURS,
      Body: 'Hi 👋 café & co',
      NumSegments: '3',
      NumMedia: '2',
      MediaUrl0: 'https://api.twilio.com/media/ME1',
      MediaContentType0: 'image/jpeg',
      MediaUrl1: 'https://api.twilio.com/media/ME2',
      MediaContentType1: 'image/png',
      FromCity: 'SAN FRANCISCO',
      FromState: 'CA',
      FromCountry: 'US',
      ToZip: '94103',
    };
    expect((await postWebhook(`${t.url}/webhooks/twilio/inbound`, params, token)).status).toBe(200);
    const c = await conversationOf('+14155550103');
    const m = (await t.api(`/v1/conversations/${c.id}/messages`)).body.data[0];
    expect(m).toMatchObject({
      channel: 'mms',
      body: 'Hi 👋 café & co',
      segments: 3,
      media_urls: ['https://api.twilio.com/media/ME1', 'https://api.twilio.com/media/ME2'],
    });
    expect(m.metadata).toMatchObject({
      num_media: 2,
      media_content_types: ['image/jpeg', 'image/png'],
      geo: { from_city: 'SAN FRANCISCO', from_state: 'CA', from_country: 'US', to_zip: '94103' },
    });
  });

  it('rejects signed but malformed inbound webhooks with 400 and unsigned ones with 403', async () => {
    const token = t.relay.emulator!.authToken;
    const acc = t.relay.emulator!.accountSid;
    for (const p of [
      { AccountSid: acc },
      { AccountSid: acc, MessageSid: newSid(), To: OURS },
      { AccountSid: acc, MessageSid: newSid(), From: 'a b', To: OURS },
    ] as Params[]) {
      const r = await postWebhook(`${t.url}/webhooks/twilio/inbound`, p, token);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('SMS_ERR_INVALID_WEBHOOK');
    }
    const unsigned = await postWebhook(
      `${t.url}/webhooks/twilio/inbound`,
      { AccountSid: acc, MessageSid: newSid(), From: '+14155550104', To: OURS, Body: 'x' },
      token,
      { signature: null },
    );
    expect(unsigned.status).toBe(403);
    expect(await conversationOf('+14155550104')).toBeUndefined();
  });

  it('lists with filters and pages, replies from the conversation number and marks read', async () => {
    const handset = '+14155550105';
    await text(handset, 'need help with my order');
    const c = await conversationOf(handset);
    const unread = await t.api('/v1/conversations?unread=true&limit=200');
    expect(unread.body.data.some((x: any) => x.id === c.id)).toBe(true);
    const page1 = await t.api('/v1/conversations?limit=2');
    expect(page1.body.data).toHaveLength(2);
    const page2 = await t.api(`/v1/conversations?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.status).toBe(200);
    expect(page2.body.data.map((x: any) => x.id)).not.toContain(page1.body.data[0].id);

    const reply = await t.api(`/v1/conversations/${c.id}/messages`, { body: { body: 'On it!' } });
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ to: handset, from: OURS, body: 'On it!' });
    await waitFor(() => t.relay.emulator!.messages({ to: handset }).some((m) => m.body === 'On it!' && m.status === 'delivered'));
    const thread = await t.api(`/v1/conversations/${c.id}/messages`);
    expect(thread.body.data.map((m: any) => m.body)).toEqual(['On it!', 'need help with my order']);

    const read = await t.api(`/v1/conversations/${c.id}/read`, { method: 'POST' });
    expect(read.status).toBe(200);
    expect(read.body.unread_count).toBe(0);
    expect(read.body.last_read_at).not.toBeNull();
    const stillUnread = await t.api('/v1/conversations?unread=true&limit=200');
    expect(stillUnread.body.data.some((x: any) => x.id === c.id)).toBe(false);
  });

  it('answers bad ids, cursors and bodies with registry errors', async () => {
    expect((await t.api('/v1/conversations/nope')).status).toBe(404);
    expect((await t.api(`/v1/conversations/${randomUUID()}`)).body.error.code).toBe('SMS_ERR_NOT_FOUND');
    expect((await t.api('/v1/conversations?cursor=%%%')).status).toBe(400);
    expect((await t.api('/v1/conversations?status=weird')).status).toBe(400);
    expect((await t.api('/v1/conversations?limit=0')).status).toBe(400);
    const c = (await t.api('/v1/conversations?limit=1')).body.data[0];
    expect((await t.api(`/v1/conversations/${c.id}/messages`, { body: { body: { nested: 1 } } })).status).toBe(400);
    expect((await t.api(`/v1/conversations/${c.id}/messages`, { body: {} })).body.error.code).toBe('SMS_ERR_BODY_REQUIRED');
    expect((await t.api(`/v1/conversations/${c.id}/messages`, { body: { body: 'x'.repeat(1601) } })).body.error.code).toBe('SMS_ERR_BODY_TOO_LONG');
    expect((await t.api('/v1/conversations', { key: null })).status).toBe(401);
  });

  it('refuses forged cursors (wrong key types, a NUL, not JSON) on every list with 400 SMS_ERR_VALIDATION', async () => {
    await text('+14155550109', 'cursor test');
    const c = await conversationOf('+14155550109');
    const forged = (keys: unknown) => Buffer.from(JSON.stringify(keys)).toString('base64url');
    const cursors = [
      forged(['not a time', 'x']),
      forged([1, 2]),
      forged(['a\u0000b']),
      forged([Date.now(), 'a\u0000b']),
      forged({}),
      Buffer.from('not json').toString('base64url'),
    ];
    for (const list of ['/v1/conversations', `/v1/conversations/${c.id}/messages`, '/v1/opt-outs', '/v1/messages']) {
      for (const cursor of cursors) {
        const r = await t.api(`${list}?cursor=${cursor}`);
        expect(r.status, `${list} ${cursor}`).toBe(400);
        expect(r.body.error).toMatchObject({ code: 'SMS_ERR_VALIDATION', details: { field: 'cursor' } });
      }
    }
  });
});
