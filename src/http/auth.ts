import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../core/errors.js';
import { hasScope, type ApiKeysService, type Principal, type Scope } from '../services/api-keys.js';
import type { Tenant, TenantsService } from '../services/tenants.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    tenant: Tenant;
  }
}

/**
 * onRequest hook factory: Bearer API key → principal + tenant, then the scope check. It runs before
 * the body is read and validated, so an unauthenticated caller never learns a route's schema.
 */
export type RequireScope = (scope: Scope) => (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function scopeChecker(keys: ApiKeysService, tenants: TenantsService): RequireScope {
  return (scope) =>
    async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
      const h = req.headers.authorization;
      const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
      const principal = await keys.authenticate(m?.[1]);
      const tenant = await tenants.byId(principal.tenantId);
      if (!tenant) throw new AppError('SMS_ERR_UNAUTHENTICATED');
      if (!hasScope(principal, scope)) throw new AppError('SMS_ERR_FORBIDDEN', `This operation needs the '${scope}' scope.`);
      req.principal = principal;
      req.tenant = tenant;
    };
}
