// The HTTP side: the Fastify app (built once, with the embedded emulator mounted on it) and
// listening, which gives the embedded emulator the relay's port.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createHttpApp } from '../http/app.js';
import { loadWebAssets } from '../emulator/inbox/assets.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import type { Repositories } from '../ports.js';
import type { ApiKeysService } from '../services/api-keys.js';
import type { AuditLog } from '../services/audit.js';
import type { CampaignsService } from '../services/campaigns.js';
import type { TenantConfigService } from '../services/tenant-config.js';
import type { TestSendService } from '../services/test-send.js';
import type { TenantsService } from '../services/tenants.js';
import type { VerificationsService } from '../services/verifications.js';
import type { ConsoleSessionsService } from '../services/console-sessions.js';
import type { EventsWiring } from './events.js';
import type { Data } from './data.js';
import type { Messaging } from './messaging.js';
import type { ProviderHub } from './provider.js';

export interface WebHostDeps {
  config: Config;
  logger: Logger;
  version: string;
  repos: Repositories;
  apiKeys: ApiKeysService;
  tenants: TenantsService;
  verifications: VerificationsService;
  messaging: Messaging;
  hub: ProviderHub;
  audit: AuditLog;
  tenantConfig: TenantConfigService;
  testSend: TestSendService;
  metrics: PrometheusMetrics;
  events: EventsWiring;
  data: Data;
  consoleSessions: ConsoleSessionsService;
  campaigns: CampaignsService;
}

export class WebHost {
  private built: FastifyInstance | null = null;

  constructor(private readonly d: WebHostDeps) {}

  /** Whether the app was built (then `listen()` attaches the embedded emulator). */
  get hasApp(): boolean {
    return this.built !== null;
  }

  async app(): Promise<FastifyInstance> {
    if (!this.built) {
      const { config, messaging, hub } = this.d;
      const emulator = hub.emulator;
      this.built = await createHttpApp({
        health: this.d.repos.health,
        messages: messaging.messages,
        verifications: this.d.verifications,
        apiKeys: this.d.apiKeys,
        tenants: this.d.tenants,
        logger: this.d.logger,
        bodyLimitBytes: config.bodyLimitBytes,
        trustProxy: config.trustProxy,
        version: this.d.version,
        mount: emulator ? (req, res) => emulator.handle(req, res) : undefined,
        webhooks: { auth: messaging.webhookAuth, statusCallbacks: messaging.statusCallbacks, inbound: messaging.inbound, publicUrl: config.publicUrl },
        conversations: messaging.conversations,
        consent: messaging.consent,
        admin: { audit: this.d.audit, tenantConfig: this.d.tenantConfig, testSend: this.d.testSend },
        templates: messaging.templates,
        metrics: this.d.metrics,
        metricsEndpoint: { exposition: this.d.metrics, token: config.metrics.token },
        events: {
          events: this.d.events.service,
          endpoints: this.d.events.endpoints,
          feed: this.d.events.feed,
          heartbeatMs: config.events.heartbeatMs,
        },
        usage: this.d.data.usage,
        lookups: this.d.data.lookups,
        contacts: this.d.data.contacts,
        privacy: this.d.data.privacy,
        alerts: messaging.alerts,
        console: { sessions: this.d.consoleSessions, assets: loadWebAssets() },
        campaigns: this.d.campaigns,
      });
    }
    return this.built;
  }

  /** Listens on the configured host/port; returns the base URL. */
  async listen(): Promise<string> {
    const { config, logger, hub } = this.d;
    const a = await this.app();
    await a.listen({ host: config.host, port: config.port });
    const addr = a.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    await hub.attach(`http://127.0.0.1:${port}`);
    if (hub.emulator) logger.info({ access: config.emulator.access, host: config.host }, hub.emulator.accessDescription);
    return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  }

  async close(): Promise<void> {
    if (this.built) await this.built.close();
  }
}
