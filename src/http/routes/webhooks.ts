// Twilio webhooks: delivery status callbacks and inbound messages. The signature is checked
// against the URL Twilio called before anything is written.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { WEBHOOK_PATHS } from '../../core/wiring.js';
import type { InboundService } from '../../services/inbound.js';
import type { StatusCallbacksService } from '../../services/status-callbacks.js';
import type { WebhookAuth, WebhookParams } from '../../services/webhooks.js';
import { replyWithError } from '../errors.js';

export interface WebhookDeps {
  auth: WebhookAuth;
  statusCallbacks: StatusCallbacksService;
  inbound: InboundService;
  /** SMSRELAY_PUBLIC_URL: the base Twilio calls, when the relay sits behind a proxy or tunnel. */
  publicUrl: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    rawJsonBody?: string;
  }
}

/**
 * The URL Twilio signed: the configured public base + the path and query string exactly as
 * received; otherwise scheme and host as Fastify sees them, which honours X-Forwarded-Proto/-Host
 * only when trustProxy is on (a client could forge them otherwise).
 */
export function calledUrl(req: FastifyRequest, publicUrl: string | null): string {
  return publicUrl !== null ? publicUrl + req.url : `${req.protocol}://${req.host}${req.url}`;
}

/** Form fields as received (repeated keys as arrays); JSON bodies flattened one level. */
function paramsOf(body: unknown): WebhookParams {
  const out: WebhookParams = {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return out;
  for (const k of Object.keys(body)) {
    const v = (body as Record<string, unknown>)[k];
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
    else if (v !== undefined) out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

const meta = { tags: ['webhooks'] };
const signatureHeaders = {
  type: 'object',
  properties: {
    'x-twilio-signature': { type: 'string', description: 'HMAC-SHA1 of the URL and sorted form fields with the auth token.' },
    'i-twilio-idempotency-token': { type: 'string', description: 'Same on retries of one request; used to de-duplicate.' },
  },
} as const;

export const webhookRoutes: FastifyPluginAsync<WebhookDeps> = async (app, d) => {
  void app.register(async (scope) => {
    // Twilio's own format is a form; the API's 415 ("send JSON") would mislead here.
    scope.setErrorHandler((err: FastifyError, req, reply) =>
      replyWithError(
        err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? new AppError(
              'SMS_ERR_UNSUPPORTED_MEDIA_TYPE',
              'Twilio sends webhooks as application/x-www-form-urlencoded (application/json is accepted with a bodySHA256 signature).',
            )
          : err,
        req,
        reply,
      ),
    );
    // JSON webhooks are signed over the raw body (bodySHA256): keep it as received.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      const raw = body as string;
      req.rawJsonBody = raw;
      try {
        done(null, raw.trim() === '' ? {} : JSON.parse(raw));
      } catch {
        done(new AppError('SMS_ERR_MALFORMED_BODY', 'The request body is not valid JSON.'), undefined);
      }
    });

    const authenticate = async (req: FastifyRequest) => {
      const params = paramsOf(req.body);
      const tenantId = await d.auth.authenticate({
        url: calledUrl(req, d.publicUrl),
        signature: header(req, 'x-twilio-signature'),
        params,
        rawJsonBody: req.rawJsonBody ?? null,
      });
      const token = header(req, 'i-twilio-idempotency-token');
      return { tenantId, params, token: token && token.length <= 128 ? token : null };
    };

    const status = async (req: FastifyRequest, reply: FastifyReply) => {
      const { tenantId, params, token } = await authenticate(req);
      await d.statusCallbacks.handle({ tenantId, params, idempotencyToken: token });
      return reply.code(204).send();
    };
    const statusSchema = {
      schema: {
        ...meta,
        summary: 'Twilio delivery-status callback',
        description: 'Signed (X-Twilio-Signature), idempotent, statuses move forward only. Unknown SIDs are kept and matched when the SID is stored.',
        headers: signatureHeaders,
        response: { 204: { type: 'null' }, 400: { $ref: 'Error#' }, 403: { $ref: 'Error#' } },
      },
    };
    scope.post(WEBHOOK_PATHS.status, statusSchema, status);
    // The original apps' route.
    scope.post('/webhooks/sms/twilio/', { schema: { ...statusSchema.schema, tags: ['compatibility'] } }, status);

    const inbound = async (req: FastifyRequest, reply: FastifyReply) => {
      const { tenantId, params, token } = await authenticate(req);
      const r = await d.inbound.receive(tenantId, params, token);
      return reply.code(200).type('text/xml; charset=utf-8').send(r.twiml);
    };
    scope.post(
      WEBHOOK_PATHS.inbound,
      {
        schema: {
          ...meta,
          summary: 'Twilio inbound message webhook; answers TwiML',
          headers: signatureHeaders,
          response: { 200: { type: 'string', description: 'TwiML (text/xml).' }, 400: { $ref: 'Error#' }, 403: { $ref: 'Error#' } },
        },
      },
      inbound,
    );

    // The CRM module's single webhook: status callbacks carry MessageStatus, inbound messages
    // do not (their SmsStatus is 'received'), so the payload says which one it is.
    scope.post(
      '/api/v1/sms/webhooks/twilio/',
      {
        schema: {
          tags: ['compatibility'],
          summary: 'Twilio status callback or inbound message (CRM module route), told apart by the payload',
          headers: signatureHeaders,
          response: {
            200: { type: 'string', description: 'TwiML (text/xml), for an inbound message.' },
            204: { type: 'null' },
            400: { $ref: 'Error#' },
            403: { $ref: 'Error#' },
          },
        },
      },
      (req, reply) => {
        const body = (req.body ?? {}) as Record<string, unknown>;
        return typeof body.MessageStatus === 'string' ? status(req, reply) : inbound(req, reply);
      },
    );
  });
};
