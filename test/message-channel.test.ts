// `channel` says how a message travels: a message with media is an MMS (Twilio sends and prices it
// so), whatever the request's `channel` ('sms' and 'mms' both only mean "to a phone number").
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/storage/db.js';
import { migrateTo, migrateToLatest } from '../src/storage/migrate.js';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';
import { sqlOf } from './support/db.js';

const MEDIA = ['https://example.com/cat.jpg'];

describe.each(backends)('message channel on $name', (backend) => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startRelay(backend, 'channel', { twilio: { whatsappNumber: 'whatsapp:+14155238886' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const stored = async (id: string) => (await sqlOf(t.relay).selectFrom('messages').select('channel').where('id', '=', id).executeTakeFirstOrThrow()).channel;

  it('reports mms for a message with media, in the answer, the stored row, reads and lists', async () => {
    const r = await t.api('/v1/messages', { body: { to: '+14155550501', body: 'look', media_urls: MEDIA } });
    expect(r.status).toBe(202);
    expect(r.body.channel).toBe('mms');
    expect(await stored(r.body.id)).toBe('mms');
    const sent = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${r.body.id}`)).body;
      return g.provider_sid ? g : null;
    });
    // Twilio (here the emulator) gives media messages an MM SID.
    expect(sent).toMatchObject({ channel: 'mms', media_urls: MEDIA });
    expect(sent.provider_sid).toMatch(/^MM/);
    const listed = (await t.api('/v1/messages?to=%2B14155550501')).body.data;
    expect(listed.map((m: any) => m.channel)).toEqual(['mms']);
  });

  it('derives sms/mms from the media whichever of the two the request named; whatsapp stays whatsapp', async () => {
    const smsWithMedia = await t.api('/v1/messages', { body: { to: '+14155550502', body: 'x', media_urls: MEDIA, channel: 'sms' } });
    expect(smsWithMedia.body.channel).toBe('mms');
    const mmsWithout = await t.api('/v1/messages', { body: { to: '+14155550503', body: 'text only', channel: 'mms' } });
    expect(mmsWithout.body.channel).toBe('sms');
    expect(await stored(mmsWithout.body.id)).toBe('sms');
    const plain = await t.relay.send({ to: '+14155550504', body: 'plain' });
    expect(plain.message.channel).toBe('sms');
    const wa = await t.api('/v1/messages', { body: { to: 'whatsapp:+14155550505', body: 'wa', media_urls: MEDIA, channel: 'whatsapp' } });
    expect(wa.body.channel).toBe('whatsapp');
  });

  it('relabels media messages stored as sms by older versions when upgrading', async () => {
    const old = await backend.create('channel_upgrade');
    const d = await openDatabase(old.url, { schema: old.schema });
    try {
      await migrateTo(d.kysely, '0004_default_tenant_env');
      await d.kysely
        .insertInto('tenants')
        .values({ id: 't', slug: 'default', name: 'D', status: 'active', settings: '{}', created_at: 1, updated_at: 1 })
        .execute();
      const m = {
        tenant_id: 't',
        direction: 'outbound',
        channel: 'sms',
        to_addr: '+14155550506',
        status: 'delivered',
        segments: 1,
        max_attempts: 5,
        created_at: 1,
        updated_at: 1,
      };
      // Untyped: the rows of an older schema version.
      await (d.kysely as Kysely<any>)
        .insertInto('messages')
        .values([
          { ...m, id: 'with-media', media_urls: JSON.stringify(MEDIA) },
          { ...m, id: 'text-only', media_urls: null },
        ])
        .execute();
      await migrateToLatest(d.kysely);
      expect(await d.kysely.selectFrom('messages').select(['id', 'channel']).orderBy('id').execute()).toEqual([
        { id: 'text-only', channel: 'sms' },
        { id: 'with-media', channel: 'mms' },
      ]);
    } finally {
      await d.destroy();
      await old.drop();
    }
  });
});
