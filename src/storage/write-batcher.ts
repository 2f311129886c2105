import type { Kysely, Transaction } from 'kysely';
import type { Tx } from '../ports.js';
import type { Database } from './schema.js';

type Op<T> = (trx: Transaction<Database>) => Promise<T>;

/** UnitOfWork['write'] inside storage: `single` declares that `fn` issues at most one statement. */
export type StorageWrite = <T>(fn: (tx: Tx) => Promise<T>, single?: boolean) => Promise<T>;

/** Writes of one kind that run as one set-based step: `run` gets every item queued together. */
export interface BatchOp<I, R> {
  run(trx: Transaction<Database>, items: I[]): Promise<R[]>;
  /** `run(items)` issues at most one statement. */
  single?(items: I[]): boolean;
}

interface Pending {
  op: Op<unknown> | null;
  /** The op issues at most one statement (atomic on its own). */
  single: boolean;
  batch: BatchOp<unknown, unknown> | null;
  item: unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * Group commit: write operations queued in the same event-loop turn run in one transaction, and each
 * caller is answered only after that transaction committed, so every answer is still durable. One
 * commit per batch instead of per request is what lets the send API approach bare-HTTP throughput;
 * items of one BatchOp in a batch run as one call (set-based statements), at the place of the first.
 * Up to `maxInFlight` batches run at once, each on its own connection (PostgreSQL; SQLite has one
 * writer): the next batch forms while one waits on the database. A batch of one operation declared
 * single-statement, or of one BatchOp's items that it declares one statement, runs without
 * BEGIN/COMMIT: the statement is its own transaction.
 * If a batch fails, its operations are re-run one transaction each, so one bad write cannot fail
 * its neighbours. Operations must therefore be safe to re-run after a rollback (they are: nothing
 * of a rolled-back batch remains).
 */
export class WriteBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxInFlight = 1,
    private readonly maxBatch = 500,
  ) {}

  /** `single`: `op` issues at most one statement; alone in its batch, it then runs without BEGIN/COMMIT. */
  run<T>(op: Op<T>, single = false): Promise<T> {
    return this.enqueue(op, null, undefined, single) as Promise<T>;
  }

  batch<I, R>(op: BatchOp<I, R>, item: I): Promise<R> {
    return this.enqueue(null, op as BatchOp<unknown, unknown>, item, false) as Promise<R>;
  }

  private enqueue(op: Op<unknown> | null, batch: BatchOp<unknown, unknown> | null, item: unknown, single: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, batch, item, single, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.maxInFlight && this.queue.length > 0) void this.flush(this.queue.splice(0, this.maxBatch));
    });
  }

  private async flush(batch: Pending[]): Promise<void> {
    this.inFlight++;
    try {
      // One statement is atomic by itself: an explicit transaction around it would only add two round trips.
      const results = isSingle(batch)
        ? await runAll(this.db as Transaction<Database>, batch)
        : await this.db.transaction().execute((trx) => runAll(trx, batch));
      for (const [i, p] of batch.entries()) p.resolve(results[i]);
    } catch {
      for (const p of batch) {
        try {
          p.resolve((await this.db.transaction().execute((trx) => runAll(trx, [p])))[0]);
        } catch (e) {
          p.reject(e);
        }
      }
    } finally {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
    }
  }
}

function isSingle(batch: Pending[]): boolean {
  if (batch.length === 1 && batch[0]!.single) return true;
  const op = batch[0]!.batch;
  return op?.single !== undefined && batch.every((p) => p.batch === op) && op.single(batch.map((p) => p.item));
}

/** Runs a batch's operations in order; the items of each BatchOp go together where its first was. */
async function runAll(trx: Transaction<Database>, batch: Pending[]): Promise<unknown[]> {
  const results: unknown[] = new Array(batch.length);
  const groups = new Map<BatchOp<unknown, unknown>, number[]>();
  for (const [i, p] of batch.entries()) {
    if (!p.batch) continue;
    const g = groups.get(p.batch);
    if (g) g.push(i);
    else groups.set(p.batch, [i]);
  }
  for (const [i, p] of batch.entries()) {
    if (p.op) results[i] = await p.op(trx);
    else if (groups.get(p.batch!)?.[0] === i) {
      const idx = groups.get(p.batch!)!;
      const r = await p.batch!.run(
        trx,
        idx.map((j) => batch[j]!.item),
      );
      for (const [k, j] of idx.entries()) results[j] = r[k];
    }
  }
  return results;
}
