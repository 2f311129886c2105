import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../core/errors.js';
import { hasScope, PLATFORM_SCOPE, type ApiKeysService, type Principal, type Scope } from '../services/api-keys.js';
import type { Actor } from '../services/audit.js';
import type { ConsoleSessionsService } from '../services/console-sessions.js';
import type { Tenant, TenantsService } from '../services/tenants.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    tenant: Tenant;
    /** Who makes the request's changes (audit log): the key, and whom it acts on behalf of. */
    actor: Actor;
  }
}

/** A `tenants:admin` key names the tenant it acts on behalf of in this header (its slug). */
export const TENANT_HEADER = 'smsrelay-tenant';

/** The admin console's session cookie (HttpOnly; its value is a random id, stored hashed). */
export const SESSION_COOKIE = 'smsrelay_session';
/** The console sends its session's CSRF token in this header on every state-changing request. */
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * onRequest hook factory: Bearer API key (or, without an Authorization header, the console's session
 * cookie, with its CSRF token on state-changing requests) → principal + tenant, then the scope check. It runs before
 * the body is read and validated, so an unauthenticated caller never learns a route's schema.
 */
export type RequireScope = (scope: Scope) => (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function scopeChecker(keys: ApiKeysService, tenants: TenantsService, sessions?: ConsoleSessionsService): RequireScope {
  const authenticate = async (req: FastifyRequest): Promise<Principal> => {
    const h = req.headers.authorization;
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (h === undefined && sessions && cookie !== undefined) {
      const session = await sessions.resolve(cookie);
      const token = req.headers[CSRF_HEADER];
      if (!SAFE_METHODS.has(req.method) && !sessions.csrfMatches(session, typeof token === 'string' ? token : undefined)) throw new AppError('SMS_ERR_CSRF');
      return session.principal;
    }
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    return keys.authenticate(m?.[1]);
  };
  return (scope) =>
    async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
      const principal = await authenticate(req);
      const onBehalfOf = req.headers[TENANT_HEADER];
      let tenant: Tenant | undefined;
      if (onBehalfOf !== undefined) {
        if (!principal.scopes.has(PLATFORM_SCOPE)) throw new AppError('SMS_ERR_TENANT_HEADER_FORBIDDEN');
        const slug = Array.isArray(onBehalfOf) ? onBehalfOf[0] : onBehalfOf;
        tenant = slug && slug.length <= 63 ? await tenants.bySlug(slug) : undefined;
        if (!tenant) throw new AppError('SMS_ERR_TENANT_NOT_FOUND', 'The Smsrelay-Tenant header names no tenant.', { field: 'Smsrelay-Tenant' });
      } else {
        tenant = await tenants.byId(principal.tenantId);
        if (!tenant) throw new AppError('SMS_ERR_UNAUTHENTICATED');
      }
      if (!hasScope(principal, scope)) throw new AppError('SMS_ERR_FORBIDDEN', `This operation needs the '${scope}' scope.`);
      req.principal = principal;
      req.tenant = tenant;
      req.actor = { keyId: principal.keyId, tenantId: principal.tenantId, onBehalfOf: onBehalfOf === undefined ? null : tenant.slug };
      if (onBehalfOf !== undefined) {
        // The request log records the crossing: every later line of this request carries it too.
        req.log = req.log.child({ key_id: principal.keyId, on_behalf_of: tenant.slug });
        req.log.info({ method: req.method, route: req.routeOptions.url }, 'request on behalf of another tenant');
      }
    };
}
