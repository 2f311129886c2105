// `smsrelay emulator`: the Twilio emulator on its own port. Argument parsing only; the env is
// passed in (nothing here reads process.env).
import { parseArgs } from 'node:util';
import { loadEmulatorAccess } from '../config.js';
import { createEmulator, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, MIN_ACCESS_TOKEN_LENGTH, type ChaosUpdate } from '../emulator/index.js';

const USAGE = `Usage: smsrelay emulator [options]

A local Twilio-compatible server (Messages, Verify, Lookup, status callbacks, simulated handsets).

  --port <n>              port (default 4010; 0 = any free port)
  --host <addr>           interface (default 127.0.0.1)
  --access <mode>         who is answered: loopback (default; other hosts get 403) or token
                          (other hosts too, with --token); default: $SMSRELAY_EMULATOR_ACCESS
  --token <secret>        access token (>= ${MIN_ACCESS_TOKEN_LENGTH} characters) for --access token: 'Authorization:
                          Bearer <token>' on /emulator/api, Basic auth password on the pages;
                          default: $SMSRELAY_EMULATOR_TOKEN. Twilio API paths from other hosts
                          need a non-default --auth-token.
  --account-sid <AC…>     default: $TWILIO_ACCOUNT_SID, else ${DEFAULT_ACCOUNT_SID}
  --auth-token <token>    default: $TWILIO_AUTH_TOKEN, else ${DEFAULT_AUTH_TOKEN}
  --numbers <list>        owned numbers, comma-separated E.164 (default +15005550006)
  --inbound-url <url>     where messages texted to owned numbers are POSTed while neither the
                          number's SmsUrl nor its Messaging Service's InboundRequestUrl is set
                          (smsrelay twilio connect sets them)
  --status-callback <url> status callback when a create gives none
  --public-url <url>      base URL used in media URLs (default http://<host>:<port>)
  --mps <n>               segments per second per sender (default 100000 = no pacing)
  --max-messages <n>      messages kept in memory (default 100000)
  --advanced-opt-out      add OptOutType to inbound webhooks
  --no-callbacks          send no status callbacks
  --chaos '<json>'        initial chaos settings, e.g. '{"errors":{"messages.create":{"rate":0.1,"status":500,"code":20500}}}'
  -h, --help
`;

function positiveNumber(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number`);
  return n;
}

export async function runEmulatorCommand(args: string[], env: Record<string, string | undefined>): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      access: { type: 'string' },
      token: { type: 'string' },
      'account-sid': { type: 'string' },
      'auth-token': { type: 'string' },
      numbers: { type: 'string' },
      'inbound-url': { type: 'string' },
      'status-callback': { type: 'string' },
      'public-url': { type: 'string' },
      mps: { type: 'string' },
      'max-messages': { type: 'string' },
      'advanced-opt-out': { type: 'boolean', default: false },
      'no-callbacks': { type: 'boolean', default: false },
      chaos: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be an integer 0..65535');
  let chaos: ChaosUpdate | undefined;
  if (values.chaos !== undefined) {
    try {
      chaos = JSON.parse(values.chaos) as ChaosUpdate;
    } catch {
      throw new Error('--chaos must be JSON');
    }
  }
  // Flags over env, validated by the same rules as the relay's SMSRELAY_EMULATOR_* variables.
  const access = loadEmulatorAccess({
    SMSRELAY_EMULATOR_ACCESS: values.access ?? env.SMSRELAY_EMULATOR_ACCESS,
    SMSRELAY_EMULATOR_TOKEN: values.token ?? env.SMSRELAY_EMULATOR_TOKEN,
  });
  const accountSid = values['account-sid'] ?? env.TWILIO_ACCOUNT_SID ?? DEFAULT_ACCOUNT_SID;
  const authToken = values['auth-token'] ?? env.TWILIO_AUTH_TOKEN ?? DEFAULT_AUTH_TOKEN;
  const mps = positiveNumber(values.mps, 'mps');
  const maxMessages = positiveNumber(values['max-messages'], 'max-messages');
  const emulator = createEmulator({
    accountSid,
    authToken,
    ...(values.numbers
      ? {
          numbers: values.numbers
            .split(',')
            .map((n) => n.trim())
            .filter(Boolean),
        }
      : {}),
    inboundUrl: values['inbound-url'] ?? null,
    defaultStatusCallback: values['status-callback'] ?? null,
    ...(values['public-url'] ? { publicBaseUrl: values['public-url'] } : {}),
    ...(mps !== undefined ? { mps } : {}),
    ...(maxMessages !== undefined ? { maxMessages } : {}),
    advancedOptOut: values['advanced-opt-out'],
    callbacks: !values['no-callbacks'],
    ...(chaos ? { chaos } : {}),
    access: access.access === 'token' ? { mode: 'token', token: access.token! } : { mode: 'loopback' },
  });
  const base = await emulator.listen(port, values.host);
  // Fake local credentials: printing them is the point.
  process.stdout.write(
    [
      `Twilio emulator listening on ${base} (${emulator.accessDescription})`,
      `  inbox API:             ${base}/emulator/api/messages`,
      `  account SID:           ${emulator.accountSid}`,
      `  auth token:            ${emulator.authToken}`,
      `  messaging service(s):  ${emulator.messagingServiceSids.join(', ')}`,
      '',
      'Point smsrelay at it with:',
      `  TWILIO_ACCOUNT_SID=${emulator.accountSid} TWILIO_AUTH_TOKEN=${emulator.authToken} TWILIO_API_BASE_URL=${base}`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void emulator.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
