// A tenant's settings document and Twilio credentials (scope admin), and the test send.
import type { FastifyPluginAsync } from 'fastify';
import type { TenantConfigService } from '../../services/tenant-config.js';
import type { TestSendService } from '../../services/test-send.js';
import type { RequireScope } from '../auth.js';
import { errorResponses } from '../schemas.js';

const str = { type: ['string', 'null'] } as const;
const kinds = (items: object) => ({
  type: 'object',
  properties: { opt_out: items, opt_in: items, help: items },
});

const settingsProperties = {
  from_number: { ...str, description: 'Default sender: E.164 number or alphanumeric sender ID.' },
  messaging_service_sid: { ...str, description: 'Default Messaging Service (MG…), preferred over from_number.' },
  whatsapp_from: { ...str, description: 'Sender of WhatsApp messages, whatsapp:+E164.' },
  default_region: { type: 'string', description: 'ISO 3166 alpha-2 region of national-format numbers.' },
  timezone: { type: 'string', description: 'IANA time zone of the tenant (its day for daily caps).' },
  auto_reply: { ...str, description: 'Reply to inbound messages that are not keywords.' },
  keyword_replies: { type: 'string', enum: ['provider', 'relay'] },
  keywords: kinds({ type: 'array', items: { type: 'string' } }),
  replies: kinds({ type: 'string' }),
  verify_backend: { type: 'string', enum: ['local', 'twilio'] },
  verify_service_sid: str,
  verify_allowed_countries: { type: ['array', 'null'], items: { type: 'string' } },
  verify_app_name: { type: 'string' },
  // Per category (transactional, marketing, otp) where the value is an object.
  smart_encoding: { type: 'boolean', description: 'Replace Unicode look-alikes with GSM-7 characters (templates may override).' },
  max_segments: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Most segments per category.' },
  on_too_long: { type: 'object', additionalProperties: { type: 'string', enum: ['reject', 'truncate'] } },
  opt_out_footer: { type: 'object', additionalProperties: { type: 'string' }, description: 'Marketing footer per locale.' },
  footer_when_no_room: { type: 'string', enum: ['send', 'refuse'] },
  quiet_hours: {
    type: 'object',
    additionalProperties: { type: ['object', 'null'], additionalProperties: true },
    description: "Allowed sending hours per category in the recipient's time, {start, end, state_rules?} or null.",
  },
  sender_rates: { type: 'object', additionalProperties: { type: 'number' }, description: 'Segments per second per sender.' },
  retention_days: { type: ['integer', 'null'], description: 'Message bodies and media URLs are redacted this many days after creation (null: kept).' },
  recipient_limits: {
    type: 'object',
    additionalProperties: { type: ['object', 'null'], properties: { max: { type: 'integer' }, per_seconds: { type: 'integer' } } },
    description: 'Per category: at most `max` messages to one recipient in any `per_seconds` (null: none).',
  },
  recipient_cooldown_seconds: {
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Per category: seconds between two messages to one recipient.',
  },
  over_limit: { type: 'object', additionalProperties: { type: 'string', enum: ['refuse', 'defer'] } },
  daily_cap: { type: ['integer', 'null'], description: "Messages per calendar day in the tenant's time zone (null: no cap)." },
  daily_cap_alert_at: { type: 'number', description: 'Fraction of the cap at which the threshold alert is raised.' },
  consent_mode: { type: 'object', additionalProperties: { type: 'string', enum: ['opt_in', 'opt_out'] } },
  allowed_countries: {
    type: ['array', 'null'],
    items: { type: 'string' },
    description: "Destination countries (ISO codes or '*'); null: the tenant's region.",
  },
} as const;

const configSchema = {
  type: 'object',
  properties: {
    ...settingsProperties,
    twilio_account_sid: { ...str, description: "The tenant's own Twilio account; null: the installation's." },
    auth_token_last4: { ...str, description: 'Last 4 characters of the stored auth token (never the token).' },
    auth_token_set_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const testSendSchema = {
  type: 'object',
  required: ['ok', 'message_id', 'status'],
  properties: {
    ok: { type: 'boolean', description: 'true: delivered.' },
    message_id: { type: 'string' },
    provider_sid: str,
    status: { type: 'string' },
    error_code: str,
    provider_code: { type: ['integer', 'null'] },
    hint: { ...str, description: 'The usual cause of the failure in plain words.' },
  },
} as const;

export interface SettingsRoutesOptions {
  tenantConfig: TenantConfigService;
  testSend: TestSendService;
  requireScope: RequireScope;
}

export const settingsRoutes: FastifyPluginAsync<SettingsRoutesOptions> = async (app, d) => {
  const admin = d.requireScope('admin');
  const tags = ['settings'];

  // Each route also answers at the CRM module's path (`/api/v1/sms/config/…`; its PUT changes the
  // given fields as PATCH does), so that module's clients keep working.
  for (const url of ['/v1/settings', '/api/v1/sms/config/']) {
    app.get(
      url,
      {
        onRequest: admin,
        schema: { tags, summary: "The tenant's settings (the auth token is never returned)", response: { 200: configSchema, ...errorResponses } },
      },
      async (req) => d.tenantConfig.get(req.tenant),
    );

    app.route<{ Body: Record<string, unknown>; Querystring: { verify?: boolean } }>({
      method: url === '/v1/settings' ? 'PATCH' : 'PUT',
      url,
      onRequest: admin,
      schema: {
        tags,
        summary: "Change the tenant's settings and Twilio credentials",
        description:
          'Validated as a whole: every bad field is named (400 SMS_ERR_VALIDATION) and nothing is saved. twilio_auth_token is write-only, stored ' +
          'encrypted. New credentials are checked by fetching the Twilio account (422 SMS_ERR_TWILIO_CREDENTIALS_INVALID) unless verify=false. ' +
          'null clears a value (twilio_account_sid: null returns the tenant to the installation account).',
        querystring: { type: 'object', additionalProperties: false, properties: { verify: { type: 'boolean', default: true } } },
        body: {
          type: 'object',
          properties: {
            ...settingsProperties,
            twilio_account_sid: str,
            twilio_auth_token: { ...str, description: 'Write-only.' },
          },
        },
        response: { 200: configSchema, ...errorResponses },
      },
      handler: async (req) => d.tenantConfig.patch(req.tenant, req.body, req.actor, { verify: req.query.verify !== false }),
    });

    app.post<{ Body: { to: string; body?: string | null } }>(
      url === '/v1/settings' ? '/v1/settings/test' : '/api/v1/sms/config/test/',
      {
        onRequest: admin,
        schema: {
          tags,
          summary: "Send a test message with the tenant's configuration and wait for its final status",
          description: 'Goes through the normal send path; waits up to 15 s. `hint` explains the usual Twilio failures.',
          body: {
            type: 'object',
            required: ['to'],
            additionalProperties: false,
            properties: { to: { type: 'string', maxLength: 64 }, body: { type: ['string', 'null'], maxLength: 1600 } },
          },
          response: { 200: testSendSchema, ...errorResponses },
        },
      },
      async (req) => d.testSend.run(req.tenant, req.body),
    );
  }
};
