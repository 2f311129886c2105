// npm run bench:emulator — Messages create on the Twilio emulator against a baseline in the same run.
//   (i)   minimal node:http server: reads the form, answers 201 with a Twilio-sized message JSON
//   (ii)  the emulator, status callbacks off
//   (iii) the emulator, callbacks on: every create's queued → sending → sent → delivered progression
//         POSTs three signed callbacks to a receiver process answering 204
// Then memory: BENCH_MEMORY_MESSAGES creates (200,000) into an emulator with its default
// 100,000-message cap, and its RSS. Every server runs in its own process; each case runs
// BENCH_RUNS times (2) with a fresh server, rounds interleaved so drift hits all cases alike.
// Besides req/s, each server reports its own CPU time per request over IPC: on a shared machine
// where the load generator competes for the same cores, that ratio moves much less than req/s.
import { fileURLToPath } from 'node:url';
import { cannon, forkServer, freePort, printTable, stop, summarize } from './lib.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const MEMORY_MESSAGES = Number(process.env.BENCH_MEMORY_MESSAGES ?? 200_000);
const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef'; // the emulator's default credentials
const AUTH_TOKEN = 'fedcba9876543210fedcba9876543210';
const AUTH = 'Basic ' + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64');
const PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const server = (name) => fileURLToPath(new URL(`./servers/${name}`, import.meta.url));

// 1,000 recipients, a test suite's worth (the emulator memoises up to 10,000 parsed numbers).
const REQUESTS = Array.from({ length: 1000 }, (_, i) => ({
  body: `To=%2B1415${String(5550000 + i)}&From=%2B15005550006&Body=Your+order+%23${i}+has+shipped.+Track+it+at+https%3A%2F%2Fexample.com%2Ft%2F${i}`,
}));

const children = new Set();
async function start(script, args, opts) {
  const child = await forkServer(server(script), args, opts);
  children.add(child);
  return child;
}
async function end(child) {
  children.delete(child);
  await stop(child);
}

/** Sends `msg` over IPC and resolves with the child's next message. */
function ask(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

function load(port, extra) {
  return {
    url: `http://127.0.0.1:${port}${PATH}`,
    method: 'POST',
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: AUTH },
    requests: REQUESTS,
    ...extra,
  };
}

const cpuMicros = async (child) => {
  const { cpu } = await ask(child, 'cpu');
  return cpu.user + cpu.system;
};

/** The measured run (after a 2 s warm-up), with the server's CPU µs per answered request. */
async function measure(name, port, child, during = async (run) => run()) {
  await cannon(load(port, { duration: 2 }));
  const cpu0 = await cpuMicros(child);
  const res = await during(() => cannon(load(port, { duration: DURATION })));
  const row = summarize(name, res);
  row.cpu = Math.round(((await cpuMicros(child)) - cpu0) / res['2xx']);
  return row;
}

async function minimal() {
  const port = await freePort();
  const child = await start('minimal-twilio.js', [String(port), ACCOUNT_SID]);
  try {
    return await measure('(i) minimal node:http', port, child);
  } finally {
    await end(child);
  }
}

async function emulator(callbacks) {
  const port = await freePort();
  let receiver = null;
  let callbackUrl = '-';
  if (callbacks) {
    const rPort = await freePort();
    receiver = await start('callback-receiver.js', [String(rPort)]);
    callbackUrl = `http://127.0.0.1:${rPort}/status`;
  }
  const child = await start('emulator.js', [String(port), callbacks ? 'on' : 'off', callbackUrl]);
  try {
    if (!callbacks) return await measure('(ii) emulator, callbacks off', port, child);
    let received = 0;
    const row = await measure('(iii) emulator, callbacks on', port, child, async (run) => {
      const before = (await ask(receiver, 'count')).received;
      const res = await run();
      received = (await ask(receiver, 'count')).received - before;
      return res;
    });
    row.callbacks = Math.round(received / DURATION);
    return row;
  } finally {
    await end(child);
    if (receiver) await end(receiver);
  }
}

async function memory() {
  const port = await freePort();
  const child = await start('emulator.js', [String(port), 'off', '-'], { execArgv: ['--expose-gc'] });
  try {
    const idle = (await ask(child, 'memory')).memory;
    const t0 = Date.now();
    const res = await cannon(load(port, { amount: MEMORY_MESSAGES }));
    const seconds = (Date.now() - t0) / 1000;
    // Let the last progressions (50 + 100 + 200 ms) finish before measuring.
    await new Promise((r) => setTimeout(r, 1000));
    const after = await ask(child, 'memory');
    return { created: res['2xx'], errors: res.errors + res.non2xx, seconds, idle, after };
  } finally {
    await end(child);
  }
}

const mb = (bytes) => `${Math.round(bytes / 1048576)} MB`;
const pct = (x) => `${Math.round(x * 100)} %`;

async function main() {
  const rows = [];
  const ratios = { off: [], on: [], cpuOff: [], cpuOn: [] };
  for (let run = 1; run <= RUNS; run++) {
    const base = await minimal();
    const off = await emulator(false);
    const on = await emulator(true);
    ratios.off.push(off.reqs / base.reqs);
    ratios.on.push(on.reqs / base.reqs);
    // CPU ratio the other way round (ceiling's cost / emulator's cost) so both read "share of the ceiling".
    ratios.cpuOff.push(base.cpu / off.cpu);
    ratios.cpuOn.push(base.cpu / on.cpu);
    rows.push({ ...base, run, ratio: '100 %' }, { ...off, run, ratio: pct(off.reqs / base.reqs) }, { ...on, run, ratio: pct(on.reqs / base.reqs) });
  }
  printTable(
    rows.map((r) => ({
      case: r.name,
      run: r.run,
      'req/s': r.reqs,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'vs (i)': r.ratio,
      'server CPU µs/req': r.cpu,
      'callbacks/s': r.callbacks ?? '',
      errors: r.errors,
    })),
    ['case', 'run', 'req/s', 'p50 ms', 'p99 ms', 'vs (i)', 'server CPU µs/req', 'callbacks/s', 'errors'],
  );
  console.log('');
  const target = (name, values, min) => ({
    ratio: name,
    runs: values.map(pct).join(', '),
    target: `>= ${pct(min)}`,
    met: values.every((v) => v >= min) ? 'yes' : values.some((v) => v >= min) ? 'one run' : 'NO',
  });
  printTable(
    [
      target('(ii)/(i) req/s', ratios.off, 0.7),
      target('(iii)/(i) req/s', ratios.on, 0.35),
      target('(i)/(ii) CPU per request', ratios.cpuOff, 0.7),
      target('(i)/(iii) CPU per request', ratios.cpuOn, 0.35),
    ],
    ['ratio', 'runs', 'target', 'met'],
  );

  const m = await memory();
  console.log('');
  printTable(
    [
      {
        creates: m.created,
        'req/s': Math.round(m.created / m.seconds),
        stored: m.after.stored,
        'RSS idle': mb(m.idle.rss),
        'RSS after': mb(m.after.memory.rss),
        'heap used after GC': mb(m.after.memory.heapUsed),
        errors: m.errors,
      },
    ],
    ['creates', 'req/s', 'stored', 'RSS idle', 'RSS after', 'heap used after GC', 'errors'],
  );
  console.log(
    `\n${CONNECTIONS} connections, ${DURATION} s per run after a 2 s warm-up, ${RUNS} run(s) per case; memory: default cap (100,000 messages), callbacks off; node ${process.version}.`,
  );
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of children) await stop(c);
  });
