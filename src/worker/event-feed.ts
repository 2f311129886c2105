// The in-process feed of committed events, for the live stream (SSE) and `relay.on`: it polls the
// outbox while someone listens. Ids are time-ordered but a transaction may commit an older id after
// a newer one is visible, so each poll re-reads a short window behind the newest id seen and skips
// the ids it already emitted: an event is emitted once, and only after its commit.
import type { Logger } from 'pino';
import type { EventRecord, EventsRepository } from '../ports.js';

export type FeedListener = (events: EventRecord[]) => void;

export interface EventFeedDeps {
  events: Pick<EventsRepository, 'feed'>;
  logger: Logger;
  pollIntervalMs: number;
  /** How far behind the newest event each poll looks again (longer than any write transaction). */
  windowMs?: number;
}

const PAGE = 1000;

/** The smallest UUIDv7 string of a millisecond: ids compare as strings. */
export function idFloor(ms: number): string {
  const h = Math.max(0, ms).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8)}`;
}
const idTime = (id: string): number => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

export class EventFeed {
  private readonly listeners = new Set<FeedListener>();
  private readonly seen = new Map<string, number>();
  private floor: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly windowMs: number;

  constructor(private readonly d: EventFeedDeps) {
    this.windowMs = d.windowMs ?? 5_000;
  }

  /** Starts polling with the first listener; events committed before it are not replayed here. */
  subscribe(fn: FeedListener): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1 && !this.stopped) void this.begin();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.pause();
    };
  }

  /** Polls now (after a local commit that raised events). */
  wake(): void {
    if (this.listeners.size > 0 && this.floor !== null && !this.running) this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pause();
    await this.running;
  }

  private async begin(): Promise<void> {
    // What is already committed is history: remember it as seen.
    this.floor = idFloor(Date.now() - this.windowMs);
    await this.poll(false).catch((e) => this.d.logger.error({ err: e }, 'event feed failed'));
    this.schedule();
  }

  private pause(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.floor = null;
    this.seen.clear();
  }

  private schedule(): void {
    if (this.stopped || this.listeners.size === 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick();
    }, this.d.pollIntervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.poll(true)
      .catch((e) => this.d.logger.error({ err: e }, 'event feed failed'))
      .finally(() => {
        this.running = null;
        this.schedule();
      });
  }

  private async poll(emit: boolean): Promise<void> {
    for (;;) {
      if (this.floor === null) return;
      const rows = await this.d.events.feed(this.floor, PAGE);
      const fresh = rows.filter((r) => !this.seen.has(r.id));
      let newest = 0;
      for (const r of rows) newest = Math.max(newest, idTime(r.id));
      for (const r of fresh) this.seen.set(r.id, idTime(r.id));
      if (emit && fresh.length > 0)
        for (const l of [...this.listeners]) {
          try {
            l(fresh);
          } catch (e) {
            this.d.logger.error({ err: e }, 'event listener failed');
          }
        }
      if (rows.length < PAGE) {
        if (newest > 0) this.advance(newest);
        return;
      }
      // A full page: continue after it (the window is re-read on the next poll).
      this.floor = rows[rows.length - 1]!.id;
    }
  }

  private advance(newestMs: number): void {
    const cut = newestMs - this.windowMs;
    const floor = idFloor(cut);
    if (this.floor === null || floor > this.floor) this.floor = floor;
    for (const [id, ms] of this.seen) if (ms < cut) this.seen.delete(id);
  }
}
