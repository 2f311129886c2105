import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS } from '../core/errors.js';

/** Maps every failure to the registry's `{ error: { code, message, details? } }` shape. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => {
    const e = new AppError('SMS_ERR_ROUTE_NOT_FOUND', `No route for ${req.method} ${req.url.split('?')[0].slice(0, 200)}.`);
    void reply.code(e.status).send(e.toJSON());
  });
  app.setErrorHandler(replyWithError);
}

/** The error handler: also used by scopes that reword an error first (the webhooks' 415). */
export function replyWithError(err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply): void {
  const e = toAppError(err);
  if (e.status >= 500) req.log.error({ err }, 'request failed');
  if (e.headers) void reply.headers(e.headers);
  // A refusal that says when to come back (policy limits put it in details) gets Retry-After.
  const retry = (e.details as { retry_after?: unknown } | undefined)?.retry_after;
  if (!e.headers?.['Retry-After'] && typeof retry === 'number' && Number.isFinite(retry))
    void reply.header('Retry-After', String(Math.max(1, Math.ceil(retry))));
  void reply.code(e.status).send(e.toJSON());
}

/**
 * Fastify's clientErrorHandler: errors of Node's HTTP parser (headers over --max-http-header-size,
 * which includes the URL; a malformed request; a timeout), raised before any route runs, answered
 * with the same envelope instead of Fastify's own JSON. Like Node's and Fastify's default handlers,
 * it writes the response and closes the connection.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = new AppError(
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 'SMS_ERR_HEADERS_TOO_LARGE'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'SMS_ERR_REQUEST_TIMEOUT'
        : 'SMS_ERR_MALFORMED_REQUEST',
  );
  const body = JSON.stringify(e.toJSON());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const f = err as FastifyError & { validation?: { instancePath: string; message?: string; params?: Record<string, unknown> }[]; validationContext?: string };
  if (f?.validation) {
    const details = f.validation.map((v) => {
      const missing = v.params?.missingProperty as string | undefined;
      const extra = v.params?.additionalProperty as string | undefined;
      const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const field = [path, missing ?? extra].filter(Boolean).join('.') || f.validationContext || 'body';
      const allowed = v.params?.allowedValues as unknown[] | undefined;
      // A missing body (or JSON null) reaches validation as null.
      if (f.validationContext === 'body' && !path && v.params?.type === 'object')
        return { field, message: 'must be a JSON object (it is missing or of another type)' };
      if (v.params?.pattern !== undefined) return { field, message: 'contains characters that are not allowed' };
      return { field, message: extra ? 'is not a known field' : allowed ? `must be one of: ${allowed.join(', ')}` : (v.message ?? 'is invalid') };
    });
    return new AppError(
      'SMS_ERR_VALIDATION',
      `Invalid ${f.validationContext ?? 'request'}: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`,
      details,
    );
  }
  switch (f?.code) {
    case 'FST_ERR_BAD_URL':
      return new AppError('SMS_ERR_MALFORMED_URL');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('SMS_ERR_VALIDATION', 'A path parameter is too long.', [{ field: 'params', message: 'is too long' }]);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('SMS_ERR_PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('SMS_ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('SMS_ERR_MALFORMED_BODY', f.message);
  }
  if (f instanceof SyntaxError || f?.statusCode === 400) return new AppError('SMS_ERR_MALFORMED_BODY', 'The request body is not valid JSON.');
  if (f?.statusCode === 413) return new AppError('SMS_ERR_PAYLOAD_TOO_LARGE');
  if (f?.statusCode === 415) return new AppError('SMS_ERR_UNSUPPORTED_MEDIA_TYPE');
  if (f?.statusCode === 405) return new AppError('SMS_ERR_METHOD_NOT_ALLOWED');
  return new AppError('SMS_ERR_INTERNAL');
}

/** The OpenAPI schema of the error envelope, shared by every route's 4xx/5xx responses. */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERRORS) },
        message: { type: 'string' },
        details: {},
      },
    },
  },
} as const;
