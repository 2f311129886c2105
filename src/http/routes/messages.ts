import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { CATEGORIES } from '../../core/categories.js';
import { MESSAGE_STATUSES } from '../../core/status.js';
import { type ListInput, MESSAGES_CSV_MAX_ROWS, type MessagesService, type SendInput } from '../../services/messages.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams, pageOf, pageQuery, sendBodySchema } from '../schemas.js';

const filterProperties = {
  status: { type: 'string', enum: [...MESSAGE_STATUSES] },
  to: { type: 'string', maxLength: 64 },
  since: { type: 'string', format: 'date-time' },
  until: { type: 'string', format: 'date-time' },
  category: { type: 'string', enum: [...CATEGORIES] },
  template: { type: 'string', minLength: 1, maxLength: 64, description: "A template's name." },
  campaign: { type: 'string', minLength: 1, maxLength: 64, description: "A campaign's id: the messages of its recipients." },
} as const;

export const listQuery = pageQuery(filterProperties);

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

  app.get<{ Querystring: ListInput }>(
    '/v1/messages',
    {
      onRequest: read,
      schema: {
        tags: ['messages'],
        summary: 'List messages, newest first',
        querystring: listQuery,
        response: { 200: pageOf({ $ref: 'Message#' }), ...errorResponses },
      },
    },
    async (req) => d.messages.list(req.tenant, req.query),
  );

  app.get<{ Querystring: Omit<ListInput, 'limit' | 'cursor'> }>(
    '/v1/messages.csv',
    {
      onRequest: read,
      schema: {
        tags: ['messages'],
        summary: 'Export messages as CSV, newest first',
        description: `The filters of GET /v1/messages; streamed page by page, at most ${MESSAGES_CSV_MAX_ROWS} rows (narrow the date range for more). Cells that a spreadsheet would read as a formula get a leading apostrophe.`,
        querystring: { type: 'object', additionalProperties: false, properties: filterProperties },
        response: { 200: { description: 'CSV with a header row', content: { 'text/csv': { schema: { type: 'string' } } } }, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="messages.csv"')
        .send(Readable.from(d.messages.csv(req.tenant, req.query))),
  );

  app.get(
    '/v1/outbox',
    {
      onRequest: read,
      schema: {
        tags: ['messages'],
        summary: "This tenant's outbox: messages waiting for the worker",
        response: {
          200: {
            type: 'object',
            properties: {
              depth: { type: 'integer', description: 'Pending and scheduled messages.' },
              pending: { type: 'integer', description: 'Pending messages (due now or retrying).' },
              scheduled: { type: 'integer' },
              oldest_pending_at: { type: ['string', 'null'], format: 'date-time' },
              oldest_pending_age_seconds: { type: ['number', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => d.messages.outbox(req.tenant),
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
