// npm run bench:send -- [--db sqlite | --db postgres://…]… [--quick] — the send path against
// baselines measured in the same run (see README.md).
//   (a) bare Fastify answering 202                          — ceiling for any POST handler
//   (r) bare synchronous relay: Fastify + fetch to the emulator per request
//   per database (a fresh SQLite file or PostgreSQL database per case):
//   (b) POST /v1/messages (auth, idempotency key, validation, durable insert), API only
//   (c) smsrelay end to end: N messages over HTTP, sent to the emulator by the in-process worker
//   PostgreSQL only:
//   (x) scale-out: 2 `serve --no-worker` processes (load split over both) + 1 `worker` process
//   (s) SQL statements per message: accept + dispatch, then two signed callbacks per message
// With a PostgreSQL URL the SQLite cases run too: the targets compare PostgreSQL with SQLite.
// --policy '<settings JSON>' (or --policy default: the issue's case — a daily cap and a per-recipient
// limit that the run never reaches, quiet hours whose window is open now, and every message sent from
// a template) instead measures (b) and (c) per database without and with those settings applied to
// the default tenant: the cost of the sending policy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  applySettings,
  benchArgs,
  cannon,
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
  startCli,
  startWorkerCli,
  stop,
  summarize,
  waitFor,
} from './lib.js';

const { dbs: requested, quick, policy: policyArg } = benchArgs();
// Counted on every send, never reached: 100,000 random recipients get at most a few messages each.
// Quiet hours are checked on every send but open now: the window is the recipients' (area code 415)
// local hour ± 3 h, so no message is held.
const laHour = Number(new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hour: 'numeric', hourCycle: 'h23' }).format(new Date()));
const hhmm = (h) => `${String((h + 24) % 24).padStart(2, '0')}:00`;
const DEFAULT_POLICY = {
  daily_cap: 1_000_000_000,
  recipient_limits: { transactional: { max: 5, per_seconds: 3600 } },
  quiet_hours: { transactional: { start: hhmm(laHour - 3), end: hhmm(laHour + 3) } },
};
const POLICY = policyArg === null ? null : policyArg === 'default' ? DEFAULT_POLICY : JSON.parse(policyArg);
// With --policy default the policy runs also render every message from this template.
const TEMPLATE =
  policyArg === 'default'
    ? {
        name: 'bench_shipped',
        category: 'transactional',
        default_locale: 'en',
        locales: { en: 'Your order {{ order }} has shipped. Track it at https://example.com/t/{{ order }}' },
      }
    : null;
// The serve process caches a tenant's settings this long (it read them at start).
const SETTINGS_CACHE_MS = 5_000;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION = Number(process.env.BENCH_DURATION ?? (quick ? 3 : 10));
const WARMUP = quick ? 1 : 2;
const N = Number(process.env.BENCH_MESSAGES ?? (quick ? 2_000 : 20_000));
const ACCOUNT_SID = 'AC' + 'b'.repeat(32);
const AUTH_TOKEN = 'c'.repeat(32);
const API_KEY = 'smsr_bench_' + 'k'.repeat(32);
const BODY = JSON.stringify({ to: '+14155552671', body: 'Your order has shipped. Track it at https://example.com/t/123' });
const auth = { authorization: `Bearer ${API_KEY}` };

const pgUrls = requested.filter((d) => d !== 'sqlite');
// PostgreSQL's targets are relative to SQLite's numbers of the same run.
const dbs = ['sqlite', ...pgUrls];

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-'));
const children = [];
const drops = [];
const cleanup = async () => {
  for (const c of children) await stop(c);
  for (const d of drops) await d().catch((e) => console.error(`could not drop a benchmark database: ${e.message}`));
  rmSync(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => cleanup().finally(() => process.exit(130)));

/** A fresh database for one case: a SQLite file, or a new PostgreSQL database dropped at the end. */
async function freshDb(db, label) {
  if (db === 'sqlite') return { url: `sqlite:${join(dir, `${label}.db`)}`, drop: async () => {} };
  const d = await freshPgDatabase(db, label);
  drops.push(d.drop);
  return d;
}

function relayEnv(dbUrl, port, extra = {}) {
  return {
    ...(port ? { PORT: String(port) } : {}),
    SMSRELAY_DATABASE_URL: dbUrl,
    SMSRELAY_API_KEY: API_KEY,
    SMSRELAY_LOG_LEVEL: 'warn',
    SMSRELAY_DATA_DIR: dir,
    ...extra,
  };
}

// Real Twilio mode paces a US long code at 1 segment/s by default; the emulator does not pace, and
// these cases measure smsrelay, not a long code's throughput.
function providerEnv(emuBase) {
  return {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: emuBase,
    TWILIO_FROM_NUMBER: '+15005550006',
    SMSRELAY_PACING_DEFAULTS: 'false',
  };
}

async function startServe(dbUrl, extraArgs, extraEnv = {}, policy = null) {
  const port = await freePort();
  const child = await startCli(['serve', ...extraArgs], relayEnv(dbUrl, port, extraEnv), `http://127.0.0.1:${port}/healthz`);
  children.push(child);
  if (policy) {
    await applySettings(dbUrl, policy);
    if (TEMPLATE) {
      const r = await fetch(`http://127.0.0.1:${port}/v1/templates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(TEMPLATE),
      });
      if (!r.ok) throw new Error(`creating the benchmark template: ${r.status} ${await r.text()}`);
    }
    await new Promise((r) => setTimeout(r, SETTINGS_CACHE_MS + 500));
  }
  return { child, base: `http://127.0.0.1:${port}` };
}

/** The message of one request: a plain body, or (policy runs with TEMPLATE) the same text from the template. */
function messageOf(to, templated) {
  const order = String(100 + Math.floor(Math.random() * 900));
  return templated && TEMPLATE
    ? { to, template: { name: TEMPLATE.name, variables: { order } } }
    : { to, body: `Your order ${order} has shipped. Track it at https://example.com/t/${order}` };
}

function postMessages(url, extra = {}, templated = false) {
  return {
    url: `${url}/v1/messages`,
    method: 'POST',
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', ...auth },
    body: BODY,
    // A fresh Idempotency-Key per request, as a careful client would send, and a recipient out of
    // 100,000 (more than the phone-number memo holds), so the benchmark does not ride on caches.
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, 'idempotency-key': randomUUID() },
          body: JSON.stringify(messageOf(`+1415${2000000 + Math.floor(Math.random() * 100_000)}`, templated)),
        }),
      },
    ],
    ...extra,
  };
}

/** The policy really ran: every accepted message was counted against the daily cap. */
async function assertCounted(base, accepted) {
  const stats = await (await fetch(`${base}/v1/policy/stats`, { headers: auth })).json();
  if (stats.sent !== accepted) throw new Error(`policy not in effect: ${stats.sent} messages counted, ${accepted} accepted`);
}

/** True once no message is left in smsrelay's outbox: each has had its provider call answered. */
async function outboxEmpty(base) {
  const r = await fetch(`${base}/v1/messages?status=pending&limit=1`, { headers: auth });
  return (await r.json()).data.length === 0;
}

async function drain(base) {
  if (!(await waitFor(() => outboxEmpty(base)))) throw new Error(`the outbox at ${base} did not empty within 300 s`);
}

const pct = (x, y) => `${Math.round((100 * x) / y)} %`;

// (b) API only: POST /v1/messages for DURATION seconds after a warm-up.
async function caseB(db, policy = null) {
  const d = await freshDb(db, 'b');
  const { child, base } = await startServe(d.url, ['--no-worker'], {}, policy);
  await cannon(postMessages(base, { duration: WARMUP }, policy !== null));
  const res = summarize(
    `(b) POST /v1/messages, ${CONNECTIONS} conn.${policy ? ', policy' : ''}`,
    await cannon(postMessages(base, { duration: DURATION }, policy !== null)),
  );
  await stop(child);
  await d.drop();
  return res;
}

// (c) end to end in one process: accept N messages over HTTP; the in-process worker sends them.
async function caseC(db, emuBase, policy = null) {
  const d = await freshDb(db, 'c');
  const { child, base } = await startServe(d.url, [], providerEnv(emuBase), policy);
  const t0 = Date.now();
  const res = await cannon(postMessages(base, { amount: N }, policy !== null));
  await drain(base);
  const elapsed = (Date.now() - t0) / 1000;
  // With a cap, the day's count proves the policy ran (without one, nothing is counted per day).
  if (policy?.daily_cap != null) await assertCounted(base, res['2xx']);
  await stop(child);
  await d.drop();
  await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });
  const s = summarize(`(c) end to end, 1 process, ${N} msgs${policy ? ', policy' : ''}`, res);
  return { ...s, accepted: s.reqs, reqs: Math.round(res['2xx'] / elapsed) };
}

// (x) scale-out: two API processes on one database, the load split over both, and one worker process.
async function caseScaleOut(db, emuBase) {
  const d = await freshDb(db, 'x');
  // One after the other: the first one migrates the fresh database.
  const api1 = await startServe(d.url, ['--no-worker']);
  const api2 = await startServe(d.url, ['--no-worker']);
  const worker = await startWorkerCli({ ...relayEnv(d.url, null), ...providerEnv(emuBase) });
  children.push(worker);
  const half = Math.floor(N / 2);
  const t0 = Date.now();
  const runs = await Promise.all([
    cannon(postMessages(api1.base, { amount: half, connections: CONNECTIONS / 2 })),
    cannon(postMessages(api2.base, { amount: N - half, connections: CONNECTIONS - CONNECTIONS / 2 })),
  ]);
  const acceptedMs = Math.max(...runs.map((r) => r.elapsedMs));
  await drain(api1.base);
  const elapsed = (Date.now() - t0) / 1000;
  for (const c of [api1.child, api2.child, worker]) await stop(c);
  await d.drop();
  await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });
  const ok = runs.reduce((n, r) => n + r['2xx'], 0);
  // Latency: the worse of the two halves (autocannon gives no merged histogram).
  const worst = runs[0].latency.p99 >= runs[1].latency.p99 ? runs[0] : runs[1];
  return {
    name: `(x) end to end, 2 API + 1 worker, ${N} msgs`,
    accepted: Math.round(ok / (acceptedMs / 1000)),
    reqs: Math.round(ok / elapsed),
    p50: worst.latency.p50,
    p99: worst.latency.p99,
    errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
  };
}

// (s) SQL statements per message on PostgreSQL: accept + dispatch (as in (c)), then two signed
// status callbacks per message (sent, delivered) at the same concurrency, counted from
// pg_stat_statements around each phase.
async function caseStatements(db, emuBase) {
  const d = await freshDb(db, 's');
  const { child, base } = await startServe(d.url, [], providerEnv(emuBase));
  const counter = await pgCounter(d.url, d.name);
  try {
    if (!counter.statements) return { counted: false };
    const pendingLeft = async () => Number((await counter.query("SELECT count(*) AS n FROM messages WHERE status = 'pending'")).rows[0].n);
    const s0 = await counter.snapshot();
    const accepted = await cannon(postMessages(base, { amount: N }));
    if (!(await waitFor(async () => (await pendingLeft()) === 0))) throw new Error('(s): the outbox did not empty within 300 s');
    const s1 = await counter.snapshot();
    const sids = (await counter.query('SELECT provider_sid FROM messages WHERE provider_sid IS NOT NULL')).rows.map((r) => r.provider_sid);
    const url = `${base}/webhooks/twilio/status`;
    const list = signedCallbacks(url, ACCOUNT_SID, AUTH_TOKEN, [...sids.map((s) => [s, 'sent']), ...sids.map((s) => [s, 'delivered'])]);
    const cb = await cannonList(url, list, CONNECTIONS);
    const delivered = async () => Number((await counter.query("SELECT count(*) AS n FROM messages WHERE status = 'delivered'")).rows[0].n);
    await waitFor(async () => (await delivered()) === sids.length, 30_000);
    const s2 = await counter.snapshot();
    const send = pgDiff(s0, s1);
    const callbacks = pgDiff(s1, s2);
    const all = pgDiff(s0, s2);
    const m = accepted['2xx'];
    return {
      counted: counter.statements,
      messages: m,
      callbacks: cb['2xx'],
      delivered: await delivered(),
      errors: accepted.errors + accepted.non2xx + cb.errors + cb.non2xx,
      perMessage: all.statements / m,
      sendPerMessage: send.statements / m,
      perCallback: callbacks.statements / Math.max(1, cb['2xx']),
      controlPerMessage: all.control / m,
      evicted: all.evicted,
      top: all.byQuery.slice(0, 12),
    };
  } finally {
    await counter.close();
    await stop(child);
    await d.drop();
    await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });
  }
}

/** --policy: (b) and (c) per database, without and with the settings, side by side. */
async function policyMain() {
  for (const url of pgUrls) await dropStalePgDatabases(url);
  const ePort = await freePort();
  const emuBase = `http://127.0.0.1:${ePort}`;
  const emu = await startCli(
    ['emulator', '--port', String(ePort), '--account-sid', ACCOUNT_SID, '--auth-token', AUTH_TOKEN, '--no-callbacks', '--max-messages', String(N * 3)],
    {},
    `${emuBase}/emulator/api/config`,
  );
  children.push(emu);
  const cols = ['case', 'req/s or msg/s', 'accepted/s', 'p50 ms', 'p99 ms', 'errors'];
  const row = (x) => ({ case: x.name, 'req/s or msg/s': x.reqs, 'accepted/s': x.accepted ?? '', 'p50 ms': x.p50, 'p99 ms': x.p99, errors: x.errors });
  const summary = [];
  for (const db of dbs) {
    // Alternated, so that drift on a shared machine does not favour one side.
    const b0 = await caseB(db);
    const b1 = await caseB(db, POLICY);
    const c0 = await caseC(db, emuBase);
    const c1 = await caseC(db, emuBase, POLICY);
    console.log(`\n${dbLabel(db)}${db === 'sqlite' ? '' : ` (${db.replace(/\/\/[^@]*@/, '//')})`}\n`);
    printTable([b0, b1, c0, c1].map(row), cols);
    for (const [name, x0, x1] of [
      ['(b) with / without policy', b0, b1],
      ['(c) with / without policy', c0, c1],
    ]) {
      summary.push({
        database: dbLabel(db),
        measure: name,
        value: pct(x1.reqs, x0.reqs),
        target: '>= 90 %',
        met: x1.reqs >= 0.9 * x0.reqs ? 'met' : 'NOT met',
      });
    }
  }
  console.log(`\nSummary (policy: ${JSON.stringify(POLICY)})\n`);
  printTable(summary, ['database', 'measure', 'value', 'target', 'met']);
  console.log(
    `\n${CONNECTIONS} connections, ${DURATION} s per throughput run, N = ${N}${quick ? ' (--quick: checks the harness, not a measurement)' : ''}; node ${process.version}.`,
  );
}

async function main() {
  if (POLICY) return policyMain();
  for (const url of pgUrls) await dropStalePgDatabases(url);
  const byDb = new Map(dbs.map((db) => [db, {}]));

  // (a) bare Fastify
  const aPort = await freePort();
  const a = await forkServer(new URL('./servers/bare-fastify.js', import.meta.url).pathname, [String(aPort)]);
  children.push(a);
  const plain = {
    url: `http://127.0.0.1:${aPort}/v1/messages`,
    method: 'POST',
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json' },
    body: BODY,
  };
  await cannon({ ...plain, duration: WARMUP });
  const ra = summarize(`(a) bare Fastify 202, ${CONNECTIONS} conn.`, await cannon({ ...plain, duration: DURATION }));
  await stop(a);

  for (const db of dbs) byDb.get(db).b = await caseB(db);

  // The emulator, standalone, for (r), (c), (x) and (s); callbacks off (the (s) case sends its own).
  const ePort = await freePort();
  const emuBase = `http://127.0.0.1:${ePort}`;
  const emu = await startCli(
    ['emulator', '--port', String(ePort), '--account-sid', ACCOUNT_SID, '--auth-token', AUTH_TOKEN, '--no-callbacks', '--max-messages', String(N * 3)],
    {},
    `${emuBase}/emulator/api/config`,
  );
  children.push(emu);

  // (r) bare relay
  const rPort = await freePort();
  const r = await forkServer(new URL('./servers/bare-relay.js', import.meta.url).pathname, [String(rPort), emuBase, ACCOUNT_SID, AUTH_TOKEN]);
  children.push(r);
  const rr = summarize(
    `(r) bare relay, ${N} msgs`,
    await cannon({
      url: `http://127.0.0.1:${rPort}/v1/messages`,
      method: 'POST',
      connections: CONNECTIONS,
      amount: N,
      headers: { 'content-type': 'application/json' },
      body: BODY,
    }),
  );
  await stop(r);
  await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });

  for (const db of dbs) byDb.get(db).c = await caseC(db, emuBase);
  for (const url of pgUrls) {
    byDb.get(url).x = await caseScaleOut(url, emuBase);
    byDb.get(url).s = await caseStatements(url, emuBase);
  }

  // One table per database.
  const cols = ['case', 'req/s or msg/s', 'accepted/s', 'p50 ms', 'p99 ms', 'errors'];
  const row = (x) => ({ case: x.name, 'req/s or msg/s': x.reqs, 'accepted/s': x.accepted ?? '', 'p50 ms': x.p50, 'p99 ms': x.p99, errors: x.errors });
  console.log(`\nBaselines\n`);
  printTable([row(ra), row(rr)], cols);
  for (const db of dbs) {
    const m = byDb.get(db);
    console.log(`\n${dbLabel(db)}${db === 'sqlite' ? '' : ` (${db.replace(/\/\/[^@]*@/, '//')})`}\n`);
    printTable([m.b, m.c, ...(m.x ? [m.x] : [])].map(row), cols);
    if (m.s) {
      const s = m.s;
      console.log('');
      if (!s.counted) {
        console.log('(s) statements: pg_stat_statements is not loaded on this server (shared_preload_libraries); run');
        console.log('    SMSRELAY_PG_STAT_STATEMENTS=1 bash scripts/ensure-postgres.sh (restarts the server once).');
      } else {
        console.log(
          `(s) ${s.messages} messages accepted and dispatched, then ${s.callbacks} signed callbacks (${s.delivered} delivered), ${CONNECTIONS} connections, errors ${s.errors}:`,
        );
        console.log(
          `    ${s.perMessage.toFixed(2)} statements/message end to end (accept + dispatch ${s.sendPerMessage.toFixed(2)}, ${s.perCallback.toFixed(2)} per callback),`,
        );
        console.log(
          `    of which BEGIN/COMMIT ${s.controlPerMessage.toFixed(2)}/message; without them ${(s.perMessage - s.controlPerMessage).toFixed(2)}/message`,
        );
        if (s.evicted)
          console.log(`    WARNING: pg_stat_statements evicted ${s.evicted} entries during the run: the count is too low (raise pg_stat_statements.max)`);
        console.log('    most frequent statements:');
        for (const q of s.top) console.log(`    ${String(q.calls).padStart(8)}  ${q.query.slice(0, 110)}`);
      }
    }
  }

  // Side by side, with the targets of issue 10.
  const sq = byDb.get('sqlite');
  const yes = (ok) => (ok ? 'met' : 'NOT met');
  const summary = [
    {
      database: 'SQLite',
      measure: '(b) POST /v1/messages',
      value: `${sq.b.reqs} req/s, p99 ${sq.b.p99} ms`,
      target: '>= 4,500 req/s',
      met: yes(sq.b.reqs >= 4500),
    },
    { database: 'SQLite', measure: '(c)/(r)', value: pct(sq.c.reqs, rr.reqs), target: '>= 100 %', met: yes(sq.c.reqs >= rr.reqs) },
    {
      database: 'SQLite',
      measure: '(b)/(a) (earlier target)',
      value: `${pct(sq.b.reqs, ra.reqs)}, p99 ${sq.b.p99} ms`,
      target: '>= 45 %, p99 <= 25 ms',
      met: yes(sq.b.reqs >= 0.45 * ra.reqs && sq.b.p99 <= 25),
    },
  ];
  for (const url of pgUrls) {
    const m = byDb.get(url);
    // Several servers in one run: tell their rows apart.
    const pgName = pgUrls.length > 1 ? `PostgreSQL ${new URL(url).host}` : 'PostgreSQL';
    summary.push(
      {
        database: pgName,
        measure: '(b) vs SQLite (b)',
        value: `${pct(m.b.reqs, sq.b.reqs)}, p99 ${m.b.p99} ms`,
        target: '>= 80 %, p99 <= 40 ms',
        met: yes(m.b.reqs >= 0.8 * sq.b.reqs && m.b.p99 <= 40),
      },
      { database: pgName, measure: '(c)/(r)', value: pct(m.c.reqs, rr.reqs), target: '>= 100 %', met: yes(m.c.reqs >= rr.reqs) },
      { database: pgName, measure: '(x) vs (c): accepted/s', value: pct(m.x.accepted, m.c.accepted), target: '(report)', met: '' },
      { database: pgName, measure: '(x) vs (c): msg/s end to end', value: pct(m.x.reqs, m.c.reqs), target: '(report)', met: '' },
      m.s.counted
        ? {
            database: pgName,
            measure: '(s) statements/message',
            value: m.s.perMessage.toFixed(2),
            target: '<= 1.0',
            met: yes(m.s.perMessage <= 1 && !m.s.evicted),
          }
        : { database: pgName, measure: '(s) statements/message', value: 'not counted', target: '<= 1.0', met: '?' },
    );
  }
  console.log('\nSummary (targets of issue 10; callbacks: npm run bench:webhooks)\n');
  printTable(summary, ['database', 'measure', 'value', 'target', 'met']);
  console.log(
    `\n${CONNECTIONS} connections, ${DURATION} s per throughput run, N = ${N}${quick ? ' (--quick: checks the harness, not a measurement)' : ''}; node ${process.version}.`,
  );
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(cleanup);
