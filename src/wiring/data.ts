// Usage and cost, lookups, contacts and privacy: their services, and the timed loops the worker
// runs for them (the usage aggregator, the price pass once a provider exists, retention).
import type { AlertsService } from '../services/alerts.js';
import type { AuditLog } from '../services/audit.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { DEFAULT_RATE_TABLE } from '../core/pricing.js';
import type { Clock, ProviderFor, Random, Repositories } from '../ports.js';
import { phoneFacts } from '../providers/phone-facts.js';
import { ContactsService } from '../services/contacts.js';
import { LookupsService } from '../services/lookups.js';
import type { MessagesService } from '../services/messages.js';
import { PrivacyService } from '../services/privacy.js';
import type { SettingsService } from '../services/settings.js';
import { UsageService } from '../services/usage.js';
import type { PeriodicTask } from '../worker/periodic.js';
import { PricePass } from '../worker/prices.js';
import type { ProviderHub } from './provider.js';
import { verifySecret } from './verification.js';

export interface DataDeps {
  config: Config;
  logger: Logger;
  repos: Repositories;
  clock: Clock;
  random: Random;
  hub: Pick<ProviderHub, 'forTenant'>;
  settings: SettingsService;
  messages: MessagesService;
  audit: AuditLog;
  alerts: Pick<AlertsService, 'capState'>;
}

export class Data {
  readonly usage: UsageService;
  readonly lookups: LookupsService;
  readonly contacts: ContactsService;
  readonly privacy: PrivacyService;
  private pass: PricePass | null = null;

  constructor(private readonly d: DataDeps) {
    this.usage = new UsageService({ usage: d.repos.usage, write: d.repos.write, clock: d.clock, capToday: (t) => d.alerts.capState(t) });
    this.contacts = new ContactsService({ contacts: d.repos.contacts, write: d.repos.write, clock: d.clock });
    this.privacy = new PrivacyService({
      privacy: d.repos.privacy,
      write: d.repos.write,
      clock: d.clock,
      settings: d.settings,
      contacts: this.contacts,
      messages: d.messages,
      audit: d.audit,
      tenantIds: async () => (await d.repos.tenants.list()).map((t) => t.id),
      // The installation's HMAC secret (SMSRELAY_VERIFY_SECRET, else data/verify-secret).
      secret: verifySecret(d.config, d.random),
    });
    this.lookups = new LookupsService({
      cache: d.repos.lookups,
      facts: phoneFacts,
      write: d.repos.write,
      clock: d.clock,
      providerFor: () => d.hub.forTenant(),
    });
  }

  /** The price pass; null until a provider exists. */
  get prices(): PricePass | null {
    return this.pass;
  }

  /** Loops that need no provider. */
  tasks(): PeriodicTask[] {
    return [
      { name: 'usage: counting changed messages', intervalMs: this.d.config.data.usageIntervalMs, run: () => this.usage.aggregate() },
      { name: 'privacy: retention', intervalMs: this.d.config.data.retentionIntervalMs, run: () => this.privacy.retentionPass() },
    ];
  }

  /** Loops that ask the provider, built once it exists. */
  providerTasks(providerFor: ProviderFor): PeriodicTask[] {
    const { config, logger, repos, clock } = this.d;
    this.pass = new PricePass({
      usage: repos.usage,
      write: repos.write,
      providerFor,
      clock,
      rates: DEFAULT_RATE_TABLE,
      config: { intervalMs: config.data.priceIntervalMs, delayMs: config.data.priceDelayMs, batchSize: config.data.priceBatchSize },
      logger,
    });
    return [this.pass.task()];
  }
}
