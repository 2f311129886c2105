// `smsrelay doctor`: checks an installation the way an operator would in its first week, one
// result per check with the fix when it fails. The CLI only prints them.
import type { Config } from '../config.js';
import { clockSkewMs, clockSkewOk, isLoopbackHost, MAX_CLOCK_SKEW_MS, publicUrlProblem, webhookUrls, type WebhookUrls } from '../core/wiring.js';
import { ProviderError, type Clock, type TwilioAccountAdmin } from '../ports.js';

export interface CheckResult {
  name: string;
  /** skip: does not apply to this configuration (or cannot run after an earlier failure). */
  status: 'ok' | 'fail' | 'skip';
  detail: string;
  /** How to fix it (with a failure). */
  fix?: string;
}

export interface DoctorDeps {
  config: Config;
  /** Opens the database and lists pending migrations; rejects when it cannot be reached. */
  database(): Promise<{ dialect: string; pending: string[] }>;
  /** The configured Twilio account (or the emulator named by TWILIO_API_BASE_URL); null without credentials. */
  account: TwilioAccountAdmin | null;
  clock: Clock;
}

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });
const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function runDoctor(d: DoctorDeps): Promise<CheckResult[]> {
  const { config } = d;
  const out: CheckResult[] = [ok('configuration', `valid (provider: ${config.provider})`)];
  out.push(...(await databaseChecks(d)));
  const urlProblem = publicUrlProblem(config.publicUrl);
  const urls = urlProblem === null ? webhookUrls(config.publicUrl!) : null;
  if (config.provider !== 'twilio') {
    out.push(
      urlProblem === null || config.publicUrl === null
        ? skip('public URL', config.publicUrl ?? 'not set: the built-in emulator calls the relay directly')
        : fail('public URL', urlProblem, 'set SMSRELAY_PUBLIC_URL to the https URL where this relay is reached'),
    );
  } else {
    out.push(
      urlProblem === null
        ? ok('public URL', `${config.publicUrl} (webhooks: ${urls!.inbound}, ${urls!.status})`)
        : fail('public URL', urlProblem, 'set SMSRELAY_PUBLIC_URL to the https URL where Twilio reaches this relay (a tunnel or reverse proxy)'),
    );
  }
  out.push(...(await twilioChecks(d, urls)));
  out.push(exposureCheck(config));
  return out;
}

async function databaseChecks(d: DoctorDeps): Promise<CheckResult[]> {
  try {
    const { dialect, pending } = await d.database();
    return [
      ok('database', `reachable (${dialect})`),
      pending.length === 0
        ? ok('migrations', 'current')
        : fail('migrations', `${pending.length} pending: ${pending.join(', ')}`, 'run `smsrelay migrate` (serve also applies them on start)'),
    ];
  } catch (e) {
    return [
      fail('database', `unreachable: ${message(e)}`, 'check SMSRELAY_DATABASE_URL and that the database server is running and accepts this user'),
      skip('migrations', 'database unreachable'),
    ];
  }
}

async function twilioChecks(d: DoctorDeps, urls: WebhookUrls | null): Promise<CheckResult[]> {
  const { config, account } = d;
  if (config.provider !== 'twilio' || account === null) {
    const why = config.provider === 'disabled' ? 'TWILIO_ENABLED=false: nothing is sent' : 'no Twilio credentials: the built-in emulator is used';
    return [skip('Twilio credentials', why)];
  }
  const sid = config.twilio.accountSid!;
  let serverDate: Date | null;
  try {
    const a = await account.fetchAccount();
    if (a.status !== 'active') {
      return [fail('Twilio credentials', `account ${sid} is ${a.status}`, 'reactivate the account in the Twilio console or use another one')];
    }
    serverDate = a.serverDate;
  } catch (e) {
    if (e instanceof ProviderError && (e.httpStatus === 401 || e.httpStatus === 403 || e.httpStatus === 404)) {
      return [
        fail(
          'Twilio credentials',
          `rejected for ${sid} (HTTP ${e.httpStatus}${e.providerCode ? `, ${e.providerCode}` : ''})`,
          'set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to the live credentials (Console → Account → API keys & tokens)',
        ),
      ];
    }
    return [fail('Twilio credentials', `Twilio could not be reached: ${message(e)}`, 'check the network path to Twilio (or TWILIO_API_BASE_URL)')];
  }
  const out = [ok('Twilio credentials', `accepted (${sid})`)];
  if (serverDate === null) out.push(skip('clock', 'Twilio sent no Date header'));
  else {
    const skew = clockSkewMs(d.clock.now(), serverDate);
    const s = `${Math.round(skew / 1000)} s`;
    out.push(
      clockSkewOk(skew)
        ? ok('clock', `within ${s} of Twilio's`)
        : fail('clock', `${s} off Twilio's (more than ${MAX_CLOCK_SKEW_MS / 1000} s)`, 'synchronise this host’s clock (NTP, e.g. systemd-timesyncd or chrony)'),
    );
  }
  out.push(...(await senderChecks(d, account, urls)));
  return out;
}

async function senderChecks(d: DoctorDeps, account: TwilioAccountAdmin, urls: WebhookUrls | null): Promise<CheckResult[]> {
  const { fromNumber, messagingServiceSid } = d.config.twilio;
  const out: CheckResult[] = [];
  const number = fromNumber?.startsWith('+') ? fromNumber : null;
  if (number === null && messagingServiceSid === null) return [skip('senders', 'no TWILIO_FROM_NUMBER (E.164) or TWILIO_MESSAGING_SERVICE_SID configured')];
  let serviceDefersToNumbers = true;
  if (messagingServiceSid !== null) {
    const name = `Messaging Service ${messagingServiceSid}`;
    const s = await account.fetchService(messagingServiceSid).catch((e: unknown) => e as Error);
    if (s instanceof Error || s === null) {
      out.push(
        fail(
          name,
          s === null ? 'not found in this account' : `could not be read: ${s.message}`,
          'set TWILIO_MESSAGING_SERVICE_SID to a service of this account (Console → Messaging → Services)',
        ),
      );
    } else {
      serviceDefersToNumbers = s.useInboundWebhookOnNumber;
      out.push(ok(name, `exists${s.friendlyName ? ` (${s.friendlyName})` : ''}`));
      out.push(
        webhookCheck(
          `${name} webhooks`,
          urls,
          { InboundRequestUrl: [s.inboundRequestUrl, urls?.inbound], StatusCallback: [s.statusCallback, urls?.status] },
          `smsrelay twilio connect --messaging-service ${messagingServiceSid}`,
          s.useInboundWebhookOnNumber ? " (inbound goes to each number's SmsUrl: UseInboundWebhookOnNumber is true)" : '',
        ),
      );
    }
  }
  if (number !== null) {
    const name = `sender ${number}`;
    const n = await account.findNumber(number).catch((e: unknown) => e as Error);
    if (n instanceof Error || n === null) {
      out.push(
        fail(
          name,
          n === null ? `not owned by ${d.config.twilio.accountSid}` : `could not be read: ${n.message}`,
          'set TWILIO_FROM_NUMBER to a number of this account (Console → Phone Numbers → Active numbers), or buy or port it',
        ),
      );
    } else if (!n.capabilities.sms) {
      out.push(fail(name, 'owned but not SMS-capable', 'use an SMS-capable number (capabilities.sms) as TWILIO_FROM_NUMBER'));
    } else {
      out.push(ok(name, `owned and SMS-capable (${n.sid})`));
      out.push(
        serviceDefersToNumbers
          ? webhookCheck(
              `${name} webhooks`,
              urls,
              { SmsUrl: [n.smsUrl, urls?.inbound], StatusCallback: [n.statusCallback, urls?.status] },
              `smsrelay twilio connect --number ${number}`,
              '',
            )
          : skip(`${name} webhooks`, 'inbound goes to the Messaging Service (UseInboundWebhookOnNumber is false)'),
      );
    }
  }
  return out;
}

function webhookCheck(
  name: string,
  urls: WebhookUrls | null,
  fields: Record<string, [string | null, string | undefined]>,
  command: string,
  note: string,
): CheckResult {
  if (urls === null) return skip(name, 'cannot compare without a valid SMSRELAY_PUBLIC_URL');
  const wrong = Object.entries(fields).filter(([, [is, want]]) => is !== want);
  if (wrong.length === 0) return ok(name, `point here${note}`);
  return fail(name, wrong.map(([k, [is, want]]) => `${k} is ${is ?? '(none)'}, expected ${want}`).join('; '), `run \`${command}\``);
}

/** Who can reach the emulator this installation uses (the built-in one, or one named by TWILIO_API_BASE_URL). */
function exposureCheck(config: Config): CheckResult {
  const name = 'emulator exposure';
  if (config.provider === 'emulator') {
    return ok(
      name,
      config.emulator.access === 'token'
        ? 'built-in emulator open to the network with its access token (SMSRELAY_EMULATOR_ACCESS=token)'
        : `built-in emulator answers loopback clients only${isLoopbackHost(config.host) ? '' : ` (the relay listens on ${config.host})`}`,
    );
  }
  const base = config.twilio.apiBaseUrl;
  if (config.provider !== 'twilio' || base === null) return skip(name, 'no emulator in use');
  const u = new URL(base);
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    return fail(
      name,
      `TWILIO_API_BASE_URL ${base} is plain http to another host: credentials and messages cross the network in clear`,
      'run the emulator on this host (loopback) or put it behind https',
    );
  }
  return ok(name, `Twilio API calls go to ${base}${isLoopbackHost(u.hostname) ? ' (loopback)' : ''}`);
}
