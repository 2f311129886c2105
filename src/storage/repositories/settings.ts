import { COLUMN_KEYS } from '../../core/settings.js';
import type { SettingsRepository } from '../../ports.js';
import type { Db } from '../db.js';
import type { TenantsTable } from '../schema.js';
import { asTx, exclusiveTransaction } from '../tx.js';

type Row = Pick<TenantsTable, 'slug' | 'settings' | (typeof COLUMN_KEYS)[number]>;

function values(r: Row): Record<string, unknown> {
  let json: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(r.settings || '{}');
    if (v && typeof v === 'object' && !Array.isArray(v)) json = v as Record<string, unknown>;
  } catch {
    // A corrupt settings column means defaults (the document's resolver ignores what it cannot use).
  }
  for (const k of COLUMN_KEYS) delete json[k];
  for (const k of COLUMN_KEYS) if (r[k] !== null) json[k] = r[k];
  return json;
}

export function settingsRepository(db: Db): SettingsRepository {
  const k = db.kysely;
  const select = ['slug', 'settings', ...COLUMN_KEYS] as const;
  return {
    async read(tenantId) {
      const r = await k.selectFrom('tenants').select(select).where('id', '=', tenantId).executeTakeFirst();
      return r ? { slug: r.slug, values: values(r) } : undefined;
    },
    update(tenantId, change, now, within) {
      return exclusiveTransaction(db, async (trx) => {
        const r = await trx
          .selectFrom('tenants')
          .select(select)
          .where('id', '=', tenantId)
          .$if(db.dialect === 'postgres', (q) => q.forUpdate())
          .executeTakeFirst();
        if (!r) return undefined;
        const next = change(values(r));
        const json = { ...next };
        const cols: Record<string, unknown> = {};
        for (const c of COLUMN_KEYS) {
          cols[c] = (next[c] as string | null | undefined) ?? null;
          delete json[c];
        }
        await trx
          .updateTable('tenants')
          .set({ ...cols, settings: JSON.stringify(json), updated_at: now })
          .where('id', '=', tenantId)
          .execute();
        // exclusiveTransaction hands a connection inside BEGIN on SQLite: the same transaction.
        if (within) await within(asTx(trx as never));
        return next;
      });
    },
  };
}
