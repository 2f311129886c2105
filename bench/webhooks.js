// npm run bench:webhooks — signed Twilio status callbacks against bare Fastify, in the same run.
//   (a) bare Fastify + @fastify/formbody answering 204 to the same form POSTs — the ceiling
//   (b) smsrelay POST /webhooks/twilio/status: signature check, de-duplication, forward-only
//       update, raw record and status event, durable before the answer (SQLite by default;
//       SMSRELAY_BENCH_DATABASE_URL=postgres://… for PostgreSQL)
// Each of the N messages gets one 'delivered' callback (N distinct signed requests), after a
// warm-up of 'sent' callbacks. Servers run in child processes on 127.0.0.1; autocannon is bounded
// by `amount`, so the run ends after exactly N requests per target.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { cannon, forkServer, freePort, printTable, stop, summarize } from './lib.js';

const N = Number(process.env.BENCH_MESSAGES ?? 20_000);
const WARMUP = Math.min(N, Number(process.env.BENCH_WARMUP ?? 2_000));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PATH = '/webhooks/twilio/status';
const sidOf = (i) => 'SM' + i.toString(16).padStart(32, '0');

// ---- child processes ----------------------------------------------------------------------------

async function bareServer(port) {
  const { default: Fastify } = await import('fastify');
  const { default: formbody } = await import('@fastify/formbody');
  const app = Fastify({ logger: false });
  await app.register(formbody);
  app.post(PATH, async (_req, reply) => reply.code(204).send());
  await app.listen({ host: '127.0.0.1', port });
  process.send({ ready: true });
}

async function relayServer(port, dbUrl) {
  const { createSmsRelay } = await import('../dist/main.js');
  const { uuidv7 } = await import('uuidv7');
  const relay = await createSmsRelay({
    host: '127.0.0.1',
    port,
    databaseUrl: dbUrl,
    logLevel: 'silent',
    worker: { enabled: false },
    reconciler: { enabled: false },
  });
  // N messages the worker already handed to Twilio (status 'queued'), as the callbacks expect.
  const now = Date.now();
  const tenant = relay.defaultTenant.id;
  for (let i = 0; i < N; i += 500) {
    const rows = [];
    for (let j = i; j < Math.min(N, i + 500); j++) {
      rows.push({
        id: uuidv7(), tenant_id: tenant, direction: 'outbound', channel: 'sms', to_addr: '+14155552671', from_addr: '+15005550006',
        messaging_service_sid: null, body: 'bench', media_urls: null, encoding: 'GSM-7', segments: 1, status: 'queued', provider_sid: sidOf(j),
        error_code: null, provider_code: null, error_message: null, price: null, price_unit: null, attempts: 1, max_attempts: 5,
        next_attempt_at: null, locked_until: null, locked_by: null, in_flight_since: null, send_at: null, expires_at: null, validity_period: null,
        idempotency_key: null, conversation_id: null, metadata: null, created_at: now, updated_at: now, sent_at: now,
      });
    }
    await relay.store.kysely.insertInto('messages').values(rows).execute();
  }
  await relay.listen();
  process.on('message', async (m) => {
    if (m === 'count') {
      const rows = await relay.store.kysely.selectFrom('messages').select(['status']).select((eb) => eb.fn.countAll().as('n')).groupBy('status').execute();
      const events = await relay.store.kysely.selectFrom('message_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      process.send({ statuses: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])), events: Number(events.n) });
    }
  });
  process.send({ ready: true, accountSid: relay.emulator.accountSid, authToken: relay.emulator.authToken });
}

if (process.argv[2] === 'bare') await bareServer(Number(process.argv[3]));
else if (process.argv[2] === 'relay') await relayServer(Number(process.argv[3]), process.argv[4]);
else await main();

// ---- the benchmark --------------------------------------------------------------------------------

function requests(base, accountSid, authToken, status, count) {
  const url = base + PATH;
  const list = [];
  for (let i = 0; i < count; i++) {
    const sid = sidOf(i);
    const params = {
      AccountSid: accountSid, ApiVersion: '2010-04-01', From: '+15005550006', To: '+14155552671',
      MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, ...(status === 'delivered' ? { RawDlrDoneDate: '2604141012' } : {}),
    };
    list.push({
      body: new URLSearchParams(params).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': getExpectedTwilioSignature(authToken, url, params),
        'i-twilio-idempotency-token': randomUUID(),
        'user-agent': 'TwilioProxy/1.1',
      },
    });
  }
  return list;
}

function run(base, list) {
  let next = 0;
  return cannon({
    url: base + PATH,
    method: 'POST',
    connections: CONNECTIONS,
    amount: list.length,
    requests: [{ setupRequest: (req) => ({ ...req, ...list[next++ % list.length] }) }],
  });
}

function ask(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

async function main() {
  const self = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-wh-'));
  const dbUrl = process.env.SMSRELAY_BENCH_DATABASE_URL ?? `sqlite:${join(dir, 'bench.db')}`;
  const children = [];
  try {
    const barePort = await freePort();
    const bare = await forkServer(self, ['bare', String(barePort)]);
    children.push(bare);
    const relayPort = await freePort();
    let creds;
    const relay = await new Promise((resolve, reject) => {
      import('node:child_process').then(({ fork }) => {
        const c = fork(self, ['relay', String(relayPort), dbUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        c.once('message', (m) => {
          creds = m;
          resolve(c);
        });
        c.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
      });
    });
    children.push(relay);

    const bareBase = `http://127.0.0.1:${barePort}`;
    const relayBase = `http://127.0.0.1:${relayPort}`;
    console.log(`signed status callbacks: ${N} messages, ${CONNECTIONS} connections, ${dbUrl.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL'}`);
    // Warm-up (JIT, connection pools, page cache): 'sent' callbacks for the first messages.
    await run(bareBase, requests(bareBase, creds.accountSid, creds.authToken, 'sent', WARMUP));
    await run(relayBase, requests(relayBase, creds.accountSid, creds.authToken, 'sent', WARMUP));

    const a = summarize('bare Fastify (form POST → 204)', await run(bareBase, requests(bareBase, creds.accountSid, creds.authToken, 'delivered', N)));
    const b = summarize('smsrelay /webhooks/twilio/status', await run(relayBase, requests(relayBase, creds.accountSid, creds.authToken, 'delivered', N)));
    const counts = await ask(relay, 'count');
    for (const r of [a, b]) r.ratio = `${Math.round((100 * r.reqs) / a.reqs)} %`;
    console.log();
    printTable([a, b], ['name', 'reqs', 'p50', 'p99', 'errors', 'ratio']);
    console.log();
    console.log(`messages by status after the run: ${JSON.stringify(counts.statuses)}; status events: ${counts.events}`);
    const okRatio = b.reqs >= 0.4 * a.reqs;
    const okP99 = b.p99 <= 25;
    const okAll = counts.statuses.delivered === N && b.errors === 0;
    console.log(`target ≥ 40 % of bare Fastify: ${okRatio ? 'met' : 'NOT met'}; p99 ≤ 25 ms: ${okP99 ? 'met' : 'NOT met'}; all ${N} delivered exactly once: ${okAll ? 'yes' : 'NO'}`);
    process.exitCode = okAll ? 0 : 1;
  } finally {
    for (const c of children) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  }
}
