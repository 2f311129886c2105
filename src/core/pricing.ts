// Estimated prices, for previews, campaign estimates and messages whose actual price Twilio has not
// reported (flagged as estimated wherever shown). Twilio bills SMS per segment and MMS per message,
// by destination country; its real price (on the message, after delivery) always wins.
// The defaults are Twilio's published US/CA list prices (2026: SMS $0.0083 per segment, MMS $0.0220
// per message) and a deliberately high catch-all for other countries, whose rates vary widely:
// operators who send abroad set their own table (prices in the tenant's currency are not modelled).

export interface RateTable {
  /** Price unit, as Twilio reports it (e.g. USD). */
  unit: string;
  /** Per ISO 3166 alpha-2 country, '*' for any other: SMS price per segment, MMS price per message. */
  rates: Record<string, { sms: string; mms: string }>;
}

export const DEFAULT_RATE_TABLE: RateTable = {
  unit: 'USD',
  rates: {
    US: { sms: '0.0083', mms: '0.0220' },
    CA: { sms: '0.0083', mms: '0.0220' },
    '*': { sms: '0.0500', mms: '0.0500' },
  },
};

export interface PriceEstimate {
  /** Decimal string with 4 fractional digits, positive like the API's prices. */
  amount: string;
  unit: string;
  /** The country whose rate applied ('*' when the catch-all did). */
  rate_country: string;
}

// Rates are handled in ten-thousandths of the unit (integers), so sums never drift.
const toUnits = (d: string): number => Math.round(Number(d) * 10_000);
const fromUnits = (u: number): string => (u / 10_000).toFixed(4);

/** The estimated price of one message to `country` (null country: the catch-all rate). */
export function estimatePrice(table: RateTable, country: string | null, channel: string, segments: number): PriceEstimate {
  const rateCountry = country && table.rates[country] ? country : '*';
  const rate = table.rates[rateCountry] ?? { sms: '0', mms: '0' };
  const units = channel === 'mms' ? toUnits(rate.mms) : toUnits(rate.sms) * Math.max(1, segments);
  return { amount: fromUnits(units), unit: table.unit, rate_country: rateCountry };
}

/** The sum of several estimates in one unit (a campaign's or a day's). */
export function sumPrices(amounts: readonly string[]): string {
  return fromUnits(amounts.reduce((s, a) => s + toUnits(a), 0));
}
