// Delivery-status callbacks: recorded raw, de-duplicated (I-Twilio-Idempotency-Token and
// (MessageSid, MessageStatus)), applied forward-only, and kept for later when the SID is not
// stored yet (the callback can beat the worker's write of the create answer).
import type { Logger } from 'pino';
import { AppError } from '../core/errors.js';
import { messageFields } from '../core/log-fields.js';
import { rounds } from '../core/rounds.js';
import type { MessageStatus } from '../core/status.js';
import {
  NO_METRICS,
  type BatchWrite,
  type Clock,
  type MessageChanges,
  type MessagesRepository,
  type Metrics,
  type MovedMessage,
  type Random,
  type SignerScope,
  type StatusMove,
  type Tx,
  type UnitOfWork,
  type WebhookEventsRepository,
} from '../ports.js';
import { consentKey, type ConsentChange } from './consent.js';
import { field, type WebhookParams } from './webhooks.js';

export type CallbackOutcome = 'applied' | 'ignored' | 'duplicate' | 'orphan';
export type StatusSource = 'callback' | 'reconciler';

/** What a callback or observation did; reported (metrics, logs) by `report` once its transaction committed. */
export interface Applied<O extends CallbackOutcome = CallbackOutcome> {
  outcome: O;
  /** The message, when the status moved. */
  message?: MovedMessage;
  status: ProviderStatus;
  source: StatusSource;
  /** The SID the callback named (callbacks only). */
  providerSid?: string;
}

export interface StatusCallbackInput {
  /** The tenant whose account signed the callback (the default tenant for the installation's account). */
  tenantId: string;
  params: WebhookParams;
  /** I-Twilio-Idempotency-Token, already bounded by the route. */
  idempotencyToken: string | null;
}

export interface ProviderStatus {
  status: string;
  errorCode: number | null;
  errorMessage: string | null;
  price?: string | null;
  priceUnit?: string | null;
}

/** A provider status seen for a message by id (a late-matched callback, a reconciler fetch). */
export interface Observation {
  messageId: string;
  /** The message as read in this transaction, if it was. */
  seen?: { tenant_id: string; to_addr: string; status: string };
  status: ProviderStatus;
  source: StatusSource;
  data: Record<string, unknown>;
  now: number;
}

interface Callback extends StatusCallbackInput {
  sid: string;
  status: string;
  ps: ProviderStatus;
  now: number;
  /** Its move: by SID, in the signer's scope, recorded whether or not it applies (built once, at parse). */
  move: StatusMove;
}

const SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const FAILED: ReadonlySet<string> = new Set(['failed', 'undelivered']);
// Callbacks for SIDs we never stored stop being matched after this long.
const ORPHAN_WINDOW_MS = 60 * 60 * 1000;
const ATTACH_BATCH = 500;

export interface StatusCallbacksDeps {
  messages: MessagesRepository;
  webhookEvents: WebhookEventsRepository;
  write: UnitOfWork['write'];
  batch: UnitOfWork['batch'];
  clock: Clock;
  random: Random;
  /** The consent ledger's write (a provider 21610 answer suppresses the number). */
  consent: { record(tx: Tx, c: ConsentChange): Promise<unknown> };
  /** The tenant that callbacks signed by the installation's Twilio account are authenticated as. */
  installationTenantId: string;
  /**
   * Whether tenants with their own Twilio credentials send through their own accounts (real Twilio);
   * false when one provider sends for everyone (the emulator, an injected provider).
   */
  tenantAccounts: boolean;
  metrics?: Metrics;
  /** One line per applied status (ids and tenant; the raw fields are in the message's events). */
  logger?: Pick<Logger, 'info' | 'debug'>;
}

export class StatusCallbacksService {
  /** Callbacks arriving together are de-duplicated, matched and applied as one batch. */
  private readonly callbackBatch: BatchWrite<Callback, Applied>;
  private readonly metrics: Metrics;

  constructor(private readonly d: StatusCallbacksDeps) {
    this.callbackBatch = { run: (tx, cbs) => this.applyCallbacks(tx, cbs), single: (cbs) => this.oneStatement(cbs) };
    this.metrics = d.metrics ?? NO_METRICS;
  }

  /**
   * Which messages a callback may touch: those sent through the account that signed it. A tenant's
   * own account signs only its own messages; the installation's account signs the messages of every
   * tenant that sends through it (those without credentials of their own, or all when tenantAccounts
   * is off). Derived from the tenants' credentials, as the dispatcher and reconciler choose accounts.
   */
  private scope(signer: string): SignerScope {
    if (signer !== this.d.installationTenantId) return { tenantId: signer };
    return this.d.tenantAccounts ? { withoutOwnAccount: true } : { all: true };
  }

  /** Parses, records and applies one callback in the next group commit. */
  async handle(cb: StatusCallbackInput): Promise<CallbackOutcome> {
    const c = this.parse(cb);
    const r = await this.d.batch(this.callbackBatch, c);
    this.report([r]);
    if (r.outcome === 'applied') {
      const providerTime = dlrDoneAt(c.params);
      const applied = this.d.clock.now().getTime();
      this.metrics.callbackApplied(c.status, (applied - (providerTime ?? c.now)) / 1000, providerTime === null ? 'received' : 'provider');
    }
    return r.outcome;
  }

  /**
   * Counts delivered and failed messages among applied moves. Called once their transaction
   * committed: a failed group commit re-runs its writes, which must not count twice.
   */
  report(results: readonly Applied[]): void {
    const log = this.d.logger;
    for (const r of results) {
      const m = r.outcome === 'applied' ? r.message : undefined;
      if (!m) {
        log?.debug({ provider_sid: r.providerSid ?? null, status: r.status.status, outcome: r.outcome, source: r.source }, 'status not applied');
        continue;
      }
      log?.info(
        { ...messageFields(m), status: m.status, provider_code: r.status.errorCode, source: r.source },
        r.source === 'callback' ? 'status callback applied' : 'status reconciled from the provider',
      );
      if (!m.category || !m.channel) continue;
      const labels = { tenantId: m.tenant_id, category: m.category, channel: m.channel };
      if (m.status === 'delivered') this.metrics.delivered(labels);
      else if (FAILED.has(m.status)) this.metrics.failed(labels, 'SMS_ERR_DELIVERY_FAILED', r.status.errorCode);
    }
  }

  private parse(cb: StatusCallbackInput): Callback {
    const sid = field(cb.params, 'MessageSid') ?? field(cb.params, 'SmsSid');
    const status = field(cb.params, 'MessageStatus') ?? field(cb.params, 'SmsStatus');
    if (!sid || !SID.test(sid)) throw new AppError('SMS_ERR_INVALID_WEBHOOK', 'MessageSid is missing or not a Message SID.', { field: 'MessageSid' });
    if (!status || !/^[a-z_]{1,32}$/.test(status))
      throw new AppError('SMS_ERR_INVALID_WEBHOOK', 'MessageStatus is missing or not a status.', { field: 'MessageStatus' });
    const ps = providerStatusOf(cb.params, status);
    const now = this.d.clock.now().getTime();
    const move: StatusMove = {
      target: { providerSid: sid, scope: this.scope(cb.tenantId) },
      set: this.statusSet(ps, now),
      at: now,
      event: { source: 'callback', provider_code: ps.errorCode, data: { params: cb.params, idempotency_token: cb.idempotencyToken } },
      record: 'always',
    };
    return { ...cb, sid, status, ps, now, move };
  }

  /**
   * Applies callbacks as a batch, with the outcome each would have had alone in input order: those
   * for one SID go in successive rounds, so a later one sees what an earlier one wrote.
   */
  private async applyCallbacks(tx: Tx, cbs: Callback[]): Promise<Applied[]> {
    const out: Applied[] = new Array(cbs.length);
    for (const round of rounds(cbs, (c) => c.sid)) {
      const res = await this.round(
        tx,
        round.map((i) => cbs[i]!),
      );
      for (const [j, i] of round.entries()) out[i] = res[j]!;
    }
    return out;
  }

  /**
   * Whether a batch is one statement (then its group commit needs no BEGIN/COMMIT): one round, no
   * opt-out to record, and moves the storage writes as one.
   */
  private oneStatement(cbs: Callback[]): boolean {
    return (
      new Set(cbs.map((c) => c.sid)).size === cbs.length && cbs.every((c) => c.ps.errorCode !== 21610) && this.d.messages.oneStatement(cbs.map((c) => c.move))
    );
  }

  private async round(tx: Tx, cbs: Callback[]): Promise<Applied[]> {
    const moves = cbs.map((c) => c.move);
    // The raw rows de-duplicate; for callbacks whose message exists, the fields go to its event instead.
    const res = await this.d.messages.transitionCallbacks(
      tx,
      moves,
      cbs.map((c) => ({
        id: this.d.random.id(),
        tenant_id: c.tenantId,
        message_sid: c.sid,
        message_status: c.status,
        idempotency_token: c.idempotencyToken,
        params: JSON.stringify(c.params),
        created_at: c.now,
      })),
    );
    const out: Applied[] = res.map((r, i) => ({
      outcome: r.moved ? 'applied' : !r.isNew ? 'duplicate' : r.found ? 'ignored' : 'orphan',
      message: r.moved ? r.message : undefined,
      status: cbs[i]!.ps,
      source: 'callback',
      providerSid: cbs[i]!.sid,
    }));
    // A known message that did not move, whose not-applied event the storage did not write with the round.
    const late = res.flatMap((r, i) => (!r.moved && r.isNew && r.found && !r.recorded ? [i] : []));
    if (late.length > 0) {
      const r = await this.observe(
        tx,
        late.map((i) => ({
          messageId: res[i]!.found!.id,
          seen: res[i]!.found!,
          status: cbs[i]!.ps,
          source: 'callback',
          data: moves[i]!.event.data!,
          now: cbs[i]!.now,
        })),
      );
      for (const [j, i] of late.entries()) out[i] = { ...r[j]!, providerSid: cbs[i]!.sid };
    }
    await this.optOuts(
      tx,
      cbs.map((c, i) => (res[i]!.moved ? { ps: c.ps, msg: res[i]!.message!, now: c.now } : null)),
    );
    return out;
  }

  /**
   * Moves messages forward (never back) to statuses seen for them, recording each observation as an
   * event with its raw fields whether or not it applied. Also for the reconciler.
   */
  async observe(tx: Tx, obs: Observation[]): Promise<Applied<'applied' | 'ignored'>[]> {
    const moves: StatusMove[] = obs.map((o) => ({
      target: { id: o.messageId, seen: o.seen },
      set: this.statusSet(o.status, o.now),
      at: o.now,
      event: { source: o.source, provider_code: o.status.errorCode, data: o.data },
      record: 'always',
    }));
    const r = await this.d.messages.transition(tx, moves);
    await this.optOuts(
      tx,
      obs.map((o, i) => (r[i]!.moved ? { ps: o.status, msg: r[i]!.message!, now: o.now } : null)),
    );
    return r.map((x, i) => ({
      outcome: x.moved ? 'applied' : 'ignored',
      message: x.moved ? x.message : undefined,
      status: obs[i]!.status,
      source: obs[i]!.source,
    }));
  }

  /** A provider 21610 (the recipient replied STOP to the carrier) suppresses the number. */
  private async optOuts(
    tx: Tx,
    applied: ({ ps: ProviderStatus; msg: { id: string; tenant_id: string; to_addr: string }; now: number } | null)[],
  ): Promise<void> {
    for (const a of applied) {
      if (a?.ps.errorCode !== 21610) continue;
      await this.d.consent.record(tx, {
        tenantId: a.msg.tenant_id,
        phone: consentKey(a.msg.to_addr),
        action: 'opt_out',
        source: 'provider',
        actor: 'provider',
        detail: '21610',
        messageId: a.msg.id,
        now: a.now,
      });
    }
  }

  private statusSet(ps: ProviderStatus, now: number): MessageChanges {
    return {
      status: ps.status,
      updated_at: now,
      ...(FAILED.has(ps.status)
        ? {
            error_code: 'SMS_ERR_DELIVERY_FAILED',
            provider_code: ps.errorCode,
            error_message: ps.errorMessage ?? (ps.errorCode ? `Twilio error ${ps.errorCode}` : null),
          }
        : {}),
      ...(ps.price ? { price: ps.price, price_unit: ps.priceUnit ?? null, price_estimated: 0 } : {}),
    };
  }

  /** Applies callbacks that arrived before their message's SID was stored; returns how many. */
  async attachOrphans(): Promise<number> {
    const now = this.d.clock.now().getTime();
    const installation = this.d.installationTenantId;
    const rows = await this.d.webhookEvents.matchedOrphans(now - ORPHAN_WINDOW_MS, ATTACH_BATCH, installation, this.scope(installation));
    if (rows.length === 0) return 0;
    const applied = await this.d.write(async (tx) => {
      const attached = await this.d.webhookEvents.attach(
        tx,
        rows.map((r) => ({ eventId: r.event_id, messageId: r.message_id })),
      );
      const obs: Observation[] = [];
      for (const r of rows) {
        if (!attached.has(r.event_id)) continue;
        const params = JSON.parse(r.params ?? '{}') as WebhookParams;
        obs.push({
          messageId: r.message_id,
          status: providerStatusOf(params, r.message_status),
          source: 'callback',
          data: { params, idempotency_token: r.idempotency_token, attached_late: true },
          now,
        });
      }
      return this.observe(tx, obs);
    });
    this.report(applied);
    return rows.length;
  }
}

/**
 * The carrier's delivery-receipt time (RawDlrDoneDate, YYMMDDhhmm, minute precision, no time zone:
 * read as UTC), or null when the callback has none or it does not parse.
 */
function dlrDoneAt(params: WebhookParams): number | null {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(field(params, 'RawDlrDoneDate') ?? '');
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const t = Date.UTC(2000 + y, mo - 1, d, h, mi);
  return mo >= 1 && mo <= 12 && new Date(t).getUTCDate() === d && h < 24 && mi < 60 ? t : null;
}

export function providerStatusOf(params: WebhookParams, status: string): ProviderStatus {
  const code = field(params, 'ErrorCode');
  const n = code && /^\d{1,9}$/.test(code) ? Number(code) : null;
  const msg = field(params, 'ErrorMessage');
  return { status: status as MessageStatus, errorCode: n, errorMessage: msg ? msg.slice(0, 500) : null };
}
