// npm run bench:campaigns -- [--db sqlite | --db postgres://…]… [--quick] — campaigns at scale (see README.md).
//   (u) upload: a generated CSV of ROWS rows (10 % invalid, 5 % duplicates, 1 % opted out) streamed
//       in one request to `smsrelay serve`: rows/s, time until the campaign can start, and the
//       server's peak RSS (sampled every 100 ms from /proc while it uploads)
//   (c) the plain send path end to end: N messages POSTed over HTTP, sent by the in-process worker
//   (k) a campaign of N recipients at an unlimited rate, dispatched by the same process: msgs/s
//       from start to completed, compared with (c) measured in the same run
//   (p) pause of a running campaign: the last provider answer (sent_at) after the pause answered
// Sizes: BENCH_ROWS (default 1,000,000; --quick 20,000), BENCH_MESSAGES (default 100,000; --quick 3,000).
// BENCH_UPLOAD_ONLY=1 runs (u) alone. BENCH_PROFILE=<dir> profiles (c) and (k): the server's CPU
// profile (--cpu-prof, with the measured window), its CPU use and PostgreSQL's, and on PostgreSQL the
// statements of the window (pg_stat_statements) and what the connections waited on (pg_stat_activity).
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import { OWN, applySettings, benchArgs, cannon, dbLabel, dropStalePgDatabases, freePort, freshPgDatabase, printTable, startCli, stop, waitFor } from './lib.js';
import { profiler } from './profile.js';

const { dbs, quick } = benchArgs();
const ROWS = Number(process.env.BENCH_ROWS ?? (quick ? 20_000 : 1_000_000));
const N = Number(process.env.BENCH_MESSAGES ?? (quick ? 3_000 : 100_000));
const PAUSE_N = Math.min(N, 20_000);
const PROFILE = process.env.BENCH_PROFILE;
const CONNECTIONS = 64;
const ACCOUNT_SID = 'AC' + 'b'.repeat(32);
const AUTH_TOKEN = 'c'.repeat(32);
const API_KEY = 'smsr_bench_' + 'k'.repeat(32);
const auth = { authorization: `Bearer ${API_KEY}` };
const num = (i) => `+1415${2_000_000 + i}`;

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-campaigns-'));
const children = [];
const drops = [];
const cleanup = async () => {
  for (const c of children) await stop(c);
  for (const d of drops) await d().catch((e) => console.error(`could not drop a benchmark database: ${e.message}`));
  rmSync(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => cleanup().finally(() => process.exit(130)));

async function freshDb(db, label) {
  if (db === 'sqlite') return { url: `sqlite:${join(dir, `${label}-${Date.now()}.db`)}`, drop: async () => {} };
  const d = await freshPgDatabase(db, label);
  drops.push(d.drop);
  return d;
}

function env(dbUrl, port, extra = {}) {
  return {
    PORT: String(port),
    SMSRELAY_DATABASE_URL: dbUrl,
    SMSRELAY_API_KEY: API_KEY,
    SMSRELAY_LOG_LEVEL: 'warn',
    SMSRELAY_DATA_DIR: dir,
    ...extra,
  };
}

// As bench/send.js: the emulator does not pace, and this measures smsrelay, not a long code.
const providerEnv = (emuBase) => ({
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_API_BASE_URL: emuBase,
  TWILIO_FROM_NUMBER: '+15005550006',
  SMSRELAY_PACING_DEFAULTS: 'false',
});

async function serve(dbUrl, args, extra, nodeArgs) {
  const port = await freePort();
  const child = await startCli(['serve', ...args], env(dbUrl, port, extra), `http://127.0.0.1:${port}/healthz`, nodeArgs);
  children.push(child);
  return { child, base: `http://127.0.0.1:${port}` };
}

const api = async (base, path, body) => {
  const r = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...auth, ...(body === undefined || body === null ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined || body === null ? undefined : JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
};

/** Marketing sends to these numbers test the campaign, not consent or per-recipient limits. */
function openSettings(dbUrl) {
  return applySettings(dbUrl, { consent_mode: { marketing: 'opt_out' }, recipient_limits: { marketing: null }, quiet_hours: { marketing: null } });
}

/** The newest provider answer (sent_at) of a campaign's messages. */
async function lastSentAt(dbUrl, campaignId) {
  if (dbUrl.startsWith('sqlite:')) {
    const db = new Database(dbUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return Number(db.prepare('SELECT max(sent_at) AS t FROM messages WHERE campaign_id = ?').get(campaignId).t ?? 0);
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return Number((await c.query('SELECT max(sent_at) AS t FROM messages WHERE campaign_id = $1', [campaignId])).rows[0].t ?? 0);
  } finally {
    await c.end();
  }
}

/** A campaign's state, read from its row (one connection for the whole wait). */
function statusReader(dbUrl) {
  if (dbUrl.startsWith('sqlite:')) {
    const db = new Database(dbUrl.slice('sqlite:'.length), { readonly: true });
    const q = db.prepare('SELECT status FROM campaigns WHERE id = ?');
    return { of: async (id) => q.get(id)?.status, close: async () => db.close() };
  }
  const c = new pg.Client({ connectionString: dbUrl });
  const ready = c.connect();
  return {
    of: async (id) => {
      await ready;
      return (await c.query(`${OWN} SELECT status FROM campaigns WHERE id = $1`, [id])).rows[0]?.status;
    },
    close: async () => {
      await ready;
      await c.end();
    },
  };
}

/** The test file: a header, then rows with 10 % invalid, 5 % duplicates and 1 % opted-out numbers. */
async function writeCsv(path, rows) {
  const out = createWriteStream(path);
  const opted = [];
  out.write('phone,name\n');
  let valid = 0;
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const r = i % 100;
    let line;
    if (r < 10) line = `not-a-number-${i},Bad`;
    else if (r < 15 && valid > 0) line = `${num(Math.floor(valid / 2))},Dup`;
    else {
      const p = num(valid++);
      if (r === 15) opted.push(p);
      line = `${p},Ann ${i}`;
    }
    chunk += `${line}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return { opted };
}

function rssSampler(pid) {
  let peak = 0;
  const read = () => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb);
    } catch {
      /* exited */
    }
  };
  read();
  const timer = setInterval(read, 100);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      return Math.round(peak / 1024);
    },
  };
}

async function optOut(base, phones) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < phones.length) await api(base, '/v1/consents', { phone: phones[next++], action: 'opt_out' });
    }),
  );
}

// (u) one streamed upload of the whole file.
async function caseUpload(db, csv, opted) {
  const d = await freshDb(db, 'u');
  const { child, base } = await serve(d.url, ['--no-worker'], {});
  try {
    await optOut(base, opted);
    const c = await api(base, '/v1/campaigns', { name: 'bench', body: 'Bench' });
    const before = rssSampler(child.pid).stop();
    const rss = rssSampler(child.pid);
    const t0 = Date.now();
    const r = await fetch(`${base}/v1/campaigns/${c.id}/recipients`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: Readable.toWeb(createReadStream(csv)),
      duplex: 'half',
    });
    const result = await r.json();
    const uploadMs = Date.now() - t0;
    const peak = rss.stop();
    if (!r.ok) throw new Error(`upload: ${r.status} ${JSON.stringify(result)}`);
    await api(base, `/v1/campaigns/${c.id}/estimate`, null);
    const startable = Date.now() - t0;
    return { db, rows: result.rows, result, uploadMs, startable, rowsPerS: Math.round(result.rows / (uploadMs / 1000)), peak, before };
  } finally {
    await stop(child);
    await d.drop();
  }
}

// (c) the plain send path: N POSTs, drained by the in-process worker.
async function casePlain(db, emuBase) {
  const d = await freshDb(db, 'c');
  const prof = PROFILE && profiler(PROFILE, `${dbLabel(db)}-c`, d);
  const { child, base } = await serve(d.url, [], providerEnv(emuBase), prof?.nodeArgs);
  try {
    await prof?.begin(child.pid);
    const t0 = Date.now();
    const res = await cannon({
      url: `${base}/v1/messages`,
      method: 'POST',
      connections: CONNECTIONS,
      amount: N,
      headers: { 'content-type': 'application/json', ...auth },
      requests: [
        {
          setupRequest: (req) => ({
            ...req,
            headers: { ...req.headers, 'idempotency-key': randomUUID() },
            body: JSON.stringify({ to: num(Math.floor(Math.random() * 100_000)), body: 'Bench' }),
          }),
        },
      ],
    });
    const empty = async () => (await api(base, '/v1/messages?status=pending&limit=1')).data.length === 0;
    if (!(await waitFor(empty))) throw new Error('(c): the outbox did not empty');
    await prof?.end(N);
    return { sent: res['2xx'], perS: Math.round(res['2xx'] / ((Date.now() - t0) / 1000)) };
  } finally {
    await stop(child);
    await d.drop();
    await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });
  }
}

async function campaignOf(base, n, offset) {
  const c = await api(base, '/v1/campaigns', { name: 'bench', body: 'Bench' });
  const lines = ['phone'];
  for (let i = 0; i < n; i++) lines.push(num(offset + i));
  const r = await fetch(`${base}/v1/campaigns/${c.id}/recipients`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'text/csv' },
    body: `${lines.join('\n')}\n`,
  });
  const up = await r.json();
  if (up.accepted !== n) throw new Error(`campaign upload: ${JSON.stringify(up).slice(0, 300)}`);
  return c.id;
}

// (k) and (p): a campaign of N at an unlimited rate, then a pause in the middle of another.
async function caseCampaign(db, emuBase) {
  const d = await freshDb(db, 'k');
  const prof = PROFILE && profiler(PROFILE, `${dbLabel(db)}-k`, d);
  const { child, base } = await serve(d.url, [], providerEnv(emuBase), prof?.nodeArgs);
  try {
    await openSettings(d.url);
    await new Promise((r) => setTimeout(r, 5500)); // the serve process caches settings 5 s
    const id = await campaignOf(base, N, 0);
    await prof?.begin(child.pid);
    const t0 = Date.now();
    await api(base, `/v1/campaigns/${id}/start`, null);
    // Its state read from the database every 100 ms: `GET /v1/campaigns/:id` aggregates the counts
    // over every recipient (on PostgreSQL 100–200 ms of the server's CPU each while the campaign
    // runs), which would measure the watcher as well as the dispatch. Its counts are read once, at the end.
    const status = statusReader(d.url);
    const deadline = Date.now() + 600_000;
    try {
      while ((await status.of(id)) !== 'completed') {
        if (Date.now() > deadline) throw new Error('(k): the campaign did not complete');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await status.close();
    }
    const perS = Math.round(N / ((Date.now() - t0) / 1000));
    await prof?.end(N);
    const end = await api(base, `/v1/campaigns/${id}`);

    const p = await campaignOf(base, PAUSE_N, N);
    await api(base, `/v1/campaigns/${p}/start`, null);
    while ((await api(base, `/v1/campaigns/${p}`)).counts.sent < PAUSE_N / 4) await new Promise((r) => setTimeout(r, 250));
    await api(base, `/v1/campaigns/${p}/pause`, null);
    const answered = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const lastAfter = (await lastSentAt(d.url, p)) - answered;
    const paused = await api(base, `/v1/campaigns/${p}`);
    await api(base, `/v1/campaigns/${p}/cancel`, null);
    return { perS, counts: end.counts, lastAfter, pausedAt: paused.counts };
  } finally {
    await stop(child);
    await d.drop();
    await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });
  }
}

async function main() {
  for (const url of dbs.filter((x) => x !== 'sqlite')) await dropStalePgDatabases(url);
  const csv = join(dir, 'recipients.csv');
  const { opted } = await writeCsv(csv, ROWS);
  console.log(`generated ${ROWS} rows (${Math.round(statSync(csv).size / 1e6)} MB), ${opted.length} opted out`);
  const ePort = await freePort();
  const emuBase = `http://127.0.0.1:${ePort}`;
  const emu = await startCli(
    ['emulator', '--port', String(ePort), '--account-sid', ACCOUNT_SID, '--auth-token', AUTH_TOKEN, '--no-callbacks', '--max-messages', String(N * 3)],
    {},
    `${emuBase}/emulator/api/config`,
  );
  children.push(emu);
  const rows = [];
  for (const db of dbs) {
    const u = await caseUpload(db, csv, opted);
    console.log(`${dbLabel(db)} upload: ${JSON.stringify({ ...u.result, errors: u.result.errors.length })}`);
    const label = dbLabel(db);
    rows.push(
      { database: label, measure: `(u) upload ${ROWS} rows`, value: `${u.rowsPerS} rows/s`, target: '', met: '' },
      {
        database: label,
        measure: '(u) time until startable',
        value: `${(u.startable / 1000).toFixed(1)} s`,
        target: '<= 60 s',
        met: u.startable <= 60_000 ? 'met' : 'NOT met',
      },
      { database: label, measure: '(u) server RSS before the upload', value: `${u.before} MB`, target: '', met: '' },
      { database: label, measure: '(u) server peak RSS', value: `${u.peak} MB`, target: '<= 256 MB', met: u.peak <= 256 ? 'met' : 'NOT met' },
    );
    if (process.env.BENCH_UPLOAD_ONLY === '1') continue;
    const c = await casePlain(db, emuBase);
    const k = await caseCampaign(db, emuBase);
    console.log(`${dbLabel(db)} campaign counts: ${JSON.stringify(k.counts)}; paused at ${JSON.stringify(k.pausedAt)}`);
    rows.push(
      { database: label, measure: `(c) plain send path, ${N} msgs`, value: `${c.perS} msg/s`, target: '', met: '' },
      { database: label, measure: `(k) campaign of ${N}, unlimited rate`, value: `${k.perS} msg/s`, target: '', met: '' },
      {
        database: label,
        measure: '(k) / (c)',
        value: `${Math.round((100 * k.perS) / c.perS)} %`,
        target: '>= 90 %',
        met: k.perS >= 0.9 * c.perS ? 'met' : 'NOT met',
      },
      {
        database: label,
        measure: '(p) last provider answer after pause',
        value: `${k.lastAfter} ms`,
        target: '<= 1000 ms',
        met: k.lastAfter <= 1000 ? 'met' : 'NOT met',
      },
    );
  }
  console.log('');
  printTable(rows, ['database', 'measure', 'value', 'target', 'met']);
  console.log(`\nnode ${process.version}${quick ? ' (--quick: checks the harness, not a measurement)' : ''}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(cleanup);
