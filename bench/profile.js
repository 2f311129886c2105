// BENCH_PROFILE=<dir> for bench/campaigns.js: what a measured window of a `smsrelay serve` child cost.
//   - the child's V8 CPU profile (node --cpu-prof into <dir>/<label>/), summed over the window
//     alone (the profile's clock is CLOCK_MONOTONIC, as process.hrtime here)
//   - CPU seconds of the child and of every PostgreSQL process (/proc/<pid>/stat) in the window
//   - on PostgreSQL: the window's statements (pg_stat_statements: calls, total and mean time) and what
//     the database's connections were doing, sampled every 20 ms (pg_stat_activity: state, wait event)
// `node bench/profile.js <dir>` prints the summaries again (after the child wrote its profile at exit).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { OWN } from './lib.js';

const TICKS = 100; // USER_HZ: /proc/<pid>/stat times are in 1/100 s on Linux
const us = () => Number(process.hrtime.bigint() / 1000n);

function cpuOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS; // utime + stime
  } catch {
    return 0;
  }
}

function postgresCpu() {
  let sum = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'postgres') sum += cpuOf(p);
    } catch {
      /* gone */
    }
  }
  return sum;
}

const STATEMENTS = `${OWN} SELECT queryid::text AS id, query, calls, total_exec_time AS ms FROM pg_stat_statements
  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND query NOT LIKE '%smsrelay-bench%'`;

export function profiler(dir, label, db) {
  const out = join(dir, label);
  mkdirSync(out, { recursive: true });
  let client = null;
  let pid = 0;
  let start = null;
  let before = new Map();
  let sampler = null;
  const waits = new Map();
  let samples = 0;
  const sample = async () => {
    const { rows } = await client.query(
      `${OWN} SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid() GROUP BY 1, 2`,
      [db.name],
    );
    samples++;
    for (const r of rows) waits.set(`${r.state} ${r.w}`, (waits.get(`${r.state} ${r.w}`) ?? 0) + r.n);
  };
  return {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`],
    async begin(childPid) {
      pid = childPid;
      if (db.name) {
        client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query(`${OWN} CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
        before = new Map((await client.query(STATEMENTS, [db.name])).rows.map((r) => [r.id, r]));
        let busy = false;
        sampler = setInterval(() => {
          if (busy) return;
          busy = true;
          sample().finally(() => (busy = false));
        }, 20);
      }
      start = { us: us(), cpu: cpuOf(pid), pg: postgresCpu(), at: Date.now() };
    },
    async end(messages) {
      const end = { us: us(), cpu: cpuOf(pid), pg: postgresCpu(), at: Date.now() };
      const secs = (end.at - start.at) / 1000;
      const summary = {
        label,
        messages,
        seconds: secs,
        serverCpu: +((end.cpu - start.cpu) / secs).toFixed(2),
        postgresCpu: +((end.pg - start.pg) / secs).toFixed(2),
        window: { from: start.us, to: end.us },
      };
      if (client) {
        clearInterval(sampler);
        const rows = (await client.query(STATEMENTS, [db.name])).rows;
        const stmts = rows
          .map((r) => {
            const b = before.get(r.id);
            return { query: r.query.replace(/\s+/g, ' ').slice(0, 200), calls: Number(r.calls) - Number(b?.calls ?? 0), ms: r.ms - (b?.ms ?? 0) };
          })
          .filter((r) => r.calls > 0)
          .sort((a, b) => b.ms - a.ms);
        summary.statementsPerMessage = +(stmts.reduce((s, r) => s + r.calls, 0) / messages).toFixed(2);
        summary.transactionsPerMessage = +(stmts.filter((r) => /^\s*begin\b/i.test(r.query)).reduce((s, r) => s + r.calls, 0) / messages).toFixed(3);
        summary.statements = stmts
          .slice(0, 25)
          .map((r) => ({ ...r, perMessage: +(r.calls / messages).toFixed(3), meanMs: +(r.ms / r.calls).toFixed(3), ms: Math.round(r.ms) }));
        summary.connections = Object.fromEntries([...waits].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, +(n / samples).toFixed(2)]));
        await client.end();
      }
      writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2));
    },
  };
}

/** Self time per function (and per source file) of the profile's samples inside the window. */
function cpuProfile(dir, window) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return null;
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const files = new Map();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < window.from || t > window.to) continue;
    const n = byId.get(p.samples[i]);
    const f = n.callFrame;
    const where = f.url ? f.url.replace(/^.*\/(node_modules\/[^/]+|dist)\//, '$1/') : '';
    const name = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + 1);
    const key = where.startsWith('node_modules/') ? where.split('/').slice(0, 2).join('/') : where || f.functionName;
    files.set(key, (files.get(key) ?? 0) + 1);
    total++;
  }
  const top = (m, k) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, n]) => `${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`);
  return { samples: total, functions: top(self, 30), files: top(files, 20) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  for (const label of readdirSync(dir)) {
    let s;
    try {
      s = JSON.parse(readFileSync(join(dir, label, 'summary.json'), 'utf8'));
    } catch {
      continue;
    }
    console.log(`\n=== ${label}: ${s.messages} messages in ${s.seconds} s; server CPU ${s.serverCpu}, PostgreSQL CPU ${s.postgresCpu} (cores)`);
    if (s.statements) {
      console.log(
        `statements per message: ${s.statementsPerMessage} (transactions: ${s.transactionsPerMessage}); connections (mean count by state and wait):`,
        s.connections,
      );
      for (const r of s.statements)
        console.log(
          `${String(r.calls).padStart(8)} ${String(r.perMessage).padStart(6)}/msg ${String(r.ms).padStart(7)} ms ${String(r.meanMs).padStart(7)} ms/call  ${r.query}`,
        );
    }
    const c = cpuProfile(join(dir, label), s.window);
    if (c) console.log(`CPU profile (${c.samples} samples in the window)\n${c.files.join('\n')}\n--\n${c.functions.join('\n')}`);
  }
}
