// The admin console's sign-in sessions (migration 0015).
import type { Tx } from './tx.js';

export interface ConsoleSessionRecord {
  /** SHA-256 (hex) of the cookie's random id. */
  id_hash: string;
  tenant_id: string;
  key_id: string;
  /** Sent by the page in a header on every state-changing request (synchronizer token). */
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

/** A session with its key's current scopes and revocation (a revoked key ends its sessions). */
export interface ConsoleSessionView extends ConsoleSessionRecord {
  scopes: string;
  key_revoked_at: number | null;
}

export interface ConsoleSessionsRepository {
  insert(tx: Tx, row: ConsoleSessionRecord): Promise<void>;
  find(idHash: string): Promise<ConsoleSessionView | undefined>;
  touch(idHash: string, now: number): Promise<void>;
  delete(idHash: string, tx?: Tx): Promise<void>;
  /** Deletes sessions past their absolute end or idle since before `idleBefore`; returns how many. */
  deleteExpired(now: number, idleBefore: number): Promise<number>;
}
