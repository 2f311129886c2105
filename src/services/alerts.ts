// Reading alerts (raised by the sending limits, at most once per tenant, kind and day) and the
// day's policy counts: messages counted against the daily cap, refusals and holds by reason.
import { dayOf } from '../core/calendar.js';
import { AppError } from '../core/errors.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import type { TenantSettings } from '../core/settings.js';
import type { AlertsRepository, Clock, CountersRepository } from '../ports.js';
import type { Tenant } from './tenants.js';

export interface AlertResource {
  id: string;
  kind: string;
  day: string;
  message: string;
  data: Record<string, unknown> | null;
  created_at: string;
}

export interface PolicyStats {
  day: string;
  timezone: string;
  /** Messages counted against the daily cap that day (0 when no cap is set). */
  sent: number;
  daily_cap: number | null;
  refused: Record<string, number>;
  held: Record<string, number>;
}

/** Today's daily cap in the tenant's zone: how much is used and whether its alerts are due. */
export interface CapState {
  day: string;
  timezone: string;
  daily_cap: number | null;
  used: number;
  alert_at: number;
  threshold_reached: boolean;
  cap_reached: boolean;
}

export interface AlertsServiceDeps {
  alerts: AlertsRepository;
  counters: CountersRepository;
  clock: Clock;
  settings: { get(tenantId: string): Promise<TenantSettings> };
}

export class AlertsService {
  constructor(private readonly d: AlertsServiceDeps) {}

  /** Newest first; the cursor is opaque. */
  async list(tenant: Tenant, q: { limit?: number; cursor?: string }): Promise<{ data: AlertResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const before = decodeCursor(q.cursor, ['string'])?.[0];
    const rows = await this.d.alerts.list(tenant.id, before, limit + 1);
    const p = page(rows, limit, (r) => [r.id]);
    return {
      data: p.data.map((r) => ({
        id: r.id,
        kind: r.kind,
        day: r.day,
        message: r.message,
        data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null,
        created_at: new Date(r.created_at).toISOString(),
      })),
      next_cursor: p.next_cursor,
    };
  }

  /** Today's cap usage and threshold state (the usage report shows it). */
  async capState(tenant: Tenant): Promise<CapState> {
    const s = await this.d.settings.get(tenant.id);
    const today = await this.stats(tenant);
    const cap = s.daily_cap;
    return {
      day: today.day,
      timezone: today.timezone,
      daily_cap: cap,
      used: today.sent,
      alert_at: s.daily_cap_alert_at,
      threshold_reached: cap !== null && today.sent >= Math.ceil(cap * s.daily_cap_alert_at),
      cap_reached: cap !== null && today.sent >= cap,
    };
  }

  /** A day's counts (default: today in the tenant's time zone). */
  async stats(tenant: Tenant, day?: string): Promise<PolicyStats> {
    const s = await this.d.settings.get(tenant.id);
    if (day !== undefined && !(/^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00Z`)))) {
      throw new AppError('SMS_ERR_VALIDATION', 'day must be a date such as 2026-01-31', { field: 'day' });
    }
    const d = day ?? dayOf(this.d.clock.now().getTime(), s.timezone);
    const out: PolicyStats = { day: d, timezone: s.timezone, sent: 0, daily_cap: s.daily_cap, refused: {}, held: {} };
    for (const c of await this.d.counters.countsOfDay(tenant.id, d)) {
      if (c.name === 'sent') out.sent = c.count;
      else if (c.name.startsWith('refused:')) out.refused[c.name.slice(8)] = c.count;
      else if (c.name.startsWith('held:')) out.held[c.name.slice(5)] = c.count;
    }
    return out;
  }
}
