import type { Kysely } from 'kysely';
import type { TenantsRepository } from '../../ports.js';
import type { Database } from '../schema.js';

export function tenantsRepository(k: Kysely<Database>): TenantsRepository {
  const bySlug = (slug: string) => k.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  return {
    async insert(row) {
      await k.insertInto('tenants').values(row).execute();
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
      k.selectFrom('tenants').selectAll().where('twilio_account_sid', '=', accountSid).where('status', '=', 'active').executeTakeFirst(),
    async setEnabled(id, enabled, now) {
      const r = await k
        .updateTable('tenants')
        .set({ enabled: enabled ? 1 : 0, updated_at: now })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}
