// The messaging services: consent and the sending policy, messages, status callbacks, inbound,
// conversations and webhook authentication.
import type { AuditLog } from '../services/audit.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Cipher } from '../core/cipher.js';
import type { Decision } from '../core/policy.js';
import type { Clock, ContactRecord, Metrics, Policy, PolicyContext, PolicyMessage, Random, Repositories } from '../ports.js';
import { twilioSignatures } from '../providers/twilio-signatures.js';
import { liquidTemplates } from '../providers/liquid.js';
import { twimlReplies } from '../providers/twiml.js';
import { BatchedLookup, pairKey } from '../services/batched-check.js';
import { AlertsService } from '../services/alerts.js';
import { ConsentService } from '../services/consent.js';
import { blockedContactPolicy, ConversationsService } from '../services/conversations.js';
import { InboundService } from '../services/inbound.js';
import { SendingLimits } from '../services/limits.js';
import { MessagesService } from '../services/messages.js';
import { createPolicy } from '../services/policy.js';
import { quietHoursPolicy } from '../services/quiet-hours.js';
import type { SettingsService } from '../services/settings.js';
import { StatusCallbacksService } from '../services/status-callbacks.js';
import { TemplatesService } from '../services/templates.js';
import type { Tenant, TenantsService } from '../services/tenants.js';
import { WebhookAuth } from '../services/webhooks.js';
import type { ProviderHub } from './provider.js';

export interface MessagingDeps {
  config: Config;
  repos: Repositories;
  clock: Clock;
  random: Random;
  cipher: Cipher | null;
  audit: AuditLog;
  settings: SettingsService;
  tenants: Pick<TenantsService, 'isEnabled'>;
  defaultTenant: Tenant;
  /** The embedding application's sending-policy rules, asked after consent. */
  policies: Policy[];
  /** Stops the messages of paused and canceled campaigns. */
  campaignPolicy: Policy;
  /**
   * Whether tenants send (and are matched) through their own Twilio accounts, and the account that
   * signs the default tenant's webhooks (other tenants' tokens come from their rows).
   */
  hub: Pick<ProviderHub, 'tenantAccounts' | 'defaultAccount'>;
  /** Told when a message is queued (wakes the dispatcher). */
  onEnqueued(): void;
  metrics: Metrics;
  logger: Logger;
}

export interface Messaging {
  consent: ConsentService;
  policy: Policy;
  alerts: AlertsService;
  messages: MessagesService;
  statusCallbacks: StatusCallbacksService;
  inbound: InboundService;
  conversations: ConversationsService;
  webhookAuth: WebhookAuth;
  templates: TemplatesService;
}

export function createMessaging(d: MessagingDeps): Messaging {
  const { config, repos, clock, random, settings } = d;
  const consent = new ConsentService({
    consent: repos.consent,
    conversations: repos.conversations,
    write: repos.write,
    clock,
    random,
    events: repos.events,
  });
  // A stored contact gives quiet hours its time zone and templates its locale (when the send does not).
  // Read in one query per tick for all the sends of that tick.
  const contacts = new BatchedLookup<ContactRecord>(async (tenantIds, phones) => {
    const rows = await repos.contacts.getAmong(tenantIds, phones);
    return new Map(rows.map((r) => [pairKey(r.tenant_id, r.phone), r]));
  });
  const contactTimezone = async (tenantId: string, phone: string) => (await contacts.get(tenantId, phone))?.time_zone ?? null;
  const contactLocale = async (tenantId: string, phone: string) => (await contacts.get(tenantId, phone))?.locale ?? null;
  const limits = new SendingLimits({
    counters: repos.counters,
    alerts: repos.alerts,
    events: repos.events,
    consent: repos.consent,
    batch: repos.batch,
    random,
    logger: d.logger,
    tenantEnabled: (id) => d.tenants.isEnabled(id),
  });
  // The checks that count nothing first; the meter (limits, daily cap) last, after the application's
  // rules: at dispatch in the pipeline, on accept inside the send path's transaction.
  const rules = [
    d.campaignPolicy,
    consent.policy,
    blockedContactPolicy(repos.conversations),
    quietHoursPolicy({ contactTimezone }),
    limits.checks,
    ...d.policies,
  ];
  const observe = (dec: Decision, m: PolicyMessage, ctx: PolicyContext) => limits.observe(dec, m, ctx);
  const policy = createPolicy(rules, { meter: limits.meter, observe });
  const acceptPolicy = createPolicy(rules, { observe });
  const alerts = new AlertsService({ alerts: repos.alerts, counters: repos.counters, clock, settings });
  const templates = new TemplatesService({ templates: repos.templates, engine: liquidTemplates(), clock, settings, contactLocale });
  const messages = new MessagesService({
    messages: repos.messages,
    write: repos.write,
    batch: repos.batch,
    clock,
    random,
    rejectFixedLine: config.rejectFixedLine,
    maxAttempts: config.worker.maxAttempts,
    defaultValidityPeriodS: config.defaultValidityPeriodS,
    sendingEnabled: config.provider !== 'disabled',
    onEnqueued: () => d.onEnqueued(),
    policy: acceptPolicy,
    meter: limits,
    settings,
    templates,
    campaigns: repos.campaigns,
    metrics: d.metrics,
    logger: d.logger,
  });
  const statusCallbacks = new StatusCallbacksService({
    messages: repos.messages,
    webhookEvents: repos.webhookEvents,
    write: repos.write,
    batch: repos.batch,
    clock,
    random,
    consent,
    installationTenantId: d.defaultTenant.id,
    tenantAccounts: d.hub.tenantAccounts,
    metrics: d.metrics,
    logger: d.logger,
  });
  const inbound = new InboundService({
    inbound: repos.inbound,
    messages: repos.messages,
    conversations: repos.conversations,
    suppressions: repos.consent,
    write: repos.write,
    twiml: twimlReplies,
    clock,
    random,
    consent,
    events: repos.events,
    settings,
  });
  const conversations = new ConversationsService({
    conversations: repos.conversations,
    write: repos.write,
    messages,
    suppressions: repos.consent,
    clock,
    audit: d.audit,
  });
  const webhookAuth = new WebhookAuth({
    tenants: repos.tenants,
    cipher: d.cipher,
    defaults: { tenantId: d.defaultTenant.id, ...d.hub.defaultAccount() },
    signatures: twilioSignatures,
    clock,
  });
  return { consent, policy, alerts, messages, statusCallbacks, inbound, conversations, webhookAuth, templates };
}
