// Concurrent lookups of (tenant, value) pairs answered by one query per tick (consent's suppression
// check, blocked conversations, contacts, current template versions): the send path accepts and
// dispatches messages in batches, and a read per message would be a statement per message.
// Nothing is cached across ticks: a change is seen by every lookup that starts after it committed.
const MAX_BATCH = 500;

interface Pending<V> {
  tenantId: string;
  value: string;
  waiters: { resolve(v: V | undefined): void; reject(e: unknown): void }[];
}

export const pairKey = (tenantId: string, value: string): string => `${tenantId}\u0000${value}`;

export class BatchedLookup<V> {
  private pending = new Map<string, Pending<V>>();
  private scheduled = false;

  /** `query` answers, by pairKey(), what it found among the tenants and values given. */
  constructor(private readonly query: (tenantIds: string[], values: string[]) => Promise<Map<string, V>>) {}

  get(tenantId: string, value: string): Promise<V | undefined> {
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
      const found = await this.query([...new Set(batch.map((p) => p.tenantId))], [...new Set(batch.map((p) => p.value))]);
      for (const p of batch) for (const w of p.waiters) w.resolve(found.get(pairKey(p.tenantId, p.value)));
    } catch (e) {
      for (const p of batch) for (const w of p.waiters) w.reject(e);
    }
  }
}

/** A yes/no lookup: `query` answers the pairKey()s of the pairs that hold. */
export class BatchedCheck {
  private readonly lookup: BatchedLookup<true>;

  constructor(query: (tenantIds: string[], values: string[]) => Promise<Set<string>>) {
    this.lookup = new BatchedLookup(async (tenantIds, values) => new Map([...(await query(tenantIds, values))].map((k) => [k, true as const])));
  }

  async has(tenantId: string, value: string): Promise<boolean> {
    return (await this.lookup.get(tenantId, value)) === true;
  }
}
