// The campaign dispatcher: turns pending recipients of running campaigns into ordinary messages
// (CampaignsService.dispatch → the send path), keeping only a small window of each campaign's
// messages in the outbox ahead of sending, so that a pause or cancel (read by the dispatch policy)
// leaves little to stop. A campaign's `rate` is a pacing slot shared by every worker.
import type { Logger } from 'pino';
import type { CampaignRecord, CampaignsRepository, SenderPaceRepository } from '../ports.js';
import type { CampaignsService } from '../services/campaigns.js';

export interface CampaignDispatcherDeps {
  service: Pick<CampaignsService, 'active' | 'dispatch' | 'completeIfDone'>;
  campaigns: Pick<CampaignsRepository, 'windowSize' | 'claimRecipients'>;
  reserve: SenderPaceRepository['reserve'];
  now: () => number;
  logger: Logger;
  /** A campaign's messages waiting in the outbox at most. */
  window: number;
  pollMs: number;
}

/** A claimed recipient is given back to other workers after this when its worker died. */
const LEASE_MS = 10_000;
const PACE_HORIZON_MS = 1000;
/** Recipients claimed at a time. */
const BATCH = 500;
/**
 * Fewer free places in the window than this wait for more (a batch's end or the next poll): the
 * outbox has the rest of the window to send meanwhile, and a claim costs about the same for 50
 * recipients as for 500 (at an unlimited rate, one claim per 57 messages before this).
 */
const MIN_CLAIM = 100;

export class CampaignDispatcher {
  private stopping = true;
  private loopDone: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  /** Per campaign: recipients this worker is turning into messages right now. */
  private readonly inflight = new Map<string, number>();
  private readonly batches = new Set<Promise<void>>();

  constructor(private readonly d: CampaignDispatcherDeps) {}

  start(): void {
    if (!this.stopping) return;
    this.stopping = false;
    this.loopDone = this.loop();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    await Promise.all(this.batches);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let busy = false;
      try {
        busy = await this.tick();
      } catch (e) {
        this.d.logger.error({ err: e }, 'campaign dispatch failed');
      }
      if (!busy && !this.stopping)
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            this.wakeUp = null;
            r();
          }, this.d.pollMs);
          this.wakeUp = () => {
            clearTimeout(t);
            this.wakeUp = null;
            r();
          };
        });
    }
  }

  /** One pass over the active campaigns; true when it created messages (look again at once). */
  async tick(): Promise<boolean> {
    let busy = false;
    for (const c of await this.d.service.active()) {
      if (this.stopping) break;
      if (await this.fill(c)) busy = true;
    }
    return busy;
  }

  private async fill(c: CampaignRecord): Promise<boolean> {
    const local = this.inflight.get(c.id) ?? 0;
    const inWindow = await this.d.campaigns.windowSize(c.id);
    let n = Math.min(this.d.window - inWindow - local, BATCH);
    if (n < Math.min(MIN_CLAIM, this.d.window)) return false;
    if (c.rate !== null) {
      // A tenth of a second's worth at a time, each batch in its own slot of the campaign's pace.
      n = Math.min(n, Math.max(1, Math.ceil(c.rate / 10)));
      const now = this.d.now();
      const slot = await this.d.reserve(c.tenant_id, `campaign:${c.id}`, now, (n * 1000) / c.rate, PACE_HORIZON_MS);
      if (!slot.granted) return false;
      if (slot.at > now) await new Promise((r) => setTimeout(r, slot.at - now));
    }
    const recipients = await this.d.campaigns.claimRecipients(c.id, this.d.now(), LEASE_MS, n);
    if (recipients.length === 0) {
      if (inWindow === 0 && local === 0 && (await this.d.service.completeIfDone(c))) {
        this.d.logger.info({ campaign_id: c.id, tenant_id: c.tenant_id }, 'campaign completed');
      }
      return false;
    }
    // Sent in the background (concurrent sends share the send path's group commits), so that the
    // next batch is claimed while this one commits; its end wakes the loop.
    this.inflight.set(c.id, (this.inflight.get(c.id) ?? 0) + recipients.length); // read again: a batch may have ended meanwhile
    const batch = Promise.allSettled(recipients.map((r) => this.d.service.dispatch(c, r))).then((results) => {
      for (const r of results) {
        if (r.status === 'rejected') this.d.logger.error({ err: r.reason, campaign_id: c.id }, 'campaign recipient dispatch failed; retried after its lease');
      }
      const left = (this.inflight.get(c.id) ?? 0) - recipients.length;
      if (left > 0) this.inflight.set(c.id, left);
      else this.inflight.delete(c.id);
      this.wake();
    });
    this.batches.add(batch);
    void batch.finally(() => this.batches.delete(batch));
    return true;
  }
}
