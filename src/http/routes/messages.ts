import type { FastifyPluginAsync } from 'fastify';
import { MESSAGE_STATUSES } from '../../core/status.js';
import type { MessagesService, SendInput } from '../../services/messages.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams, sendBodySchema } from '../schemas.js';

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...MESSAGE_STATUSES] },
    to: { type: 'string', maxLength: 64 },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    cursor: { type: 'string', maxLength: 200 },
  },
} as const;

export interface MessageRoutesOptions {
  messages: MessagesService;
  requireScope: RequireScope;
}

export const messageRoutes: FastifyPluginAsync<MessageRoutesOptions> = async (app, d) => {
  const write = d.requireScope('messages:write');
  const read = d.requireScope('messages:read');

  app.post<{ Body: SendInput }>(
    '/v1/messages',
    {
      onRequest: write,
      schema: {
        tags: ['messages'],
        summary: 'Send a message',
        description: 'Validates, stores the message in the outbox and answers 202; the worker sends it. An Idempotency-Key header replays the first answer.',
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', maxLength: 255 } } },
        body: sendBodySchema,
        response: { 202: { $ref: 'Message#' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'];
      const r = await d.messages.send(req.tenant, req.body, { idempotencyKey: typeof key === 'string' ? key : undefined });
      if (r.replayed) void reply.header('idempotent-replayed', 'true');
      // The stored JSON is sent as is: a replay is byte-for-byte the first answer.
      return reply.code(r.status).type('application/json; charset=utf-8').send(r.json);
    },
  );

  app.get<{ Querystring: { status?: string; to?: string; since?: string; until?: string; limit?: number; cursor?: string } }>(
    '/v1/messages',
    {
      onRequest: read,
      schema: {
        tags: ['messages'],
        summary: 'List messages, newest first',
        querystring: listQuery,
        response: {
          200: {
            type: 'object',
            properties: { data: { type: 'array', items: { $ref: 'Message#' } }, next_cursor: { type: ['string', 'null'] } },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => d.messages.list(req.tenant, req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/messages/:id',
    { onRequest: read, schema: { tags: ['messages'], summary: 'Get a message', params: idParams, response: { 200: { $ref: 'Message#' }, ...errorResponses } } },
    async (req) => d.messages.get(req.tenant, req.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/messages/:id/events',
    {
      onRequest: read,
      schema: {
        tags: ['messages'],
        summary: "A message's status history",
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              data: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    status: { type: 'string' },
                    source: { type: 'string' },
                    error_code: { type: ['string', 'null'] },
                    provider_code: { type: ['integer', 'null'] },
                    data: {},
                    created_at: { type: 'string', format: 'date-time' },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => ({ data: await d.messages.events(req.tenant, req.params.id) }),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/messages/:id/cancel',
    {
      onRequest: write,
      schema: {
        tags: ['messages'],
        summary: 'Cancel a pending or scheduled message',
        params: idParams,
        response: { 200: { $ref: 'Message#' }, ...errorResponses },
      },
    },
    async (req) => d.messages.cancel(req.tenant, req.params.id),
  );
};
