// One timer for every pending step of every message: a binary min-heap ordered by due time, with a
// single setTimeout armed for the earliest task. At thousands of messages per second a setTimeout
// per message per step costs far more than heap operations.

export interface Task {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class Scheduler {
  private heap: Task[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private seq = 0;

  constructor(private readonly onError: (e: unknown) => void) {}

  /** Runs fn at epoch ms `at` (real time). */
  at(at: number, fn: () => void): Task {
    const task: Task = { at, seq: this.seq++, fn, cancelled: false };
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
    if (at < this.timerAt) this.arm(at);
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
    const now = Date.now();
    const h = this.heap;
    while (h.length > 0 && h[0]!.at <= now) {
      const task = this.pop();
      if (task.cancelled) continue;
      try {
        task.fn();
      } catch (e) {
        this.onError(e);
      }
    }
    if (h.length > 0) this.arm(h[0]!.at);
  };

  private pop(): Task {
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

function before(a: Task, b: Task): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
