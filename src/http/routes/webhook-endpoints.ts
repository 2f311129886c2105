import type { FastifyPluginAsync } from 'fastify';
import { EVENT_TYPES } from '../../core/events.js';
import type { EndpointInput, WebhookEndpointsService } from '../../services/webhook-endpoints.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams, pageOf, pageQuery } from '../schemas.js';

const endpointProperties = {
  id: { type: 'string' },
  url: { type: 'string' },
  event_types: { type: 'array', items: { type: 'string' } },
  enabled: { type: 'boolean' },
  description: { type: ['string', 'null'] },
  disabled_reason: {
    type: ['string', 'null'],
    description: "Set when the relay disabled the endpoint: 'gone' (it answered 410) or 'failing' (it failed for too long).",
  },
  previous_secret_expires_at: { type: ['string', 'null'], format: 'date-time', description: 'Until when the previous secret also signs.' },
  created_at: { type: 'string', format: 'date-time' },
  updated_at: { type: 'string', format: 'date-time' },
} as const;
const endpointSchema = { type: 'object', properties: endpointProperties } as const;
const withSecret = {
  type: 'object',
  properties: {
    ...endpointProperties,
    secret: { type: 'string', description: 'The signing secret (Standard Webhooks, whsec_…). Shown only here: store it.' },
  },
} as const;

const bodySchema = (required: string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    required,
    properties: {
      url: { type: 'string', description: 'https URL (http and private addresses only with SMSRELAY_WEBHOOK_ALLOW_PRIVATE=true).' },
      event_types: {
        type: 'array',
        items: { type: 'string' },
        description: `Exact types, a group ('message.*') or '*'. Types: ${EVENT_TYPES.join(', ')}.`,
      },
      enabled: { type: 'boolean' },
      description: { type: ['string', 'null'] },
    },
  }) as const;

export interface WebhookEndpointRoutesOptions {
  endpoints: WebhookEndpointsService;
  requireScope: RequireScope;
}

export const webhookEndpointRoutes: FastifyPluginAsync<WebhookEndpointRoutesOptions> = async (app, d) => {
  const manage = d.requireScope('webhooks:write');
  const read = d.requireScope('events:read');
  const tags = ['webhooks'];

  app.post<{ Body: EndpointInput }>(
    '/v1/webhook-endpoints',
    {
      onRequest: manage,
      schema: {
        tags,
        summary: 'Create a webhook endpoint',
        description: 'Events are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). The answer holds the secret, once.',
        body: bodySchema(['url']),
        response: { 201: withSecret, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await d.endpoints.create(req.tenant, req.body)),
  );

  app.get(
    '/v1/webhook-endpoints',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'List webhook endpoints',
        response: { 200: { type: 'object', properties: { data: { type: 'array', items: endpointSchema } } }, ...errorResponses },
      },
    },
    async (req) => d.endpoints.list(req.tenant),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhook-endpoints/:id',
    { onRequest: read, schema: { tags, summary: 'Get a webhook endpoint', params: idParams, response: { 200: endpointSchema, ...errorResponses } } },
    async (req) => d.endpoints.get(req.tenant, req.params.id),
  );

  app.patch<{ Params: { id: string }; Body: EndpointInput }>(
    '/v1/webhook-endpoints/:id',
    {
      onRequest: manage,
      schema: {
        tags,
        summary: 'Change a webhook endpoint',
        description: 'enabled: true also clears a disabled_reason and the run of failures.',
        params: idParams,
        body: bodySchema([]),
        response: { 200: endpointSchema, ...errorResponses },
      },
    },
    async (req) => d.endpoints.update(req.tenant, req.params.id, req.body),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhook-endpoints/:id',
    { onRequest: manage, schema: { tags, summary: 'Delete a webhook endpoint', params: idParams, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      await d.endpoints.delete(req.tenant, req.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      onRequest: manage,
      schema: {
        tags,
        summary: 'Rotate the signing secret',
        description: 'The new secret is shown once; the previous one keeps signing for 24 hours (both signatures in webhook-signature).',
        params: idParams,
        response: { 200: withSecret, ...errorResponses },
      },
    },
    async (req) => d.endpoints.rotateSecret(req.tenant, req.params.id),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/v1/webhook-endpoints/:id/attempts',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Delivery attempts to the endpoint, newest first',
        params: idParams,
        querystring: pageQuery(),
        response: {
          200: pageOf({
            type: 'object',
            properties: {
              id: { type: 'string' },
              event_id: { type: 'string' },
              attempted_at: { type: 'string', format: 'date-time' },
              status_code: { type: ['integer', 'null'] },
              success: { type: 'boolean' },
              error: { type: ['string', 'null'] },
              latency_ms: { type: 'integer' },
              response_excerpt: { type: ['string', 'null'], description: 'The start of the response body (at most 1 KB).' },
            },
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => d.endpoints.attempts(req.tenant, req.params.id, req.query),
  );
};
