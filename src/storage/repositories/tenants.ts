import type { Kysely } from 'kysely';
import type { TenantsRepository } from '../../ports.js';
import type { Database } from '../schema.js';
import { kx } from '../tx.js';

export function tenantsRepository(k: Kysely<Database>): TenantsRepository {
  const bySlug = (slug: string) => k.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  return {
    async insert(tx, row) {
      const r = await kx(tx)
        .insertInto('tenants')
        .values(row)
        .onConflict((oc) => oc.column('slug').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async insertIfMissing(row) {
      await k
        .insertInto('tenants')
        .values(row)
        .onConflict((oc) => oc.column('slug').doNothing())
        .execute();
      return (await bySlug(row.slug))!;
    },
    byId: (id) => k.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst(),
    bySlug,
    list: () => k.selectFrom('tenants').selectAll().orderBy('created_at').orderBy('id').execute(),
    activeByAccountSid: (accountSid) =>
      k.selectFrom('tenants').selectAll().where('twilio_account_sid', '=', accountSid).orderBy('created_at').executeTakeFirst(),
    page: (limit, after) =>
      k
        .selectFrom('tenants')
        .selectAll()
        .$if(after !== null, (q) =>
          q.where((eb) => eb.or([eb('created_at', '>', after![0]), eb.and([eb('created_at', '=', after![0]), eb('id', '>', after![1])])])),
        )
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute(),
    async update(tx, id, change, now) {
      const r = await kx(tx)
        .updateTable('tenants')
        .set({ ...change, updated_at: now })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async setCredentials(tx, id, creds, now) {
      await kx(tx)
        .updateTable('tenants')
        .set({ ...creds, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    encryptedSecrets: (tx) =>
      kx(tx).selectFrom('tenants').select(['id', 'twilio_auth_token_enc']).where('twilio_auth_token_enc', 'is not', null).orderBy('id').execute() as Promise<
        { id: string; twilio_auth_token_enc: string }[]
      >,
    async setEncryptedToken(tx, id, enc) {
      await kx(tx).updateTable('tenants').set({ twilio_auth_token_enc: enc }).where('id', '=', id).execute();
    },
  };
}
