// The provider lifecycle in one object: an injected provider, the configured Twilio account, or
// the embedded emulator (which needs a port before the provider can call it), and which account
// each tenant sends through.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Cipher } from '../core/cipher.js';
import { webhookUrls } from '../core/wiring.js';
import { isLoopback } from '../core/net.js';
import { createEmulator } from '../emulator/index.js';
import type { Emulator, EmulatorOptions } from '../emulator/types.js';
import type { AccountCheck, Metrics, Provider, ProviderFor } from '../ports.js';
import { tenantProviders } from '../providers/tenant-providers.js';
import { twilioAccountCheck, TwilioProvider } from '../providers/twilio.js';
import type { TenantsService } from '../services/tenants.js';
import type { DefaultCredentials } from '../services/webhooks.js';
import { measuredProvider } from './metrics.js';

/** The emulator's default owned number, used as the sender when nothing else is configured. */
export const EMULATOR_FROM = '+15005550006';

export interface ProviderHubDeps {
  config: Config;
  logger: Logger;
  /** Replaces the configured provider (SmsRelayOptions.provider). */
  injected?: Provider;
  /** Decrypts tenants' stored Twilio credentials; null when no master key is configured (then they cannot be used). */
  cipher: Cipher | null;
  /** A tenant's own Twilio account, or null when it uses the installation's. */
  tenants: Pick<TenantsService, 'twilioCredentials'>;
  /** Every provider call the worker and reconciler make is timed and its failures counted. */
  metrics: Metrics;
}

export class ProviderHub {
  /** The embedded emulator: no Twilio credentials configured and no provider injected. */
  readonly emulator: Emulator | null;
  /**
   * Tenants with their own Twilio account send through it (real Twilio, credentials readable with
   * the master key); with the embedded emulator or an injected provider (one account by
   * construction) everyone uses that one. Status callbacks are matched by the same rule.
   */
  readonly tenantAccounts: boolean;
  private provider: Provider | null;
  private providerFor: ProviderFor | null = null;
  /** Where Twilio API calls go: the configured base URL, or the embedded emulator once attached. */
  private apiBaseUrl: string | null;
  /** Checks a tenant's new Twilio credentials against the same API its messages go to. */
  readonly checkAccount: AccountCheck = twilioAccountCheck(() => this.apiBaseUrl);
  private readonly listeners: ((providerFor: ProviderFor) => void)[] = [];

  constructor(private readonly d: ProviderHubDeps) {
    const { config, logger, injected } = d;
    this.emulator = config.provider === 'emulator' && !injected ? createEmulator(embeddedEmulatorOptions(config, logger)) : null;
    if (this.emulator) logger.warn('No Twilio credentials configured: using the built-in Twilio emulator. NOTHING IS SENT TO REAL PHONES.');
    if (config.provider === 'disabled') logger.warn('TWILIO_ENABLED=false: messages are accepted and logged, and NOTHING IS SENT.');
    this.tenantAccounts = !this.emulator && !injected && d.cipher !== null;
    this.provider = null;
    this.apiBaseUrl = config.twilio.apiBaseUrl;
    const initial = injected ?? (config.provider === 'twilio' ? this.twilio(config.twilio.apiBaseUrl) : null);
    if (initial) this.use(initial);
  }

  /** The installation's provider; null until the embedded emulator is attached, or when sending is disabled. */
  current(): Provider | null {
    return this.provider;
  }

  /** The provider each tenant sends through, once there is one. */
  forTenant(): ProviderFor | null {
    return this.providerFor;
  }

  /** Calls `fn` with the per-tenant lookup once a provider exists (right away if it already does). */
  onProvider(fn: (providerFor: ProviderFor) => void): void {
    this.listeners.push(fn);
    if (this.providerFor) fn(this.providerFor);
  }

  /** Webhooks for the default tenant are signed with the configured account's token (or the embedded emulator's). */
  defaultAccount(): Omit<DefaultCredentials, 'tenantId'> {
    const { twilio } = this.d.config;
    const e = this.emulator;
    return {
      accountSid: e ? e.accountSid : twilio.accountSid,
      tokens: [e ? e.authToken : twilio.authToken, twilio.secondaryAuthToken].filter((t): t is string => !!t),
    };
  }

  /**
   * Gives the embedded emulator its address and makes the provider that calls it: the HTTP port
   * when listening (`baseUrl`), else its own loopback port. No-op without an emulator or once attached.
   */
  async attach(baseUrl: string | null): Promise<void> {
    const emulator = this.emulator;
    if (!emulator || this.provider) return;
    const url = baseUrl ?? (await emulator.listen(0, '127.0.0.1'));
    emulator.setPublicBaseUrl(url);
    this.apiBaseUrl = url;
    if (baseUrl) {
      // The relay's own webhooks answer the embedded emulator (signed with its auth token).
      const urls = webhookUrls(baseUrl);
      emulator.setInboundUrl(urls.inbound);
      emulator.setDefaultStatusCallback(urls.status);
    }
    this.use(this.twilio(url));
  }

  private use(p: Provider): void {
    const { config } = this.d;
    this.provider = p;
    const measured = measuredProvider(p, this.d.metrics);
    this.providerFor = !this.tenantAccounts
      ? async () => measured
      : tenantProviders(measured, {
          credentials: (tenantId) => this.d.tenants.twilioCredentials(tenantId),
          create: (accountSid, authToken) =>
            measuredProvider(
              new TwilioProvider({ accountSid, authToken, apiBaseUrl: config.twilio.apiBaseUrl, maxSockets: Math.max(8, config.worker.concurrency) }),
              this.d.metrics,
            ),
        });
    for (const fn of this.listeners) fn(this.providerFor);
  }

  private twilio(baseUrl: string | null): TwilioProvider {
    const { config } = this.d;
    return new TwilioProvider({
      accountSid: this.emulator ? this.emulator.accountSid : config.twilio.accountSid!,
      authToken: this.emulator ? this.emulator.authToken : config.twilio.authToken!,
      apiBaseUrl: baseUrl,
      maxSockets: Math.max(8, config.worker.concurrency),
    });
  }
}

/**
 * The embedded emulator owns every sender the configuration names, so each channel works without
 * Twilio. Listening beyond loopback, its auth token is random: the default one is published, and
 * the relay's webhooks accept the emulator's token, so it would let anyone forge signed webhooks.
 */
function embeddedEmulatorOptions(config: Config, logger: Logger): EmulatorOptions {
  const { fromNumber, whatsappNumber, messagingServiceSid } = config.twilio;
  const numbers = new Set([EMULATOR_FROM]);
  const senderIds: string[] = [];
  if (fromNumber?.startsWith('+')) numbers.add(fromNumber);
  else if (fromNumber) senderIds.push(fromNumber);
  if (whatsappNumber) numbers.add(whatsappNumber.replace(/^whatsapp:/, ''));
  return {
    numbers: [...numbers],
    senderIds,
    ...(messagingServiceSid ? { messagingServiceSids: [messagingServiceSid] } : {}),
    ...(isLoopback(config.host) ? {} : { authToken: randomBytes(16).toString('hex') }),
    access: config.emulator.access === 'token' ? { mode: 'token', token: config.emulator.token! } : { mode: 'loopback' },
    maxMessages: config.emulator.maxMessages,
    logger: { info: (o, m) => logger.info(o, m), warn: (o, m) => logger.warn(o, m) },
  };
}
