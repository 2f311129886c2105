// Sending limits as policy rules: tenant enabled, destination countries and consent mode (checks
// that count nothing), then the meter (per-recipient rolling limit and cooldown, the tenant's daily
// cap), which counts a message once, in one transaction, when it is sent now.
import type { Logger } from 'pino';
import { dayOf, nextMidnight } from '../core/calendar.js';
import type { Category } from '../core/categories.js';
import { isMetered } from '../core/limits.js';
import { countryOf, maskPhone } from '../core/phone.js';
import { type Decision, SEND } from '../core/policy.js';
import type { AlertsRepository, ConsentRepository, CountersRepository, Policy, PolicyContext, PolicyMessage, Random, Tx, UnitOfWork } from '../ports.js';

export interface LimitsDeps {
  counters: CountersRepository;
  alerts: AlertsRepository;
  consent: Pick<ConsentRepository, 'history'>;
  write: UnitOfWork['write'];
  random: Random;
  logger: Logger;
  /** Whether the tenant sends (TenantsService.isEnabled, cached). */
  tenantEnabled(tenantId: string): Promise<boolean>;
}

/** How long a disabled tenant's queued message waits before it is looked at again. */
export const DISABLED_RECHECK_MS = 60_000;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
const bare = (to: string) => (to.startsWith('whatsapp:') ? to.slice(9) : to);

export class SendingLimits {
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

  /** Counts the message against its recipient's window and the tenant's day, once per message. */
  readonly meter: Policy = {
    decide: async (m, ctx) => {
      // A message scheduled for later is counted when it is dispatched (on the day it is sent).
      if (ctx.stage === 'accept' && m.sendAt != null && m.sendAt > ctx.now) return SEND;
      const s = ctx.settings;
      const category = m.category as Category;
      const limit = s.recipient_limits[category] ?? null;
      const cooldownS = category === 'otp' ? 0 : (s.recipient_cooldown_seconds[category] ?? 0);
      if (!isMetered(s, category)) return SEND;
      const decision = await this.d.write((tx) => this.count(tx, m, ctx, limit, cooldownS));
      if (decision.alerts.length) {
        for (const a of decision.alerts) this.d.logger.warn({ tenant: m.tenantId, alert: a.kind, ...a.data }, a.message);
      }
      return decision.decision;
    },
  };

  private async count(
    tx: Tx,
    m: PolicyMessage,
    ctx: PolicyContext,
    limit: { max: number; per_seconds: number } | null,
    cooldownS: number,
  ): Promise<{ decision: Decision; alerts: { kind: string; message: string; data: Record<string, unknown> }[] }> {
    const { now, settings: s } = ctx;
    const alerts: { kind: string; message: string; data: Record<string, unknown> }[] = [];
    // On accept the id is new: only a dispatch can meet a message counted before.
    if (ctx.stage === 'dispatch' && m.id !== undefined && (await this.d.counters.isCounted(tx, m.id))) return { decision: SEND, alerts };

    const key = `r:${m.tenantId}:${m.category}:${bare(m.to)}`;
    if (limit !== null || cooldownS > 0) {
      await this.d.counters.lock(tx, [key]);
      await this.d.counters.prune(tx, key, now - Math.max(limit?.per_seconds ?? 0, cooldownS) * 1000);
      let retryAt = 0;
      if (cooldownS > 0) {
        const newest = await this.d.counters.nthNewest(tx, key, 1);
        if (newest !== null && newest + cooldownS * 1000 > now) retryAt = newest + cooldownS * 1000;
      }
      if (limit !== null) {
        // The max-th newest event: while it is inside the window, the window is full.
        const nth = await this.d.counters.nthNewest(tx, key, limit.max);
        if (nth !== null && nth + limit.per_seconds * 1000 > now) retryAt = Math.max(retryAt, nth + limit.per_seconds * 1000);
      }
      if (retryAt > 0) {
        // At dispatch the message was accepted already: it waits rather than fails.
        if (ctx.stage === 'dispatch' || s.over_limit[m.category as Category] === 'defer') {
          return { decision: { action: 'hold', until: retryAt, reason: 'recipient_limit' }, alerts };
        }
        return {
          decision: {
            action: 'refuse',
            code: 'SMS_ERR_RECIPIENT_THROTTLED',
            message: `Too many ${m.category} messages to ${maskPhone(bare(m.to))}; retry after ${seconds(retryAt - now)} s.`,
            details: { field: 'to', category: m.category, retry_after: seconds(retryAt - now) },
          },
          alerts,
        };
      }
    }

    if (s.daily_cap !== null) {
      const day = dayOf(now, s.timezone);
      const cap = s.daily_cap;
      const n = await this.d.counters.increment(tx, { tenantId: m.tenantId, day, name: 'sent', max: cap });
      if (n === null) {
        const reset = nextMidnight(now, s.timezone);
        await this.alert(
          tx,
          alerts,
          m.tenantId,
          day,
          now,
          'usage.cap_reached',
          `Daily cap of ${cap} messages reached; sends resume at midnight (${s.timezone}).`,
          {
            cap,
            day,
          },
        );
        return {
          decision:
            ctx.stage === 'dispatch'
              ? { action: 'hold', until: reset, reason: 'daily_cap' }
              : {
                  action: 'refuse',
                  code: 'SMS_ERR_DAILY_CAP_REACHED',
                  message: `The daily cap of ${cap} messages is reached; it resets at midnight ${s.timezone} (${new Date(reset).toISOString()}).`,
                  details: { cap, day, resets_at: new Date(reset).toISOString(), retry_after: seconds(reset - now) },
                },
          alerts,
        };
      }
      if (n >= Math.ceil(cap * s.daily_cap_alert_at)) {
        await this.alert(
          tx,
          alerts,
          m.tenantId,
          day,
          now,
          'usage.cap_threshold',
          `${n} of the daily cap of ${cap} messages sent (alert at ${Math.round(s.daily_cap_alert_at * 100)} %).`,
          {
            cap,
            count: n,
            day,
          },
        );
      }
      if (n === cap) {
        await this.alert(
          tx,
          alerts,
          m.tenantId,
          day,
          now,
          'usage.cap_reached',
          `Daily cap of ${cap} messages reached; sends resume at midnight (${s.timezone}).`,
          { cap, day },
        );
      }
    }
    if (limit !== null || cooldownS > 0) await this.d.counters.record(tx, [key], now);
    if (m.id !== undefined) await this.d.counters.markCounted(tx, { tenantId: m.tenantId, messageId: m.id, at: now });
    return { decision: SEND, alerts };
  }

  /** Raises an alert once per tenant, kind and day; a new one is also logged (after commit). */
  private async alert(
    tx: Tx,
    out: { kind: string; message: string; data: Record<string, unknown> }[],
    tenantId: string,
    day: string,
    now: number,
    kind: string,
    message: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const raised = await this.d.alerts.raise(tx, {
      id: this.d.random.id(),
      tenant_id: tenantId,
      kind,
      day,
      message,
      data: JSON.stringify(data),
      created_at: now,
    });
    if (raised) out.push({ kind, message, data });
  }

  /** Visibility: every refusal and hold is counted by reason on the tenant's day. */
  async observe(d: Decision, m: PolicyMessage, ctx: PolicyContext): Promise<void> {
    if (d.action === 'send') return;
    const name = d.action === 'refuse' ? `refused:${d.code}` : `held:${d.reason}`;
    await this.d.write((tx) => this.d.counters.increment(tx, { tenantId: m.tenantId, day: dayOf(ctx.now, ctx.settings.timezone), name }));
  }
}
