import type { FastifyPluginAsync } from 'fastify';
import { SENDABLE_CATEGORIES } from '../../core/categories.js';
import type { TemplateInput, TemplatesService } from '../../services/templates.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, pageOf, pageQuery } from '../schemas.js';

const templateSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'integer', description: 'Every change creates a new immutable version.' },
    category: { type: 'string', enum: [...SENDABLE_CATEGORIES] },
    default_locale: { type: 'string' },
    locales: { type: 'object', additionalProperties: { type: 'string' }, description: 'Locale tag (BCP 47) → Liquid source.' },
    smart_encoding: { type: ['boolean', 'null'], description: "null: the tenant's smart_encoding setting." },
    created_at: { type: 'string', format: 'date-time', description: 'When this version was written.' },
  },
} as const;

// Types are checked here (400); meaning (slug names, BCP 47 tags, Liquid syntax) by the service (422 for the syntax).
const templateBody = {
  type: 'object',
  required: ['locales'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 64 },
    category: { type: 'string', enum: [...SENDABLE_CATEGORIES] },
    default_locale: { type: 'string', maxLength: 35 },
    locales: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 50 },
    smart_encoding: { type: ['boolean', 'null'] },
  },
} as const;

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 64 } } } as const;

const previewSchema = {
  type: 'object',
  properties: {
    template: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' }, locale: { type: 'string' } } },
    category: { type: 'string' },
    text: { type: 'string', description: 'The rendered text, as written.' },
    segments: { type: 'integer' },
    encoding: { type: 'string' },
    characters: { type: 'integer' },
    ucs2_characters: {
      type: 'array',
      description: 'The characters that force UCS-2, with their UTF-16 index and code point.',
      items: { type: 'object', properties: { char: { type: 'string' }, index: { type: 'integer' }, code_point: { type: 'string' } } },
    },
    smart_encoded: {
      type: 'object',
      description: 'The text with Unicode look-alikes replaced by GSM-7 characters.',
      properties: { text: { type: 'string' }, segments: { type: 'integer' }, encoding: { type: 'string' }, changed: { type: 'boolean' } },
    },
    send: {
      type: 'object',
      description: "What a send would store and deliver under the tenant's settings (smart encoding, footer, length limit).",
      properties: {
        body: { type: 'string' },
        segments: { type: 'integer' },
        encoding: { type: 'string' },
        smart_encoding: { type: 'boolean' },
        footer: { type: ['string', 'null'] },
        footer_applied: { type: 'boolean' },
        truncated_from: { type: ['integer', 'null'] },
        error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
      },
    },
    price: {
      type: 'object',
      description: 'Estimated price (core/pricing.ts) for the country of `to` (the catch-all rate without one).',
      properties: { amount: { type: 'string' }, unit: { type: 'string' }, rate_country: { type: 'string' }, country: { type: ['string', 'null'] } },
    },
    warnings: { type: 'array', items: { type: 'string' } },
  },
} as const;

export interface TemplateRoutesOptions {
  templates: TemplatesService;
  requireScope: RequireScope;
}

export const templateRoutes: FastifyPluginAsync<TemplateRoutesOptions> = async (app, d) => {
  const read = d.requireScope('templates:read');
  const write = d.requireScope('templates:write');
  const tags = ['templates'];

  app.post<{ Body: TemplateInput }>(
    '/v1/templates',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Create a template (version 1)',
        body: { ...templateBody, required: ['name', 'locales'] },
        response: { 201: templateSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await d.templates.create(req.tenant, req.body)),
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/templates',
    {
      onRequest: read,
      schema: { tags, summary: 'List templates by name', querystring: pageQuery(), response: { 200: pageOf(templateSchema), ...errorResponses } },
    },
    async (req) => d.templates.list(req.tenant, req.query),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/templates/:name',
    { onRequest: read, schema: { tags, summary: "A template's latest version", params: nameParams, response: { 200: templateSchema, ...errorResponses } } },
    async (req) => d.templates.get(req.tenant, req.params.name),
  );

  app.put<{ Params: { name: string }; Body: TemplateInput }>(
    '/v1/templates/:name',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Replace a template (a new version)',
        description: 'Earlier versions stay readable and messages keep pointing at the version they were rendered from.',
        params: nameParams,
        body: templateBody,
        response: { 200: templateSchema, ...errorResponses },
      },
    },
    async (req) => d.templates.update(req.tenant, req.params.name, req.body),
  );

  app.delete<{ Params: { name: string } }>(
    '/v1/templates/:name',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Delete a template',
        description: 'A soft delete: the name is free again (a new template of that name continues the version numbers); stored versions are kept.',
        params: nameParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      await d.templates.remove(req.tenant, req.params.name);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { name: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/v1/templates/:name/versions',
    {
      onRequest: read,
      schema: {
        tags,
        summary: "A template's versions, newest first",
        params: nameParams,
        querystring: pageQuery(),
        response: { 200: pageOf(templateSchema), ...errorResponses },
      },
    },
    async (req) => d.templates.versions(req.tenant, req.params.name, req.query),
  );

  app.post<{ Params: { name: string }; Body: { locale?: string | null; variables?: Record<string, unknown> | null; to?: string | null } }>(
    '/v1/templates/:name/preview',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Render a template without sending it',
        params: nameParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            locale: { type: ['string', 'null'], maxLength: 35 },
            variables: { type: ['object', 'null'], additionalProperties: true },
            to: { type: ['string', 'null'], maxLength: 64 },
          },
        },
        response: { 200: previewSchema, ...errorResponses },
      },
    },
    async (req) => d.templates.preview(req.tenant, req.params.name, req.body ?? {}),
  );

  app.post<{ Body: { body: string; category?: string | null; locale?: string | null; to?: string | null } }>(
    '/v1/messages/preview',
    {
      onRequest: d.requireScope('messages:read'),
      schema: {
        tags: ['messages'],
        summary: 'Preview a message body without sending it',
        body: {
          type: 'object',
          required: ['body'],
          additionalProperties: false,
          properties: {
            body: { type: 'string' },
            category: { type: ['string', 'null'], enum: [...SENDABLE_CATEGORIES, null] },
            locale: { type: ['string', 'null'], maxLength: 35 },
            to: { type: ['string', 'null'], maxLength: 64 },
          },
        },
        response: { 200: previewSchema, ...errorResponses },
      },
    },
    async (req) => d.templates.previewBody(req.tenant, req.body),
  );
};
