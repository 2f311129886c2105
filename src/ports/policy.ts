// The policy port: one decision function, called by the API on accept and by the dispatcher again
// before each send. Rules (consent first; throttles, caps and quiet hours later) sit behind it.
import type { Decision, PolicyStage } from '../core/policy.js';
import type { TenantSettings } from '../core/settings.js';

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
  /** On accept: when the caller scheduled it (null: now). Counting rules count it when it is sent. */
  sendAt?: number | null;
}

export interface PolicyContext {
  stage: PolicyStage;
  now: number;
  settings: TenantSettings;
}

export interface Policy {
  decide(message: PolicyMessage, ctx: PolicyContext): Promise<Decision>;
}
