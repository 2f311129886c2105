// Routes kept for clients written against the original Django apps' "sms" module.
import type { FastifyPluginAsync } from 'fastify';
import type { MessagesService } from '../../services/messages.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams } from '../schemas.js';

interface SeedSendBody {
  to_phone?: string;
  to?: string;
  message?: string;
  body?: string;
}

export interface SeedCompatRoutesOptions {
  messages: MessagesService;
  requireScope: RequireScope;
}

export const seedCompatRoutes: FastifyPluginAsync<SeedCompatRoutesOptions> = async (app, d) => {
  app.post<{ Body: SeedSendBody }>(
    '/api/sms/send/',
    {
      onRequest: d.requireScope('messages:write'),
      schema: {
        tags: ['compatibility'],
        summary: 'Send (original app route): {to_phone|to, message|body}',
        body: {
          type: 'object',
          properties: {
            to_phone: { type: 'string', maxLength: 64 },
            to: { type: 'string', maxLength: 64 },
            message: { type: 'string' },
            body: { type: 'string' },
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
        { to: (b.to_phone ?? b.to) as string, body: b.message ?? b.body },
        { idempotencyKey: typeof key === 'string' ? key : undefined },
      );
      return reply.code(r.status).type('application/json; charset=utf-8').send(r.json);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/sms/:id/status/',
    {
      onRequest: d.requireScope('messages:read'),
      schema: {
        tags: ['compatibility'],
        summary: 'Message status (original app route)',
        params: idParams,
        response: { 200: { $ref: 'Message#' }, ...errorResponses },
      },
    },
    async (req) => d.messages.get(req.tenant, req.params.id),
  );
};
