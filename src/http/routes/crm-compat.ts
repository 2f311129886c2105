// The CRM module's routes (`/api/v1/sms/…`, Django style with trailing slashes), kept so its
// clients can point at smsrelay unchanged. Each is the same use case as its /v1 route, with the
// same keys and scopes; only the paths and the send body's field names differ.
import type { FastifyPluginAsync } from 'fastify';
import type { ConversationsService } from '../../services/conversations.js';
import type { ListInput, MessagesService } from '../../services/messages.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams, pageOf, pageQuery } from '../schemas.js';
import { conversationSchema } from './conversations.js';
import { listQuery } from './messages.js';

export interface CrmCompatRoutesOptions {
  messages: MessagesService;
  conversations?: ConversationsService;
  requireScope: RequireScope;
}

interface CrmSendBody {
  to?: string;
  to_number?: string;
  body?: string;
  message?: string;
  from?: string;
  from_number?: string;
}

const tags = ['compatibility'];

export const crmCompatRoutes: FastifyPluginAsync<CrmCompatRoutesOptions> = async (app, d) => {
  const read = d.requireScope('messages:read');
  const write = d.requireScope('messages:write');

  app.get<{ Querystring: ListInput }>(
    '/api/v1/sms/messages/',
    {
      onRequest: read,
      schema: { tags, summary: 'List messages (CRM module route)', querystring: listQuery, response: { 200: pageOf({ $ref: 'Message#' }), ...errorResponses } },
    },
    async (req) => d.messages.list(req.tenant, req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/sms/messages/:id/',
    {
      onRequest: read,
      schema: { tags, summary: 'Get a message (CRM module route)', params: idParams, response: { 200: { $ref: 'Message#' }, ...errorResponses } },
    },
    async (req) => d.messages.get(req.tenant, req.params.id),
  );

  app.post<{ Body: CrmSendBody }>(
    '/api/v1/sms/messages/send/',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Send (CRM module route): {to|to_number, body|message, from|from_number?}',
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', maxLength: 255 } } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            to: { type: 'string', maxLength: 64 },
            to_number: { type: 'string', maxLength: 64 },
            body: { type: 'string' },
            message: { type: 'string' },
            from: { type: 'string', maxLength: 64 },
            from_number: { type: 'string', maxLength: 64 },
          },
        },
        response: { 202: { $ref: 'Message#' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const b = req.body ?? {};
      const key = req.headers['idempotency-key'];
      const r = await d.messages.send(
        req.tenant,
        { to: (b.to ?? b.to_number) as string, body: b.body ?? b.message, from: b.from ?? b.from_number },
        { idempotencyKey: typeof key === 'string' ? key : undefined },
      );
      if (r.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(r.status).type('application/json; charset=utf-8').send(r.json);
    },
  );

  const conversations = d.conversations;
  if (!conversations) return;

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/api/v1/sms/conversations/',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'List conversations (CRM module route)',
        querystring: pageQuery(),
        response: { 200: pageOf(conversationSchema), ...errorResponses },
      },
    },
    async (req) => conversations.list(req.tenant, req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/sms/conversations/:id/',
    {
      onRequest: read,
      schema: { tags, summary: 'Get a conversation (CRM module route)', params: idParams, response: { 200: conversationSchema, ...errorResponses } },
    },
    async (req) => conversations.get(req.tenant, req.params.id),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/api/v1/sms/conversations/:id/messages/',
    {
      onRequest: read,
      schema: {
        tags,
        summary: "A conversation's messages (CRM module route)",
        params: idParams,
        querystring: pageQuery(),
        response: { 200: pageOf({ $ref: 'Message#' }), ...errorResponses },
      },
    },
    async (req) => conversations.thread(req.tenant, req.params.id, req.query),
  );
};
