// The audit log of a tenant (scope admin); a tenants:admin key also sees platform actions.
import type { FastifyPluginAsync } from 'fastify';
import { PLATFORM_SCOPE } from '../../services/api-keys.js';
import type { AuditLog } from '../../services/audit.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, pageOf, pageQuery } from '../schemas.js';

const entrySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant_id: { type: 'string', description: 'The tenant the change concerns.' },
    platform: { type: 'boolean', description: 'A platform action (tenants), listed to tenants:admin keys.' },
    actor_key_id: { type: ['string', 'null'], description: 'The API key that made the change (null: CLI or library).' },
    actor_tenant_id: { type: ['string', 'null'] },
    on_behalf_of: { type: ['string', 'null'], description: 'Slug given in Smsrelay-Tenant by a tenants:admin key.' },
    action: { type: 'string' },
    target: { type: ['string', 'null'] },
    changes: { type: 'object', additionalProperties: true, description: 'Field names and new values; secrets are "[redacted]".' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

export interface AuditRoutesOptions {
  audit: AuditLog;
  requireScope: RequireScope;
}

export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (app, d) => {
  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/audit-log',
    {
      onRequest: d.requireScope('admin'),
      schema: {
        tags: ['audit'],
        summary: 'Changes made through the API, newest first',
        querystring: pageQuery(),
        response: {
          200: pageOf(entrySchema),
          ...errorResponses,
        },
      },
    },
    async (req) => d.audit.list(req.tenant.id, req.principal.scopes.has(PLATFORM_SCOPE), req.query),
  );
};
