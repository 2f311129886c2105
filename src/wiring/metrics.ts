// Metrics: the Prometheus adapter fed by the repositories (gauges read on scrape), and the provider
// decorator that times every provider call, so that neither the worker nor the reconciler does it.
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { ProviderError, type Clock, type Metrics, type Provider, type ProviderOperation, type Repositories } from '../ports.js';

export function createMetrics(config: Config, repos: Repositories, clock: Clock): PrometheusMetrics {
  const pool = repos.health.poolUsage() === null ? null : () => repos.health.poolUsage()!;
  return new PrometheusMetrics({
    tenantLabel: config.metrics.tenantLabel,
    outbox: () => repos.messages.outboxStats(),
    pool,
    now: () => clock.now().getTime(),
  });
}

/** The same provider, reporting each call's duration and failure (kind and Twilio code) to `metrics`. */
export function measuredProvider(p: Provider, metrics: Metrics): Provider {
  const timed = async <T>(op: ProviderOperation, call: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      const r = await call();
      metrics.providerCall(op, (performance.now() - start) / 1000, null);
      return r;
    } catch (e) {
      const err = e instanceof ProviderError ? e : null;
      metrics.providerCall(op, (performance.now() - start) / 1000, { kind: err?.kind ?? 'ambiguous', providerCode: err?.providerCode ?? null });
      throw e;
    }
  };
  return {
    name: p.name,
    send: (req) => timed('send', () => p.send(req)),
    fetch: (sid) => timed('fetch', () => p.fetch(sid)),
    list: (q) => timed('list', () => p.list(q)),
    ...(p.verify ? { verify: p.verify } : {}),
    ...(p.lookup ? { lookup: { lineType: (e164: string) => timed('lookup', () => p.lookup!.lineType(e164)) } } : {}),
  };
}
