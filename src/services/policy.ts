// The policy pipeline behind the policy port: rules run in order and their decisions combine
// (first refusal wins, else the latest hold). Consent is the first rule (ConsentService.policy).
// Counting rules (per-recipient limits, the daily cap) run last, and only for a message every other
// rule lets through now: a refused or held message is not counted (a held one is counted when it is sent).
import { combine, SEND, type Decision } from '../core/policy.js';
import type { Policy, PolicyContext, PolicyMessage } from '../ports.js';

export interface PolicyPipelineOptions {
  /** Counts the message against limits; asked only when the rules before it all said send. */
  meter?: Policy;
  /** Told every refusal and hold (visibility: counts by reason). */
  observe?(decision: Decision, message: PolicyMessage, ctx: PolicyContext): Promise<void>;
}

export function createPolicy(rules: Policy[], opts: PolicyPipelineOptions = {}): Policy {
  const decide = async (message: PolicyMessage, ctx: PolicyContext): Promise<Decision> => {
    const decisions: Decision[] = [];
    for (const rule of rules) {
      const d = await rule.decide(message, ctx);
      // A refusal ends the pipeline: later rules (counters, caps) must not count a message that is not sent.
      if (d.action === 'refuse') return d;
      decisions.push(d);
    }
    const d = decisions.length ? combine(decisions) : SEND;
    return d.action === 'send' && opts.meter ? opts.meter.decide(message, ctx) : d;
  };
  return {
    async decide(message, ctx) {
      const d = await decide(message, ctx);
      if (d.action !== 'send' && opts.observe) await opts.observe(d, message, ctx);
      return d;
    },
  };
}
