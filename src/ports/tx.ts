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
}
