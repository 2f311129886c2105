// Shared helpers for the benchmarks: child-process servers, autocannon runs, table printing.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import autocannon from 'autocannon';

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

/** Starts the smsrelay CLI with env, waits until `url` answers. */
export async function startCli(args, env, readyUrl) {
  const child = spawn(process.execPath, ['dist/cli/main.js', ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
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
