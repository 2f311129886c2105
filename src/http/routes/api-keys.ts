// A tenant's API keys (scope admin): the secret is in the create answer only.
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../core/errors.js';
import { SCOPES, type ApiKeysService } from '../../services/api-keys.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams } from '../schemas.js';

const keySchema = {
  type: 'object',
  required: ['id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'revoked_at'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string', description: 'The first 12 characters of the key, to recognise it.' },
    scopes: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time', description: 'Updated at most once a minute per key and process.' },
    revoked_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export interface ApiKeyRoutesOptions {
  apiKeys: ApiKeysService;
  requireScope: RequireScope;
}

export const apiKeyRoutes: FastifyPluginAsync<ApiKeyRoutesOptions> = async (app, d) => {
  const admin = d.requireScope('admin');
  const tags = ['api keys'];

  app.get(
    '/v1/api-keys',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: "The tenant's API keys (never their secrets)",
        response: { 200: { type: 'object', properties: { data: { type: 'array', items: keySchema } } }, ...errorResponses },
      },
    },
    async (req) => ({ data: await d.apiKeys.list(req.tenant.id) }),
  );

  app.post<{ Body: { name: string; scopes: string[] } }>(
    '/v1/api-keys',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Create an API key; its secret is in this answer only',
        description: "A key grants only scopes it holds itself; 'tenants:admin' only by a tenants:admin key.",
        body: {
          type: 'object',
          required: ['name', 'scopes'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            scopes: { type: 'array', minItems: 1, maxItems: SCOPES.length, uniqueItems: true, items: { type: 'string', enum: [...SCOPES] } },
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['key', 'api_key'],
            properties: { key: { type: 'string', description: 'The secret: store it now.' }, api_key: keySchema },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { key, info } = await d.apiKeys.create(req.tenant.id, req.body.name, req.body.scopes, undefined, { grantor: req.principal, actor: req.actor });
      return reply.code(201).send({ key, api_key: info });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/api-keys/:id/revoke',
    {
      onRequest: admin,
      schema: { tags, summary: 'Revoke an API key of the tenant', params: idParams, response: { 200: keySchema, ...errorResponses } },
    },
    async (req) => {
      const k = await d.apiKeys.get(req.tenant.id, req.params.id);
      if (!k) throw new AppError('SMS_ERR_NOT_FOUND', 'No such API key.');
      if (k.revoked_at === null) await d.apiKeys.revoke(req.tenant.id, k.id, req.actor);
      return (await d.apiKeys.get(req.tenant.id, k.id))!;
    },
  );
};
