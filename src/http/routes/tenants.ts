// The platform admin's tenants (scope tenants:admin).
import type { FastifyPluginAsync } from 'fastify';
import type { TenantsService } from '../../services/tenants.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams, pageOf, pageQuery } from '../schemas.js';

const tenantSchema = {
  type: 'object',
  required: ['id', 'slug', 'name', 'enabled', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string' },
    slug: { type: 'string' },
    name: { type: 'string' },
    enabled: { type: 'boolean', description: 'false: the tenant is disabled by the platform admin.' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const name = { type: 'string', minLength: 1, maxLength: 200 } as const;

export interface TenantRoutesOptions {
  tenants: TenantsService;
  requireScope: RequireScope;
}

export const tenantRoutes: FastifyPluginAsync<TenantRoutesOptions> = async (app, d) => {
  const admin = d.requireScope('tenants:admin');
  const tags = ['tenants'];

  app.post<{ Body: { slug: string; name: string; enabled?: boolean } }>(
    '/v1/tenants',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Create a tenant (tenants:admin)',
        description: 'Configure it afterwards with PATCH /v1/settings and the header `Smsrelay-Tenant: <slug>`; give it keys with POST /v1/api-keys.',
        body: {
          type: 'object',
          required: ['slug', 'name'],
          additionalProperties: false,
          properties: {
            slug: { type: 'string', maxLength: 63, description: '1-63 lowercase letters, digits or dashes.' },
            name,
            enabled: { type: 'boolean', default: true },
          },
        },
        response: { 201: tenantSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const t = await d.tenants.createResource(req.body, req.actor);
      return reply.code(201).send(t);
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/tenants',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Every tenant, oldest first (tenants:admin)',
        querystring: pageQuery(),
        response: {
          200: pageOf(tenantSchema),
          ...errorResponses,
        },
      },
    },
    async (req) => d.tenants.page(req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/tenants/:id',
    {
      onRequest: admin,
      schema: { tags, summary: 'A tenant by id or slug (tenants:admin)', params: idParams, response: { 200: tenantSchema, ...errorResponses } },
    },
    async (req) => d.tenants.resource(req.params.id),
  );

  app.patch<{ Params: { id: string }; Body: { name?: string; enabled?: boolean } }>(
    '/v1/tenants/:id',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Rename, enable or disable a tenant (tenants:admin)',
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name, enabled: { type: 'boolean' } } },
        response: { 200: tenantSchema, ...errorResponses },
      },
    },
    async (req) => {
      const t = await d.tenants.resource(req.params.id);
      return d.tenants.update(t.id, req.body, req.actor);
    },
  );
};
