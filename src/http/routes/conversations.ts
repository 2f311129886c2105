import type { FastifyPluginAsync } from 'fastify';
import type { ConversationListInput, ConversationsService, ConversationUpdate, ReplyInput } from '../../services/conversations.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams, pageOf, pageQuery } from '../schemas.js';

export const conversationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    contact: { type: 'string' },
    our_number: { type: 'string' },
    status: { type: 'string', enum: ['active', 'opted_out', 'blocked', 'closed'] },
    unread_count: { type: 'integer' },
    needs_attention: { type: 'boolean', description: 'Set when a human should look, e.g. the contact revoked consent in free text.' },
    attention_reason: { type: ['string', 'null'] },
    external_ref: { type: ['string', 'null'], description: "The host application's entity, e.g. lead:42." },
    last_message_at: { type: 'string', format: 'date-time' },
    last_read_at: { type: ['string', 'null'], format: 'date-time' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

export interface ConversationRoutesOptions {
  conversations: ConversationsService;
  requireScope: RequireScope;
}

export const conversationRoutes: FastifyPluginAsync<ConversationRoutesOptions> = async (app, d) => {
  const read = d.requireScope('messages:read');
  const write = d.requireScope('messages:write');
  const tags = ['conversations'];

  app.get<{ Querystring: ConversationListInput }>(
    '/v1/conversations',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'List conversations, most recent activity first',
        querystring: pageQuery({
          status: { type: 'string', enum: ['active', 'opted_out', 'blocked', 'closed'] },
          unread: { type: 'boolean' },
          needs_attention: { type: 'boolean' },
          external_ref: { type: 'string', maxLength: 200 },
        }),
        response: { 200: pageOf(conversationSchema), ...errorResponses },
      },
    },
    async (req) => d.conversations.list(req.tenant, req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/conversations/:id',
    { onRequest: read, schema: { tags, summary: 'Get a conversation', params: idParams, response: { 200: conversationSchema, ...errorResponses } } },
    async (req) => d.conversations.get(req.tenant, req.params.id),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/v1/conversations/:id/messages',
    {
      onRequest: read,
      schema: {
        tags,
        summary: "A conversation's messages, newest first",
        params: idParams,
        querystring: pageQuery(),
        response: { 200: pageOf({ $ref: 'Message#' }), ...errorResponses },
      },
    },
    async (req) => d.conversations.thread(req.tenant, req.params.id, req.query),
  );

  app.post<{ Params: { id: string }; Body: ReplyInput }>(
    '/v1/conversations/:id/messages',
    {
      onRequest: write,
      schema: {
        tags,
        summary: "Reply from the conversation's number",
        description: 'Goes through the send pipeline: 422 SMS_ERR_RECIPIENT_OPTED_OUT when the contact opted out.',
        params: idParams,
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', maxLength: 255 } } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            body: { type: ['string', 'null'] },
            media_urls: { type: ['array', 'null'], items: { type: 'string' } },
            metadata: { type: ['object', 'null'], additionalProperties: true },
          },
        },
        response: { 202: { $ref: 'Message#' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'];
      const r = await d.conversations.reply(req.tenant, req.params.id, req.body ?? {}, typeof key === 'string' ? key : undefined);
      if (r.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(r.status).type('application/json; charset=utf-8').send(r.json);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/conversations/:id/read',
    {
      onRequest: write,
      schema: { tags, summary: 'Mark a conversation read (unread count to 0)', params: idParams, response: { 200: conversationSchema, ...errorResponses } },
    },
    async (req) => d.conversations.markRead(req.tenant, req.params.id),
  );

  app.patch<{ Params: { id: string }; Body: ConversationUpdate }>(
    '/v1/conversations/:id',
    {
      onRequest: write,
      schema: {
        tags,
        summary: "Link the host application's entity, close, block or reopen a conversation",
        description:
          "status 'blocked': inbound messages are still stored, auto-replies stop and sends to the contact are refused (422 SMS_ERR_CONVERSATION_BLOCKED). " +
          "'closed': closed until the contact writes again. 'active': reopened (opted_out when the contact opted out).",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            status: { type: 'string', enum: ['active', 'closed', 'blocked'] },
            external_ref: { type: ['string', 'null'], minLength: 1, maxLength: 200 },
          },
        },
        response: { 200: conversationSchema, ...errorResponses },
      },
    },
    async (req) => d.conversations.update(req.tenant, req.params.id, req.body, req.actor),
  );
};
