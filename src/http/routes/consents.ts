import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { AuditLog } from '../../services/audit.js';
import type { ConsentAction, ConsentService } from '../../services/consent.js';
import type { RequireScope } from '../auth.js';
import { errorResponses } from '../schemas.js';

const consentSchema = {
  type: 'object',
  properties: {
    phone: { type: 'string' },
    state: { type: 'string', enum: ['opted_out', 'opted_in'] },
    suppressed: { type: 'boolean', description: 'true: messages to this number are refused (422) and queued ones fail locally.' },
    since: { type: ['string', 'null'], format: 'date-time' },
    changed: { type: 'boolean' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          action: { type: 'string', enum: ['opt_out', 'opt_in'] },
          source: { type: 'string', enum: ['keyword', 'free_text', 'api', 'web_form', 'admin', 'provider'] },
          actor: { type: ['string', 'null'] },
          detail: { type: ['string', 'null'] },
          message_id: { type: ['string', 'null'] },
          created_at: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
} as const;

export interface ConsentRoutesOptions {
  consent: ConsentService;
  /** Consent changes made through the API are audited (in their own transaction). */
  audit?: AuditLog;
  requireScope: RequireScope;
}

export const consentRoutes: FastifyPluginAsync<ConsentRoutesOptions> = async (app, d) => {
  const read = d.requireScope('messages:read');
  const write = d.requireScope('messages:write');
  const tags = ['consent'];

  app.get<{ Params: { phone: string } }>(
    '/v1/consents/:phone',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Consent state and history of a number',
        params: { type: 'object', required: ['phone'], properties: { phone: { type: 'string', maxLength: 64 } } },
        response: { 200: consentSchema, ...errorResponses },
      },
    },
    async (req) => d.consent.get(req.tenant, req.params.phone),
  );

  app.post<{ Body: { phone: string; action: ConsentAction; reason?: string | null; source?: 'api' | 'web_form' } }>(
    '/v1/consents',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Opt a number in or out',
        description:
          'Appends a consent event (source api, or web_form for an opt-in collected on a form; actor = the API key) and updates the suppression list. Categories in consent mode opt_in are sent only to numbers whose newest event is an opt-in.',
        body: {
          type: 'object',
          required: ['phone', 'action'],
          additionalProperties: false,
          properties: {
            phone: { type: 'string', maxLength: 64 },
            action: { type: 'string', enum: ['opt_out', 'opt_in'] },
            reason: { type: ['string', 'null'], maxLength: 500 },
            source: { type: 'string', enum: ['api', 'web_form'], default: 'api' },
          },
        },
        response: { 200: consentSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { audit } = d;
      const r = await d.consent.set(
        req.tenant,
        req.body,
        req.principal.keyId,
        audit &&
          ((tx, phone) =>
            audit.record(tx, {
              tenantId: req.tenant.id,
              actor: req.actor,
              action: 'consent.set',
              target: phone,
              changes: { action: req.body.action, reason: req.body.reason ?? null },
            })),
      );
      return { ...r.consent, changed: r.changed };
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string; format?: 'json' | 'csv' } }>(
    '/v1/opt-outs',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Numbers that opted out, newest first (format=csv exports all of them)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string', maxLength: 200 },
            format: { type: 'string', enum: ['json', 'csv'] },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    phone: { type: 'string' },
                    source: { type: 'string' },
                    reason: { type: ['string', 'null'] },
                    created_at: { type: 'string', format: 'date-time' },
                  },
                },
              },
              next_cursor: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      if (req.query.format === 'csv' || (req.query.format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''))) {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="opt-outs.csv"')
          .send(Readable.from(d.consent.optOutsCsv(req.tenant)));
      }
      return d.consent.listOptOuts(req.tenant, req.query);
    },
  );
};
