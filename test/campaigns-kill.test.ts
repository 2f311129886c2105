// A worker process killed with SIGKILL in the middle of a campaign, then another started on the
// same database: every valid, consenting recipient gets exactly one message at the emulator (which
// lives in the test process, so it survives the kill and counts every create).
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { spawnWorker, startRelay, waitFor, type TestRelay } from './support/relay.js';

const worker = (t: TestRelay): ChildProcess =>
  spawnWorker(t, {
    TWILIO_FROM_NUMBER: '+15005550006',
    SMSRELAY_SETTLE_DELAY_MS: '0',
    SMSRELAY_WORKER_POLL_MS: '20',
    SMSRELAY_PACING_DEFAULTS: 'false',
  });

describe.each(backends)('a campaign worker killed with SIGKILL on $name', (backend) => {
  it('every valid consenting recipient gets exactly one message after a restart', async () => {
    const t = await startRelay(backend, 'campaign-kill', {}, { worker: false });
    let child: ChildProcess | null = null;
    try {
      const N = 300;
      const phones = Array.from({ length: N }, (_, i) => `+1415${String(3_000_000 + i).padStart(7, '0')}`);
      const opted = phones.slice(0, 10);
      for (const p of opted) expect((await t.api('/v1/consents', { body: { phone: p, action: 'opt_out' } })).status).toBe(200);
      const c = (await t.api('/v1/campaigns', { body: { name: 'kill', body: 'Kill test', category: 'transactional' } })).body;
      const up = await t.api(`/v1/campaigns/${c.id}/recipients`, {
        method: 'POST',
        rawBody: `phone\n${phones.join('\n')}\nbad-number\n`,
        headers: { 'content-type': 'text/csv' },
      });
      expect(up.body).toMatchObject({ accepted: N - 10, suppressed: 10, invalid: 1 });
      expect((await t.api(`/v1/campaigns/${c.id}/start`, { method: 'POST' })).body.status).toBe('running');
      const em = t.relay.emulator!;
      const sent = () => phones.filter((p) => em.createCount(p, 'Kill test') > 0).length;
      // Slow answers keep calls in flight when the worker dies.
      em.setChaos({ latencyMs: 150 });
      child = worker(t);
      await waitFor(() => sent() >= 60, 30_000, 20);
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      const atKill = sent();
      expect(atKill).toBeLessThan(N - 10);
      em.setChaos({ latencyMs: 0 });
      child = worker(t);
      const end = await waitFor(
        async () => {
          const g = (await t.api(`/v1/campaigns/${c.id}`)).body;
          return g.status === 'completed' ? g : null;
        },
        60_000,
        200,
      );
      expect(end.counts).toMatchObject({ pending: 0, held: 0, suppressed: 10, invalid: 1, failed: 0 });
      expect(end.counts.sent + end.counts.delivered).toBe(N - 10);
      for (const p of phones) expect(em.createCount(p, 'Kill test'), p).toBe(opted.includes(p) ? 0 : 1);
    } finally {
      child?.kill('SIGKILL');
      await t.close();
    }
  }, 120_000);
});
