// Delivery-status callbacks: recorded raw, de-duplicated (I-Twilio-Idempotency-Token and
// (MessageSid, MessageStatus)), applied forward-only, and kept for later when the SID is not
// stored yet (the callback can beat the worker's write of the create answer).
import type { ExpressionBuilder, Transaction } from 'kysely';
import { AppError } from '../core/errors.js';
import { canTransition, isMessageStatus, MESSAGE_STATUSES, type MessageStatus } from '../core/status.js';
import type { Clock } from '../ports.js';
import type { Database } from '../storage/schema.js';
import { prepare, type Prepared } from '../storage/prepared.js';
import type { Store } from '../storage/store.js';
import { asTx } from '../storage/tx.js';
import { consentKey, type ConsentService } from './consent.js';
import { field, type WebhookParams } from './webhooks.js';

export type CallbackOutcome = 'applied' | 'ignored' | 'duplicate' | 'orphan';
export type StatusSource = 'callback' | 'reconciler';

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

interface MessageRef {
  id: string;
  tenant_id: string;
  status: string;
  to_addr: string;
}

const SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const FAILED: ReadonlySet<string> = new Set(['failed', 'undelivered']);
// Callbacks for SIDs we never stored stop being matched after this long.
const ORPHAN_WINDOW_MS = 60 * 60 * 1000;
const ATTACH_BATCH = 500;
// For each status, the states a message may move to it from (canTransition, precomputed).
const FROM: ReadonlyMap<string, MessageStatus[]> = new Map(MESSAGE_STATUSES.map((to) => [to, MESSAGE_STATUSES.filter((from) => canTransition(from, to))]));

export interface StatusCallbacksDeps {
  store: Store;
  clock: Clock;
  newId: () => string;
  consent: ConsentService;
  /** The tenant that callbacks signed by the installation's Twilio account are authenticated as. */
  installationTenantId: string;
  /**
   * Whether tenants with their own Twilio credentials send through their own accounts (real Twilio);
   * false when one provider sends for everyone (the emulator, an injected provider).
   */
  tenantAccounts: boolean;
}

/**
 * Which messages a callback may touch: those sent through the account that signed it. A tenant's
 * own account signs only its own messages; the installation's account signs the messages of every
 * tenant that sends through it (those without credentials of their own, or all when tenantAccounts
 * is off). Derived from the tenants' credentials, as the dispatcher and reconciler choose accounts.
 */
function sentThroughSigner(eb: ExpressionBuilder<Database, 'messages'>, d: StatusCallbacksDeps, signer: string, tenantCol: 'messages.tenant_id' | 'm.tenant_id' = 'messages.tenant_id') {
  const own = eb(tenantCol as 'messages.tenant_id', '=', signer);
  if (signer !== d.installationTenantId) return own;
  if (!d.tenantAccounts) return eb.lit(true);
  return eb.not(
    eb.exists(
      eb
        .selectFrom('tenants as ta')
        .select('ta.id')
        .whereRef('ta.id', '=', tenantCol as 'messages.tenant_id')
        .where('ta.twilio_account_sid', 'is not', null)
        .where('ta.twilio_auth_token_enc', 'is not', null),
    ),
  );
}

type Moved = { id: string; tenant_id: string; to_addr: string };
const WEBHOOK_EVENT_COLUMNS = ['id', 'tenant_id', 'kind', 'message_sid', 'message_status', 'idempotency_token', 'params', 'message_id', 'created_at'] as const;

export class StatusCallbacksService {
  // The common path runs per callback: its statements are compiled once (see storage/prepared.ts).
  private readonly moveQ = new Map<string, Prepared<Record<string, unknown>, Moved>>();
  private readonly insertWebhookEventQ: Prepared<Record<string, unknown>, unknown>;

  constructor(private readonly d: StatusCallbacksDeps) {
    const k = d.store.kysely;
    this.insertWebhookEventQ = prepare((p) =>
      k
        .insertInto('webhook_events')
        .values(Object.fromEntries(WEBHOOK_EVENT_COLUMNS.map((c) => [c, p(c)])) as any)
        .onConflict((oc) => oc.doNothing()),
    );
  }

  /**
   * UPDATE … WHERE provider_sid = ? AND status IN (from) AND (sent through the signer's account)
   * RETURNING, one compiled query per shape.
   */
  private move(trx: Transaction<Database>, signer: string, sid: string, set: Record<string, unknown>, from: readonly string[]) {
    const cols = Object.keys(set);
    const installation = signer === this.d.installationTenantId;
    const shape = `${cols.join(',')}|${from.length}|${installation}`;
    let q = this.moveQ.get(shape);
    if (!q) {
      q = prepare((p) =>
        this.d.store.kysely
          .updateTable('messages')
          .set(Object.fromEntries(cols.map((c) => [c, p(c)])))
          .where('provider_sid', '=', p('w_sid'))
          .where('status', 'in', from.map((_, i) => p(`w_from${i}`)))
          .where((eb) => sentThroughSigner(eb, this.d, installation ? this.d.installationTenantId : p('w_tenant')))
          .returning(['id', 'tenant_id', 'to_addr']),
      );
      this.moveQ.set(shape, q);
    }
    const params: Record<string, unknown> = { ...set, w_tenant: signer, w_sid: sid };
    from.forEach((f, i) => (params[`w_from${i}`] = f));
    return q(trx, params).then((r) => r.rows[0]);
  }

  /** Parses, records and applies one callback in the next group commit. */
  async handle(cb: StatusCallbackInput): Promise<CallbackOutcome> {
    const sid = field(cb.params, 'MessageSid') ?? field(cb.params, 'SmsSid');
    const status = field(cb.params, 'MessageStatus') ?? field(cb.params, 'SmsStatus');
    if (!sid || !SID.test(sid)) throw new AppError('SMS_ERR_INVALID_WEBHOOK', 'MessageSid is missing or not a Message SID.', { field: 'MessageSid' });
    if (!status || !/^[a-z_]{1,32}$/.test(status)) throw new AppError('SMS_ERR_INVALID_WEBHOOK', 'MessageStatus is missing or not a status.', { field: 'MessageStatus' });
    const token = cb.idempotencyToken;
    const now = this.d.clock.now().getTime();
    const ps = providerStatusOf(cb.params, status);
    const from = FROM.get(status);
    return this.d.store.write(async (trx) => {
      // Common case in one statement: the message exists and may move to this status.
      if (from && from.length > 0) {
        const moved = await this.move(trx, cb.tenantId, sid, this.statusSet(ps, now), from);
        if (moved) {
          // The raw fields go to the message's event below; here the row only de-duplicates.
          await this.insertWebhookEventQ(trx, { id: this.d.newId(), tenant_id: cb.tenantId, kind: 'status', message_sid: sid, message_status: status, idempotency_token: token, params: null, message_id: moved.id, created_at: now });
          await this.recorded(trx, moved, ps, true, null, 'callback', { params: cb.params, idempotency_token: token }, now);
          return 'applied';
        }
      }
      const msg = await trx
        .selectFrom('messages')
        .select(['id', 'tenant_id', 'status', 'to_addr'])
        .where('provider_sid', '=', sid)
        .where((eb) => sentThroughSigner(eb, this.d, cb.tenantId))
        .executeTakeFirst();
      const ins = await trx
        .insertInto('webhook_events')
        .values({ id: this.d.newId(), tenant_id: cb.tenantId, kind: 'status', message_sid: sid, message_status: status, idempotency_token: token, params: msg ? null : JSON.stringify(cb.params), message_id: msg?.id ?? null, created_at: now })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(ins.numInsertedOrUpdatedRows ?? 0) === 0) return 'duplicate';
      if (!msg) return 'orphan';
      return this.apply(trx, msg, ps, 'callback', { params: cb.params, idempotency_token: token }, now);
    });
  }

  /**
   * Moves a message forward (never back) and records the event with its raw fields. A conditional
   * update on the status read makes a concurrent writer in another process lose cleanly; the loser
   * re-reads and decides again.
   */
  async apply(trx: Transaction<Database>, msg: MessageRef, ps: ProviderStatus, source: StatusSource, data: Record<string, unknown>, now: number): Promise<'applied' | 'ignored'> {
    let current = msg.status;
    let applied = false;
    for (let tries = 0; tries < 3 && isMessageStatus(ps.status) && isMessageStatus(current) && canTransition(current, ps.status); tries++) {
      const u = await trx
        .updateTable('messages')
        .set(this.statusSet(ps, now))
        .where('id', '=', msg.id)
        .where('status', '=', current)
        .executeTakeFirst();
      if (Number(u.numUpdatedRows) > 0) {
        applied = true;
        break;
      }
      const again = await trx.selectFrom('messages').select('status').where('id', '=', msg.id).executeTakeFirst();
      if (!again) break;
      current = again.status;
    }
    await this.recorded(trx, msg, ps, applied, current, source, data, now);
    return applied ? 'applied' : 'ignored';
  }

  private statusSet(ps: ProviderStatus, now: number) {
    return {
      status: ps.status,
      updated_at: now,
      ...(FAILED.has(ps.status)
        ? { error_code: 'SMS_ERR_DELIVERY_FAILED', provider_code: ps.errorCode, error_message: ps.errorMessage ?? (ps.errorCode ? `Twilio error ${ps.errorCode}` : null) }
        : {}),
      ...(ps.price ? { price: ps.price, price_unit: ps.priceUnit ?? null } : {}),
    };
  }

  /** The status event with the raw fields; a provider 21610 also suppresses the number. */
  private async recorded(trx: Transaction<Database>, msg: Omit<MessageRef, 'status'>, ps: ProviderStatus, applied: boolean, kept: string | null, source: StatusSource, data: Record<string, unknown>, now: number): Promise<void> {
    await this.d.store.insertEvent(trx, {
      message_id: msg.id,
      tenant_id: msg.tenant_id,
      status: ps.status,
      source,
      error_code: applied && FAILED.has(ps.status) ? 'SMS_ERR_DELIVERY_FAILED' : null,
      provider_code: ps.errorCode,
      data: JSON.stringify({ ...data, applied, ...(applied ? {} : { kept }) }),
      created_at: now,
    });
    if (applied && ps.errorCode === 21610) {
      await this.d.consent.record(asTx(trx), { tenantId: msg.tenant_id, phone: consentKey(msg.to_addr), action: 'opt_out', source: 'provider', actor: 'provider', detail: '21610', messageId: msg.id, now });
    }
  }

  /** Applies callbacks that arrived before their message's SID was stored; returns how many. */
  async attachOrphans(): Promise<number> {
    const now = this.d.clock.now().getTime();
    const rows = await this.d.store.kysely
      .selectFrom('webhook_events as w')
      // As in handle(): the signer's own messages, or for the installation's account those of the tenants sending through it.
      .innerJoin('messages as m', (j) =>
        j
          .onRef('m.provider_sid', '=', 'w.message_sid')
          .on((eb) => eb.or([eb('m.tenant_id', '=', eb.ref('w.tenant_id')), eb.and([eb('w.tenant_id', '=', this.d.installationTenantId), sentThroughSigner(eb as any, this.d, this.d.installationTenantId, 'm.tenant_id')])])),
      )
      .select(['w.id as event_id', 'w.params', 'w.message_status', 'w.idempotency_token', 'm.id', 'm.tenant_id', 'm.to_addr'])
      .where('w.message_id', 'is', null)
      .where('w.kind', '=', 'status')
      .where('w.created_at', '>', now - ORPHAN_WINDOW_MS)
      .orderBy('w.created_at')
      .limit(ATTACH_BATCH)
      .execute();
    if (rows.length === 0) return 0;
    await this.d.store.write(async (trx) => {
      for (const r of rows) {
        const claimed = await trx.updateTable('webhook_events').set({ message_id: r.id }).where('id', '=', r.event_id).where('message_id', 'is', null).executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 0) continue;
        const cur = await trx.selectFrom('messages').select('status').where('id', '=', r.id).executeTakeFirstOrThrow();
        const params = JSON.parse(r.params ?? '{}') as WebhookParams;
        await this.apply(trx, { id: r.id, tenant_id: r.tenant_id, status: cur.status, to_addr: r.to_addr }, providerStatusOf(params, r.message_status), 'callback', { params, idempotency_token: r.idempotency_token, attached_late: true }, now);
      }
    });
    return rows.length;
  }
}

export function providerStatusOf(params: WebhookParams, status: string): ProviderStatus {
  const code = field(params, 'ErrorCode');
  const n = code && /^\d{1,9}$/.test(code) ? Number(code) : null;
  const msg = field(params, 'ErrorMessage');
  return { status: status as MessageStatus, errorCode: n, errorMessage: msg ? msg.slice(0, 500) : null };
}
