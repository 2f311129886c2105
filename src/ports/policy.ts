// The policy port: one decision function, called by the API on accept and by the dispatcher again
// before each send. Rules (consent first; throttles, caps and quiet hours later) sit behind it.
import type { Decision, PolicyStage } from '../core/policy.js';
import type { TenantSettings } from '../core/settings.js';
import type { Tx } from './tx.js';

/** What a rule may look at: the message as accepted (or as claimed for dispatch). */
export interface PolicyMessage {
  /** The message's id (on accept, the id it will have: counters count each message once). */
  id?: string;
  tenantId: string;
  to: string;
  channel: string;
  /** transactional | marketing | otp (core/categories.ts). */
  category: string;
  body: string | null;
  segments: number;
  /** The recipient's IANA time zone given on the send request (null or absent: look it up). */
  recipientTimezone?: string | null;
  /** On accept: when the caller scheduled it (null: now). Counting rules count it when it is sent. */
  sendAt?: number | null;
  /** Already counted against the sending limits (at dispatch: on accept, or by an earlier attempt). */
  metered?: boolean;
  /** The campaign the message belongs to (paused or canceled campaigns stop their messages). */
  campaignId?: string | null;
}

export interface PolicyContext {
  stage: PolicyStage;
  now: number;
  settings: TenantSettings;
}

export interface Policy {
  decide(message: PolicyMessage, ctx: PolicyContext): Promise<Decision>;
}

/**
 * Counting rules (limits, caps), asked after every other rule said send. On accept the send path
 * runs them inside its own transaction (the count and the message commit together); at dispatch
 * the policy pipeline runs them. A meter counts its own refusals and holds.
 */
export interface PolicyMeter {
  /** Whether this message is counted at all (no I/O): if not, `count` need not see it. */
  meters(message: PolicyMessage, ctx: PolicyContext): boolean;
  /**
   * Judges and counts the messages in order, in `tx`: one decision each. With `capLater` (on accept),
   * daily caps are left to `settle`, and refusals and holds to `observe`.
   */
  count(tx: Tx, items: { message: PolicyMessage; ctx: PolicyContext }[], capLater?: boolean): Promise<Decision[]>;
  /**
   * The last step of the accept transaction, for the messages it wrote: takes their daily-cap slots
   * (the counter row stays locked only until the commit right after). Throws the cap's AppError when
   * they do not fit; the group commit then re-runs its requests one by one, so only those over the cap fail.
   */
  settle(tx: Tx, items: { message: PolicyMessage; ctx: PolicyContext }[]): Promise<void>;
  /** Counts a refusal or hold of the meter on accept (after the send path's commit). */
  observe(decision: Decision, message: PolicyMessage, ctx: PolicyContext): Promise<void>;
}
