// The sender-pacing port: each sender's next free send slot, shared by every worker process.

export interface SenderPaceRecord {
  tenant_id: string;
  /** The pacing key: a Messaging Service SID or a from address (core/pacing.ts senderKey). */
  sender: string;
  /** When the sender is next free (epoch ms). */
  next_at: number;
  /** Whether the last reservation was granted (1) or only reported next_at (0). */
  granted: number;
}

export interface PaceReservation {
  granted: boolean;
  /** Granted: when this send may start. Not granted: when the sender is next free. */
  at: number;
}

export interface SenderPaceRepository {
  /**
   * One atomic statement: when the sender's next free slot starts by `now + horizonMs`, takes it
   * (the sender is then busy `costMs` longer) and returns its start; otherwise reserves nothing and
   * returns when the sender is next free.
   */
  reserve(tenantId: string, sender: string, now: number, costMs: number, horizonMs: number): Promise<PaceReservation>;
}
