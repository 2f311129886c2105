// The admin console (/admin): its page, its built assets, and sign-in / sign-out. Everything the
// page shows comes from the same /v1 API as any client, authenticated by the session cookie
// (src/http/auth.ts) instead of a bearer key.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleSession, ConsoleSessionsService } from '../../services/console-sessions.js';
import type { TenantsService } from '../../services/tenants.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../auth.js';
import { AppError } from '../../core/errors.js';
import { errorResponses } from '../schemas.js';
import type { WebAssets } from '../../emulator/inbox/assets.js';

const ASSETS = '/admin/assets/';

/** Only the console's own files: no inline script or style, no other origin. */
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%232f6fed'/%3E%3Cpath d='M9 11h14v9h-8l-4 3v-3H9z' fill='white'/%3E%3C/svg%3E";

const page = (script: string, style: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smsrelay console</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="${style}">
<script type="module" src="${script}"></script>
</head>
<body>
<div id="app" class="loading">Loading…</div>
</body>
</html>
`;

const sessionSchema = {
  type: 'object',
  required: ['tenant', 'scopes', 'csrf_token', 'expires_at', 'idle_expires_at'],
  properties: {
    tenant: {
      type: 'object',
      required: ['id', 'slug', 'name'],
      properties: { id: { type: 'string' }, slug: { type: 'string' }, name: { type: 'string' } },
    },
    scopes: { type: 'array', items: { type: 'string' } },
    csrf_token: { type: 'string', description: `Send it in the ${CSRF_HEADER} header of every request that is not GET/HEAD.` },
    expires_at: { type: 'string', format: 'date-time', description: 'The absolute end of the session.' },
    idle_expires_at: { type: 'string', format: 'date-time', description: 'When the session ends if unused from now on.' },
  },
} as const;

export interface ConsoleRoutesOptions {
  sessions: ConsoleSessionsService;
  tenants: TenantsService;
  assets: WebAssets;
}

export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, d) => {
  const tags = ['admin console'];
  const script = d.assets.file('admin.js');
  const style = d.assets.file('admin.css');
  const html = script && style ? page(ASSETS + script, ASSETS + style) : null;

  const sendPage = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('content-security-policy', CONSOLE_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
    if (!html) return reply.code(503).type('text/plain; charset=utf-8').send('The admin console is not built: run `npm run build`.\n');
    return reply.type('text/html; charset=utf-8').send(html);
  };
  app.get('/admin', { schema: { hide: true } }, sendPage);
  app.get('/admin/', { schema: { hide: true } }, sendPage);

  app.get<{ Params: { name: string } }>(`${ASSETS}:name`, { schema: { hide: true } }, async (req, reply) => {
    const asset = d.assets.get(req.params.name);
    if (!asset) throw new AppError('SMS_ERR_NOT_FOUND', 'No such console asset.');
    // Hashed names change with their content: cache them for good.
    return reply.header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').type(asset.type).send(asset.body);
  });

  const view = async (s: ConsoleSession) => {
    const tenant = await d.tenants.byId(s.principal.tenantId);
    if (!tenant) throw new AppError('SMS_ERR_UNAUTHENTICATED');
    return {
      tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name },
      scopes: [...s.principal.scopes],
      csrf_token: s.csrfToken,
      expires_at: new Date(s.expiresAt).toISOString(),
      idle_expires_at: new Date(s.idleExpiresAt).toISOString(),
    };
  };
  const cookieOptions = (req: FastifyRequest) =>
    // Secure when the client reached us over HTTPS (X-Forwarded-Proto counts with SMSRELAY_TRUST_PROXY).
    ({ path: '/', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https' }) as const;

  app.post<{ Body: { key: string } }>(
    '/admin/session',
    {
      schema: {
        tags,
        summary: 'Sign in to the console: exchange an API key for a session cookie',
        description:
          'Sets the HttpOnly, SameSite=Strict session cookie (Secure over HTTPS). The key is checked once and not kept by the browser; the session acts with its scopes until it is idle too long, reaches its lifetime, is signed out, or the key is revoked.',
        security: [],
        body: { type: 'object', required: ['key'], additionalProperties: false, properties: { key: { type: 'string', minLength: 1, maxLength: 256 } } },
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { id, session } = await d.sessions.signIn(req.body.key);
      reply.setCookie(SESSION_COOKIE, id, { ...cookieOptions(req), expires: new Date(session.expiresAt) });
      reply.header('cache-control', 'no-store');
      return view(session);
    },
  );

  app.get(
    '/admin/session',
    {
      schema: {
        tags,
        summary: 'The console session of this browser (its tenant, scopes and CSRF token)',
        security: [],
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return view(await d.sessions.resolve(req.cookies[SESSION_COOKIE]));
    },
  );

  app.delete(
    '/admin/session',
    {
      schema: {
        tags,
        summary: 'Sign out: ends the session (needs its CSRF token)',
        security: [],
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = req.cookies[SESSION_COOKIE] ?? '';
      const session = await d.sessions.resolve(id);
      const token = req.headers[CSRF_HEADER];
      if (!d.sessions.csrfMatches(session, typeof token === 'string' ? token : undefined)) throw new AppError('SMS_ERR_CSRF');
      await d.sessions.signOut(id, session);
      reply.clearCookie(SESSION_COOKIE, cookieOptions(req));
      return reply.code(204).send();
    },
  );
};
