import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../core/errors.js';
import type { HealthRepository } from '../../ports.js';

export const healthRoutes: FastifyPluginAsync<{ health: HealthRepository }> = async (app, d) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'The process is up', response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'The database is reachable and migrations are current',
        response: { 200: { type: 'object', properties: { status: { type: 'string' }, database: { type: 'string' } } }, 503: { $ref: 'Error#' } },
      },
    },
    async () => {
      try {
        await d.health.ping();
      } catch {
        throw new AppError('SMS_ERR_NOT_READY', 'The database is not reachable.');
      }
      const pending = await d.health.pendingMigrations();
      if (pending.length) throw new AppError('SMS_ERR_NOT_READY', 'Database migrations are pending.', { pending });
      return { status: 'ok', database: d.health.dialect };
    },
  );
};
