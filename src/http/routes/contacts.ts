import type { FastifyPluginAsync } from 'fastify';
import type { ContactInput } from '../../core/contacts.js';
import type { ContactListInput, ContactsService } from '../../services/contacts.js';
import type { PrivacyService } from '../../services/privacy.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, pageOf, pageQuery } from '../schemas.js';

const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });
const tags = ['contacts'];

const contactSchema = {
  type: 'object',
  properties: {
    phone: { type: 'string', description: 'E.164.' },
    name: nullable('string'),
    locale: nullable('string', { description: 'BCP 47, canonicalized (pt-br → pt-BR).' }),
    time_zone: nullable('string', { description: 'IANA time zone.' }),
    external_ref: nullable('string', { description: "The host application's id, e.g. lead:42." }),
    fields: { type: 'object', additionalProperties: true },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const phoneParams = {
  type: 'object',
  required: ['phone'],
  properties: { phone: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]*$' } },
} as const;

export interface ContactRoutesOptions {
  contacts: ContactsService;
  privacy: PrivacyService;
  requireScope: RequireScope;
}

export const contactRoutes: FastifyPluginAsync<ContactRoutesOptions> = async (app, d) => {
  const read = d.requireScope('contacts:read');
  const write = d.requireScope('contacts:write');

  app.get<{ Querystring: ContactListInput }>(
    '/v1/contacts',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'List contacts by number',
        querystring: pageQuery({
          external_ref: { type: 'string', maxLength: 200 },
          q: { type: 'string', minLength: 1, maxLength: 100, description: 'Part of the name or number (case-insensitive).' },
        }),
        response: {
          200: pageOf(contactSchema),
          ...errorResponses,
        },
      },
    },
    async (req) => d.contacts.list(req.tenant, req.query),
  );

  app.get<{ Params: { phone: string } }>(
    '/v1/contacts/:phone',
    { onRequest: read, schema: { tags, summary: 'Get a contact', params: phoneParams, response: { 200: contactSchema, ...errorResponses } } },
    async (req) => d.contacts.read(req.tenant, req.params.phone),
  );

  app.put<{ Params: { phone: string }; Body: ContactInput }>(
    '/v1/contacts/:phone',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Create or replace a contact',
        description: 'The whole contact: fields left out are cleared. 201 when created, 200 when replaced.',
        params: phoneParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: nullable('string', { maxLength: 200 }),
            locale: nullable('string', { maxLength: 35 }),
            time_zone: nullable('string', { maxLength: 64 }),
            external_ref: nullable('string', { maxLength: 200 }),
            fields: { type: ['object', 'null'], additionalProperties: true, description: 'Custom fields: at most 50 keys and 8 KiB as JSON.' },
          },
        },
        response: { 200: contactSchema, 201: contactSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const r = await d.contacts.put(req.tenant, req.params.phone, req.body ?? {});
      return reply.code(r.created ? 201 : 200).send(r.contact);
    },
  );

  app.delete<{ Params: { phone: string } }>(
    '/v1/contacts/:phone',
    { onRequest: write, schema: { tags, summary: 'Delete a contact', params: phoneParams, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      await d.contacts.delete(req.tenant, req.params.phone);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { phone: string } }>(
    '/v1/contacts/:phone/erase',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Erase a number (right to erasure)',
        description:
          'Cancels messages still waiting for it, redacts the bodies and media URLs of its messages and replaces the number by a keyed hash ' +
          'in messages, conversations and contacts. The consent ledger (proof of opt-in/opt-out) and the usage counts are kept.',
        params: phoneParams,
        response: {
          200: {
            type: 'object',
            properties: {
              replacement: { type: 'string' },
              messages: { type: 'integer' },
              conversations: { type: 'integer' },
              contacts: { type: 'integer' },
              canceled: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => d.privacy.erase(req.tenant, req.params.phone, req.actor),
  );

  app.get<{ Params: { phone: string } }>(
    '/v1/contacts/:phone/export',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Everything held about a number (right of access), as JSON',
        description: 'The contact, conversations, messages (newest 10,000, with their events), the consent ledger and any cached lookup.',
        params: phoneParams,
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
    },
    async (req) => d.privacy.export(req.tenant, req.params.phone),
  );
};
