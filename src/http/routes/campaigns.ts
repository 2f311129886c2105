import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyPluginAsync } from 'fastify';
import { RECIPIENT_STATES } from '../../core/campaigns.js';
import { AppError } from '../../core/errors.js';
import type { CampaignInput, CampaignsService } from '../../services/campaigns.js';
import type { RequireScope } from '../auth.js';
import { errorResponses } from '../schemas.js';

const tags = ['campaigns'];
const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });
const UPLOAD_TYPES = ['text/csv', 'application/x-ndjson'];

const countsSchema = {
  type: 'object',
  properties: Object.fromEntries(RECIPIENT_STATES.map((s) => [s, { type: 'integer' }])),
} as const;

const campaignSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string', enum: ['draft', 'scheduled', 'running', 'paused', 'completed', 'canceled'] },
    template: nullable('string'),
    template_locale: nullable('string'),
    body: nullable('string'),
    category: { type: 'string' },
    from: nullable('string'),
    messaging_service_sid: nullable('string'),
    rate: nullable('integer'),
    start_at: nullable('string', { format: 'date-time' }),
    dedupe: { type: 'boolean' },
    variables: { type: 'array', items: { type: 'string' }, description: 'Columns every recipient row must fill (the template’s variables).' },
    uploaded_rows: { type: 'integer' },
    duplicates: { type: 'integer', description: 'Rows dropped because their number was already in the campaign.' },
    counts: { ...countsSchema, description: 'Recipients per state.' },
    total: { type: 'integer', description: 'Recipient rows kept (duplicates are not).' },
    cost: { type: 'string', description: 'Sum of the prices of the messages sent so far (actual, else estimated).' },
    rate_now: { type: 'number', description: 'Messages per second reaching the provider over the last 10 s.' },
    estimated_finish: nullable('string', { format: 'date-time' }),
    created_at: { type: 'string', format: 'date-time' },
    started_at: nullable('string', { format: 'date-time' }),
    finished_at: nullable('string', { format: 'date-time' }),
  },
} as const;

const recipientSchema = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    row: { type: 'integer', description: 'The data row of its upload (1 = first row after the header).' },
    phone: { type: 'string' },
    variables: { type: 'object', additionalProperties: true },
    status: { type: 'string', enum: [...RECIPIENT_STATES] },
    error_code: nullable('string'),
    error_message: nullable('string'),
    message_id: nullable('string'),
    provider_sid: nullable('string'),
    price: nullable('string'),
  },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

export interface CampaignRoutesOptions {
  campaigns: CampaignsService;
  requireScope: RequireScope;
}

export const campaignRoutes: FastifyPluginAsync<CampaignRoutesOptions> = async (app, d) => {
  const read = d.requireScope('campaigns:read');
  const write = d.requireScope('campaigns:write');

  // The audience is handed to the service as the raw request stream (never buffered); only in this plugin.
  app.addContentTypeParser(UPLOAD_TYPES, (_req, payload, done) => done(null, payload));

  app.post<{ Body: CampaignInput }>(
    '/v1/campaigns',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Create a campaign (draft)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            template: { type: 'string', maxLength: 64, description: 'A template name; its variables become required columns.' },
            template_locale: { type: 'string', maxLength: 35 },
            body: { type: 'string', minLength: 1, maxLength: 1600, description: 'Instead of template: the same text for everyone.' },
            category: { type: 'string', enum: ['marketing', 'transactional'], default: 'marketing' },
            from: { type: 'string', maxLength: 64 },
            messaging_service_sid: { type: 'string', maxLength: 34 },
            rate: { type: 'integer', minimum: 1, maximum: 10000, description: 'Messages per second at most (under the sender pacing).' },
            start_at: { type: 'string', format: 'date-time' },
            dedupe: { type: 'boolean', default: true },
          },
        },
        response: { 201: campaignSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await d.campaigns.create(req.tenant, req.body)),
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/campaigns',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'List campaigns, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, cursor: { type: 'string', maxLength: 1024 } },
        },
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: campaignSchema }, next_cursor: nullable('string') } },
          ...errorResponses,
        },
      },
    },
    async (req) => d.campaigns.list(req.tenant, req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/campaigns/:id',
    { onRequest: read, schema: { tags, summary: 'Get a campaign with its progress', params: idParams, response: { 200: campaignSchema, ...errorResponses } } },
    async (req) => d.campaigns.get(req.tenant, req.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/campaigns/:id/recipients',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Append recipients (streamed CSV or NDJSON)',
        description:
          "text/csv with a header row (a 'phone' column, and one column per template variable) or application/x-ndjson (one JSON object per line). " +
          'Rows are validated as they arrive; invalid rows are reported (the first 100 here) and kept as `invalid` recipients. ' +
          'With dedupe, a number already in the campaign is dropped; opted-out numbers are kept as `suppressed`. ' +
          'An upload that cannot be parsed at all (an unclosed quote, a line over 64 KiB) is answered 400 and none of its rows are kept.',
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              rows: { type: 'integer' },
              accepted: { type: 'integer' },
              invalid: { type: 'integer' },
              duplicates: { type: 'integer' },
              suppressed: { type: 'integer' },
              errors: {
                type: 'array',
                items: { type: 'object', properties: { row: { type: 'integer' }, code: { type: 'string' }, reason: { type: 'string' } } },
              },
            },
          },
          415: { $ref: 'Error#' },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!UPLOAD_TYPES.includes(type) || !(req.body instanceof Readable)) {
        throw new AppError('SMS_ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the recipients as text/csv or application/x-ndjson.', { field: 'Content-Type' });
      }
      return d.campaigns.upload(req.tenant, req.params.id, type === 'text/csv' ? 'csv' : 'ndjson', req.body);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { status?: string; cursor?: string; limit?: number } }>(
    '/v1/campaigns/:id/recipients',
    {
      onRequest: read,
      schema: {
        tags,
        summary: "List a campaign's recipients in upload order",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...RECIPIENT_STATES] },
            cursor: { type: 'string', maxLength: 1024 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: recipientSchema }, next_cursor: nullable('string') } },
          ...errorResponses,
        },
      },
    },
    async (req) => d.campaigns.recipients(req.tenant, req.params.id, req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/campaigns/:id/recipients.csv',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Export every recipient with its outcome (CSV, streamed)',
        params: idParams,
        produces: ['text/csv'],
        response: { 200: { type: 'string', description: 'row,phone,variables,status,error_code,provider_sid,price,message_id' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      await d.campaigns.get(req.tenant, req.params.id); // 404 before the headers go out
      const rows = d.campaigns.exportRows(req.tenant, req.params.id);
      const csv = Readable.from(
        (async function* () {
          for await (const r of rows) {
            yield [r.row, r.phone, JSON.stringify(r.variables), r.status, r.error_code ?? '', r.provider_sid ?? '', r.price ?? '', r.message_id ?? ''];
          }
        })(),
      ).pipe(stringify({ header: true, columns: ['row', 'phone', 'variables', 'status', 'error_code', 'provider_sid', 'price', 'message_id'] }));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="campaign-${req.params.id}.csv"`)
        .send(csv);
    },
  );

  const estimateSchema = {
    type: 'object',
    properties: {
      valid: { type: 'integer' },
      invalid: { type: 'integer' },
      duplicates: { type: 'integer' },
      suppressed: { type: 'integer' },
      segments: { type: 'integer' },
      cost: {
        type: 'object',
        properties: {
          amount: { type: 'string' },
          unit: { type: 'string' },
          by_country: {
            type: 'object',
            additionalProperties: { type: 'object', properties: { recipients: { type: 'integer' }, amount: { type: 'string' }, unit: { type: 'string' } } },
          },
        },
      },
      held_by_quiet_hours_now: { type: 'integer', description: 'Recipients that quiet hours would hold now (from a sample of up to 200).' },
    },
  } as const;

  app.post<{ Params: { id: string } }>(
    '/v1/campaigns/:id/estimate',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Counts, segments, estimated cost by country, held by quiet hours now',
        params: idParams,
        response: { 200: estimateSchema, ...errorResponses },
      },
    },
    async (req) => d.campaigns.estimate(req.tenant, req.params.id),
  );

  for (const action of ['start', 'pause', 'resume', 'cancel'] as const) {
    app.post<{ Params: { id: string } }>(
      `/v1/campaigns/:id/${action}`,
      {
        onRequest: write,
        schema: {
          tags,
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a campaign`,
          description: 'draft → scheduled → running ⇄ paused → completed | canceled; an illegal move is 409 SMS_ERR_CAMPAIGN_STATE.',
          params: idParams,
          response: { 200: campaignSchema, ...errorResponses },
        },
      },
      async (req) => d.campaigns.act(req.tenant, req.params.id, action),
    );
  }
};
