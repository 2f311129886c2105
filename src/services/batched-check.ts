// Concurrent yes/no checks of (tenant, value) pairs answered by one query per tick (consent's
// suppression check, blocked conversations): the send path accepts and dispatches messages in
// batches, and a check per message would be a statement per message. Nothing is cached across ticks.
const MAX_BATCH = 500;

interface Pending {
  tenantId: string;
  value: string;
  waiters: { resolve(v: boolean): void; reject(e: unknown): void }[];
}

export const pairKey = (tenantId: string, value: string): string => `${tenantId}\u0000${value}`;

export class BatchedCheck {
  private pending = new Map<string, Pending>();
  private scheduled = false;

  /** `query` answers the pairKey()s of the pairs that hold, among the tenants and values given. */
  constructor(private readonly query: (tenantIds: string[], values: string[]) => Promise<Set<string>>) {}

  has(tenantId: string, value: string): Promise<boolean> {
    const key = pairKey(tenantId, value);
    return new Promise((resolve, reject) => {
      let p = this.pending.get(key);
      if (!p) {
        p = { tenantId, value, waiters: [] };
        this.pending.set(key, p);
      }
      p.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = [...this.pending.values()].slice(0, MAX_BATCH);
    for (const p of batch) this.pending.delete(pairKey(p.tenantId, p.value));
    if (this.pending.size > 0) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    try {
      const hit = await this.query([...new Set(batch.map((p) => p.tenantId))], [...new Set(batch.map((p) => p.value))]);
      for (const p of batch) for (const w of p.waiters) w.resolve(hit.has(pairKey(p.tenantId, p.value)));
    } catch (e) {
      for (const p of batch) for (const w of p.waiters) w.reject(e);
    }
  }
}
