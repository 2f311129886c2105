// Retention and a number's erasure/export in SQL. A number appears as E.164 and as whatsapp:+E164.
import { sql, type Kysely } from 'kysely';
import type { ConsentEventRecord, MessageEventRecord, PrivacyRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

const WAITING = ['pending', 'scheduled'];
const addrs = (phone: string): string[] => [phone, `whatsapp:${phone}`];

export function privacyRepository(k: Kysely<Database>): PrivacyRepository {
  return {
    async redactOlderThan(tx, tenantId, before, now, limit) {
      const t = kx(tx);
      const ids = (
        await t
          .selectFrom('messages')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('redacted_at', 'is', null)
          .where('created_at', '<', before)
          .where('status', 'not in', WAITING)
          .orderBy('created_at')
          .limit(limit)
          .execute()
      ).map((r) => r.id);
      if (ids.length === 0) return 0;
      await t
        .updateTable('messages')
        .set({ body: null, media_urls: null, redacted_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', ids)
        .execute();
      // An inbound message's first event holds the webhook's fields, its Body and MediaUrls among them.
      await t.updateTable('message_events').set({ data: null }).where('message_id', 'in', ids).execute();
      return ids.length;
    },

    async waitingTo(tenantId, phone) {
      const rows = await k
        .selectFrom('messages')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('to_addr', 'in', addrs(phone))
        .where('status', 'in', WAITING)
        .execute();
      return rows.map((r) => r.id);
    },

    async erase(tx, e) {
      const t = kx(tx);
      const [plain, wa] = addrs(e.phone);
      const swap = (col: 'to_addr' | 'from_addr' | 'contact_addr') =>
        sql<string>`CASE WHEN ${sql.ref(col)} = ${plain} THEN ${e.replacement} WHEN ${sql.ref(col)} = ${wa} THEN ${`whatsapp:${e.replacement}`} ELSE ${sql.ref(col)} END`;
      const mine = t
        .selectFrom('messages')
        .select('id')
        .where('tenant_id', '=', e.tenantId)
        .where((eb) => eb.or([eb('to_addr', 'in', [plain!, wa!]), eb('from_addr', 'in', [plain!, wa!])]));
      const ids = (await mine.execute()).map((r) => r.id);
      // Raw webhook fields carry the number too.
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await t.updateTable('message_events').set({ data: null }).where('message_id', 'in', chunk).execute();
        await t.updateTable('webhook_events').set({ params: null }).where('tenant_id', '=', e.tenantId).where('message_id', 'in', chunk).execute();
      }
      const m = await t
        .updateTable('messages')
        .set({
          body: null,
          media_urls: null,
          metadata: null,
          redacted_at: e.now,
          country: sql<string>`COALESCE(country, ${e.country})`,
          to_addr: swap('to_addr'),
          from_addr: swap('from_addr'),
          updated_at: e.now,
        })
        .where('tenant_id', '=', e.tenantId)
        .where((eb) => eb.or([eb('to_addr', 'in', [plain!, wa!]), eb('from_addr', 'in', [plain!, wa!])]))
        .executeTakeFirst();
      const c = await t
        .updateTable('conversations')
        .set({ contact_addr: swap('contact_addr'), external_ref: null, updated_at: e.now })
        .where('tenant_id', '=', e.tenantId)
        .where('contact_addr', 'in', [plain!, wa!])
        .executeTakeFirst();
      const p = await t
        .updateTable('contacts')
        .set({ phone: e.replacement, name: null, locale: null, time_zone: null, external_ref: null, fields: '{}', updated_at: e.now })
        .where('tenant_id', '=', e.tenantId)
        .where('phone', '=', e.phone)
        .executeTakeFirst();
      await t.deleteFrom('lookup_cache').where('tenant_id', '=', e.tenantId).where('phone', '=', e.phone).execute();
      // Per-recipient limit windows are keyed by the number (services/limits.ts: r:<tenant>:<category>:<number>).
      await t.deleteFrom('recipient_windows').where('key', 'like', `r:${e.tenantId}:%:${e.phone}`).execute();
      // Idempotent replays hold the message as answered (number and body); they would be gone within a day anyway.
      await t
        .deleteFrom('idempotency_keys')
        .where('tenant_id', '=', e.tenantId)
        .where('response_body', 'like', `%${JSON.stringify(e.phone).slice(1, -1)}%`)
        .execute();
      return { messages: Number(m.numUpdatedRows), conversations: Number(c.numUpdatedRows), contacts: Number(p.numUpdatedRows) };
    },

    async held(tenantId, phone, messageLimit) {
      const [plain, wa] = addrs(phone);
      const messages = await k
        .selectFrom('messages')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('to_addr', 'in', [plain!, wa!]), eb('from_addr', 'in', [plain!, wa!])]))
        .orderBy('id', 'desc')
        .limit(messageLimit)
        .execute();
      const events: MessageEventRecord[] = [];
      for (let i = 0; i < messages.length; i += 500) {
        const chunk = messages.slice(i, i + 500).map((m) => m.id);
        events.push(...((await k.selectFrom('message_events').selectAll().where('message_id', 'in', chunk).orderBy('id').execute()) as MessageEventRecord[]));
      }
      const lookup = await k
        .selectFrom('lookup_cache')
        .select(['data', 'fetched_at'])
        .where('tenant_id', '=', tenantId)
        .where('phone', '=', phone)
        .executeTakeFirst();
      return {
        contact: await k.selectFrom('contacts').selectAll().where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst(),
        conversations: await k.selectFrom('conversations').selectAll().where('tenant_id', '=', tenantId).where('contact_addr', 'in', [plain!, wa!]).execute(),
        messages,
        events,
        consentEvents: (await k
          .selectFrom('consent_events')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('phone', '=', phone)
          .orderBy('created_at')
          .execute()) as ConsentEventRecord[],
        suppression: await k.selectFrom('suppressions').selectAll().where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst(),
        lookup,
      };
    },
  };
}
