// npm run bench:memory — memory of the embedded default (`smsrelay serve`, SQLite, the built-in
// emulator) while 100,000+ messages go through it. Samples the relay's RSS (VmRSS) at idle and after
// every 20,000 messages, each once the outbox is drained and the status callbacks have landed.
// Target (README.md): at most 300 MB after 100,000 messages, and flat after that.
//   BENCH_MESSAGES (default 120000), BENCH_CONCURRENCY (default 32); SMSRELAY_EMULATOR_* pass through.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort, printTable, startCli, stop } from './lib.js';

const N = Number(process.env.BENCH_MESSAGES ?? 120_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const STEP = 20_000;
const API_KEY = 'smsr_bench_' + 'k'.repeat(32);

const rssMb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function outboxEmpty(base) {
  const r = await fetch(`${base}/v1/messages?status=pending&limit=1`, { headers: { authorization: `Bearer ${API_KEY}` } });
  return (await r.json()).data.length === 0;
}

/** Sends `count` messages over HTTP with at most CONCURRENCY in flight; returns the non-202 count. */
async function send(base, count) {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const r = await fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, 'idempotency-key': randomUUID() },
        // Recipients out of 100,000 so that neither side rides on a small cache.
        body: JSON.stringify({ to: `+1415${2000000 + Math.floor(Math.random() * 100_000)}`, body: 'Your code is 123456. It expires in 10 minutes.' }),
      });
      await r.arrayBuffer();
      if (r.status !== 202) failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failed;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-mem-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const passThrough = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SMSRELAY_EMULATOR_')));
  const child = await startCli(
    ['serve'],
    {
      SMSRELAY_HOST: '127.0.0.1',
      SMSRELAY_PORT: String(port),
      SMSRELAY_DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
      SMSRELAY_DATA_DIR: dir,
      SMSRELAY_API_KEY: API_KEY,
      SMSRELAY_LOG_LEVEL: 'warn',
      ...passThrough,
    },
    `${base}/healthz`,
  );
  const rows = [];
  const started = Date.now();
  try {
    await sleep(2000);
    const idle = rssMb(child.pid);
    rows.push({ messages: 0, 'rss MB': idle.toFixed(0), 'vs idle MB': '0', 'emulator keeps': 0, 'elapsed s': '0' });
    let sent = 0;
    let failed = 0;
    while (sent < N) {
      const batch = Math.min(STEP, N - sent);
      failed += await send(base, batch);
      sent += batch;
      while (!(await outboxEmpty(base))) await sleep(200);
      await sleep(1500); // the last status callbacks
      const kept = (await (await fetch(`${base}/emulator/api/config`)).json()).maxMessages;
      const rss = rssMb(child.pid);
      rows.push({
        messages: sent,
        'rss MB': rss.toFixed(0),
        'vs idle MB': '+' + (rss - idle).toFixed(0),
        'emulator keeps': Math.min(sent, kept),
        'elapsed s': ((Date.now() - started) / 1000).toFixed(0),
      });
      console.error(`${sent} sent, RSS ${rss.toFixed(0)} MB`);
    }
    printTable(rows, ['messages', 'rss MB', 'vs idle MB', 'emulator keeps', 'elapsed s']);
    if (failed) console.log(`\n${failed} sends were not accepted (202)`);
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
