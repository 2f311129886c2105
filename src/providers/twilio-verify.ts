// Twilio Verify v2 through the official client (docs/twilio-reference.md §11): the VerifyProvider
// port. Failures are classified like message sends; 60202 (max checks) and 20404 (no such
// verification) are answers, not failures.
import type twilio from 'twilio';
import type { VerifyProvider } from '../ports.js';
import { classify } from './twilio-errors.js';

export function twilioVerify(client: twilio.Twilio): VerifyProvider {
  const service = (sid: string) => client.verify.v2.services(sid);
  return {
    async start(serviceSid, req) {
      try {
        const v = await service(serviceSid).verifications.create({ to: req.to, channel: req.channel, locale: req.locale });
        return { sid: v.sid };
      } catch (e) {
        throw classify(e);
      }
    },
    async check(serviceSid, sid, code) {
      try {
        const r = await service(serviceSid).verificationChecks.create({ verificationSid: sid, code });
        return r.status === 'approved' ? 'approved' : 'wrong';
      } catch (e) {
        const c = classify(e);
        if (c.providerCode === 60202) return 'locked';
        if (c.providerCode === 20404) return 'gone';
        throw c;
      }
    },
    async cancel(serviceSid, sid) {
      try {
        await service(serviceSid).verifications(sid).update({ status: 'canceled' });
      } catch (e) {
        const c = classify(e);
        // Already gone at Twilio (expired, approved): nothing left to cancel.
        if (c.providerCode !== 20404) throw c;
      }
    },
  };
}
