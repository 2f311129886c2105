// Shared helpers for the benchmarks: child-process servers, autocannon runs, table printing.
import { fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';

export async function freePort() {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts a benchmark server script in its own process (so the load generator does not share its CPU). */
export async function forkServer(script, args, { execArgv } = {}) {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(execArgv ? { execArgv } : {}) });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (c) => reject(new Error(`${script} exited with ${c}`)));
  });
  return child;
}

/** Starts the smsrelay CLI with env (and node's own options), waits until `readyUrl` answers. */
export async function startCli(args, env, readyUrl, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, 'dist/cli/main.js', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(readyUrl);
      if (r.ok) return child;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`smsrelay ${args.join(' ')} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function stop(child) {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export function cannon(opts) {
  return new Promise((resolve, reject) => {
    // autocannon only notices the end of a run on its 1-second tick; timestamp the last answer
    // ourselves so that short runs (`amount`) are measured exactly.
    const startedAt = Date.now();
    let lastAt = startedAt;
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve({ ...res, elapsedMs: lastAt - startedAt })));
    inst.on('response', () => (lastAt = Date.now()));
    autocannon.track(inst, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

export function summarize(name, res) {
  const ok = res['2xx'];
  const secs = res.elapsedMs ? res.elapsedMs / 1000 : res.duration;
  return { name, reqs: Math.round(ok / (secs || 1)), p50: res.latency.p50, p99: res.latency.p99, errors: res.errors + res.non2xx };
}

export function printTable(rows, cols) {
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals) => '| ' + vals.map((v, i) => String(v).padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(cols));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(cols.map((c) => r[c] ?? '')));
}

// ---- which databases a run measures ----------------------------------------------------------------

/**
 * `--db sqlite` / `--db postgres://…` (repeatable; default $SMSRELAY_BENCH_DATABASE_URL, else sqlite)
 * and `--quick` (small counts: checks that the harness works, not a measurement).
 */
export function benchArgs(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: { db: { type: 'string', multiple: true }, quick: { type: 'boolean', default: false }, policy: { type: 'string' } },
  });
  const dbs = values.db?.length ? values.db : [process.env.SMSRELAY_BENCH_DATABASE_URL ?? 'sqlite'];
  for (const d of dbs) {
    if (d !== 'sqlite' && !/^postgres(ql)?:\/\//.test(d)) throw new Error(`--db must be 'sqlite' or a postgres:// URL, not ${d}`);
  }
  return { dbs, quick: values.quick, policy: values.policy ?? null };
}

export const dbLabel = (db) => (db === 'sqlite' ? 'SQLite' : 'PostgreSQL');

/** The maintenance database of the server a URL points at (CREATE/DROP DATABASE run from there). */
function maintenanceUrl(url) {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

async function adminQuery(url, sql, params) {
  const c = new pg.Client({ connectionString: maintenanceUrl(url) });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/**
 * A fresh database per case on the server of `url` (so no case sees another's rows and migrations
 * run as in a new install); `drop()` removes it, connections and all. Names carry the pid, so
 * concurrent runs do not collide.
 */
export async function freshPgDatabase(url, label) {
  const name = `smsrelay_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
  await adminQuery(url, `CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = '/' + name;
  return { name, url: u.toString(), drop: () => adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Drops databases left by runs of this benchmark that died without cleaning up. */
export async function dropStalePgDatabases(url) {
  const { rows } = await adminQuery(url, "SELECT datname FROM pg_database WHERE datname LIKE 'smsrelay\\_bench\\_%'");
  for (const { datname } of rows) {
    const pid = Number(datname.split('_').at(-2));
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = e.code !== 'ESRCH';
    }
    if (!alive) await adminQuery(url, `DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  }
}

// ---- counting SQL statements on PostgreSQL ---------------------------------------------------------

// The benchmark's own queries carry this comment so that they can be left out of the counts.
export const OWN = '/* smsrelay-bench */';

/**
 * Statements one database executed, read from pg_stat_statements: calls of top-level statements,
 * BEGIN/COMMIT included, which is updated as each statement ends (pg_stat_database's transaction
 * counts may lag by up to 10 s on PostgreSQL 15, so they are not used). `snapshot()` before and
 * after a phase; `pgDiff(a, b)` gives the counts of the phase. `statements` is false when the
 * server does not load pg_stat_statements.
 */
export async function pgCounter(url, dbName) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const libs = (await c.query(`${OWN} SELECT current_setting('shared_preload_libraries') AS v`)).rows[0].v;
  let statements = /\bpg_stat_statements\b/.test(libs);
  if (statements) {
    try {
      await c.query(`${OWN} CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
    } catch {
      statements = false;
    }
  }
  return {
    statements,
    query: (sql, params) => c.query(`${OWN} ${sql}`, params),
    async snapshot() {
      const snap = { calls: new Map(), dealloc: 0 };
      if (!statements) return snap;
      const { rows } = await c.query(
        `${OWN} SELECT queryid::text AS id, query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND query NOT LIKE '%smsrelay-bench%'`,
        [dbName],
      );
      for (const r of rows) snap.calls.set(r.id, { query: r.query, calls: Number(r.calls) });
      snap.dealloc = Number((await c.query(`${OWN} SELECT dealloc FROM pg_stat_statements_info`)).rows[0].dealloc);
      return snap;
    },
    close: () => c.end(),
  };
}

const TX_CONTROL = /^\s*(begin|start transaction|commit|end|rollback|savepoint|release)\b/i;

/** Statements between two snapshots (all, and transaction control alone), by calls, most first. */
export function pgDiff(a, b) {
  const byQuery = [];
  let calls = 0;
  let control = 0;
  for (const [id, { query, calls: n }] of b.calls) {
    const d = n - (a.calls.get(id)?.calls ?? 0);
    if (d > 0) {
      calls += d;
      if (TX_CONTROL.test(query)) control += d;
      byQuery.push({ query: query.replace(/\s+/g, ' '), calls: d });
    }
  }
  byQuery.sort((x, y) => y.calls - x.calls);
  // Entries evicted (pg_stat_statements.max) during the phase make the count too low.
  return { statements: calls, control, byQuery, evicted: b.dealloc - a.dealloc };
}

/** Starts `smsrelay worker` with env and waits for its "worker started" log line. */
export async function startWorkerCli(env) {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'worker'], {
    env: { PATH: process.env.PATH, ...env, SMSRELAY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('smsrelay worker did not start')), 30_000);
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('worker started')) {
        clearTimeout(timer);
        buf = '';
        resolve();
      } else if (buf.length > 65_536) buf = buf.slice(-1024);
    });
    child.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`smsrelay worker exited with ${c}`));
    });
  });
  return child;
}

/** Polls `done()` every 20 ms until it is true or `ms` passed; false on time-out. */
export async function waitFor(done, ms = 300_000) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Signed Twilio status callbacks (what the emulator or Twilio would POST), one per [sid, status]. */
export function signedCallbacks(url, accountSid, authToken, items) {
  return items.map(([sid, status]) => {
    const params = {
      AccountSid: accountSid,
      ApiVersion: '2010-04-01',
      From: '+15005550006',
      To: '+14155552671',
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: status,
      SmsStatus: status,
      ...(status === 'delivered' ? { RawDlrDoneDate: '2604141012' } : {}),
    };
    return {
      body: new URLSearchParams(params).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': getExpectedTwilioSignature(authToken, url, params),
        'i-twilio-idempotency-token': randomUUID(),
        'user-agent': 'TwilioProxy/1.1',
      },
    };
  });
}

/** autocannon sending exactly the prepared requests in `list`, once each. */
export function cannonList(url, list, connections) {
  let next = 0;
  return cannon({ url, method: 'POST', connections, amount: list.length, requests: [{ setupRequest: (req) => ({ ...req, ...list[next++ % list.length] }) }] });
}

/** Merges settings into the default tenant's stored document (what relay.settings.update stores). */
export async function applySettings(dbUrl, patch) {
  const merge = (text) => JSON.stringify({ ...JSON.parse(text || '{}'), ...patch });
  if (dbUrl.startsWith('sqlite:')) {
    const db = new Database(dbUrl.slice('sqlite:'.length));
    try {
      const row = db.prepare("SELECT settings FROM tenants WHERE slug = 'default'").get();
      db.prepare("UPDATE tenants SET settings = ? WHERE slug = 'default'").run(merge(row.settings));
    } finally {
      db.close();
    }
    return;
  }
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query("SELECT settings FROM tenants WHERE slug = 'default'");
    await c.query("UPDATE tenants SET settings = $1 WHERE slug = 'default'", [merge(rows[0].settings)]);
  } finally {
    await c.end();
  }
}
