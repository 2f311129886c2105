import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { EventRecord } from '../../ports.js';
import { EVENT_TYPES } from '../../core/events.js';
import { parseTypes, toEventResource, type EventListInput, type EventSource, type EventsService } from '../../services/events.js';
import type { RequireScope } from '../auth.js';
import { errorResponses, idParams } from '../schemas.js';

export const eventSchema = {
  $id: 'Event',
  type: 'object',
  required: ['id', 'type', 'occurred_at', 'tenant', 'data'],
  properties: {
    id: { type: 'string', description: 'Time-ordered UUID (v7); the webhook-id header of its deliveries: de-duplicate on it.' },
    type: { type: 'string', enum: [...EVENT_TYPES] },
    occurred_at: { type: 'string', format: 'date-time' },
    tenant: { type: 'string', description: "The tenant's id." },
    data: { type: 'object', additionalProperties: true, description: 'The resource as the API returns it (messages: the Message with its conversation_id).' },
  },
} as const;

const typeQuery = {
  type: 'string',
  maxLength: 1000,
  description: 'Comma-separated event types; `message.*` for a group, `*` for all.',
} as const;

export interface EventRoutesOptions {
  events: EventsService;
  feed: EventSource;
  heartbeatMs: number;
  requireScope: RequireScope;
}

// Replayed on resume (Last-Event-ID) before the live events; older ones are in GET /v1/events.
const RESUME_LIMIT = 1000;

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, d) => {
  const read = d.requireScope('events:read');
  const manage = d.requireScope('webhooks:write');
  const tags = ['events'];
  const streams = new Set<ServerResponse>();
  // Open streams end when the server closes (they would otherwise hold it open).
  app.addHook('preClose', async () => {
    for (const s of streams) s.end();
  });

  app.get<{ Querystring: EventListInput }>(
    '/v1/events',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'List events, oldest first',
        description: 'For clients that poll: keep `next_cursor` and ask again; it points after the last event returned.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: typeQuery,
            since: { type: 'string', maxLength: 64, description: 'ISO-8601: events that occurred at or after it.' },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            cursor: { type: 'string', maxLength: 200 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { data: { type: 'array', items: { $ref: 'Event#' } }, next_cursor: { type: ['string', 'null'] }, has_more: { type: 'boolean' } },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => d.events.list(req.tenant, req.query),
  );

  app.get<{ Querystring: { type?: string } }>(
    '/v1/events/stream',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Live events (Server-Sent Events)',
        description:
          'text/event-stream: each event as `id`, `event` (its type) and `data` (the Event as JSON); a comment line every heartbeat. ' +
          'Reconnect with Last-Event-ID to resume after the last event received (up to 1000 are replayed; GET /v1/events has the rest).',
        querystring: { type: 'object', additionalProperties: false, properties: { type: typeQuery } },
        response: { 200: { description: 'An event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const types = parseTypes(req.query.type);
      const wanted = types ? new Set(types) : null;
      const tenant = req.tenant;
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
      res.write(': connected\n\n');
      streams.add(res);
      // Ids sent on this stream: the replay and the live feed may overlap.
      const sent = new Set<string>();
      let replaying = true;
      const held: EventRecord[] = [];
      const send = (events: EventRecord[]) => {
        for (const e of events) {
          if (e.tenant_id !== tenant.id || (wanted && !wanted.has(e.type)) || sent.has(e.id)) continue;
          sent.add(e.id);
          res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(toEventResource(e))}\n\n`);
        }
        if (sent.size > 10_000) sent.clear();
      };
      const unsubscribe = d.feed.subscribe((events) => (replaying ? held.push(...events) : send(events)));
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), d.heartbeatMs);
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(res);
      };
      res.on('close', end);
      const last = req.headers['last-event-id'];
      try {
        if (typeof last === 'string' && last !== '') send(await d.events.after(tenant, last, types, RESUME_LIMIT));
      } finally {
        replaying = false;
        send(held.splice(0));
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/events/:id',
    { onRequest: read, schema: { tags, summary: 'Get an event', params: idParams, response: { 200: { $ref: 'Event#' }, ...errorResponses } } },
    async (req) => d.events.get(req.tenant, req.params.id),
  );

  app.post<{ Params: { id: string }; Body: { endpoint_id?: string } | null }>(
    '/v1/events/:id/redeliver',
    {
      onRequest: manage,
      schema: {
        tags,
        summary: 'Send an event again',
        description: 'To every enabled endpoint subscribed to its type, or to the one named. Same webhook-id: receivers de-duplicate.',
        params: idParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { endpoint_id: { type: 'string', maxLength: 64 } } },
        response: {
          202: { type: 'object', properties: { event_id: { type: 'string' }, endpoints: { type: 'integer' } } },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => reply.code(202).send(await d.events.redeliver(req.tenant, req.params.id, req.body?.endpoint_id)),
  );
};
