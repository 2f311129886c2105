// npm run bench:usage — GET /v1/usage with 1,000,000 messages stored, against bare Fastify in the same run.
//   (a) bare Fastify answering a small JSON document — the ceiling
//   (u) smsrelay GET /v1/usage (30 days by day, grouped by status; and by hour, grouped by country)
//       on each database of `--db sqlite` / `--db postgres://…` (a fresh PostgreSQL database per
//       run, dropped after)
// The messages are generated set-based in the database (generate_series on PostgreSQL, a recursive
// CTE on SQLite): 30 days, four statuses, three countries, two categories, prices on most. The
// rollup is then built by the relay's own aggregator (its time is reported). Latencies are measured
// one request at a time per connection (1, then 4 connections in parallel), for a bounded number of
// requests; the client runs in the same process as the relay, as in an embedded deployment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, dbLabel, dropStalePgDatabases, freshPgDatabase, printTable } from './lib.js';

const { dbs, quick } = benchArgs();
const N = Number(process.env.BENCH_MESSAGES ?? (quick ? 20_000 : 1_000_000));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (quick ? 200 : 2_000));
// One client at a time (the latency of one report), then four at once (reports queue behind each other).
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,4').split(',').map(Number);
const DAYS = 30;
const END = Date.parse('2026-05-31T00:00:00Z');
const START = END - DAYS * 86_400_000;

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function measure(url, headers, connections) {
  const times = [];
  let next = 0;
  const conn = async () => {
    while (next < REQUESTS) {
      next++;
      const t0 = performance.now();
      const r = await fetch(url, { headers });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, conn));
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p95: pct(times, 95), p99: pct(times, 99) };
}

async function bare() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/v1/usage', async () => ({ totals: { messages: 0 }, data: [] }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const r = await measure(`http://127.0.0.1:${app.server.address().port}/v1/usage`, {}, 1);
  await app.close();
  return r;
}

// The columns every generated row sets (others take their defaults or NULL).
const COLS =
  'id, tenant_id, direction, channel, to_addr, from_addr, segments, status, provider_sid, price, price_unit, price_estimated, attempts, max_attempts, category, sensitive, created_at, updated_at';

function generateSql(dialect, tenantId) {
  const step = Math.floor((END - START) / N);
  if (dialect === 'postgres') {
    return `INSERT INTO messages (${COLS}) SELECT
      'bench-' || lpad(g::text, 9, '0'), '${tenantId}', 'outbound', CASE WHEN g % 10 = 0 THEN 'mms' ELSE 'sms' END,
      (ARRAY['+14155550100', '+447400123456', '+33612345678'])[g % 3 + 1], '+15005550006', 1 + g % 3,
      (ARRAY['delivered', 'delivered', 'undelivered', 'failed', 'sent'])[g % 5 + 1], 'SM' || lpad(to_hex(g), 32, '0'),
      CASE WHEN g % 7 = 0 THEN NULL ELSE '-0.00790' END, 'USD', CASE WHEN g % 11 = 0 THEN 1 ELSE 0 END, 1, 5,
      CASE WHEN g % 4 = 0 THEN 'marketing' ELSE 'transactional' END, 0, ${START}::bigint + (g - 1)::bigint * ${step}, ${START}::bigint + (g - 1)::bigint * ${step}
      FROM generate_series(1, ${N}) AS g`;
  }
  return `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ${N})
    INSERT INTO messages (${COLS}) SELECT
      'bench-' || substr('000000000' || g, -9), '${tenantId}', 'outbound', CASE WHEN g % 10 = 0 THEN 'mms' ELSE 'sms' END,
      CASE g % 3 WHEN 0 THEN '+14155550100' WHEN 1 THEN '+447400123456' ELSE '+33612345678' END, '+15005550006', 1 + g % 3,
      CASE g % 5 WHEN 0 THEN 'delivered' WHEN 1 THEN 'delivered' WHEN 2 THEN 'undelivered' WHEN 3 THEN 'failed' ELSE 'sent' END,
      'SM' || printf('%032x', g), CASE WHEN g % 7 = 0 THEN NULL ELSE '-0.00790' END, 'USD', CASE WHEN g % 11 = 0 THEN 1 ELSE 0 END, 1, 5,
      CASE WHEN g % 4 = 0 THEN 'marketing' ELSE 'transactional' END, 0, ${START} + (g - 1) * ${step}, ${START} + (g - 1) * ${step}
    FROM s`;
}

async function relayCase(db) {
  const { createSmsRelay, createLogger } = await import('../dist/index.js');
  const { sql } = await import('kysely');
  let url;
  let cleanup;
  if (db === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-usage-'));
    url = `sqlite:${join(dir, 'bench.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    await dropStalePgDatabases(db);
    const fresh = await freshPgDatabase(db, 'usage');
    url = fresh.url;
    cleanup = fresh.drop;
  }
  const relay = await createSmsRelay(
    { host: '127.0.0.1', port: 0, databaseUrl: url, logLevel: 'silent', provider: 'disabled', reconciler: { enabled: false } },
    { logger: createLogger('silent') },
  );
  try {
    const { key } = await relay.apiKeys.create(relay.defaultTenant.id, 'bench', ['usage:read']);
    let t0 = performance.now();
    await sql.raw(generateSql(relay.db.dialect, relay.defaultTenant.id)).execute(relay.db.kysely);
    const generateS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    let counted = 0;
    for (;;) {
      const n = await relay.data.usage.aggregate(1000);
      counted += n;
      if (n === 0) break;
    }
    const aggregateS = (performance.now() - t0) / 1000;
    const rollupRows = Number((await sql`select count(*) as n from usage_rollup`.execute(relay.db.kysely)).rows[0].n);
    if (relay.db.dialect === 'postgres') await sql`analyze`.execute(relay.db.kysely);
    const base = await relay.listen();
    const headers = { authorization: `Bearer ${key}` };
    const q1 = `${base}/v1/usage?since=${new Date(START).toISOString()}&until=${new Date(END).toISOString()}&granularity=day&group_by=status`;
    const q2 = `${base}/v1/usage?since=${new Date(END - 7 * 86_400_000).toISOString()}&until=${new Date(END).toISOString()}&granularity=hour&group_by=country`;
    const check = await (await fetch(q1, { headers })).json();
    if (check.totals.messages !== N) throw new Error(`usage counts ${check.totals.messages} messages, expected ${N}`);
    const cases = [];
    for (const c of CONNECTIONS) {
      cases.push({ case: `30 days by day, group_by=status, ${c} conn.`, ...(await measure(q1, headers, c)) });
      cases.push({ case: `7 days by hour, group_by=country, ${c} conn.`, ...(await measure(q2, headers, c)) });
    }
    return { generateS, aggregateS, counted, rollupRows, cases };
  } finally {
    await relay.close();
    await cleanup();
  }
}

const ms = (v) => `${v.toFixed(1)} ms`;
const a = await bare();
console.log(`\n(a) bare Fastify: p50 ${ms(a.p50)}, p95 ${ms(a.p95)}, p99 ${ms(a.p99)} (${REQUESTS} requests, 1 connection)`);
const summary = [];
for (const db of dbs) {
  const r = await relayCase(db);
  console.log(
    `\n${dbLabel(db)}: ${N.toLocaleString('en')} messages generated in ${r.generateS.toFixed(1)} s, counted by the aggregator in ${r.aggregateS.toFixed(1)} s (${Math.round(r.counted / r.aggregateS).toLocaleString('en')} msg/s), ${r.rollupRows} rollup rows`,
  );
  printTable(
    r.cases.map((c) => ({ case: c.case, p50: ms(c.p50), p95: ms(c.p95), p99: ms(c.p99) })),
    ['case', 'p50', 'p95', 'p99'],
  );
  for (const c of CONNECTIONS) {
    const worst = Math.max(...r.cases.filter((x) => x.case.endsWith(` ${c} conn.`)).map((x) => x.p95));
    summary.push({ database: dbLabel(db), connections: c, 'p95 (worst query)': ms(worst), target: '≤ 50 ms', met: worst <= 50 ? 'met' : 'NOT met' });
  }
}
console.log('');
printTable(summary, ['database', 'connections', 'p95 (worst query)', 'target', 'met']);
