// The dispatch policy's view of campaign states: one read per campaign at a time, trusted for 200 ms.
// The repository here is a counter of reads (the policy's behaviour over a real database is in
// test/campaigns.test.ts: pause, resume and cancel end to end).
import { describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../ports.js';
import type { PolicyContext } from '../ports/policy.js';
import { CampaignStates } from './campaigns.js';

function states(statusOf: () => string | Error) {
  let now = 0;
  const reads: string[] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const s = new CampaignStates({
    campaigns: {
      byId: async (id) => {
        reads.push(id);
        await gate;
        const v = statusOf();
        if (v instanceof Error) throw v;
        return { id, status: v } as CampaignRecord;
      },
    },
    monotonic: () => now,
  });
  return {
    s,
    reads,
    advance: (ms: number) => {
      now += ms;
    },
    hold: () => {
      gate = new Promise((r) => {
        release = r;
      });
    },
    release: () => release(),
  };
}

const msg = (campaignId: string) => ({ tenantId: 't', to: '+14155550100', channel: 'sms', category: 'marketing', body: 'x', segments: 1, campaignId });
const ctx = { stage: 'dispatch', now: 0, settings: {} } as unknown as PolicyContext;

describe('CampaignStates', () => {
  it('the sends that find a state stale together share one read; it is trusted 200 ms from its start', async () => {
    let status = 'running';
    const t = states(() => status);
    t.hold();
    const decisions = Array.from({ length: 50 }, () => t.s.policy.decide(msg('c1'), ctx));
    t.release();
    expect((await Promise.all(decisions)).every((d) => d.action === 'send')).toBe(true);
    expect(t.reads).toEqual(['c1']);
    status = 'paused';
    t.advance(199);
    expect((await t.s.policy.decide(msg('c1'), ctx)).action).toBe('send');
    t.advance(1);
    expect((await t.s.policy.decide(msg('c1'), ctx)).action).toBe('hold');
    expect(t.reads).toEqual(['c1', 'c1']);
    // Another campaign has a read of its own.
    await t.s.policy.decide(msg('c2'), ctx);
    expect(t.reads).toEqual(['c1', 'c1', 'c2']);
  });

  it("this process's own change is seen at once, even over a read in flight", async () => {
    const t = states(() => 'running');
    t.hold();
    const before = t.s.policy.decide(msg('c1'), ctx);
    t.s.set('c1', 'canceled');
    t.release();
    expect((await before).action).toBe('send'); // asked before the change
    expect(await t.s.policy.decide(msg('c1'), ctx)).toMatchObject({ action: 'refuse', code: 'SMS_ERR_CAMPAIGN_CANCELED' });
    expect(t.reads).toEqual(['c1']);
  });

  it('a failed read is not kept: the next send reads again', async () => {
    let fail = true;
    const t = states(() => (fail ? new Error('connection lost') : 'running'));
    await expect(t.s.policy.decide(msg('c1'), ctx)).rejects.toThrow('connection lost');
    fail = false;
    expect((await t.s.policy.decide(msg('c1'), ctx)).action).toBe('send');
    expect(t.reads).toEqual(['c1', 'c1']);
  });
});
