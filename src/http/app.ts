import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type { ApiKeysService } from '../services/api-keys.js';
import type { AuditLog } from '../services/audit.js';
import type { TenantConfigService } from '../services/tenant-config.js';
import type { TestSendService } from '../services/test-send.js';
import type { AlertsService } from '../services/alerts.js';
import type { ConsentService } from '../services/consent.js';
import type { ConversationsService } from '../services/conversations.js';
import type { EventSource, EventsService } from '../services/events.js';
import type { WebhookEndpointsService } from '../services/webhook-endpoints.js';
import type { MessagesService } from '../services/messages.js';
import type { TemplatesService } from '../services/templates.js';
import type { TenantsService } from '../services/tenants.js';
import type { ContactsService } from '../services/contacts.js';
import type { CampaignsService } from '../services/campaigns.js';
import type { LookupsService } from '../services/lookups.js';
import type { PrivacyService } from '../services/privacy.js';
import type { UsageService } from '../services/usage.js';
import type { VerificationsService } from '../services/verifications.js';
import type { ConsoleSessionsService } from '../services/console-sessions.js';
import { NO_METRICS, type HealthRepository, type Metrics } from '../ports.js';
import { scopeChecker } from './auth.js';
import { eventWebhooks } from './event-docs.js';
import { clientErrorHandler, errorSchema, installErrorHandling, toAppError } from './errors.js';
import { alertRoutes } from './routes/alerts.js';
import { healthRoutes } from './routes/health.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { auditRoutes } from './routes/audit-log.js';
import { settingsRoutes } from './routes/settings.js';
import { tenantRoutes } from './routes/tenants.js';
import { consentRoutes } from './routes/consents.js';
import { conversationRoutes } from './routes/conversations.js';
import { eventRoutes, eventSchema } from './routes/events.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';
import { messageRoutes } from './routes/messages.js';
import { metricsRoutes, type MetricsRoutesOptions } from './routes/metrics.js';
import { webhookRoutes, type WebhookDeps } from './routes/webhooks.js';
import { crmCompatRoutes } from './routes/crm-compat.js';
import { seedCompatRoutes } from './routes/seed-compat.js';
import { templateRoutes } from './routes/templates.js';
import { contactRoutes } from './routes/contacts.js';
import { campaignRoutes } from './routes/campaigns.js';
import { lookupRoutes } from './routes/lookups.js';
import { usageRoutes } from './routes/usage.js';
import { verificationRoutes } from './routes/verifications.js';
import { consoleRoutes } from './routes/console.js';
import type { WebAssets } from '../emulator/inbox/assets.js';
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
  /** The operator's API: tenants, settings, keys, audit log (absent: not served). */
  admin?: { audit: AuditLog; tenantConfig: TenantConfigService; testSend: TestSendService };
  templates?: TemplatesService;
  /** Counts webhook signature failures and rate-limit answers. */
  metrics?: Metrics;
  /** GET /metrics (absent: not served). */
  metricsEndpoint?: MetricsRoutesOptions;
  /** The event log, the live stream and webhook endpoints (absent: not served). */
  events?: { events: EventsService; endpoints: WebhookEndpointsService; feed: EventSource; heartbeatMs: number };
  // --- usage, lookups, contacts, privacy ---
  usage: UsageService;
  lookups: LookupsService;
  contacts: ContactsService;
  privacy: PrivacyService;
  /** Alerts and the sending policy's counts (absent: not served). */
  alerts?: AlertsService;
  // --- admin console ---
  /** The console at /admin and its session cookie as an alternative to a bearer key (absent: neither). */
  console?: { sessions: ConsoleSessionsService; assets: WebAssets };
  // --- campaigns ---
  campaigns?: CampaignsService;
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
  const metrics = d.metrics ?? NO_METRICS;
  // Before any route is registered, so that every route's errors pass here.
  app.addHook('onError', async (_req, _reply, err) => {
    const e = toAppError(err);
    if (e.code === 'SMS_ERR_INVALID_SIGNATURE') metrics.signatureFailure();
    else if (e.status === 429) metrics.refused(e.code, 'api');
  });
  installBodyChecks(app);
  app.addSchema(errorSchema);
  app.addSchema(messageSchema);
  app.addSchema(eventSchema);
  await app.register(formbody);
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'smsrelay', version: d.version, description: 'Self-hostable SMS service on Twilio.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An smsrelay API key.' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'smsrelay_session',
            description: 'The admin console session (POST /admin/session); requests other than GET/HEAD also need its X-CSRF-Token header.',
          },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
      webhooks: eventWebhooks(),
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const requireScope = scopeChecker(d.apiKeys, d.tenants, d.console?.sessions);
  await app.register(healthRoutes, { health: d.health });
  if (d.metricsEndpoint) await app.register(metricsRoutes, d.metricsEndpoint);
  await app.register(messageRoutes, { messages: d.messages, requireScope });
  await app.register(seedCompatRoutes, { messages: d.messages, requireScope });
  await app.register(crmCompatRoutes, { messages: d.messages, conversations: d.conversations, requireScope });
  await app.register(verificationRoutes, { verifications: d.verifications, requireScope });
  if (d.webhooks) await app.register(webhookRoutes, d.webhooks);
  if (d.conversations) await app.register(conversationRoutes, { conversations: d.conversations, requireScope });
  if (d.consent) await app.register(consentRoutes, { consent: d.consent, audit: d.admin?.audit, requireScope });
  if (d.admin) {
    await app.register(tenantRoutes, { tenants: d.tenants, requireScope });
    await app.register(settingsRoutes, { tenantConfig: d.admin.tenantConfig, testSend: d.admin.testSend, requireScope });
    await app.register(apiKeyRoutes, { apiKeys: d.apiKeys, requireScope });
    await app.register(auditRoutes, { audit: d.admin.audit, requireScope });
  }
  if (d.templates) await app.register(templateRoutes, { templates: d.templates, requireScope });
  if (d.events) {
    await app.register(eventRoutes, { events: d.events.events, feed: d.events.feed, heartbeatMs: d.events.heartbeatMs, requireScope });
    await app.register(webhookEndpointRoutes, { endpoints: d.events.endpoints, requireScope });
  }
  await app.register(usageRoutes, { usage: d.usage, requireScope });
  await app.register(lookupRoutes, { lookups: d.lookups, requireScope });
  await app.register(contactRoutes, { contacts: d.contacts, privacy: d.privacy, requireScope });
  if (d.alerts) await app.register(alertRoutes, { alerts: d.alerts, requireScope });
  if (d.console) await app.register(consoleRoutes, { sessions: d.console.sessions, tenants: d.tenants, assets: d.console.assets });
  if (d.campaigns) await app.register(campaignRoutes, { campaigns: d.campaigns, requireScope });
  await app.ready();
  return app;
}
