import type { FastifyPluginAsync } from 'fastify';
import type { AlertsService } from '../../services/alerts.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, pageOf, pageQuery } from '../schemas.js';

export interface AlertRoutesOptions {
  alerts: AlertsService;
  requireScope: RequireScope;
}

const counts = { type: 'object', additionalProperties: { type: 'integer' } } as const;

export const alertRoutes: FastifyPluginAsync<AlertRoutesOptions> = async (app, d) => {
  const read = d.requireScope('alerts:read');
  const tags = ['alerts'];

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/alerts',
    {
      onRequest: read,
      schema: {
        tags,
        summary: "The tenant's alerts, newest first",
        description: 'usage.cap_threshold (the daily cap’s alert threshold passed) and usage.cap_reached, each raised at most once per day.',
        querystring: pageQuery(),
        response: {
          200: pageOf({
            type: 'object',
            properties: {
              id: { type: 'string' },
              kind: { type: 'string' },
              day: { type: 'string', description: 'The calendar day in the tenant’s time zone.' },
              message: { type: 'string' },
              data: { type: ['object', 'null'], additionalProperties: true },
              created_at: { type: 'string', format: 'date-time' },
            },
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => d.alerts.list(req.tenant, req.query),
  );

  app.get<{ Querystring: { day?: string } }>(
    '/v1/policy/stats',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Sending-policy counts of a day: messages counted against the daily cap, refusals and holds by reason',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { day: { type: 'string', maxLength: 10, description: 'YYYY-MM-DD; default today in the tenant’s time zone.' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              day: { type: 'string' },
              timezone: { type: 'string' },
              sent: { type: 'integer' },
              daily_cap: { type: ['integer', 'null'] },
              refused: counts,
              held: counts,
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => d.alerts.stats(req.tenant, req.query.day),
  );
};
