// npm run bench:send — the send path against baselines measured in the same run (see README.md).
//   (a) bare Fastify answering 202                          — ceiling for any POST handler
//   (b) POST /v1/messages on SQLite (auth, idempotency key, validation, durable insert)
//   (r) bare synchronous relay: Fastify + fetch to the emulator per request
//   (c) smsrelay end to end: N messages over HTTP, sent to the emulator by the worker
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { cannon, forkServer, freePort, printTable, startCli, stop, summarize } from './lib.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const N = Number(process.env.BENCH_MESSAGES ?? 20_000);
const ACCOUNT_SID = 'AC' + 'b'.repeat(32);
const AUTH_TOKEN = 'c'.repeat(32);
const API_KEY = 'smsr_bench_' + 'k'.repeat(32);
const BODY = JSON.stringify({ to: '+14155552671', body: 'Your order has shipped. Track it at https://example.com/t/123' });

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-'));
const children = [];
const cleanup = async () => {
  for (const c of children) await stop(c);
  rmSync(dir, { recursive: true, force: true });
};

function postMessages(url, extra = {}) {
  return {
    url: `${url}/v1/messages`,
    method: 'POST',
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: BODY,
    // A fresh Idempotency-Key per request, as a careful client would send, and a recipient out of
    // 100,000 (more than the phone-number memo holds), so the benchmark does not ride on caches.
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, 'idempotency-key': randomUUID() },
          body: JSON.stringify({ to: `+1415${2000000 + Math.floor(Math.random() * 100_000)}`, body: 'Your order has shipped. Track it at https://example.com/t/123' }),
        }),
      },
    ],
    ...extra,
  };
}

/** True once no message is left in smsrelay's outbox: each has had its provider call answered. */
async function outboxEmpty(base) {
  const r = await fetch(`${base}/v1/messages?status=pending&limit=1`, { headers: { authorization: `Bearer ${API_KEY}` } });
  return (await r.json()).data.length === 0;
}

async function main() {
  const rows = [];

  // (a) bare Fastify
  const aPort = await freePort();
  const a = await forkServer(new URL('./servers/bare-fastify.js', import.meta.url).pathname, [String(aPort)]);
  children.push(a);
  await cannon({ url: `http://127.0.0.1:${aPort}/v1/messages`, method: 'POST', connections: CONNECTIONS, duration: 2, headers: { 'content-type': 'application/json' }, body: BODY });
  const ra = summarize('(a) bare Fastify 202', await cannon({ url: `http://127.0.0.1:${aPort}/v1/messages`, method: 'POST', connections: CONNECTIONS, duration: DURATION, headers: { 'content-type': 'application/json' }, body: BODY }));
  rows.push(ra);
  await stop(a);

  // (b) smsrelay API only (no worker), SQLite
  const bPort = await freePort();
  const b = await startCli(['serve', '--no-worker'], { PORT: String(bPort), SMSRELAY_DATABASE_URL: `sqlite:${join(dir, 'b.db')}`, SMSRELAY_API_KEY: API_KEY, SMSRELAY_LOG_LEVEL: 'warn', SMSRELAY_DATA_DIR: dir }, `http://127.0.0.1:${bPort}/healthz`);
  children.push(b);
  await cannon(postMessages(`http://127.0.0.1:${bPort}`, { duration: 2 }));
  const rb = summarize('(b) POST /v1/messages, SQLite', await cannon(postMessages(`http://127.0.0.1:${bPort}`, { duration: DURATION })));
  rows.push(rb);
  await stop(b);

  // The emulator, standalone, for (r) and (c).
  const ePort = await freePort();
  const emuBase = `http://127.0.0.1:${ePort}`;
  const emu = await startCli(['emulator', '--port', String(ePort), '--account-sid', ACCOUNT_SID, '--auth-token', AUTH_TOKEN, '--no-callbacks', '--max-messages', String(N * 3)], {}, `${emuBase}/emulator/api/config`);
  children.push(emu);

  // (r) bare relay
  const rPort = await freePort();
  const r = await forkServer(new URL('./servers/bare-relay.js', import.meta.url).pathname, [String(rPort), emuBase, ACCOUNT_SID, AUTH_TOKEN]);
  children.push(r);
  const rr0 = await cannon({ url: `http://127.0.0.1:${rPort}/v1/messages`, method: 'POST', connections: CONNECTIONS, amount: N, headers: { 'content-type': 'application/json' }, body: BODY });
  const rr = summarize(`(r) bare relay, ${N} msgs`, rr0);
  rows.push(rr);
  await stop(r);
  await fetch(`${emuBase}/emulator/api/messages`, { method: 'DELETE' });

  // (c) smsrelay end to end: HTTP accept → SQLite outbox → worker → emulator
  const cPort = await freePort();
  const c = await startCli(
    ['serve'],
    {
      PORT: String(cPort),
      SMSRELAY_DATABASE_URL: `sqlite:${join(dir, 'c.db')}`,
      SMSRELAY_API_KEY: API_KEY,
      SMSRELAY_LOG_LEVEL: 'warn',
      SMSRELAY_DATA_DIR: dir,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_BASE_URL: emuBase,
      TWILIO_FROM_NUMBER: '+15005550006',
    },
    `http://127.0.0.1:${cPort}/healthz`,
  );
  children.push(c);
  const t0 = Date.now();
  const rc0 = await cannon(postMessages(`http://127.0.0.1:${cPort}`, { amount: N }));
  const deadline = Date.now() + 300_000;
  while (!(await outboxEmpty(`http://127.0.0.1:${cPort}`)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  const elapsed = (Date.now() - t0) / 1000;
  const rc = { ...summarize(`(c) smsrelay end to end, ${N} msgs`, rc0), reqs: Math.round(rc0['2xx'] / elapsed) };
  rows.push(rc);

  printTable(
    rows.map((x) => ({ case: x.name, 'req/s or msg/s': x.reqs, 'p50 ms': x.p50, 'p99 ms': x.p99, errors: x.errors })),
    ['case', 'req/s or msg/s', 'p50 ms', 'p99 ms', 'errors'],
  );
  console.log('');
  printTable(
    [
      { ratio: '(b)/(a)', value: `${Math.round((rb.reqs / ra.reqs) * 100)} %`, target: '>= 45 %, p99 <= 25 ms', met: rb.reqs / ra.reqs >= 0.45 && rb.p99 <= 25 ? 'yes' : 'NO' },
      { ratio: '(c)/(r)', value: `${Math.round((rc.reqs / rr.reqs) * 100)} %`, target: '>= 100 %', met: rc.reqs >= rr.reqs ? 'yes' : 'NO' },
    ],
    ['ratio', 'value', 'target', 'met'],
  );
  console.log(`\n${CONNECTIONS} connections, ${DURATION} s per throughput run, N = ${N}; node ${process.version}.`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(cleanup);
