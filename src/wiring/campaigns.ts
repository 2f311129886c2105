// Campaigns: the service (audience uploads, state machine, estimates) and its dispatcher, which
// runs with the other workers. The dispatch policy (CampaignStates) is built before messaging.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Clock, Random, Repositories } from '../ports.js';
import { CampaignsService, type CampaignStates } from '../services/campaigns.js';
import type { MessagesService } from '../services/messages.js';
import { quietHoursPolicy } from '../services/quiet-hours.js';
import type { SettingsService } from '../services/settings.js';
import type { TemplatesService } from '../services/templates.js';
import type { TenantsService } from '../services/tenants.js';
import { CampaignDispatcher } from '../worker/campaign-dispatcher.js';

/** Messages of one campaign created ahead of sending: enough to keep the outbox dispatcher busy, little to stop on pause. */
const CAMPAIGN_WINDOW = 2000;

export interface CampaignsDeps {
  config: Config;
  logger: Logger;
  repos: Repositories;
  clock: Clock;
  random: Random;
  settings: SettingsService;
  tenants: Pick<TenantsService, 'byId'>;
  messages: MessagesService;
  templates: TemplatesService;
  states: CampaignStates;
}

export interface Campaigns {
  service: CampaignsService;
  dispatcher: CampaignDispatcher;
}

export function createCampaigns(d: CampaignsDeps): Campaigns {
  const { repos, clock } = d;
  let dispatcher: CampaignDispatcher | null = null;
  const contactTimezone = async (tenantId: string, phone: string) => (await repos.contacts.get(tenantId, phone))?.time_zone ?? null;
  const service = new CampaignsService({
    campaigns: repos.campaigns,
    messages: repos.messages,
    send: d.messages,
    templates: d.templates,
    quietHours: quietHoursPolicy({ contactTimezone }),
    settings: d.settings,
    tenantById: (id) => d.tenants.byId(id),
    write: repos.write,
    events: repos.events,
    clock,
    random: d.random,
    rejectFixedLine: d.config.rejectFixedLine,
    states: d.states,
    logger: d.logger,
    onActive: () => dispatcher?.wake(),
  });
  dispatcher = new CampaignDispatcher({
    service,
    campaigns: repos.campaigns,
    reserve: repos.pacing.reserve,
    now: () => clock.now().getTime(),
    logger: d.logger,
    window: CAMPAIGN_WINDOW,
    pollMs: Math.max(50, Math.min(d.config.worker.pollIntervalMs, 500)),
  });
  return { service, dispatcher };
}
