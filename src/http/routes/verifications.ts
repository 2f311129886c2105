// Verification codes: /v1/verifications and the original apps' /api/sms/verify/{start,check}/.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CheckInput, StartInput, VerificationsService } from '../../services/verifications.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams } from '../schemas.js';

const nullableString = (maxLength: number) => ({ type: ['string', 'null'], maxLength });

const startBody = {
  type: 'object',
  required: ['to'],
  additionalProperties: false,
  properties: {
    to: { type: 'string', maxLength: 64, description: 'E.164 or national format (default region applies).' },
    channel: { type: 'string', enum: ['sms', 'whatsapp'] },
    locale: { ...nullableString(35), description: 'en, es, hi or pt (a region such as pt-BR is accepted); default from the country.' },
    code_length: { type: ['integer', 'null'], minimum: 4, maximum: 10, description: 'Local backend only; Twilio Verify uses its service setting.' },
    client_ip: { ...nullableString(64), description: "The end user's IP, for the per-IP limit (default: the caller's IP)." },
  },
} as const;

const checkBody = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: {
    id: { ...nullableString(64), description: 'The verification id; or give `to`.' },
    to: nullableString(64),
    code: { type: 'string', maxLength: 10 },
  },
} as const;

const started = {
  type: 'object',
  required: ['id', 'to', 'channel', 'status', 'expires_at', 'send_count'],
  properties: {
    id: { type: 'string' },
    to: { type: 'string' },
    channel: { type: 'string', enum: ['sms', 'whatsapp'] },
    status: { type: 'string', enum: ['pending'] },
    expires_at: { type: 'string', format: 'date-time' },
    send_count: { type: 'integer' },
  },
} as const;

const checked = {
  type: 'object',
  required: ['id', 'status', 'attempts_left'],
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['approved', 'pending', 'max_attempts_reached'] },
    attempts_left: { type: 'integer' },
  },
} as const;

const verification = {
  type: 'object',
  properties: {
    ...started.properties,
    status: { type: 'string', enum: ['pending', 'approved', 'expired', 'max_attempts_reached', 'canceled', 'failed'] },
    locale: { type: 'string' },
    attempts_left: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    approved_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const conversion = {
  started: { type: 'integer' },
  approved: { type: 'integer' },
  conversion: { type: ['number', 'null'], description: 'approved / started' },
} as const;

const stats = {
  type: 'object',
  properties: {
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    total: { type: 'object', properties: conversion },
    countries: { type: 'array', items: { type: 'object', properties: { country: { type: ['string', 'null'] }, ...conversion } } },
    prefixes: { type: 'array', items: { type: 'object', properties: { prefix: { type: 'string' }, country: { type: ['string', 'null'] }, ...conversion } } },
    blocked_prefixes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          prefix: { type: 'string' },
          blocked_until: { type: 'string', format: 'date-time' },
          blocked_at: { type: 'string', format: 'date-time' },
          started: { type: 'integer' },
          approved: { type: 'integer' },
        },
      },
    },
  },
} as const;

interface SeedStartBody {
  to_phone?: string;
  phone_number?: string;
  to?: string;
  channel?: 'sms' | 'whatsapp';
  locale?: string;
}

interface SeedCheckBody extends SeedStartBody {
  id?: string;
  code?: string;
}

const seedPhone = { type: 'string', maxLength: 64 } as const;
/** The original apps named the number any of these. */
const seedPhones = { to_phone: seedPhone, phone_number: seedPhone, to: seedPhone } as const;

export interface VerificationRoutesOptions {
  verifications: VerificationsService;
  requireScope: RequireScope;
}

export const verificationRoutes: FastifyPluginAsync<VerificationRoutesOptions> = async (app, d) => {
  const write = d.requireScope('verify:write');
  const read = d.requireScope('verify:read');
  const ctx = (req: FastifyRequest) => ({ ip: req.ip });

  app.post<{ Body: StartInput }>(
    '/v1/verifications',
    {
      onRequest: write,
      schema: {
        tags: ['verifications'],
        summary: 'Send a verification code (or resend it)',
        description:
          'Starts a verification, or resends the code of the number’s pending one (same id, new code on the local backend). Limits per number, client IP, tenant and number prefix answer 429 with Retry-After, and nothing is sent.',
        body: startBody,
        response: { 201: started, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await d.verifications.start(req.tenant, req.body, ctx(req))),
  );

  app.post<{ Body: CheckInput }>(
    '/v1/verifications/check',
    {
      onRequest: write,
      schema: {
        tags: ['verifications'],
        summary: 'Check a code',
        description:
          'A wrong code answers 200 with status pending and attempts_left; the last wrong one max_attempts_reached. Unknown or finished verifications answer 404.',
        body: checkBody,
        response: { 200: checked, ...errorResponses },
      },
    },
    async (req) => d.verifications.check(req.tenant, req.body),
  );

  app.get<{ Querystring: { since?: string; until?: string } }>(
    '/v1/verifications/stats',
    {
      onRequest: read,
      schema: {
        tags: ['verifications'],
        summary: 'Conversion (approved / started) per country and number prefix, and blocked prefixes',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { since: { type: 'string', format: 'date-time' }, until: { type: 'string', format: 'date-time' } },
        },
        response: { 200: stats, ...errorResponses },
      },
    },
    async (req) => d.verifications.stats(req.tenant, req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/verifications/:id',
    {
      onRequest: read,
      schema: { tags: ['verifications'], summary: 'Get a verification (never its code)', params: idParams, response: { 200: verification, ...errorResponses } },
    },
    async (req) => d.verifications.get(req.tenant, req.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/verifications/:id/cancel',
    {
      onRequest: write,
      schema: { tags: ['verifications'], summary: 'Cancel a pending verification', params: idParams, response: { 200: verification, ...errorResponses } },
    },
    async (req) => d.verifications.cancel(req.tenant, req.params.id),
  );

  app.post<{ Body: SeedStartBody }>(
    '/api/sms/verify/start/',
    {
      onRequest: write,
      schema: {
        tags: ['compatibility'],
        summary: 'Start a verification (original app route): {to_phone|phone_number|to, channel?, locale?}',
        body: {
          type: 'object',
          properties: {
            ...seedPhones,
            channel: startBody.properties.channel,
            locale: { type: 'string', maxLength: 35 },
          },
        },
        response: { 201: started, ...errorResponses },
      },
    },
    async (req, reply) => {
      const b = req.body ?? {};
      const to = (b.to_phone ?? b.phone_number ?? b.to) as string;
      return reply.code(201).send(await d.verifications.start(req.tenant, { to, channel: b.channel, locale: b.locale }, ctx(req)));
    },
  );

  app.post<{ Body: SeedCheckBody }>(
    '/api/sms/verify/check/',
    {
      onRequest: write,
      schema: {
        tags: ['compatibility'],
        summary: 'Check a code (original app route): {to_phone|phone_number|to|id, code}',
        body: {
          type: 'object',
          properties: {
            ...seedPhones,
            id: { type: 'string', maxLength: 64 },
            code: { type: 'string', maxLength: 10 },
          },
        },
        response: { 200: checked, ...errorResponses },
      },
    },
    async (req) => {
      const b = req.body ?? {};
      return d.verifications.check(req.tenant, { id: b.id, to: b.to_phone ?? b.phone_number ?? b.to, code: b.code as string });
    },
  );
};
