// Log lines that follow a message: one grep by message_id finds the API's accept, the worker's
// attempt and outcome and the applied status callbacks, each naming the tenant and (once sent) the
// provider SID, and none carrying a full phone number or the body.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './support/backends.js';
import { startRelay, waitFor, type TestRelay } from './support/relay.js';

const TO = '+14155550401';

describe.each(backends)('message log lines on $name', (backend) => {
  let t: TestRelay;
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) {
          raw.push(l);
          lines.push(JSON.parse(l) as Record<string, unknown>);
        }
        cb();
      },
    });
    t = await startRelay(backend, 'message-logs', {}, { logger: pino({ level: 'debug' }, sink) });
  });
  afterAll(() => t?.close());

  it('carry message_id, tenant_id and provider_sid from the API through the worker to the callbacks', async () => {
    const r = await t.api('/v1/messages', { body: { to: TO, body: 'a secret body 123' } });
    expect(r.status).toBe(202);
    const id = r.body.id as string;
    const m = await waitFor(async () => {
      const g = (await t.api(`/v1/messages/${id}`)).body;
      return g.status === 'delivered' ? g : null;
    });
    const sid = m.provider_sid as string;
    expect(sid).toMatch(/^SM/);
    // The delivered callback's line is written once the callback's transaction committed.
    await waitFor(() => lines.some((l) => l.message_id === id && l.status === 'delivered'));

    const mine = lines.filter((l) => l.message_id === id);
    const msgs = mine.map((l) => l.msg);
    expect(msgs).toEqual(expect.arrayContaining(['message accepted', 'send attempt', 'message sent to the provider', 'status callback applied']));
    const tenant = t.relay.defaultTenant.id;
    for (const l of mine) {
      expect(l.tenant_id).toBe(tenant);
      expect(l).toHaveProperty('provider_sid');
    }
    // Before sending there is no SID; from the provider's answer on, every line names it.
    expect(mine.find((l) => l.msg === 'message accepted')).toMatchObject({ provider_sid: null, to: expect.stringContaining('*') });
    const sentAt = mine.findIndex((l) => l.msg === 'message sent to the provider');
    for (const l of mine.slice(sentAt)) expect(l.provider_sid).toBe(sid);
    // Callbacks for each status the emulator reports (sent, delivered, …) are applied and logged.
    const callbacks = mine.filter((l) => l.msg === 'status callback applied');
    expect(callbacks.map((l) => l.status)).toContain('delivered');
    // No full phone number and no body anywhere in the run's logs.
    const all = raw.join('\n');
    expect(all).not.toContain(TO);
    expect(all).not.toContain(TO.slice(1));
    expect(all).not.toContain('a secret body');
  });
});
