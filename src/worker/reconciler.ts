// The reconciler: Twilio's callbacks are best effort (lost, late, reordered), so messages that sit
// in a non-terminal provider state longer than the configured age are fetched from the provider and
// converged forward. It also re-matches status callbacks that arrived before their SID was stored.
// A message the provider answers 404 (Twilio 20404) for — deleted there, or sent through another
// provider such as a different emulator — is not converged: nothing says how it ended, so its status
// stays as it is (a late callback can still move it), one event records the answer, and it is not
// fetched again.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { ReconcilerConfig } from '../config.js';
import type { Clock, ProviderFor } from '../ports.js';
import type { StatusCallbacksService } from '../services/status-callbacks.js';
import type { Store } from '../storage/store.js';

export interface ReconcilerDeps {
  store: Store;
  providerFor: ProviderFor;
  clock: Clock;
  config: ReconcilerConfig;
  logger: Logger;
  statusCallbacks: StatusCallbacksService;
}

// 'sent' can stay final when the carrier sends no receipt: stop asking after three days.
const MAX_AGE_MS = 3 * 24 * 60 * 60 * 1000;
const FETCH_CONCURRENCY = 8;
const MAX_BACKOFF_STEPS = 8;

export class Reconciler {
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();
  private stopped = true;

  constructor(private readonly d: ReconcilerDeps) {}

  start(): void {
    if (!this.stopped || !this.d.config.enabled) return;
    this.stopped = false;
    const every = (ms: number, fn: () => Promise<unknown>, what: string) => {
      let busy = false;
      this.timers.push(
        setInterval(() => {
          if (busy || this.stopped) return;
          busy = true;
          const p = fn()
            .catch((e) => this.d.logger.error({ err: e }, `reconciler: ${what} failed`))
            .finally(() => (busy = false));
          this.running = Promise.all([this.running, p]);
        }, ms),
      );
    };
    every(this.d.config.attachIntervalMs, () => this.d.statusCallbacks.attachOrphans(), 'matching early callbacks');
    every(this.d.config.intervalMs, () => this.reconcileOnce(), 'reconciliation');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.splice(0).forEach(clearInterval);
    await this.running;
  }

  /** One pass: fetches up to batchSize stale messages and converges them; returns how many were fetched. */
  async reconcileOnce(): Promise<number> {
    const cfg = this.d.config;
    const now = this.d.clock.now().getTime();
    const rows = await this.d.store.kysely
      .selectFrom('messages as m')
      .leftJoin('reconcile_checks as c', 'c.message_id', 'm.id')
      .select(['m.id', 'm.tenant_id', 'm.status', 'm.to_addr', 'm.provider_sid', 'm.created_at', 'c.checks'])
      // Spelled out, not bound, so SQLite can use the partial messages_unsettled index.
      .where(sql<boolean>`m.status in ('accepted', 'queued', 'sending', 'sent')`)
      .where('m.updated_at', '<', now - cfg.minAgeMs)
      .where('m.created_at', '>', now - MAX_AGE_MS)
      .where('m.direction', '=', 'outbound')
      .where('m.provider_sid', 'is not', null)
      .where((eb) => eb.or([eb('c.next_check_at', 'is', null), eb('c.next_check_at', '<=', now)]))
      .orderBy('m.updated_at')
      .limit(cfg.batchSize)
      .execute();
    let next = 0;
    let notFound = 0;
    const worker = async () => {
      while (next < rows.length) {
        const r = rows[next++]!;
        const checks = (r.checks ?? 0) + 1;
        let fetched;
        try {
          fetched = await (await this.d.providerFor(r.tenant_id)).fetch(r.provider_sid!);
        } catch (e) {
          this.d.logger.warn({ messageId: r.id, err: e instanceof Error ? e.message : String(e) }, 'reconciler: provider fetch failed');
          continue;
        }
        const at = this.d.clock.now().getTime();
        if (!fetched) {
          notFound++;
          this.d.logger.warn(
            { messageId: r.id, providerSid: r.provider_sid, status: r.status },
            'reconciler: the provider does not know this message (20404); its status is left as it is and it is not fetched again',
          );
          await this.d.store.write(async (trx) => {
            await this.d.store.insertEvent(trx, {
              message_id: r.id,
              tenant_id: r.tenant_id,
              status: r.status,
              source: 'reconciler',
              error_code: null,
              provider_code: 20404,
              data: JSON.stringify({ provider_status: null, not_found: true }),
              created_at: at,
            });
            // Past MAX_AGE_MS the message is out of the reconciler's query for good.
            const never = r.created_at + MAX_AGE_MS;
            await trx
              .insertInto('reconcile_checks')
              .values({ message_id: r.id, next_check_at: never, checks })
              .onConflict((oc) => oc.column('message_id').doUpdateSet({ next_check_at: never, checks }))
              .execute();
          });
          continue;
        }
        // Each unchanged answer doubles the wait before asking again.
        const nextCheck = at + cfg.minAgeMs * 2 ** Math.min(checks - 1, MAX_BACKOFF_STEPS);
        await this.d.store.write(async (trx) => {
          if (fetched.status !== r.status) {
            const cur = await trx.selectFrom('messages').select('status').where('id', '=', r.id).executeTakeFirstOrThrow();
            await this.d.statusCallbacks.apply(
              trx,
              { id: r.id, tenant_id: r.tenant_id, status: cur.status, to_addr: r.to_addr },
              { status: fetched.status, errorCode: fetched.errorCode, errorMessage: fetched.errorMessage, price: fetched.price, priceUnit: fetched.priceUnit },
              'reconciler',
              { provider_status: fetched.status },
              at,
            );
          }
          await trx
            .insertInto('reconcile_checks')
            .values({ message_id: r.id, next_check_at: nextCheck, checks })
            .onConflict((oc) => oc.column('message_id').doUpdateSet({ next_check_at: nextCheck, checks }))
            .execute();
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, rows.length) }, worker));
    if (rows.length > notFound) this.d.logger.info({ fetched: rows.length - notFound }, 'reconciler: converged stale messages');
    return rows.length;
  }
}
