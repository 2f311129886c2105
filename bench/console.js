// npm run bench:console — every /v1 call the admin console's pages make, with 1,000,000 messages stored.
//   `--db sqlite` / `--db postgres://…` (a fresh PostgreSQL database per run, dropped after); `--quick`
//   for a small smoke run (BENCH_MESSAGES overrides the count).
// The data is generated set-based in the database (generate_series on PostgreSQL, a recursive CTE on
// SQLite), in a fresh database: 60 days of messages (statuses, categories, templates, 5,000 numbers,
// inbound replies in 5,000 conversations, events on a tenth), contacts, consent events, opt-outs,
// 100,000 verifications over five countries, audit entries. The usage rollup is then brought up to
// date by the relay's own aggregator. Each call is timed one request at a time (sequential), then with
// four connections at once; the client runs in the relay's process over 127.0.0.1, so the time is the
// server's plus a loopback round trip. Target: p95 ≤ 200 ms for every call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, dbLabel, dropStalePgDatabases, freshPgDatabase, printTable } from './lib.js';

const { dbs, quick } = benchArgs();
const N = Number(process.env.BENCH_MESSAGES ?? (quick ? 20_000 : 1_000_000));
const SEQUENTIAL = Number(process.env.BENCH_REQUESTS ?? (quick ? 20 : 100));
const CONCURRENT = 4;
const TARGET_MS = 200;
const NUMBERS = 5000;
const VERIFICATIONS = Math.max(1000, Math.round(N / 10));
// A large campaign's recipients, each linked to a seeded message.
const CAMPAIGN_RECIPIENTS = Math.min(N, quick ? 2_000 : 100_000);
const DAY = 86_400_000;
const END = Date.now();
const START = END - 60 * DAY;
const OURS = '+15005550006';

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** `g` from 1 to n as rows, the statement using them in `body` (an INSERT … SELECT … FROM s). */
function series(dialect, n, body) {
  return dialect === 'postgres'
    ? `WITH s AS (SELECT g::bigint AS g FROM generate_series(1, ${n}) AS g) ${body}`
    : `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ${n}) ${body}`;
}
const pad = (dialect, expr, w) => (dialect === 'postgres' ? `lpad((${expr})::text, ${w}, '0')` : `substr('${'0'.repeat(w)}' || (${expr}), -${w})`);
const phone = (dialect, expr) => `'+1415555' || ${pad(dialect, expr, 4)}`;

function seedSql(dialect, tenant) {
  const step = Math.floor((END - START) / N);
  const at = `(${START} + (g - 1) * ${step})`;
  const num = phone(dialect, `g % ${NUMBERS}`);
  const inbound = 'g % 20 = 0';
  const status = `CASE WHEN ${inbound} THEN 'received' WHEN g > ${N - 300} THEN 'pending' WHEN g > ${N - 600} THEN 'scheduled'
    WHEN g % 100 < 60 THEN 'delivered' WHEN g % 100 < 75 THEN 'sent' WHEN g % 100 < 85 THEN 'undelivered' WHEN g % 100 < 95 THEN 'failed' ELSE 'canceled' END`;
  const waiting = `g > ${N - 600} AND NOT (${inbound})`;
  // Conversation ids are UUID-shaped (the API checks their form).
  const conv = `'00000000-0000-7000-8000-' || ${pad(dialect, `g % ${NUMBERS}`, 12)}`;
  return [
    series(
      dialect,
      N,
      `INSERT INTO messages (id, tenant_id, direction, channel, to_addr, from_addr, body, segments, status, provider_sid, price, price_unit,
        price_estimated, attempts, max_attempts, next_attempt_at, category, template_name, template_version, conversation_id, country, sensitive,
        metered, created_at, updated_at, sent_at)
      SELECT 'bench-' || ${pad(dialect, 'g', 9)}, '${tenant}', CASE WHEN ${inbound} THEN 'inbound' ELSE 'outbound' END, 'sms',
        CASE WHEN ${inbound} THEN '${OURS}' ELSE ${num} END, CASE WHEN ${inbound} THEN ${num} ELSE '${OURS}' END,
        'Bench message ' || g, 1, ${status},
        CASE WHEN ${waiting} OR g % 100 >= 95 THEN NULL ELSE 'SMbench' || ${pad(dialect, 'g', 25)} END,
        CASE WHEN ${inbound} OR ${waiting} OR g % 100 >= 95 THEN NULL ELSE '-0.00790' END, 'USD', 0, 1, 5,
        CASE WHEN ${waiting} THEN ${at} ELSE NULL END,
        CASE WHEN g % 10 < 3 THEN 'marketing' WHEN g % 10 = 3 THEN 'otp' ELSE 'transactional' END,
        CASE WHEN g % 8 = 0 THEN 'promo-' || (g % 5) ELSE NULL END, CASE WHEN g % 8 = 0 THEN 1 ELSE NULL END,
        CASE WHEN ${inbound} OR g % 10 = 5 THEN ${conv} ELSE NULL END, 'US', 0, 1, ${at}, ${at}, CASE WHEN ${waiting} THEN NULL ELSE ${at} END
      FROM s`,
    ),
    // Two events (sent, then the final status) on every tenth message.
    series(
      dialect,
      Math.floor(N / 10),
      `INSERT INTO message_events (message_id, tenant_id, status, source, data, created_at)
      SELECT 'bench-' || ${pad(dialect, 'g * 10', 9)}, '${tenant}', x.status, x.source, '{"SmsStatus":"' || x.status || '"}', ${START} + (g * 10 - 1) * ${step}
      FROM s, (SELECT 'sent' AS status, 'worker' AS source UNION ALL SELECT 'delivered', 'callback') AS x`,
    ),
    series(
      dialect,
      NUMBERS,
      `INSERT INTO conversations (id, tenant_id, contact_addr, our_addr, status, unread_count, last_message_at, needs_attention, created_at, updated_at)
      SELECT '00000000-0000-7000-8000-' || ${pad(dialect, `g - 1`, 12)}, '${tenant}', ${phone(dialect, 'g - 1')}, '${OURS}', 'active', g % 3, ${END} - g * 60000,
        CASE WHEN g % 50 = 0 THEN 1 ELSE 0 END, ${START}, ${END} - g * 60000 FROM s`,
    ),
    series(
      dialect,
      NUMBERS,
      `INSERT INTO contacts (tenant_id, phone, name, locale, time_zone, fields, created_at, updated_at)
      SELECT '${tenant}', ${phone(dialect, 'g - 1')}, 'Contact ' || g, 'en', 'America/Los_Angeles', '{}', ${START}, ${START} FROM s`,
    ),
    series(
      dialect,
      NUMBERS,
      `INSERT INTO consent_events (id, tenant_id, phone, action, source, created_at)
      SELECT 'ce-' || ${pad(dialect, 'g', 6)}, '${tenant}', ${phone(dialect, 'g - 1')}, CASE WHEN g % 10 = 0 THEN 'opt_out' ELSE 'opt_in' END, 'api', ${START} + g * 1000 FROM s`,
    ),
    series(
      dialect,
      NUMBERS / 10,
      `INSERT INTO suppressions (tenant_id, phone, source, reason, event_id, created_at)
      SELECT '${tenant}', ${phone(dialect, 'g * 10 - 1')}, 'api', 'bench', 'ce-' || ${pad(dialect, 'g * 10', 6)}, ${START} + g * 10000 FROM s`,
    ),
    // Five countries, ten prefixes each; about two in three approved.
    series(
      dialect,
      VERIFICATIONS,
      `INSERT INTO verifications (id, tenant_id, backend, to_addr, channel, country, prefix, locale, code_length, status, expires_at, created_at, updated_at, approved_at)
      SELECT 'v-' || ${pad(dialect, 'g', 8)}, '${tenant}', 'local',
        (CASE g % 5 WHEN 0 THEN '+1415' WHEN 1 THEN '+4477' WHEN 2 THEN '+336' WHEN 3 THEN '+4915' ELSE '+5511' END) || (g % 10) || ${pad(dialect, 'g % 100000', 6)},
        'sms', CASE g % 5 WHEN 0 THEN 'US' WHEN 1 THEN 'GB' WHEN 2 THEN 'FR' WHEN 3 THEN 'DE' ELSE 'BR' END,
        (CASE g % 5 WHEN 0 THEN '+1415' WHEN 1 THEN '+4477' WHEN 2 THEN '+336' WHEN 3 THEN '+4915' ELSE '+5511' END) || (g % 10),
        'en', 6, CASE WHEN g % 3 = 0 THEN 'pending' ELSE 'approved' END,
        ${START} + (g - 1) * ${Math.floor((END - START) / VERIFICATIONS)} + 600000, ${START} + (g - 1) * ${Math.floor((END - START) / VERIFICATIONS)},
        ${START} + (g - 1) * ${Math.floor((END - START) / VERIFICATIONS)}, CASE WHEN g % 3 = 0 THEN NULL ELSE ${START} + (g - 1) * ${Math.floor((END - START) / VERIFICATIONS)} END
      FROM s`,
    ),
    `INSERT INTO verify_blocked_prefixes (tenant_id, prefix, blocked_until, started, approved, created_at) VALUES ('${tenant}', '+88235', ${END + DAY}, 40, 1, ${END})`,
    series(
      dialect,
      5000,
      `INSERT INTO audit_log (id, tenant_id, platform, action, target, changes, created_at)
      SELECT 'al-' || ${pad(dialect, 'g', 6)}, '${tenant}', 0, 'settings.update', 'settings', '{"daily_cap":{"from":null,"to":1000}}', ${START} + g * 1000000 FROM s`,
    ),
  ];
}

/** Times `path` SEQUENTIAL times one by one, then CONCURRENT connections sharing as many again. */
async function measure(base, headers, path) {
  const run = async (connections) => {
    const times = [];
    let next = 0;
    const conn = async () => {
      while (next < SEQUENTIAL) {
        next++;
        const t0 = performance.now();
        const r = await fetch(base + path, { headers });
        const body = await r.text();
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body}`);
        times.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: connections }, conn));
    return times.sort((a, b) => a - b);
  };
  // What the call returns (rows of a list), to show that each measured a real answer.
  const first = await (await fetch(base + path, { headers })).json();
  const rows = Array.isArray(first.data) ? first.data.length : Array.isArray(first.countries) ? first.countries.length + first.prefixes.length : '—';
  const seq = await run(1);
  const par = await run(CONCURRENT);
  return { rows, p50: pct(seq, 50), p95: pct(seq, 95), p95c: pct(par, 95) };
}

async function relayCase(db) {
  const { createSmsRelay, createLogger, loadConfig } = await import('../dist/index.js');
  const { sql } = await import('kysely');
  let url;
  let cleanup;
  if (db === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'smsrelay-bench-console-'));
    url = `sqlite:${join(dir, 'bench.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    await dropStalePgDatabases(db);
    const fresh = await freshPgDatabase(db, 'console');
    url = fresh.url;
    cleanup = fresh.drop;
  }
  // No worker: the pending messages stay in the outbox; the usage aggregator is run below by hand.
  const relay = await createSmsRelay(
    {
      host: '127.0.0.1',
      port: 0,
      databaseUrl: url,
      logLevel: 'silent',
      provider: 'disabled',
      reconciler: { enabled: false },
      // The endpoint's URL is never called (no event is raised here); it only has to be accepted.
      events: { ...loadConfig({}).events, allowPrivate: true },
    },
    { logger: createLogger('silent') },
  );
  try {
    const tenant = relay.defaultTenant.id;
    const { key } = await relay.apiKeys.create(tenant, 'bench', ['admin']);
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    let t0 = performance.now();
    for (const statement of seedSql(relay.db.dialect, tenant)) await sql.raw(statement).execute(relay.db.kysely);
    const seedS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    for (;;) if ((await relay.data.usage.aggregate(1000)) === 0) break;
    const aggregateS = (performance.now() - t0) / 1000;

    const base = await relay.listen();

    // A few writes through the API, as an operator's would be: templates, a webhook endpoint, settings.
    const post = async (path, body, method = 'POST') => {
      const r = await fetch(base + path, { method, headers, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.json();
    };
    for (let i = 0; i < 5; i++) await post('/v1/templates', { name: `promo-${i}`, category: 'marketing', locales: { en: `Sale ${i}: {{ code }}` } });
    await post('/v1/templates/promo-1', { category: 'marketing', locales: { en: 'Sale 1, again: {{ code }}' } }, 'PUT');
    const endpoint = await post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', event_types: ['message.delivered'] });
    await post('/v1/settings', { daily_cap: 2_000_000 }, 'PATCH');
    // A campaign of CAMPAIGN_RECIPIENTS uploaded through the API, then every recipient linked to one of
    // the seeded messages (as if it had run): its page counts the recipients by their messages' statuses.
    const campaign = await post('/v1/campaigns', { name: 'Bench campaign', body: 'Sale today', category: 'transactional' });
    const csv = ['phone', ...Array.from({ length: CAMPAIGN_RECIPIENTS }, (_, i) => `+1415${String(2_000_000 + i)}`)].join('\n');
    const up = await fetch(`${base}/v1/campaigns/${campaign.id}/recipients`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/csv' },
      body: csv,
    });
    if (up.status !== 200) throw new Error(`campaign upload: ${up.status} ${await up.text()}`);
    const linkId = relay.db.dialect === 'sqlite' ? `printf('bench-%09d', seq)` : `'bench-' || lpad(seq::text, 9, '0')`;
    await sql.raw(`UPDATE campaign_recipients SET status = 'messaged', message_id = ${linkId} WHERE campaign_id = '${campaign.id}'`).execute(relay.db.kysely);
    await sql.raw(`UPDATE campaigns SET status = 'running' WHERE id = '${campaign.id}'`).execute(relay.db.kysely);
    await sql
      .raw(`UPDATE messages SET campaign_id = '${campaign.id}' WHERE id IN (SELECT message_id FROM campaign_recipients WHERE campaign_id = '${campaign.id}')`)
      .execute(relay.db.kysely);
    // Planner statistics and (PostgreSQL) the visibility map that index-only scans need, as
    // autovacuum or `PRAGMA optimize` (SQLite) would keep them over time.
    await sql.raw(relay.db.dialect === 'postgres' ? 'VACUUM ANALYZE' : 'ANALYZE').execute(relay.db.kysely);

    const now = new Date(END);
    const iso = (ms) => new Date(ms).toISOString();
    const dayStart = iso(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const monthStart = iso(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    // The cursor of page 21 (1,000 rows deep) and of page 201 (10,000 deep) of the unfiltered list.
    const cursorAt = async (pages, query = '') => {
      let cursor = null;
      for (let i = 0; i < pages; i++) {
        const r = await (await fetch(`${base}/v1/messages?limit=50${query}${cursor ? `&cursor=${cursor}` : ''}`, { headers })).json();
        cursor = r.next_cursor;
      }
      return cursor;
    };
    const deep = await cursorAt(20);
    const deeper = await cursorAt(quick ? 40 : 200);
    const deepMarketing = await cursorAt(20, '&category=marketing');
    const id = `bench-${String(Math.floor(N / 2) - (Math.floor(N / 2) % 10)).padStart(9, '0')}`;
    const number = '+14155550123';
    const conv = '00000000-0000-7000-8000-000000000123';
    const since30 = iso(END - 30 * DAY);
    const oneDay = `since=${iso(END - 31 * DAY)}&until=${iso(END - 30 * DAY)}`;

    const calls = [
      ['dashboard', 'usage today by status', `/v1/usage?since=${dayStart}&group_by=status`],
      ['dashboard', 'usage this month', `/v1/usage?since=${monthStart}`],
      ['dashboard', 'usage 30 days', '/v1/usage'],
      ['dashboard', 'policy stats', '/v1/policy/stats'],
      ['dashboard', 'outbox', '/v1/outbox'],
      ['shell', 'session', null],
      ['messages', 'list', '/v1/messages?limit=50'],
      ['messages', 'status=delivered', '/v1/messages?limit=50&status=delivered'],
      ['messages', 'status=pending (rare)', '/v1/messages?limit=50&status=pending'],
      ['messages', 'to=<number>', `/v1/messages?limit=50&to=${encodeURIComponent(number)}`],
      ['messages', 'category=otp', '/v1/messages?limit=50&category=otp'],
      ['messages', 'template=promo-3', '/v1/messages?limit=50&template=promo-3'],
      ['messages', 'since (last 30 days)', `/v1/messages?limit=50&since=${since30}`],
      ['messages', 'one day, 30 days ago', `/v1/messages?limit=50&${oneDay}`],
      ['messages', 'status + category + day', `/v1/messages?limit=50&status=failed&category=marketing&${oneDay}`],
      ['messages', 'template + status', '/v1/messages?limit=50&template=promo-2&status=failed'],
      ['messages', 'cursor, 1,000 deep', `/v1/messages?limit=50&cursor=${deep}`],
      ['messages', `cursor, ${quick ? '2,000' : '10,000'} deep`, `/v1/messages?limit=50&cursor=${deeper}`],
      ['messages', 'category=marketing, 1,000 deep', `/v1/messages?limit=50&category=marketing&cursor=${deepMarketing}`],
      ['messages', 'template names (filter)', '/v1/templates?limit=200'],
      ['message', 'detail', `/v1/messages/${id}`],
      ['message', 'events', `/v1/messages/${id}/events`],
      ['conversations', 'inbox', '/v1/conversations?limit=100'],
      ['conversations', 'one', `/v1/conversations/${conv}`],
      ['conversations', 'thread', `/v1/conversations/${conv}/messages?limit=100`],
      ['contacts', 'opt-outs', '/v1/opt-outs?limit=50'],
      ['contacts', 'contact', `/v1/contacts/${encodeURIComponent(number)}`],
      ['contacts', 'consent', `/v1/consents/${encodeURIComponent(number)}`],
      ['templates', 'list', '/v1/templates?limit=200'],
      ['templates', 'versions', '/v1/templates/promo-1/versions?limit=20'],
      ['settings', 'settings', '/v1/settings'],
      ['settings', 'API keys', '/v1/api-keys'],
      ['settings', 'audit log', '/v1/audit-log?limit=20'],
      ['settings', 'webhook endpoints', '/v1/webhook-endpoints'],
      ['settings', 'endpoint attempts', `/v1/webhook-endpoints/${endpoint.id}/attempts?limit=20`],
      ['verifications', 'stats, 24 hours', `/v1/verifications/stats?since=${iso(END - DAY)}&until=${iso(END)}`],
      ['verifications', 'stats, 7 days', `/v1/verifications/stats?since=${iso(END - 7 * DAY)}&until=${iso(END)}`],
      ['verifications', 'stats, 30 days', `/v1/verifications/stats?since=${iso(END - 30 * DAY)}&until=${iso(END)}`],
      ['campaigns', 'list', '/v1/campaigns?limit=100'],
      ['campaigns', `one (${CAMPAIGN_RECIPIENTS.toLocaleString('en')} recipients)`, `/v1/campaigns/${campaign.id}`],
      ['campaigns', 'recipients', `/v1/campaigns/${campaign.id}/recipients?limit=50`],
      ['campaigns', 'recipients, delivered', `/v1/campaigns/${campaign.id}/recipients?limit=50&status=delivered`],
      ['campaigns', 'its messages', `/v1/messages?limit=50&campaign=${campaign.id}`],
    ];
    // The shell's GET /admin/session runs with the session cookie of a sign-in.
    const signIn = await fetch(`${base}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const rows = [];
    for (const [page, call, path] of calls) {
      const r = path === null ? await measure(base, { cookie }, '/admin/session') : await measure(base, headers, path);
      rows.push({ page, call, ...r });
    }
    return { seedS, aggregateS, rows };
  } finally {
    await relay.close();
    await cleanup();
  }
}

const ms = (v) => `${v.toFixed(1)} ms`;
const summary = [];
for (const db of dbs) {
  const r = await relayCase(db);
  console.log(
    `\n${dbLabel(db)}: ${N.toLocaleString('en')} messages (+ events, conversations, contacts, consents, ${VERIFICATIONS.toLocaleString('en')} verifications) seeded in ${r.seedS.toFixed(1)} s, usage rollup brought up to date in ${r.aggregateS.toFixed(1)} s; ${SEQUENTIAL} requests per call sequentially, then ${SEQUENTIAL} over ${CONCURRENT} connections`,
  );
  printTable(
    r.rows.map((x) => ({
      page: x.page,
      call: x.call,
      rows: String(x.rows),
      p50: ms(x.p50),
      p95: ms(x.p95),
      [`p95 (${CONCURRENT} conn.)`]: ms(x.p95c),
      met: Math.max(x.p95, x.p95c) <= TARGET_MS ? 'met' : 'NOT met',
    })),
    ['page', 'call', 'rows', 'p50', 'p95', `p95 (${CONCURRENT} conn.)`, 'met'],
  );
  const worst = r.rows.reduce((a, b) => (Math.max(b.p95, b.p95c) > Math.max(a.p95, a.p95c) ? b : a));
  summary.push({
    database: dbLabel(db),
    'worst call': `${worst.page}: ${worst.call}`,
    'its p95': ms(Math.max(worst.p95, worst.p95c)),
    target: `≤ ${TARGET_MS} ms`,
    met: Math.max(worst.p95, worst.p95c) <= TARGET_MS ? 'met' : 'NOT met',
  });
}
console.log('');
printTable(summary, ['database', 'worst call', 'its p95', 'target', 'met']);
