// Transactions as the storage port sees them.

/** An open database transaction. Opaque outside storage/: pass it back to repository methods. */
export interface Tx {
  readonly __tx: unique symbol;
}

export interface UnitOfWork {
  /**
   * Runs `fn` in the next group commit (writes queued in the same event-loop turn share one
   * transaction) and resolves only after that transaction committed. `fn` may be re-run alone
   * if its batch fails, so it must not have side effects outside the transaction.
   */
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Like write, for writes that are cheaper as one set-based step: the items of one BatchWrite
   * queued for the same group commit are handed to its `run` together (results in input order).
   */
  batch<I, R>(op: BatchWrite<I, R>, item: I): Promise<R>;
}

export interface BatchWrite<I, R> {
  run(tx: Tx, items: I[]): Promise<R[]>;
  /**
   * Whether `run(items)` writes in one statement. A group commit holding nothing else then runs it
   * without BEGIN/COMMIT (the statement is atomic on its own): two round trips fewer. Whatever `run`
   * issues after it (a read of committed rows) must not need to commit with it.
   */
  single?(items: I[]): boolean;
}
