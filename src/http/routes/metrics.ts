// GET /metrics: the Prometheus text exposition. With a token configured it needs that bearer token
// (compared in constant time); without one only clients on this machine are answered, decided by the
// socket's peer address (never X-Forwarded-For), as the embedded emulator decides.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { isLoopback } from '../../core/net.js';

export interface MetricsExposition {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface MetricsRoutesOptions {
  exposition: MetricsExposition;
  /** SMSRELAY_METRICS_TOKEN; null: loopback clients only. */
  token: string | null;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, d) => {
  const expected = d.token === null ? null : digest(d.token);

  const admit = (req: FastifyRequest): void => {
    if (expected === null) {
      if (!isLoopback(req.raw.socket.remoteAddress)) throw new AppError('SMS_ERR_METRICS_LOOPBACK_ONLY');
      return;
    }
    const header = req.headers.authorization;
    const presented = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : null;
    // Digests have one length, so the comparison's time says nothing about the token.
    if (presented === null || !timingSafeEqual(digest(presented), expected)) {
      throw new AppError('SMS_ERR_METRICS_TOKEN_REQUIRED', undefined, undefined, { 'WWW-Authenticate': 'Bearer realm="smsrelay metrics"' });
    }
  };

  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    admit(req);
    const text = await d.exposition.render();
    return reply.type(d.exposition.contentType).send(text);
  });
};
