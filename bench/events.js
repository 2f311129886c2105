// npm run bench:events -- [--db sqlite | --db postgres://…]… [--quick] — events to the host
// application, against the send path without them, measured in the same run (see README.md).
//   (c0) smsrelay end to end (as bench:send's (c)): N messages over HTTP, sent by the in-process worker
//   (c2) the same with two webhook endpoints subscribed to every event ('*'), receiving on 127.0.0.1
//   (e)  events delivered per second in (c2): signed POSTs answered 2xx by the local receiver,
//        from the first request until the last delivery
// The emulator sends its signed status callbacks (sent, then delivered) to the relay, so each
// message raises two events (message.sent, then message.delivered or undelivered): (c2) makes about
// 4 × N webhook deliveries.
// (c0)/(c2) end when the outbox is empty (every message handed to the emulator), as bench:send's (c).
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, cannon, dbLabel, dropStalePgDatabases, freePort, freshPgDatabase, printTable, startCli, stop, summarize, waitFor } from './lib.js';

const { dbs: requested, quick } = benchArgs();
const dbs = [...new Set(['sqlite', ...requested])];
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const N = Number(process.env.BENCH_MESSAGES ?? (quick ? 1_000 : 5_000));
const ACCOUNT_SID = 'AC' + 'b'.repeat(32);
const AUTH_TOKEN = 'c'.repeat(32);
const API_KEY = 'smsr_bench_' + 'k'.repeat(32);
const auth = { authorization: `Bearer ${API_KEY}` };

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-events-'));
const children = [];
const drops = [];

/** The host application's side: counts deliveries (and distinct webhook-ids), answers 204. */
async function startReceiver() {
  const stats = { posts: 0, ids: new Set(), first: 0, last: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      stats.posts++;
      stats.ids.add(`${req.url} ${req.headers['webhook-id']}`);
      stats.last = Date.now();
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { stats, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

async function freshDb(db, label) {
  if (db === 'sqlite') return { url: `sqlite:${join(dir, `${label}.db`)}`, drop: async () => {} };
  const d = await freshPgDatabase(db, label);
  drops.push(d.drop);
  return d;
}

function post(base) {
  return {
    url: `${base}/v1/messages`,
    method: 'POST',
    connections: CONNECTIONS,
    amount: N,
    headers: { 'content-type': 'application/json', ...auth },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ to: `+1415${2000000 + Math.floor(Math.random() * 100_000)}`, body: 'Your order has shipped.' }),
        }),
      },
    ],
  };
}

async function outboxEmpty(base) {
  const r = await fetch(`${base}/v1/messages?status=pending&limit=1`, { headers: auth });
  return (await r.json()).data.length === 0;
}

async function endToEnd(db, emuBase, endpoints, rx) {
  const d = await freshDb(db, `c${endpoints}`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = await startCli(
    ['serve'],
    {
      PORT: String(port),
      SMSRELAY_DATABASE_URL: d.url,
      SMSRELAY_API_KEY: API_KEY,
      SMSRELAY_LOG_LEVEL: 'warn',
      SMSRELAY_DATA_DIR: dir,
      SMSRELAY_WEBHOOK_ALLOW_PRIVATE: 'true',
      SMSRELAY_PUBLIC_URL: base,
      ...(process.env.SMSRELAY_WEBHOOK_ENDPOINT_CONCURRENCY
        ? { SMSRELAY_WEBHOOK_ENDPOINT_CONCURRENCY: process.env.SMSRELAY_WEBHOOK_ENDPOINT_CONCURRENCY }
        : {}),
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_BASE_URL: emuBase,
      TWILIO_FROM_NUMBER: '+15005550006',
      // The emulator does not pace; the default long-code rate (1/s in real Twilio mode) is not measured here.
      SMSRELAY_PACING_DEFAULTS: 'false',
    },
    `${base}/healthz`,
  );
  children.push(child);
  for (let i = 0; i < endpoints; i++) {
    const r = await fetch(`${base}/v1/webhook-endpoints`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${rx.url}/ep${i}`, event_types: ['*'] }),
    });
    if (r.status !== 201) throw new Error(`endpoint: ${r.status} ${await r.text()}`);
  }
  const before = rx.stats.ids.size;
  const t0 = Date.now();
  const res = await cannon(post(base));
  if (!(await waitFor(() => outboxEmpty(base)))) throw new Error('the outbox did not empty');
  const sent = Date.now();
  const elapsed = (sent - t0) / 1000;
  let events = null;
  if (endpoints > 0) {
    // Done when the receiver has every event of the log from each endpoint (the log is read once
    // deliveries pause, so that late status callbacks are counted too).
    const total = async () => {
      let n = 0;
      let cursor = null;
      for (;;) {
        const r = await (await fetch(`${base}/v1/events?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { headers: auth })).json();
        n += r.data.length;
        cursor = r.next_cursor;
        if (!r.has_more) return n;
      }
    };
    let want = Number.POSITIVE_INFINITY;
    let seen = -1;
    const deadline = Date.now() + 120_000;
    while (rx.stats.ids.size - before < want) {
      if (Date.now() > deadline) throw new Error(`webhooks: ${rx.stats.ids.size - before} of ${want} delivered`);
      await new Promise((r) => setTimeout(r, 500));
      if (rx.stats.ids.size !== seen) seen = rx.stats.ids.size;
      else want = endpoints * (await total());
    }
    const secs = (rx.stats.last - t0) / 1000;
    events = { name: `(e) webhooks delivered, 2 endpoints`, reqs: Math.round(want / secs), p50: '', p99: '', errors: 0, lagMs: rx.stats.last - sent };
  }
  await stop(child);
  await d.drop();
  await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });
  const s = summarize(`(c${endpoints}) end to end${endpoints ? `, ${endpoints} endpoints on '*'` : ''}, ${N} msgs`, res);
  return { c: { ...s, accepted: s.reqs, reqs: Math.round(res['2xx'] / elapsed) }, events };
}

async function main() {
  for (const db of dbs) if (db !== 'sqlite') await dropStalePgDatabases(db);
  const ePort = await freePort();
  const emuBase = `http://127.0.0.1:${ePort}`;
  const emu = await startCli(
    ['emulator', '--port', String(ePort), '--account-sid', ACCOUNT_SID, '--auth-token', AUTH_TOKEN, '--max-messages', String(N * 6)],
    {},
    `${emuBase}/emulator/api/config`,
  );
  children.push(emu);
  const rx = await startReceiver();
  const summary = [];
  for (const db of dbs) {
    const c0 = await endToEnd(db, emuBase, 0, rx);
    const c2 = await endToEnd(db, emuBase, 2, rx);
    console.log(`\n${dbLabel(db)}`);
    printTable(
      [c0.c, c2.c, c2.events].map((x) => ({ case: x.name, 'msg/s or events/s': x.reqs, 'accepted/s': x.accepted ?? '', 'p99 ms': x.p99, errors: x.errors })),
      ['case', 'msg/s or events/s', 'accepted/s', 'p99 ms', 'errors'],
    );
    summary.push({
      database: dbLabel(db),
      '(c2)/(c0)': `${Math.round((100 * c2.c.reqs) / c0.c.reqs)} %`,
      target: '≥ 90 %',
      met: c2.c.reqs >= 0.9 * c0.c.reqs ? 'met' : 'NOT met',
      'events/s': c2.events.reqs,
      'last delivery after outbox empty': `${c2.events.lagMs} ms`,
    });
  }
  console.log('');
  printTable(summary, ['database', '(c2)/(c0)', 'target', 'met', 'events/s', 'last delivery after outbox empty']);
  console.log(`\n${CONNECTIONS} connections, N = ${N}${quick ? ' (--quick: checks the harness, not a measurement)' : ''}; node ${process.version}.`);
  await rx.close();
}

try {
  await main();
} finally {
  for (const c of children) await stop(c);
  for (const d of drops) await d().catch((e) => console.error(`could not drop a benchmark database: ${e.message}`));
  rmSync(dir, { recursive: true, force: true });
}
