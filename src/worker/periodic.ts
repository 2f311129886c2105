// One runner for every loop that works on a timer (reconciliation, late callback matching,
// housekeeping, and later event delivery and campaigns): an interval with jitter, never two runs
// of the same task at once, errors logged rather than thrown, and a stop that waits for the runs
// in progress. Timers are unref'd so an embedding application can exit.
import type { Random } from '../ports.js';

export interface PeriodicTask {
  name: string;
  intervalMs: number;
  /** Fraction of the interval by which each wait varies (0–1), so processes do not run in lockstep. */
  jitter?: number;
  /** Run once right away instead of after the first interval. */
  runAtStart?: boolean;
  run(): Promise<unknown>;
}

export interface PeriodicRunnerDeps {
  random: Pick<Random, 'int'>;
  onError(task: string, err: unknown): void;
}

interface Slot {
  task: PeriodicTask;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

export class PeriodicRunner {
  private readonly slots = new Map<string, Slot>();
  private started = false;

  constructor(private readonly d: PeriodicRunnerDeps) {}

  add(task: PeriodicTask): void {
    if (this.slots.has(task.name)) throw new Error(`periodic task '${task.name}' is already registered`);
    const slot: Slot = { task, timer: null, running: null };
    this.slots.set(task.name, slot);
    if (this.started) this.arm(slot, task.runAtStart ? 0 : this.delay(task));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const slot of this.slots.values()) this.arm(slot, slot.task.runAtStart ? 0 : this.delay(slot.task));
  }

  /** Runs a task now unless it is running already; resolves when that run ends. */
  async runNow(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no periodic task '${name}'`);
    await (slot.running ?? this.execute(slot));
  }

  /** Stops scheduling and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.started = false;
    const running: Promise<void>[] = [];
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      if (slot.running) running.push(slot.running);
    }
    await Promise.all(running);
  }

  private delay(task: PeriodicTask): number {
    const j = Math.min(Math.max(task.jitter ?? 0.1, 0), 1);
    const spread = Math.floor(task.intervalMs * j);
    return task.intervalMs - spread + (spread > 0 ? this.d.random.int(0, 2 * spread + 1) : 0);
  }

  private arm(slot: Slot, ms: number): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.timer = null;
      // The next wait starts when this run ends: a slow run delays the next instead of overlapping it.
      void (slot.running ?? this.execute(slot)).then(() => {
        if (this.started && this.slots.get(slot.task.name) === slot && !slot.timer) this.arm(slot, this.delay(slot.task));
      });
    }, ms);
    slot.timer.unref();
  }

  private execute(slot: Slot): Promise<void> {
    slot.running = slot.task
      .run()
      .then(
        () => undefined,
        (e) => this.d.onError(slot.task.name, e),
      )
      .finally(() => {
        slot.running = null;
      });
    return slot.running;
  }
}
