// One timer for every pending step of every message: a binary min-heap ordered by due time, with a
// single setTimeout armed for the earliest task. At thousands of messages per second a setTimeout
// (or even a closure) per message per step costs far more than heap operations.

export interface Task<T> {
  readonly at: number;
  readonly seq: number;
  readonly target: T;
  cancelled: boolean;
}

export class Scheduler<T> {
  private heap: Task<T>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private seq = 0;
  /** Tasks added while due ones run (each step schedules the next) are armed once, after the run. */
  private running = false;

  constructor(
    private readonly onDue: (target: T) => void,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Calls onDue(target) at epoch ms `at` (real time). */
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
    if (at < this.timerAt && !this.running) this.arm(at);
    return task;
  }

  get size(): number {
    return this.heap.length;
  }

  clear(): void {
    this.heap = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private arm(at: number): void {
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
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const task = this.pop();
      if (task.cancelled) continue;
      try {
        this.onDue(task.target);
      } catch (e) {
        this.onError(e);
      }
    }
    this.running = false;
    if (this.heap.length > 0) this.arm(this.heap[0]!.at);
  };

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
