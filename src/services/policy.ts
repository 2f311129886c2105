// The policy pipeline behind the policy port: rules run in order and their decisions combine
// (first refusal wins, else the latest hold). Consent is the first rule (ConsentService.policy).
import { combine, SEND, type Decision } from '../core/policy.js';
import type { Policy } from '../ports.js';

export function createPolicy(rules: Policy[]): Policy {
  return {
    async decide(message, ctx) {
      const decisions: Decision[] = [];
      for (const rule of rules) {
        const d = await rule.decide(message, ctx);
        // A refusal ends the pipeline: later rules (counters, caps) must not count a message that is not sent.
        if (d.action === 'refuse') return d;
        decisions.push(d);
      }
      return decisions.length ? combine(decisions) : SEND;
    },
  };
}
