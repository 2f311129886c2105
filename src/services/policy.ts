// The policy pipeline behind the policy port: rules run in order and their decisions combine
// (first refusal wins, else the latest hold). Consent is the first rule (ConsentService.policy).
// Counting rules (per-recipient limits, the daily cap) run last, and only for a message every other
// rule lets through now: a refused or held message is not counted (a held one is counted when it is sent).
import { combine, SEND, type Decision } from '../core/policy.js';
import type { Policy, PolicyContext, PolicyMessage } from '../ports.js';

export interface PolicyPipelineOptions {
  /** Counts the message against limits; asked only when the rules before it all said send. */
  meter?: Policy;
  /** Told every refusal and hold of the rules (visibility: counts by reason; the meter counts its own). */
  observe?(decision: Decision, message: PolicyMessage, ctx: PolicyContext): Promise<void>;
}

export function createPolicy(rules: Policy[], opts: PolicyPipelineOptions = {}): Policy {
  const observed = async (d: Decision, message: PolicyMessage, ctx: PolicyContext): Promise<Decision> => {
    if (d.action !== 'send' && opts.observe) await opts.observe(d, message, ctx);
    return d;
  };
  return {
    async decide(message, ctx) {
      const decisions: Decision[] = [];
      for (const rule of rules) {
        const d = await rule.decide(message, ctx);
        // A refusal ends the pipeline: later rules (counters, caps) must not count a message that is not sent.
        if (d.action === 'refuse') return observed(d, message, ctx);
        decisions.push(d);
      }
      const d = decisions.length ? combine(decisions) : SEND;
      if (d.action !== 'send') return observed(d, message, ctx);
      return opts.meter ? opts.meter.decide(message, ctx) : d;
    },
  };
}
