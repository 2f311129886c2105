// The price pass: Twilio puts the price on a message some time after it is final, often only on a
// later fetch (not in the status callback). Final messages still without a price are fetched from
// the provider in bounded batches; where the provider still reports none, the estimate of
// core/pricing.ts is stored, flagged `price_estimated`.
import type { Logger } from 'pino';
import { countryOfAddress } from '../core/usage.js';
import { estimatePrice, type RateTable } from '../core/pricing.js';
import type { Clock, PriceUpdate, ProviderFor, UnitOfWork, UsageRepository } from '../ports.js';
import type { PeriodicTask } from './periodic.js';

export interface PricePassConfig {
  intervalMs: number;
  /** How long after its last change a final message is first asked about. */
  delayMs: number;
  batchSize: number;
}

export interface PricePassDeps {
  usage: Pick<UsageRepository, 'unpriced' | 'setPrices'>;
  write: UnitOfWork['write'];
  providerFor: ProviderFor;
  clock: Clock;
  rates: RateTable;
  config: PricePassConfig;
  logger: Logger;
}

const FETCH_CONCURRENCY = 8;

export class PricePass {
  constructor(private readonly d: PricePassDeps) {}

  task(): PeriodicTask {
    return { name: 'prices: fetching late prices', intervalMs: this.d.config.intervalMs, run: () => this.runOnce() };
  }

  /** One batch; returns how many messages got a price (actual or estimated). */
  async runOnce(): Promise<number> {
    const now = this.d.clock.now().getTime();
    const rows = await this.d.usage.unpriced(now - this.d.config.delayMs, this.d.config.batchSize);
    const updates: PriceUpdate[] = [];
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const r = rows[next++]!;
        let price: string | null = null;
        let unit: string | null = null;
        try {
          const fetched = await (await this.d.providerFor(r.tenant_id)).fetch(r.provider_sid);
          price = fetched?.price ?? null;
          unit = fetched?.priceUnit ?? null;
        } catch (e) {
          // A provider that cannot answer now is asked again on the next pass.
          this.d.logger.warn({ messageId: r.id, err: e instanceof Error ? e.message : String(e) }, 'prices: provider fetch failed');
          continue;
        }
        if (price !== null) {
          updates.push({ id: r.id, price, price_unit: unit, estimated: false });
        } else {
          const est = estimatePrice(this.d.rates, countryOfAddress(r.direction === 'inbound' ? r.from_addr : r.to_addr) || null, r.channel, r.segments);
          // Positive like the estimate's other uses; Twilio's own prices are negative (both are counted as costs).
          updates.push({ id: r.id, price: est.amount, price_unit: est.unit, estimated: true });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, rows.length) }, worker));
    if (updates.length === 0) return 0;
    return this.d.write((tx) => this.d.usage.setPrices(tx, updates));
  }
}
