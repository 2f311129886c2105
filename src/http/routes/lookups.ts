import type { FastifyPluginAsync } from 'fastify';
import type { LookupsService } from '../../services/lookups.js';
import type { RequireScope } from '../auth.js';
import { errorResponses } from '../schemas.js';

const nullable = (type: string) => ({ type: [type, 'null'] });

export interface LookupRoutesOptions {
  lookups: LookupsService;
  requireScope: RequireScope;
}

export const lookupRoutes: FastifyPluginAsync<LookupRoutesOptions> = async (app, d) => {
  app.get<{ Params: { phone: string }; Querystring: { fields?: 'line_type_intelligence' } }>(
    '/v1/lookups/:phone',
    {
      onRequest: d.requireScope('lookups:read'),
      schema: {
        tags: ['lookups'],
        summary: 'Facts about a phone number',
        description:
          "Offline, from libphonenumber's metadata: validity, E.164, national format, country, number type, time zones and the range's original carrier. " +
          "With fields=line_type_intelligence: Twilio Lookup v2's line type and current carrier (a paid request, cached per number for 30 days).",
        params: { type: 'object', required: ['phone'], properties: { phone: { type: 'string', minLength: 1, maxLength: 64 } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { fields: { type: 'string', enum: ['line_type_intelligence'] } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              input: { type: 'string' },
              valid: { type: 'boolean' },
              e164: nullable('string'),
              national_format: nullable('string'),
              country: nullable('string'),
              number_type: nullable('string'),
              time_zones: { type: 'array', items: { type: 'string' } },
              carrier: nullable('string'),
              line_type_intelligence: {
                type: 'object',
                properties: {
                  type: nullable('string'),
                  carrier_name: nullable('string'),
                  mobile_country_code: nullable('string'),
                  mobile_network_code: nullable('string'),
                  error_code: nullable('integer'),
                  fetched_at: { type: 'string', format: 'date-time' },
                  cached: { type: 'boolean' },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => d.lookups.lookup(req.tenant, req.params.phone, { lineType: req.query.fields === 'line_type_intelligence' }),
  );
};
