// One timer for every pending step of every message. Steps with a fixed delay (sending → sent,
// sent → delivered) come due in the order they were added, so they wait in FIFO lanes (O(1), no
// allocation); steps with arbitrary due times (paced sends, SendAt) wait in a binary min-heap.
// A single setTimeout is armed for the earliest of all. At thousands of messages per second a
// setTimeout (or even a closure) per message per step costs far more. Runs are at least TICK_MS
// apart: a timer firing every millisecond splits the event loop's I/O batches and made every
// request's socket write dearer; steps may run up to TICK_MS late.

const TICK_MS = 10;

export interface Task<T> {
  readonly at: number;
  readonly seq: number;
  readonly target: T;
  cancelled: boolean;
}

interface Lane<T> {
  targets: T[];
  times: number[];
  head: number;
}

export class Scheduler<T> {
  private heap: Task<T>[] = [];
  private lanes: Lane<T>[];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private seq = 0;
  /** Steps added while due ones run (each step schedules the next) are armed once, after the run. */
  private running = false;
  private lastRun = 0;

  constructor(
    laneCount: number,
    private readonly onDue: (target: T) => void,
    private readonly onError: (e: unknown) => void,
  ) {
    this.lanes = Array.from({ length: laneCount }, () => ({ targets: [], times: [], head: 0 }));
  }

  /** Calls onDue(target) at epoch ms `at` (real time); the task can be cancelled. */
  at(at: number, target: T): Task<T> {
    const task: Task<T> = { at, seq: this.seq++, target, cancelled: false };
    const h = this.heap;
    h.push(task);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(task, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = task;
    if (!this.running) this.arm(at);
    return task;
  }

  /** Like at(), in a FIFO lane: the caller guarantees `at` never decreases within a lane. */
  inLane(lane: number, at: number, target: T): void {
    const l = this.lanes[lane]!;
    l.targets.push(target);
    l.times.push(at);
    if (!this.running) this.arm(at);
  }

  clear(): void {
    this.heap = [];
    for (const l of this.lanes) {
      l.targets = [];
      l.times = [];
      l.head = 0;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private arm(due: number): void {
    const at = Math.max(due, this.lastRun + TICK_MS);
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.run, Math.max(0, at - Date.now()));
    // The emulator's server (or the host's) keeps the process alive, not pending steps.
    this.timer.unref();
  }

  private readonly run = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    this.running = true;
    const now = Date.now();
    this.lastRun = now;
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const task = this.pop();
      if (!task.cancelled) this.call(task.target);
    }
    for (const l of this.lanes) {
      while (l.head < l.targets.length && l.times[l.head]! <= now) {
        const target = l.targets[l.head]!;
        l.head++;
        this.call(target);
      }
      if (l.head === l.targets.length) {
        l.targets = [];
        l.times = [];
        l.head = 0;
      } else if (l.head > 4096) {
        l.targets = l.targets.slice(l.head);
        l.times = l.times.slice(l.head);
        l.head = 0;
      }
    }
    this.running = false;
    let next = this.heap.length > 0 ? this.heap[0]!.at : Infinity;
    for (const l of this.lanes) if (l.head < l.times.length) next = Math.min(next, l.times[l.head]!);
    if (next !== Infinity) this.arm(next);
  };

  private call(target: T): void {
    try {
      this.onDue(target);
    } catch (e) {
      this.onError(e);
    }
  }

  private pop(): Task<T> {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before<T>(a: Task<T>, b: Task<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
