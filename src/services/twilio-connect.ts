// `smsrelay twilio connect`: points a number's (IncomingPhoneNumbers) or a Messaging Service's
// webhooks at this relay, and reports what they were before and after.
import { AppError } from '../core/errors.js';
import { publicUrlProblem, webhookUrls } from '../core/wiring.js';
import type { AccountMessagingService, AccountNumber, TwilioAccountAdmin } from '../ports.js';

export type ConnectTarget = { kind: 'number'; phoneNumber: string } | { kind: 'messaging-service'; sid: string };

/** Field name (as Twilio spells it) → value; null = unset. */
export type WebhookFields = Record<string, string | null>;

export interface ConnectResult {
  target: ConnectTarget;
  /** The resource's SID (PN… or MG…). */
  sid: string;
  before: WebhookFields;
  /** What Twilio answered after the update; with dryRun, what would be set. */
  after: WebhookFields;
  applied: boolean;
  /** Something the operator should know (e.g. the service defers inbound to its numbers). */
  note: string | null;
}

const E164 = /^\+[1-9]\d{1,14}$/;
const MG_SID = /^MG[0-9a-fA-F]{32}$/;

export async function connectTwilio(
  account: TwilioAccountAdmin,
  input: { publicUrl: string | null; targets: ConnectTarget[]; dryRun: boolean },
): Promise<ConnectResult[]> {
  const problem = publicUrlProblem(input.publicUrl);
  if (problem) throw new AppError('SMS_ERR_PUBLIC_URL_INVALID', `${problem}: Twilio must reach this relay there over https.`, { field: 'SMSRELAY_PUBLIC_URL' });
  if (input.targets.length === 0) {
    throw new AppError(
      'SMS_ERR_VALIDATION',
      'Nothing to connect: give --number or --messaging-service (or configure TWILIO_FROM_NUMBER / TWILIO_MESSAGING_SERVICE_SID).',
    );
  }
  for (const t of input.targets) {
    if (t.kind === 'number' && !E164.test(t.phoneNumber)) {
      throw new AppError('SMS_ERR_INVALID_PHONE', `--number must be an E.164 number such as +14155552671, got '${t.phoneNumber}'.`, { field: 'number' });
    }
    if (t.kind === 'messaging-service' && !MG_SID.test(t.sid)) {
      throw new AppError('SMS_ERR_VALIDATION', `--messaging-service must be 'MG' + 32 hex characters, got '${t.sid}'.`, { field: 'messaging-service' });
    }
  }
  const urls = webhookUrls(input.publicUrl!);
  // Every target is looked up before any is changed: an unknown one changes nothing.
  const found: ({ t: ConnectTarget; n: AccountNumber } | { t: ConnectTarget; s: AccountMessagingService })[] = [];
  for (const t of input.targets) {
    if (t.kind === 'number') {
      const n = await account.findNumber(t.phoneNumber);
      if (!n) throw new AppError('SMS_ERR_SENDER_NOT_OWNED', `The Twilio account does not own ${t.phoneNumber}.`, { field: 'number' });
      found.push({ t, n });
    } else {
      const s = await account.fetchService(t.sid);
      if (!s) throw new AppError('SMS_ERR_SENDER_NOT_OWNED', `The Twilio account has no Messaging Service ${t.sid}.`, { field: 'messaging-service' });
      found.push({ t, s });
    }
  }
  const out: ConnectResult[] = [];
  for (const f of found) {
    if ('n' in f) {
      const want = { smsUrl: urls.inbound, smsMethod: 'POST' as const, statusCallback: urls.status };
      const after = input.dryRun ? { ...f.n, ...want } : await account.updateNumber(f.n.sid, want);
      out.push({
        target: f.t,
        sid: f.n.sid,
        before: { SmsUrl: f.n.smsUrl, SmsMethod: f.n.smsMethod, StatusCallback: f.n.statusCallback },
        after: { SmsUrl: after.smsUrl, SmsMethod: after.smsMethod, StatusCallback: after.statusCallback },
        applied: !input.dryRun,
        note: null,
      });
    } else {
      const want = { inboundRequestUrl: urls.inbound, statusCallback: urls.status };
      const after = input.dryRun ? { ...f.s, ...want } : await account.updateService(f.s.sid, want);
      out.push({
        target: f.t,
        sid: f.s.sid,
        before: { InboundRequestUrl: f.s.inboundRequestUrl, StatusCallback: f.s.statusCallback },
        after: { InboundRequestUrl: after.inboundRequestUrl, StatusCallback: after.statusCallback },
        applied: !input.dryRun,
        note: f.s.useInboundWebhookOnNumber
          ? "UseInboundWebhookOnNumber is true: inbound messages go to each number's own SmsUrl, so connect the numbers too (--number)."
          : null,
      });
    }
  }
  return out;
}
