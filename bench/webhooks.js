// npm run bench:webhooks — signed Twilio status callbacks against bare Fastify, in the same run.
//   (a) bare Fastify + @fastify/formbody answering 204 to the same form POSTs — the ceiling
//   (b) smsrelay POST /webhooks/twilio/status: signature check, de-duplication, forward-only
//       update, raw record and status event, durable before the answer, on each database of
//       `--db sqlite` / `--db postgres://…` (repeatable; a fresh PostgreSQL database per run,
//       dropped after; with pg_stat_statements loaded, SQL statements per callback too)
// Each of the N messages gets one 'delivered' callback (N distinct signed requests), after a
// warm-up of 'sent' callbacks. Servers run in child processes on 127.0.0.1; autocannon is bounded
// by `amount`, so the run ends after exactly N requests per target.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fork } from 'node:child_process';
import {
  benchArgs,
  cannonList,
  dbLabel,
  dropStalePgDatabases,
  forkServer,
  freePort,
  freshPgDatabase,
  pgCounter,
  pgDiff,
  printTable,
  signedCallbacks,
  stop,
  summarize,
} from './lib.js';

const N = Number(process.env.BENCH_MESSAGES ?? 10_000);
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

async function relayServer(port, dbUrl, n) {
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
  // n messages the worker already handed to Twilio (status 'queued'), as the callbacks expect.
  const now = Date.now();
  const tenant = relay.defaultTenant.id;
  for (let i = 0; i < n; i += 500) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      rows.push({
        id: uuidv7(),
        tenant_id: tenant,
        direction: 'outbound',
        channel: 'sms',
        to_addr: '+14155552671',
        from_addr: '+15005550006',
        messaging_service_sid: null,
        body: 'bench',
        media_urls: null,
        encoding: 'GSM-7',
        segments: 1,
        status: 'queued',
        provider_sid: sidOf(j),
        error_code: null,
        provider_code: null,
        error_message: null,
        price: null,
        price_unit: null,
        attempts: 1,
        max_attempts: 5,
        next_attempt_at: null,
        locked_until: null,
        locked_by: null,
        in_flight_since: null,
        send_at: null,
        expires_at: null,
        validity_period: null,
        idempotency_key: null,
        conversation_id: null,
        metadata: null,
        created_at: now,
        updated_at: now,
        sent_at: now,
      });
    }
    await relay.db.kysely.insertInto('messages').values(rows).execute();
  }
  await relay.listen();
  process.on('message', async (m) => {
    if (m === 'count') {
      const rows = await relay.db.kysely
        .selectFrom('messages')
        .select(['status'])
        .select((eb) => eb.fn.countAll().as('n'))
        .groupBy('status')
        .execute();
      const events = await relay.db.kysely
        .selectFrom('message_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      process.send({ statuses: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])), events: Number(events.n) });
    }
  });
  process.send({ ready: true, accountSid: relay.emulator.accountSid, authToken: relay.emulator.authToken });
}

// ---- the benchmark --------------------------------------------------------------------------------

const callbacks = (base, creds, status, count) =>
  signedCallbacks(
    base + PATH,
    creds.accountSid,
    creds.authToken,
    Array.from({ length: count }, (_, i) => [sidOf(i), status]),
  );

function ask(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

/** The relay in a child process on a fresh database; resolves with the child and the emulator's credentials. */
async function startRelay(self, port, dbUrl, n) {
  const child = fork(self, ['relay', String(port), dbUrl, String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const creds = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return { child, creds };
}

async function main() {
  const { dbs, quick } = benchArgs();
  const n = quick ? Math.min(N, 2_000) : N;
  const warmup = quick ? Math.min(WARMUP, 500) : WARMUP;
  const self = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-wh-'));
  const children = [];
  const drops = [];
  const results = [];
  try {
    for (const db of dbs) if (db !== 'sqlite') await dropStalePgDatabases(db);
    const barePort = await freePort();
    const bare = await forkServer(self, ['bare', String(barePort)]);
    children.push(bare);
    const bareBase = `http://127.0.0.1:${barePort}`;
    // The bare server checks no signature: any credentials do for its requests.
    const anyCreds = { accountSid: 'AC' + '0'.repeat(32), authToken: '0'.repeat(32) };
    await cannonList(bareBase + PATH, callbacks(bareBase, anyCreds, 'sent', warmup), CONNECTIONS);
    const a = summarize('bare Fastify (form POST → 204)', await cannonList(bareBase + PATH, callbacks(bareBase, anyCreds, 'delivered', n), CONNECTIONS));
    await stop(bare);

    for (const db of dbs) {
      const pgDb = db === 'sqlite' ? null : await freshPgDatabase(db, 'wh');
      if (pgDb) drops.push(pgDb.drop);
      const dbUrl = pgDb ? pgDb.url : `sqlite:${join(dir, 'bench.db')}`;
      const relayPort = await freePort();
      const { child: relay, creds } = await startRelay(self, relayPort, dbUrl, n);
      children.push(relay);
      const relayBase = `http://127.0.0.1:${relayPort}`;
      const counter = pgDb ? await pgCounter(pgDb.url, pgDb.name) : null;
      try {
        // Warm-up (JIT, connection pools, page cache): 'sent' callbacks for the first messages.
        await cannonList(relayBase + PATH, callbacks(relayBase, creds, 'sent', warmup), CONNECTIONS);
        const s0 = await counter?.snapshot();
        const b = summarize(`smsrelay ${PATH}, ${dbLabel(db)}`, await cannonList(relayBase + PATH, callbacks(relayBase, creds, 'delivered', n), CONNECTIONS));
        const s1 = await counter?.snapshot();
        const counts = await ask(relay, 'count');
        b.ratio = `${Math.round((100 * b.reqs) / a.reqs)} %`;
        b.allDelivered = counts.statuses.delivered === n && b.errors === 0;
        b.counts = counts;
        if (counter?.statements) b.perCallback = (pgDiff(s0, s1).statements / n).toFixed(2);
        results.push({ db, b });
      } finally {
        await counter?.close();
        await stop(relay);
        await pgDb?.drop();
      }
    }

    console.log(
      `\nsigned status callbacks: ${n} messages, one 'delivered' callback each, ${CONNECTIONS} connections${quick ? ' (--quick: checks the harness, not a measurement)' : ''}\n`,
    );
    a.ratio = '100 %';
    printTable([a, ...results.map((r) => r.b)], ['name', 'reqs', 'p50', 'p99', 'errors', 'ratio', 'perCallback']);
    console.log('\n(perCallback: SQL statements per callback on PostgreSQL, from pg_stat_statements, BEGIN/COMMIT included)');
    for (const { db, b } of results) {
      console.log(`${dbLabel(db)}: messages by status after the run: ${JSON.stringify(b.counts.statuses)}; status events: ${b.counts.events}`);
    }
    const yes = (ok) => (ok ? 'met' : 'NOT met');
    const summary = [];
    for (const { db, b } of results) {
      const all = {
        database: dbLabel(db),
        measure: `all ${n} delivered exactly once`,
        value: b.allDelivered ? 'yes' : 'NO',
        target: 'yes',
        met: yes(b.allDelivered),
      };
      if (db === 'sqlite') {
        summary.push(
          {
            database: 'SQLite',
            measure: 'callbacks/s vs bare Fastify',
            value: `${b.ratio}, p99 ${b.p99} ms`,
            target: '>= 40 %, p99 <= 25 ms',
            met: yes(b.reqs >= 0.4 * a.reqs && b.p99 <= 25),
          },
          all,
        );
      } else {
        summary.push(
          {
            database: 'PostgreSQL',
            measure: 'callbacks/s (issue 10)',
            value: `${b.reqs}/s, p99 ${b.p99} ms`,
            target: '>= 4,000/s, p99 <= 25 ms',
            met: yes(b.reqs >= 4000 && b.p99 <= 25),
          },
          all,
        );
      }
    }
    console.log('');
    printTable(summary, ['database', 'measure', 'value', 'target', 'met']);
    process.exitCode = results.every((r) => r.b.allDelivered) ? 0 : 1;
  } finally {
    for (const c of children) await stop(c);
    for (const d of drops) await d().catch((e) => console.error(`could not drop a benchmark database: ${e.message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

// One file, three roles: the bare server, the relay (child processes) and the benchmark itself.
if (process.argv[2] === 'bare') await bareServer(Number(process.argv[3]));
else if (process.argv[2] === 'relay') await relayServer(Number(process.argv[3]), process.argv[4], Number(process.argv[5]));
else await main();
