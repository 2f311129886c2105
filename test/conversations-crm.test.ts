// PATCH /v1/conversations/:id: link the host application's entity, close, block and reopen. A
// blocked conversation still stores inbound messages, answers nothing, and sends to it are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const OURS = '+15005550006';
const AUTO = 'Thanks, we will call you back.';

describe.each(backends)('conversation states on $name', (backend) => {
  let t: TestRelay;
  const text = async (handset: string, body: string) => {
    const r = await t.api(`/emulator/api/handsets/${encodeURIComponent(handset)}/messages`, { body: { to: OURS, body }, key: null });
    expect(r.status).toBe(201);
    return r.body as { replies: { body: string }[] };
  };
  const conversationOf = async (contact: string) => (await t.api('/v1/conversations?limit=200')).body.data.find((c: any) => c.contact === contact);
  const patch = (id: string, body: unknown, key?: string) => t.api(`/v1/conversations/${id}`, { method: 'PATCH', body, key });

  beforeAll(async () => {
    t = await startRelay(backend, 'conv-states', { inbound: { ...loadConfig({}).inbound, autoReply: AUTO } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('links an external_ref and filters by it', async () => {
    await text('+14155550601', 'hello');
    const c = await conversationOf('+14155550601');
    expect(c.external_ref).toBeNull();
    const r = await patch(c.id, { external_ref: 'lead:42' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: c.id, external_ref: 'lead:42', status: 'active' });
    const list = await t.api('/v1/conversations?external_ref=lead%3A42');
    expect(list.body.data.map((x: any) => x.id)).toEqual([c.id]);
    expect((await t.api('/v1/conversations?external_ref=lead%3A43')).body.data).toEqual([]);
    expect((await patch(c.id, { external_ref: null })).body.external_ref).toBeNull();
    const audited = (await t.api('/v1/audit-log')).body.data.filter((e: any) => e.action === 'conversation.update' && e.target === c.id);
    expect(audited.map((e: any) => e.changes)).toEqual(expect.arrayContaining([{ external_ref: 'lead:42' }, { external_ref: null }]));
  });

  it('blocks: inbound is stored, no auto-reply, sends are refused; reopening lifts it', async () => {
    const handset = '+14155550602';
    expect((await text(handset, 'first')).replies.map((m) => m.body)).toEqual([AUTO]);
    const c = await conversationOf(handset);
    // A message waiting in the outbox when the block lands is refused at dispatch too.
    const later = await t.api('/v1/messages', { body: { to: handset, body: 'scheduled', send_at: new Date(Date.now() + 1500).toISOString() } });
    expect(later.status).toBe(202);
    expect((await patch(c.id, { status: 'blocked' })).body.status).toBe('blocked');

    expect((await text(handset, 'still there?')).replies).toEqual([]);
    const thread = await t.api(`/v1/conversations/${c.id}/messages`);
    expect(thread.body.data.map((m: any) => m.body)).toContain('still there?');
    expect((await conversationOf(handset)).status).toBe('blocked');

    const send = await t.api('/v1/messages', { body: { to: handset, body: 'hi' } });
    expect(send.status).toBe(422);
    expect(send.body.error.code).toBe('SMS_ERR_CONVERSATION_BLOCKED');
    // National format and WhatsApp reach the same number.
    expect((await t.api('/v1/messages', { body: { to: '(415) 555-0602', body: 'hi' } })).body.error.code).toBe('SMS_ERR_CONVERSATION_BLOCKED');
    const failed = await waitFor(async () => {
      const m = (await t.api(`/v1/messages/${later.body.id}`)).body;
      return m.status === 'failed' ? m : null;
    }, 10_000);
    expect(failed.error_code).toBe('SMS_ERR_CONVERSATION_BLOCKED');

    expect((await patch(c.id, { status: 'active' })).body.status).toBe('active');
    expect((await t.api('/v1/messages', { body: { to: handset, body: 'welcome back' } })).status).toBe(202);
    expect((await text(handset, 'thanks')).replies.map((m) => m.body)).toEqual([AUTO]);
  });

  it('closes until the contact writes again; reopens an opted-out contact as opted_out', async () => {
    const handset = '+14155550603';
    await text(handset, 'hi');
    const c = await conversationOf(handset);
    expect((await patch(c.id, { status: 'closed' })).body.status).toBe('closed');
    await text(handset, 'me again');
    expect((await conversationOf(handset)).status).toBe('active');
    await text(handset, 'STOP');
    expect((await conversationOf(handset)).status).toBe('opted_out');
    await patch(c.id, { status: 'closed' });
    expect((await patch(c.id, { status: 'active' })).body.status).toBe('opted_out');
  });

  it('rejects bad input, and another tenant never sees or changes the conversation', async () => {
    await text('+14155550604', 'hi');
    const c = await conversationOf('+14155550604');
    for (const [body, field] of [
      [{ status: 'opted_out' }, 'status'],
      [{ status: 'deleted' }, 'status'],
      [{ external_ref: '' }, 'external_ref'],
      [{ external_ref: 'x'.repeat(201) }, 'external_ref'],
      [{ colour: 'red' }, 'colour'],
    ] as const) {
      const r = await patch(c.id, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.details.map((d: any) => d.field)).toContain(field);
    }
    expect((await patch(c.id, {})).status).toBe(400);
    expect((await patch('00000000-0000-0000-0000-000000000000', { status: 'closed' })).status).toBe(404);
    const other = await t.relay.tenants.create({ slug: `cs-${backend.name}`, name: 'Other', fromNumber: OURS });
    const { key } = await t.relay.apiKeys.create(other.id, 'all', ['admin']);
    expect((await patch(c.id, { status: 'blocked' }, key)).status).toBe(404);
    expect((await t.api('/v1/conversations?external_ref=lead%3A42', { key })).body.data).toEqual([]);
    expect((await conversationOf('+14155550604')).status).toBe('active');
    // Blocking in one tenant does not refuse another tenant's sends to the number.
    await patch(c.id, { status: 'blocked' });
    expect((await t.api('/v1/messages', { body: { to: '+14155550604', body: 'x' }, key })).status).toBe(202);
  });
});
