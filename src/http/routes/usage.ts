import type { FastifyPluginAsync } from 'fastify';
import { USAGE_GROUPS, type UsageInput, type UsageService } from '../../services/usage.js';
import type { RequireScope } from '../auth.js';
import { errorResponses } from '../schemas.js';

const amounts = {
  messages: { type: 'integer' },
  segments: { type: 'integer' },
  cost: {
    type: 'object',
    properties: { actual: { type: 'string' }, estimated: { type: 'string' } },
    description: 'Actual: prices the provider reported. Estimated: core/pricing.ts estimates where it reported none (flagged price_estimated on the message).',
  },
  delivery_rate: { type: ['number', 'null'], description: 'delivered / (delivered + undelivered + failed); null when none is final.' },
} as const;

export interface UsageRoutesOptions {
  usage: UsageService;
  requireScope: RequireScope;
}

export const usageRoutes: FastifyPluginAsync<UsageRoutesOptions> = async (app, d) => {
  app.get<{ Querystring: UsageInput }>(
    '/v1/usage',
    {
      onRequest: d.requireScope('usage:read'),
      schema: {
        tags: ['usage'],
        summary: 'Message counts, segments, cost and delivery rate per day or hour',
        description:
          'Served from the usage rollup (counted by the worker every few seconds). Bounds are widened to whole periods (UTC). Defaults: the last 30 days by day, the last 24 hours by hour.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string', format: 'date-time' },
            until: { type: 'string', format: 'date-time' },
            granularity: { type: 'string', enum: ['day', 'hour'], default: 'day' },
            group_by: { type: 'string', enum: [...USAGE_GROUPS] },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              since: { type: 'string', format: 'date-time' },
              until: { type: 'string', format: 'date-time' },
              granularity: { type: 'string' },
              group_by: { type: ['string', 'null'] },
              price_unit: { type: 'string' },
              totals: { type: 'object', properties: amounts },
              cap: {
                type: ['object', 'null'],
                description: "Today's daily cap in the tenant's time zone: messages counted, and whether its alerts are due.",
                properties: {
                  day: { type: 'string' },
                  timezone: { type: 'string' },
                  daily_cap: { type: ['integer', 'null'] },
                  used: { type: 'integer' },
                  alert_at: { type: 'number' },
                  threshold_reached: { type: 'boolean' },
                  cap_reached: { type: 'boolean' },
                },
              },
              data: {
                type: 'array',
                items: { type: 'object', properties: { period_start: { type: 'string', format: 'date-time' }, group: { type: 'string' }, ...amounts } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => d.usage.report(req.tenant, req.query),
  );
};
