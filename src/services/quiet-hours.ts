// Quiet hours as a policy rule: a transactional or marketing message outside its category's window
// in the recipient's local time is held (status `scheduled`, hold_reason `quiet_hours`) until the
// window next opens there; verification codes (otp) are never held. Asked on accept and again at
// dispatch, so a message released at the opening is checked once more before it is sent.
import { SEND } from '../core/policy.js';
import { isTimeZone, nextAllowed, phoneTimezones, stateRule, type WindowRule } from '../core/quiet-hours.js';
import { DEFAULT_QUIET_HOURS } from '../core/settings.js';
import type { Policy } from '../ports.js';

export interface QuietHoursDeps {
  /** The contact's stored time zone, when the contacts feature knows it (none by default). */
  contactTimezone?: (tenantId: string, phone: string) => Promise<string | null>;
}

export function quietHoursPolicy(d: QuietHoursDeps = {}): Policy {
  return {
    async decide(m, ctx) {
      const category = m.category;
      if (category !== 'transactional' && category !== 'marketing') return SEND;
      const configured = ctx.settings.quiet_hours;
      const setting = category in configured ? configured[category] : DEFAULT_QUIET_HOURS[category];
      if (!setting) return SEND;
      const phone = m.to.replace(/^whatsapp:/, '');
      // The zone, in order: the request's, the contact's, else every zone the number's prefix spans.
      const given = m.recipientTimezone ?? (await d.contactTimezone?.(m.tenantId, phone)) ?? null;
      const zones = given !== null && isTimeZone(given) ? [given] : phoneTimezones(phone);
      const rules: WindowRule[] = [setting];
      // State laws are about solicitation: they narrow marketing's window unless configured otherwise.
      const state = (setting.state_rules ?? category === 'marketing') ? stateRule(phone) : null;
      if (state) rules.push(state);
      const until = nextAllowed(ctx.now, zones, rules);
      return until === null ? SEND : { action: 'hold', until, reason: 'quiet_hours' };
    },
  };
}
