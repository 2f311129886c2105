// The reconciler: Twilio's callbacks are best effort (lost, late, reordered), so messages that sit
// in a non-terminal provider state longer than the configured age are fetched from the provider and
// converged forward. It also re-matches status callbacks that arrived before their SID was stored.
// A message the provider answers 404 (Twilio 20404) for — deleted there, or sent through another
// provider such as a different emulator — is not converged: nothing says how it ended, so its status
// stays as it is (a late callback can still move it), one event records the answer, and it is not
// fetched again.
import type { Logger } from 'pino';
import type { ReconcilerConfig } from '../config.js';
import { maskPhonesIn, messageFields } from '../core/log-fields.js';
import type { Clock, MessagesRepository, ProviderFor, ProviderMessage, ReconcileRepository, UnitOfWork } from '../ports.js';
import type { Applied, StatusCallbacksService } from '../services/status-callbacks.js';
import type { PeriodicTask } from './periodic.js';

export interface ReconcilerDeps {
  reconcile: ReconcileRepository;
  messages: Pick<MessagesRepository, 'transition'>;
  write: UnitOfWork['write'];
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
  constructor(private readonly d: ReconcilerDeps) {}

  /** Its two loops, run by the worker's periodic-task runner (none when reconciliation is off). */
  tasks(): PeriodicTask[] {
    if (!this.d.config.enabled) return [];
    return [
      { name: 'reconciler: matching early callbacks', intervalMs: this.d.config.attachIntervalMs, run: () => this.d.statusCallbacks.attachOrphans() },
      { name: 'reconciler: reconciliation', intervalMs: this.d.config.intervalMs, run: () => this.reconcileOnce() },
    ];
  }

  /** One pass: fetches up to batchSize stale messages and converges them; returns how many were fetched. */
  async reconcileOnce(): Promise<number> {
    const cfg = this.d.config;
    const now = this.d.clock.now().getTime();
    const rows = await this.d.reconcile.stale({ now, updatedBefore: now - cfg.minAgeMs, createdAfter: now - MAX_AGE_MS, limit: cfg.batchSize });
    let next = 0;
    let notFound = 0;
    const worker = async () => {
      while (next < rows.length) {
        const r = rows[next++]!;
        const checks = (r.checks ?? 0) + 1;
        let fetched: ProviderMessage | null;
        try {
          fetched = await (await this.d.providerFor(r.tenant_id)).fetch(r.provider_sid);
        } catch (e) {
          this.d.logger.warn({ ...messageFields(r), err: maskPhonesIn(e instanceof Error ? e.message : String(e)) }, 'reconciler: provider fetch failed');
          continue;
        }
        const at = this.d.clock.now().getTime();
        if (!fetched) {
          notFound++;
          this.d.logger.warn(
            { ...messageFields(r), status: r.status },
            'reconciler: the provider does not know this message (20404); its status is left as it is and it is not fetched again',
          );
          await this.d.write(async (tx) => {
            // Recorded, not moved: the status stays as it is and the event says the provider had no such message.
            await this.d.messages.transition(tx, [
              {
                target: { id: r.id, seen: { tenant_id: r.tenant_id, to_addr: r.to_addr, status: r.status } },
                set: { status: r.status },
                at,
                event: { source: 'reconciler', provider_code: 20404, data: { provider_status: null, not_found: true } },
                record: 'always',
              },
            ]);
            // Past MAX_AGE_MS the message is out of the reconciler's query for good.
            await this.d.reconcile.recordCheck(tx, r.id, r.created_at + MAX_AGE_MS, checks);
          });
          continue;
        }
        // Each unchanged answer doubles the wait before asking again.
        const nextCheck = at + cfg.minAgeMs * 2 ** Math.min(checks - 1, MAX_BACKOFF_STEPS);
        const applied = await this.d.write(async (tx) => {
          let moved: Applied[] = [];
          if (fetched && fetched.status !== r.status) {
            moved = await this.d.statusCallbacks.observe(tx, [
              {
                messageId: r.id,
                status: {
                  status: fetched.status,
                  errorCode: fetched.errorCode,
                  errorMessage: fetched.errorMessage,
                  price: fetched.price,
                  priceUnit: fetched.priceUnit,
                },
                source: 'reconciler',
                data: { provider_status: fetched.status },
                now: at,
              },
            ]);
          }
          await this.d.reconcile.recordCheck(tx, r.id, nextCheck, checks);
          return moved;
        });
        this.d.statusCallbacks.report(applied);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, rows.length) }, worker));
    if (rows.length > notFound) this.d.logger.info({ fetched: rows.length - notFound }, 'reconciler: converged stale messages');
    return rows.length;
  }
}
