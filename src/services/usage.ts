// Usage and cost: the aggregator that keeps the rollup equal to what the messages say (run on a
// timer by the worker, off the send path) and the usage report read from the rollup alone.
import type { CapState } from './alerts.js';
import { AppError } from '../core/errors.js';
import { contribution, countryOfAddress, DAY_MS, deliveryRate, formatMicros, HOUR_MS, hourOf, UsageDeltas, type CountedMessage } from '../core/usage.js';
import type { Clock, CountMark, UncountedMessage, UnitOfWork, UsageRepository, UsageRow } from '../ports.js';
import type { Tenant } from './tenants.js';

export const USAGE_GROUPS = ['status', 'channel', 'country', 'category'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageInput {
  since?: string;
  until?: string;
  granularity?: 'day' | 'hour';
  group_by?: UsageGroup;
}

interface Amounts {
  messages: number;
  segments: number;
  cost: { actual: string; estimated: string };
  delivery_rate: number | null;
}

export interface UsageReport {
  since: string;
  until: string;
  granularity: 'day' | 'hour';
  group_by: UsageGroup | null;
  /** Costs are in the provider's price unit. */
  price_unit: string;
  totals: Amounts;
  data: (Amounts & { period_start: string; group?: string })[];
  /** Today's daily cap usage and threshold state, in the tenant's time zone. */
  cap: CapState | null;
}

export interface UsageDeps {
  usage: UsageRepository;
  write: UnitOfWork['write'];
  clock: Clock;
  /** Today's daily cap state (the sending policy's counts). */
  capToday?: (tenant: Tenant) => Promise<CapState>;
}

const BATCH = 500;
// Bounds of one report, so an answer stays small: about a year of days, or a month of hours.
const MAX_RANGE_MS = { day: 366 * DAY_MS, hour: 31 * DAY_MS } as const;

/** The counted state of a message: its status and price as the rollup counts them, or null (not counted). */
function counted(m: UncountedMessage, country: string, now: boolean): CountedMessage | null {
  const status = now ? m.status : m.usage_status;
  if (status === null) return null;
  const raw = now ? m.price : m.usage_price;
  const estimated = now ? m.price_estimated === 1 : raw?.startsWith('e:') === true;
  const price = raw?.startsWith('e:') ? raw.slice(2) : raw;
  return { created_at: m.created_at, status, channel: m.channel, country, category: m.category, segments: m.segments, price, estimated };
}

export class UsageService {
  constructor(private readonly d: UsageDeps) {}

  /**
   * Counts every message whose status or price changed since it was last counted, in bounded
   * batches; returns how many were counted. Safe to run in several processes at once.
   */
  async aggregate(maxBatches = 100): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const rows = await this.d.usage.uncounted(BATCH);
      if (rows.length === 0) break;
      const marks: CountMark[] = rows.map((m) => ({ message: m, country: m.country ?? countryOfAddress(m.direction === 'inbound' ? m.from_addr : m.to_addr) }));
      const n = await this.d.write(async (tx) => {
        const marked = new Set(await this.d.usage.markCounted(tx, marks));
        const deltas = new Map<string, UsageDeltas>();
        for (const { message: m, country } of marks) {
          if (!marked.has(m.id)) continue;
          const perTenant = deltas.get(m.tenant_id) ?? new UsageDeltas();
          deltas.set(m.tenant_id, perTenant);
          const before = counted(m, country, false);
          const after = counted(m, country, true);
          if (before) perTenant.add(contribution(before), -1);
          if (after) perTenant.add(contribution(after), 1);
        }
        await this.d.usage.addToRollup(
          tx,
          [...deltas].flatMap(([tenant_id, dl]) => dl.entries().map((e) => ({ tenant_id, ...e }))),
        );
        return marked.size;
      });
      total += n;
      // Rows others changed meanwhile stay in the queue; stop rather than spin on them.
      if (rows.length < BATCH || n === 0) break;
    }
    return total;
  }

  async report(tenant: Tenant, input: UsageInput): Promise<UsageReport> {
    const granularity = input.granularity ?? 'day';
    const periodMs = granularity === 'day' ? DAY_MS : HOUR_MS;
    const now = this.d.clock.now().getTime();
    const until = input.until !== undefined ? parseTime(input.until, 'until') : now;
    const since = input.since !== undefined ? parseTime(input.since, 'since') : until - (granularity === 'day' ? 30 * DAY_MS : DAY_MS);
    if (since >= until) throw new AppError('SMS_ERR_VALIDATION', '`since` must be before `until`.', [{ field: 'since', message: 'must be before until' }]);
    if (until - since > MAX_RANGE_MS[granularity]) {
      throw new AppError('SMS_ERR_VALIDATION', `The range is limited to ${MAX_RANGE_MS[granularity] / DAY_MS} days at ${granularity} granularity.`, [
        { field: 'since', message: 'is too far before until' },
      ]);
    }
    // The rollup counts by hour: bounds are widened to whole periods.
    const from = granularity === 'day' ? since - (since % DAY_MS) : hourOf(since);
    const to = Math.ceil(until / periodMs) * periodMs;
    const rows = await this.d.usage.report({ tenantId: tenant.id, since: from, until: to, periodMs, groupBy: input.group_by ?? null });
    const totals = new Acc();
    const groups = new Map<string, Acc & { period: number; group: string }>();
    for (const r of rows) {
      totals.add(r);
      const id = `${r.period}\u0000${r.group}`;
      let g = groups.get(id);
      if (!g) {
        g = Object.assign(new Acc(), { period: r.period, group: r.group });
        groups.set(id, g);
      }
      g.add(r);
    }
    const data = [...groups.values()]
      .filter((g) => g.messages !== 0)
      .sort((a, b) => a.period - b.period || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))
      .map((g) => ({ period_start: new Date(g.period).toISOString(), ...(input.group_by ? { group: g.group } : {}), ...g.view() }));
    return {
      since: new Date(from).toISOString(),
      until: new Date(to).toISOString(),
      granularity,
      group_by: input.group_by ?? null,
      price_unit: 'USD',
      totals: totals.view(),
      data,
      cap: this.d.capToday ? await this.d.capToday(tenant) : null,
    };
  }
}

class Acc {
  messages = 0;
  segments = 0;
  actual = 0;
  estimated = 0;
  delivered = 0;
  notDelivered = 0;
  add(r: UsageRow): void {
    this.messages += r.messages;
    this.segments += r.segments;
    this.actual += r.cost_actual;
    this.estimated += r.cost_estimated;
    this.delivered += r.delivered;
    this.notDelivered += r.not_delivered;
  }
  view(): Amounts {
    return {
      messages: this.messages,
      segments: this.segments,
      cost: { actual: formatMicros(this.actual), estimated: formatMicros(this.estimated) },
      delivery_rate: deliveryRate(this.delivered, this.notDelivered),
    };
  }
}

function parseTime(v: string, field: string): number {
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new AppError('SMS_ERR_VALIDATION', `\`${field}\` must be an ISO 8601 date-time.`, [{ field, message: 'must be a date-time' }]);
  return t;
}
