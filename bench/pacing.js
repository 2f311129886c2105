// npm run bench:pacing — sender pacing across worker processes, measured where Twilio would see it.
// One sender (+15005550006) is configured at RATE segments/s (`sender_rates`); more messages than
// it can send in the run are queued; `smsrelay worker` processes (2 on PostgreSQL, 1 on SQLite, as
// SQLite has one writer) send them to the emulator, which runs in this process and timestamps each
// create. Over the first DURATION seconds after the first create: the rate, its error against the
// configured one, the busiest one-second window (sliding) and the busiest calendar second.
// `--db sqlite` / `--db postgres://…` (repeatable; default $SMSRELAY_BENCH_DATABASE_URL, else sqlite);
// `--quick`: 5 s (checks the harness). Everything listens on 127.0.0.1; the run is bounded in time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSmsRelay } from '../dist/main.js';
import { createEmulator } from '../dist/emulator/index.js';
import { benchArgs, dbLabel, dropStalePgDatabases, freshPgDatabase, printTable, startWorkerCli, stop, waitFor } from './lib.js';

const { dbs, quick } = benchArgs();
const RATE = Number(process.env.BENCH_RATE ?? 10);
const DURATION = Number(process.env.BENCH_DURATION ?? (quick ? 5 : 60));
const SENDER = '+15005550006';
const ACCOUNT_SID = 'AC' + 'b'.repeat(32);
const AUTH_TOKEN = 'c'.repeat(32);
// Enough that the sender never runs dry during the measured window.
const QUEUED = Math.ceil(RATE * (DURATION + 10));

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-pacing-'));

/** The most timestamps in any window [t, t + 1 s). */
function busiestWindow(times) {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function run(db, emulator, emuBase) {
  const fresh = db === 'sqlite' ? { url: `sqlite:${join(dir, 'pacing.db')}`, drop: async () => {} } : await freshPgDatabase(db, 'pacing');
  const workers = [];
  try {
    // This process migrates, configures the rate and queues the messages; it sends nothing itself.
    const relay = await createSmsRelay({
      databaseUrl: fresh.url,
      logLevel: 'silent',
      worker: { enabled: false },
      reconciler: { enabled: false },
      twilio: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: emuBase, fromNumber: SENDER },
    });
    await relay.settings.update(relay.defaultTenant.id, { sender_rates: { [SENDER]: RATE } });
    for (let i = 0; i < QUEUED; i++) await relay.send({ to: `+1415555${String(i % 10_000).padStart(4, '0')}`, body: `paced ${i}` });
    await relay.close();

    emulator.reset();
    const since = new Date();
    const env = {
      SMSRELAY_DATABASE_URL: fresh.url,
      SMSRELAY_LOG_LEVEL: 'warn',
      SMSRELAY_DATA_DIR: dir,
      SMSRELAY_RECONCILER: 'false',
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_BASE_URL: emuBase,
      TWILIO_FROM_NUMBER: SENDER,
    };
    const n = db === 'sqlite' ? 1 : 2;
    for (let i = 0; i < n; i++) workers.push(await startWorkerCli(env));
    const created = () =>
      emulator
        .messages({ since })
        .filter((m) => m.from === SENDER)
        .map((m) => m.dateCreated.getTime());
    await waitFor(() => created().length > 0, 30_000);
    const t0 = Math.min(...created());
    await new Promise((r) => setTimeout(r, t0 + DURATION * 1000 + 500 - Date.now()));
    const times = created()
      .filter((t) => t < t0 + DURATION * 1000)
      .sort((a, b) => a - b);
    const perSecond = new Array(DURATION).fill(0);
    for (const t of times) perSecond[Math.floor((t - t0) / 1000)]++;
    const rate = times.length / DURATION;
    return {
      case: `${dbLabel(db)}, ${n} worker process${n > 1 ? 'es' : ''}`,
      configured: RATE,
      sent: times.length,
      'rate/s': rate.toFixed(2),
      error: `${(((rate - RATE) / RATE) * 100).toFixed(2)} %`,
      'busiest 1 s window': busiestWindow(times),
      'busiest second': Math.max(...perSecond),
      'quietest second': Math.min(...perSecond),
    };
  } finally {
    for (const w of workers) await stop(w);
    await fresh.drop();
  }
}

const emulator = createEmulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, delays: { queuedToSending: 5, sendingToSent: 5, sentToDelivered: 5 } });
const emuBase = await emulator.listen(0, '127.0.0.1');
const rows = [];
try {
  for (const db of dbs) if (db !== 'sqlite') await dropStalePgDatabases(db);
  for (const db of dbs) rows.push(await run(db, emulator, emuBase));
} finally {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\nSender pacing: one sender at ${RATE} segments/s, ${DURATION} s measured from the emulator's create times\n`);
printTable(rows, Object.keys(rows[0]));
