import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeriodicRunner } from './periodic.js';

const random = { int: (min: number, max: number) => Math.floor((min + max - 1) / 2) };

describe('PeriodicRunner', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs each task every interval, with jitter around it', async () => {
    const runs: number[] = [];
    const r = new PeriodicRunner({ random: { int: (min) => min }, onError: () => undefined });
    r.add({ name: 't', intervalMs: 1000, jitter: 0.2, run: async () => void runs.push(Date.now()) });
    const t0 = Date.now();
    r.start();
    await vi.advanceTimersByTimeAsync(799);
    expect(runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs.map((t) => t - t0)).toEqual([800]); // the lowest draw: 1000 - 20 %
    await vi.advanceTimersByTimeAsync(800);
    expect(runs).toHaveLength(2);
    await r.stop();
  });

  it('never overlaps a slow run with the next one, and stop waits for the run in progress', async () => {
    let active = 0;
    let maxActive = 0;
    let finished = 0;
    const r = new PeriodicRunner({ random, onError: () => undefined });
    r.add({
      name: 'slow',
      intervalMs: 10,
      jitter: 0,
      runAtStart: true,
      run: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((res) => setTimeout(res, 50));
        active--;
        finished++;
      },
    });
    r.start();
    await vi.advanceTimersByTimeAsync(25);
    const joined = r.runNow('slow'); // joins the run in progress rather than starting another
    await vi.advanceTimersByTimeAsync(30);
    await expect(joined).resolves.toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    expect(maxActive).toBe(1);
    const before = finished;
    const stopping = r.stop();
    await vi.advanceTimersByTimeAsync(100);
    await stopping;
    await vi.advanceTimersByTimeAsync(500);
    expect(finished - before).toBeLessThanOrEqual(1);
    expect(active).toBe(0);
  });

  it('logs a failing run and keeps the schedule', async () => {
    const errors: string[] = [];
    let n = 0;
    const r = new PeriodicRunner({ random, onError: (task, e) => errors.push(`${task}: ${(e as Error).message}`) });
    r.add({
      name: 'flaky',
      intervalMs: 100,
      jitter: 0,
      run: async () => {
        n++;
        if (n === 1) throw new Error('boom');
      },
    });
    r.start();
    await vi.advanceTimersByTimeAsync(350);
    expect(errors).toEqual(['flaky: boom']);
    expect(n).toBe(3);
    await r.stop();
  });
});
