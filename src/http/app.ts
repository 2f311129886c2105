import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type { ApiKeysService } from '../services/api-keys.js';
import type { AlertsService } from '../services/alerts.js';
import type { ConsentService } from '../services/consent.js';
import type { ConversationsService } from '../services/conversations.js';
import type { MessagesService } from '../services/messages.js';
import type { TenantsService } from '../services/tenants.js';
import type { VerificationsService } from '../services/verifications.js';
import type { HealthRepository } from '../ports.js';
import { scopeChecker } from './auth.js';
import { clientErrorHandler, errorSchema, installErrorHandling, toAppError } from './errors.js';
import { alertRoutes } from './routes/alerts.js';
import { healthRoutes } from './routes/health.js';
import { consentRoutes } from './routes/consents.js';
import { conversationRoutes } from './routes/conversations.js';
import { messageRoutes } from './routes/messages.js';
import { webhookRoutes, type WebhookDeps } from './routes/webhooks.js';
import { seedCompatRoutes } from './routes/seed-compat.js';
import { verificationRoutes } from './routes/verifications.js';
import { messageSchema } from './schemas.js';
import { buildValidator, installBodyChecks } from './strict.js';

export interface HttpDeps {
  health: HealthRepository;
  messages: MessagesService;
  verifications: VerificationsService;
  apiKeys: ApiKeysService;
  tenants: TenantsService;
  logger: Logger;
  bodyLimitBytes: number;
  trustProxy: boolean;
  version: string;
  /** Twilio webhooks, conversations and consent (absent: those routes are not served). */
  webhooks?: WebhookDeps;
  conversations?: ConversationsService;
  consent?: ConsentService;
  /** Alerts and the sending policy's counts (absent: not served). */
  alerts?: AlertsService;
  /** Requests another component serves on the same port (the embedded emulator); returns true if handled. */
  mount?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export async function createHttpApp(d: HttpDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: d.logger as FastifyBaseLogger,
    // Per-request log lines would carry URLs with phone numbers in query strings; errors are logged
    // by the error handler instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: d.bodyLimitBytes,
    trustProxy: d.trustProxy,
    schemaController: { compilersFactory: { buildValidator: buildValidator() } },
    // Above Node's header limit (16 KiB, which includes the URL): an over-long id reaches its route,
    // so authentication runs first and validation names the parameter.
    routerOptions: { maxParamLength: 64 * 1024 },
    // A malformed percent-encoding in the path, and HTTP parser errors, in our envelope.
    frameworkErrors: (err, _req, reply) => {
      const e = toAppError(err);
      void (reply as FastifyReply).code(e.status).send(e.toJSON());
    },
    clientErrorHandler,
    serverFactory: (handler) =>
      http.createServer((req, res) => {
        if (d.mount?.(req, res)) return;
        handler(req, res);
      }),
  });

  installErrorHandling(app);
  installBodyChecks(app);
  app.addSchema(errorSchema);
  app.addSchema(messageSchema);
  await app.register(formbody);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'smsrelay', version: d.version, description: 'Self-hostable SMS service on Twilio.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An smsrelay API key.' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const requireScope = scopeChecker(d.apiKeys, d.tenants);
  await app.register(healthRoutes, { health: d.health });
  await app.register(messageRoutes, { messages: d.messages, requireScope });
  await app.register(seedCompatRoutes, { messages: d.messages, requireScope });
  await app.register(verificationRoutes, { verifications: d.verifications, requireScope });
  if (d.webhooks) await app.register(webhookRoutes, d.webhooks);
  if (d.conversations) await app.register(conversationRoutes, { conversations: d.conversations, requireScope });
  if (d.consent) await app.register(consentRoutes, { consent: d.consent, requireScope });
  if (d.alerts) await app.register(alertRoutes, { alerts: d.alerts, requireScope });
  await app.ready();
  return app;
}
