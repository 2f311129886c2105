import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Op<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  op: Op<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * Group commit: write operations queued in the same event-loop turn run in one transaction, and each
 * caller is answered only after that transaction committed, so every answer is still durable. One
 * commit per batch instead of per request is what lets the send API approach bare-HTTP throughput.
 * If a batch fails, its operations are re-run one transaction each, so one bad write cannot fail
 * its neighbours. Operations must therefore be safe to re-run after a rollback (they are: nothing
 * of a rolled-back batch remains).
 */
export class WriteBatcher {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxBatch = 500,
  ) {}

  run<T>(op: Op<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      const results: unknown[] = [];
      await this.db.transaction().execute(async (trx) => {
        for (const p of batch) results.push(await p.op(trx));
      });
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch {
      for (const p of batch) {
        try {
          p.resolve(await this.db.transaction().execute((trx) => p.op(trx)));
        } catch (e) {
          p.reject(e);
        }
      }
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
