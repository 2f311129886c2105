// Sign-in sessions of the admin console (/admin): an API key is exchanged once for a random session
// id that travels only in an HttpOnly cookie. The database keeps the id's SHA-256; each session has
// an idle timeout and an absolute lifetime, and acts with its key's current scopes (revoking the
// key ends it). CSRF: a random token per session that the page sends in a header (synchronizer
// token pattern; see http/auth.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/errors.js';
import type { Clock, ConsoleSessionsRepository, Random, UnitOfWork } from '../ports.js';
import type { ApiKeysService, Principal } from './api-keys.js';
import type { Actor, AuditLog } from './audit.js';

export interface ConsoleSessionConfig {
  idleMs: number;
  maxMs: number;
}

export interface ConsoleSession {
  principal: Principal;
  csrfToken: string;
  expiresAt: number;
  /** When the session ends if unused from now on. */
  idleExpiresAt: number;
}

// last_seen_at is written at most this often per session (one write a minute, not one per
// request), and at most a tenth of the idle timeout apart so a session in use never looks idle.
const TOUCH_EVERY_MS = 60_000;
const PURGE_EVERY_MS = 10 * 60_000;

const hashId = (id: string): string => createHash('sha256').update(id).digest('hex');
const actorOf = (p: Principal): Actor => ({ keyId: p.keyId, tenantId: p.tenantId, onBehalfOf: null });

export class ConsoleSessionsService {
  private lastPurge = 0;

  constructor(
    private readonly d: {
      sessions: ConsoleSessionsRepository;
      write: UnitOfWork['write'];
      audit: AuditLog;
      apiKeys: ApiKeysService;
      clock: Clock;
      random: Random;
      config: ConsoleSessionConfig;
    },
  ) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /** Checks the key (SMS_ERR_UNAUTHENTICATED) and opens a session; returns its cookie value. */
  async signIn(key: string): Promise<{ id: string; session: ConsoleSession }> {
    const principal = await this.d.apiKeys.authenticate(key);
    const now = this.now();
    const id = this.d.random.bytes(32).toString('base64url');
    const csrfToken = this.d.random.bytes(32).toString('base64url');
    const expiresAt = now + this.d.config.maxMs;
    // Sign-ins and sign-outs are in the audit log (who opened the console, with which key).
    await this.d.write(async (tx) => {
      await this.d.sessions.insert(tx, {
        id_hash: hashId(id),
        tenant_id: principal.tenantId,
        key_id: principal.keyId,
        csrf_token: csrfToken,
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
      });
      await this.d.audit.record(tx, {
        tenantId: principal.tenantId,
        actor: actorOf(principal),
        action: 'console.sign_in',
        target: principal.keyId,
        changes: {},
      });
    });
    await this.purge(now);
    return { id, session: { principal, csrfToken, expiresAt, idleExpiresAt: Math.min(expiresAt, now + this.d.config.idleMs) } };
  }

  /** The live session of a cookie value; SMS_ERR_UNAUTHENTICATED when unknown, expired, idle or its key revoked. */
  async resolve(id: string | undefined): Promise<ConsoleSession> {
    if (!id || id.length > 100) throw new AppError('SMS_ERR_UNAUTHENTICATED', 'The console session is missing or has ended: sign in again.');
    const idHash = hashId(id);
    const row = await this.d.sessions.find(idHash);
    const now = this.now();
    if (!row || row.key_revoked_at !== null || row.expires_at <= now || row.last_seen_at + this.d.config.idleMs <= now) {
      if (row) await this.d.sessions.delete(idHash);
      throw new AppError('SMS_ERR_UNAUTHENTICATED', 'The console session is missing or has ended: sign in again.');
    }
    if (now - row.last_seen_at >= Math.min(TOUCH_EVERY_MS, this.d.config.idleMs / 10)) await this.d.sessions.touch(idHash, now);
    return {
      principal: { keyId: row.key_id, tenantId: row.tenant_id, scopes: new Set(row.scopes.split(' ')) },
      csrfToken: row.csrf_token,
      expiresAt: row.expires_at,
      idleExpiresAt: Math.min(row.expires_at, now + this.d.config.idleMs),
    };
  }

  /** Ends the session `id` (resolved by the caller as `session`). */
  async signOut(id: string, session: ConsoleSession): Promise<void> {
    const { principal } = session;
    await this.d.write(async (tx) => {
      await this.d.sessions.delete(hashId(id), tx);
      await this.d.audit.record(tx, {
        tenantId: principal.tenantId,
        actor: actorOf(principal),
        action: 'console.sign_out',
        target: principal.keyId,
        changes: {},
      });
    });
  }

  /** Constant-time comparison of the header's token with the session's. */
  csrfMatches(session: ConsoleSession, token: string | undefined): boolean {
    if (!token) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Ended sessions are deleted now and then on sign-in (no separate job for a small table). */
  private async purge(now: number): Promise<void> {
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    await this.d.sessions.deleteExpired(now, now - this.d.config.idleMs);
  }
}
