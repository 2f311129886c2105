// Sending limits as policy rules: tenant enabled, destination countries and consent mode (checks
// that count nothing), then the meter (per-recipient rolling limit and cooldown, the tenant's daily
// cap), which counts a message once, when it is sent now: on accept inside the send path's own
// transaction (count, then settle the cap last), at dispatch in a transaction of its own.
import type { Logger } from 'pino';
import { dayOf, nextMidnight } from '../core/calendar.js';
import { AppError } from '../core/errors.js';
import type { Category } from '../core/categories.js';
import { isMetered } from '../core/limits.js';
import { countryOf, maskPhone } from '../core/phone.js';
import { type Decision, SEND } from '../core/policy.js';
import type { RecipientLimit } from '../core/settings.js';
import { newEvent } from './events.js';
import type { EventType } from '../core/events.js';
import type {
  AlertRecord,
  EventsRepository,
  AlertsRepository,
  BatchWrite,
  ConsentRepository,
  CountersRepository,
  Policy,
  PolicyContext,
  PolicyMessage,
  PolicyMeter,
  Random,
  Tx,
  UnitOfWork,
} from '../ports.js';

export interface LimitsDeps {
  counters: CountersRepository;
  alerts: AlertsRepository;
  /** Each new alert is also an event (usage.cap_threshold, usage.cap_reached) for the host application. */
  events: Pick<EventsRepository, 'append'>;
  consent: Pick<ConsentRepository, 'history'>;
  batch: UnitOfWork['batch'];
  random: Random;
  logger: Logger;
  /** Whether the tenant sends (TenantsService.isEnabled, cached). */
  tenantEnabled(tenantId: string): Promise<boolean>;
}

/** How long a disabled tenant's queued message waits before it is looked at again. */
export const DISABLED_RECHECK_MS = 60_000;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

interface MeterItem {
  message: PolicyMessage;
  ctx: PolicyContext;
}

const capReached = (cap: number, day: string, tz: string) => ({
  kind: 'usage.cap_reached',
  message: `Daily cap of ${cap} messages reached; sends resume at midnight (${tz}).`,
  data: { cap, day } as Record<string, unknown>,
});
const bare = (to: string) => (to.startsWith('whatsapp:') ? to.slice(9) : to);

export class SendingLimits implements PolicyMeter {
  constructor(private readonly d: LimitsDeps) {}

  /** Checks that count nothing; they run before the embedding application's rules and the meter. */
  readonly checks: Policy = {
    decide: async (m, ctx) => {
      if (!(await this.d.tenantEnabled(m.tenantId))) {
        return ctx.stage === 'accept'
          ? { action: 'refuse', code: 'SMS_ERR_TENANT_DISABLED', details: { field: 'tenant' } }
          : { action: 'hold', until: ctx.now + DISABLED_RECHECK_MS, reason: 'tenant_disabled' };
      }
      const s = ctx.settings;
      // Verification codes have their own list (verify_allowed_countries), checked before they are sent.
      if (m.category !== 'otp') {
        const allowed = s.allowed_countries ?? [s.default_region];
        const country = countryOf(m.to) ?? null;
        if (!allowed.includes('*') && (country === null || !allowed.includes(country))) {
          return {
            action: 'refuse',
            code: 'SMS_ERR_COUNTRY_NOT_ALLOWED',
            message: `Sending to ${country ?? 'this number'} is not allowed for this tenant (allowed_countries: ${allowed.join(', ')}).`,
            details: { field: 'to', country },
          };
        }
      }
      if (s.consent_mode[m.category as Category] === 'opt_in') {
        // The newest ledger event decides: an opt-in not revoked since.
        const [last] = await this.d.consent.history(m.tenantId, bare(m.to), 1);
        if (last?.action !== 'opt_in') {
          return {
            action: 'refuse',
            code: 'SMS_ERR_NO_CONSENT',
            message: `Category ${m.category} is opt-in for this tenant and the recipient has no recorded opt-in (POST /v1/consents).`,
            details: { field: 'to', category: m.category },
          };
        }
      }
      return SEND;
    },
  };

  /** The meter as a policy rule (at dispatch): its own group-committed transaction. */
  readonly meter: Policy = {
    decide: async (m, ctx) => (this.meters(m, ctx) ? this.d.batch(this.meterBatch, { message: m, ctx }) : SEND),
  };

  /** A message scheduled for later is counted when it is dispatched (on the day it is sent); once only. */
  meters(m: PolicyMessage, ctx: PolicyContext): boolean {
    if (m.metered) return false;
    if (ctx.stage === 'accept' && m.sendAt != null && m.sendAt > ctx.now) return false;
    return isMetered(ctx.settings, m.category);
  }

  private readonly meterBatch: BatchWrite<MeterItem, Decision> = { run: (tx, items) => this.count(tx, items) };

  /**
   * The messages metered in one group commit, counted together in a few statements whatever their
   * number (as the send path's inserts are): lock their recipients' windows and read them, lock each
   * tenant's day count (unless `capLater`: `settle` takes the cap), then judge the messages in order
   * in memory and write the windows, counts and (at dispatch) the messages' marks. On accept the
   * caller marks the rows it inserts. Locks are taken in one order (recipient keys sorted, then day
   * rows), so concurrent batches do not deadlock.
   */
  async count(tx: Tx, items: MeterItem[], capLater = false): Promise<Decision[]> {
    const c = this.d.counters;
    const results: { decision: Decision; alerts: { kind: string; message: string; data: Record<string, unknown> }[] }[] = items.map(() => ({
      decision: SEND,
      alerts: [],
    }));
    const work = items.map((it, i) => ({ m: it.message, ctx: it.ctx, i, ...this.limitsOf(it) }));

    const keys = work.flatMap((w) => (w.key !== null ? [w.key] : []));
    const events = keys.length ? await c.lockWindows(tx, keys) : new Map<string, number[]>();
    // The windows that gain a send, and how much of each is worth keeping.
    const touched = new Map<string, { windowMs: number; keep: number }>();

    // Each tenant day's count, row-locked; then the messages in order against the memory copy.
    const days = new Map<string, { tenantId: string; day: string; count: number; start: number; cap: number; alertAt: number; tz: string }>();
    for (const w of work) {
      const s = w.ctx.settings;
      if (s.daily_cap === null || capLater) continue;
      const day = dayOf(w.ctx.now, s.timezone);
      const id = `${w.m.tenantId}\u0000${day}`;
      if (!days.has(id)) {
        const count = await c.lockCount(tx, { tenantId: w.m.tenantId, day, name: 'sent' });
        days.set(id, { tenantId: w.m.tenantId, day, count, start: count, cap: s.daily_cap, alertAt: s.daily_cap_alert_at, tz: s.timezone });
      }
    }
    const marks: string[] = [];
    const alerts: { tenantId: string; day: string; now: number; kind: string; message: string; data: Record<string, unknown>; i: number }[] = [];
    for (const w of work) {
      const { m, ctx } = w;
      const now = ctx.now;
      const s = ctx.settings;
      if (w.key !== null) {
        const list = (events.get(w.key) ?? []).filter((at) => at > now - w.windowMs);
        let retryAt = 0;
        if (w.cooldownS > 0 && list.length && list[0]! + w.cooldownS * 1000 > now) retryAt = list[0]! + w.cooldownS * 1000;
        // The max-th newest event: while it is inside the window, the window is full.
        const nth = w.limit ? list[w.limit.max - 1] : undefined;
        if (w.limit && nth !== undefined && nth + w.limit.per_seconds * 1000 > now) retryAt = Math.max(retryAt, nth + w.limit.per_seconds * 1000);
        if (retryAt > 0) {
          results[w.i]!.decision = this.overLimit(m, ctx, retryAt);
          continue;
        }
      }
      if (s.daily_cap !== null && !capLater) {
        const d = days.get(`${m.tenantId}\u0000${dayOf(now, s.timezone)}`)!;
        if (d.count + 1 > d.cap) {
          const reset = nextMidnight(now, d.tz);
          alerts.push({ tenantId: m.tenantId, day: d.day, now, i: w.i, ...capReached(d.cap, d.day, d.tz) });
          results[w.i]!.decision =
            ctx.stage === 'dispatch'
              ? { action: 'hold', until: reset, reason: 'daily_cap' }
              : {
                  action: 'refuse',
                  code: 'SMS_ERR_DAILY_CAP_REACHED',
                  message: `The daily cap of ${d.cap} messages is reached; it resets at midnight ${d.tz} (${new Date(reset).toISOString()}).`,
                  details: { cap: d.cap, day: d.day, resets_at: new Date(reset).toISOString(), retry_after: seconds(reset - now) },
                };
          continue;
        }
        d.count++;
        // Past the threshold: raised once a day (the unique index decides; tried once per batch).
        if (d.count >= Math.ceil(d.cap * d.alertAt)) {
          alerts.push({
            tenantId: m.tenantId,
            day: d.day,
            now,
            i: w.i,
            kind: 'usage.cap_threshold',
            message: `${d.count} of the daily cap of ${d.cap} messages sent (alert at ${Math.round(d.alertAt * 100)} %).`,
            data: { cap: d.cap, count: d.count, day: d.day },
          });
        }
        if (d.count === d.cap) alerts.push({ tenantId: m.tenantId, day: d.day, now, i: w.i, ...capReached(d.cap, d.day, d.tz) });
      }
      if (w.key !== null) {
        events.set(w.key, [now, ...(events.get(w.key) ?? []).filter((at) => at > now - w.windowMs)]);
        const t = touched.get(w.key);
        touched.set(w.key, { windowMs: Math.max(w.windowMs, t?.windowMs ?? 0), keep: Math.max(w.limit?.max ?? 1, t?.keep ?? 1) });
      }
      if (ctx.stage === 'dispatch' && m.id !== undefined) marks.push(m.id);
    }

    for (const d of days.values()) if (d.count > d.start) await c.increment(tx, { tenantId: d.tenantId, day: d.day, name: 'sent', by: d.count - d.start });
    // Only the newest `max` sends inside the window can decide a later one (the cooldown: the newest).
    await c.saveWindows(
      tx,
      [...touched].map(([key, t]) => {
        const list = events.get(key)!.slice(0, t.keep);
        return { key, events: list, expiresAt: list[0]! + t.windowMs };
      }),
    );
    await c.markMetered(tx, marks);
    // Once per tenant, kind and day (the unique index decides across processes); logged by the raiser.
    const seen = new Set<string>();
    for (const a of alerts) {
      const id = `${a.tenantId}\u0000${a.kind}\u0000${a.day}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const raised = await this.raise(tx, {
        id: this.d.random.id(),
        tenant_id: a.tenantId,
        kind: a.kind,
        day: a.day,
        message: a.message,
        data: JSON.stringify(a.data),
        created_at: a.now,
      });
      if (raised) this.d.logger.warn({ tenant: a.tenantId, alert: a.kind, ...a.data }, a.message);
    }
    // Visibility: the meter's own refusals and holds, counted by reason. At dispatch in the same
    // transaction; on accept (`capLater`) the send path reports them after its commit, so that its
    // transaction locks no counter row before the cap's (one lock order: no deadlock).
    if (capLater) return results.map((r) => r.decision);
    const tally = new Map<string, { tenantId: string; day: string; name: string; by: number }>();
    for (const [i, r] of results.entries()) {
      const d = r.decision;
      if (d.action === 'send') continue;
      const it = items[i]!;
      const t = {
        tenantId: it.message.tenantId,
        day: dayOf(it.ctx.now, it.ctx.settings.timezone),
        name: d.action === 'refuse' ? `refused:${d.code}` : `held:${d.reason}`,
      };
      const id = `${t.tenantId}\u0000${t.day}\u0000${t.name}`;
      const cur = tally.get(id);
      if (cur) cur.by++;
      else tally.set(id, { ...t, by: 1 });
    }
    for (const id of [...tally.keys()].sort()) await c.increment(tx, tally.get(id)!);
    return results.map((r) => r.decision);
  }

  async settle(tx: Tx, items: MeterItem[]): Promise<void> {
    const groups = new Map<string, { tenantId: string; day: string; by: number; cap: number; alertAt: number; tz: string; now: number }>();
    for (const { message: m, ctx } of items) {
      const s = ctx.settings;
      if (s.daily_cap === null) continue;
      const day = dayOf(ctx.now, s.timezone);
      const id = `${m.tenantId}\u0000${day}`;
      const g = groups.get(id);
      if (g) g.by++;
      else groups.set(id, { tenantId: m.tenantId, day, by: 1, cap: s.daily_cap, alertAt: s.daily_cap_alert_at, tz: s.timezone, now: ctx.now });
    }
    const raised: { tenantId: string; kind: string; message: string; data: Record<string, unknown> }[] = [];
    // In key order, so that concurrent transactions lock the counter rows in one order.
    for (const id of [...groups.keys()].sort()) {
      const g = groups.get(id)!;
      const n = await this.d.counters.addUpTo(tx, { tenantId: g.tenantId, day: g.day, name: 'sent', by: g.by, max: g.cap });
      if (n === null) {
        const reset = nextMidnight(g.now, g.tz);
        throw new AppError(
          'SMS_ERR_DAILY_CAP_REACHED',
          `The daily cap of ${g.cap} messages is reached; it resets at midnight ${g.tz} (${new Date(reset).toISOString()}).`,
          { cap: g.cap, day: g.day, resets_at: new Date(reset).toISOString(), retry_after: seconds(reset - g.now) },
        );
      }
      const alerts = [
        ...(n >= Math.ceil(g.cap * g.alertAt)
          ? [
              {
                kind: 'usage.cap_threshold',
                message: `${n} of the daily cap of ${g.cap} messages sent (alert at ${Math.round(g.alertAt * 100)} %).`,
                data: { cap: g.cap, count: n, day: g.day } as Record<string, unknown>,
              },
            ]
          : []),
        ...(n >= g.cap ? [capReached(g.cap, g.day, g.tz)] : []),
      ];
      for (const a of alerts) {
        const alert = {
          id: this.d.random.id(),
          tenant_id: g.tenantId,
          day: g.day,
          created_at: g.now,
          kind: a.kind,
          message: a.message,
          data: JSON.stringify(a.data),
        };
        if (await this.raise(tx, alert)) raised.push({ tenantId: g.tenantId, ...a });
      }
    }
    for (const a of raised) this.d.logger.warn({ tenant: a.tenantId, alert: a.kind, ...a.data }, a.message);
  }

  private limitsOf(it: MeterItem): { key: string | null; limit: RecipientLimit | null; cooldownS: number; windowMs: number } {
    const { message: m, ctx } = it;
    const category = m.category as Category;
    const limit = ctx.settings.recipient_limits[category] ?? null;
    const cooldownS = category === 'otp' ? 0 : (ctx.settings.recipient_cooldown_seconds[category] ?? 0);
    const windowed = limit !== null || cooldownS > 0;
    return {
      key: windowed ? `r:${m.tenantId}:${m.category}:${bare(m.to)}` : null,
      limit,
      cooldownS,
      windowMs: Math.max(limit?.per_seconds ?? 0, cooldownS) * 1000,
    };
  }

  /** Over a recipient limit or cooldown: refused (429), or held when deferred or already accepted. */
  private overLimit(m: PolicyMessage, ctx: PolicyContext, retryAt: number): Decision {
    // At dispatch the message was accepted already: it waits rather than fails.
    if (ctx.stage === 'dispatch' || ctx.settings.over_limit[m.category as Category] === 'defer') {
      return { action: 'hold', until: retryAt, reason: 'recipient_limit' };
    }
    return {
      action: 'refuse',
      code: 'SMS_ERR_RECIPIENT_THROTTLED',
      message: `Too many ${m.category} messages to ${maskPhone(bare(m.to))}; retry after ${seconds(retryAt - ctx.now)} s.`,
      details: { field: 'to', category: m.category, retry_after: seconds(retryAt - ctx.now) },
    };
  }

  /** Visibility: every refusal and hold is counted by reason on the tenant's day. */
  async observe(d: Decision, m: PolicyMessage, ctx: PolicyContext): Promise<void> {
    if (d.action === 'send') return;
    const name = d.action === 'refuse' ? `refused:${d.code}` : `held:${d.reason}`;
    await this.d.batch(this.observeBatch, { tenantId: m.tenantId, day: dayOf(ctx.now, ctx.settings.timezone), name });
  }

  /** A burst of refusals (a cap reached under load) is one increment per reason, not one per request. */
  private readonly observeBatch: BatchWrite<{ tenantId: string; day: string; name: string }, void> = {
    run: async (tx, items) => {
      const sums = new Map<string, { tenantId: string; day: string; name: string; by: number }>();
      for (const it of items) {
        const id = `${it.tenantId}\u0000${it.day}\u0000${it.name}`;
        const cur = sums.get(id);
        if (cur) cur.by++;
        else sums.set(id, { ...it, by: 1 });
      }
      // In key order, so that concurrent batches lock the counter rows in one order.
      for (const id of [...sums.keys()].sort()) await this.d.counters.increment(tx, sums.get(id)!);
      return items.map(() => undefined);
    },
  };

  /** Records the alert once per tenant, kind and day; a new one is also an event, in the same transaction. */
  private async raise(tx: Tx, a: AlertRecord): Promise<boolean> {
    if (!(await this.d.alerts.raise(tx, a))) return false;
    const data = { id: a.id, kind: a.kind, day: a.day, message: a.message, ...(a.data ? (JSON.parse(a.data) as Record<string, unknown>) : {}) };
    await this.d.events.append(tx, [newEvent(this.d.random, a.tenant_id, a.kind as EventType, a.created_at, data)]);
    return true;
  }
}
