// `smsrelay campaigns …`: argument parsing and display; every operation is a call to a running
// relay's HTTP API (SMSRELAY_URL, SMSRELAY_API_KEY, or --url/--key) through the typed client.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { parse as parseCsv } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { SmsRelayClient, SmsRelayError } from '../client/index.js';
import { ConfigError, loadConfig } from '../config.js';
import { RECIPIENT_STATES } from '../core/campaigns.js';
import type { UploadResult } from '../services/campaigns.js';

type Env = Record<string, string | undefined>;

const USAGE = `Usage:
  smsrelay campaigns create --name <name> (--template <name> | --body <text>) --csv <file>
                            [--category marketing|transactional] [--from <sender>] [--rate <msgs/s>]
                            [--start-at <ISO time>] [--no-dedupe] [--rows-per-request N] [--yes]
  smsrelay campaigns watch <id>
  smsrelay campaigns pause|resume|cancel <id>
  smsrelay campaigns export <id>            (CSV to stdout)
Options: --url <relay URL> (SMSRELAY_URL), --key <API key> (SMSRELAY_API_KEY)`;

/** Rows per upload request by default: each answer updates the progress (rows/s, invalid so far). */
const ROWS_PER_UPLOAD = 20_000;

function fail(msg: string, code = 2): never {
  process.stderr.write(`${msg}\n`);
  process.exit(code);
}

interface Api {
  client: SmsRelayClient;
  url: string;
  key: string;
}

function api(env: Env, values: { url?: string; key?: string }): Api {
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) fail(`smsrelay campaigns: invalid configuration: ${e.message}`);
    throw e;
  }
  const url = (values.url ?? cfg.apiUrl).replace(/\/+$/, '');
  const key = values.key ?? cfg.apiKey;
  if (!key) fail('smsrelay campaigns: give an API key with --key or SMSRELAY_API_KEY');
  return { client: new SmsRelayClient({ baseUrl: url, apiKey: key }), url, key };
}

/** The data of a success, else the relay's error on stderr and exit 1. */
async function call<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (response.ok) return data as T;
  const e = (error as { error?: { code?: string; message?: string; details?: unknown } })?.error;
  fail(`smsrelay campaigns: ${response.status} ${e?.code ?? ''} ${e?.message ?? ''}${e?.details ? ` ${JSON.stringify(e.details)}` : ''}`, 1);
}

async function uploadChunk(a: Api, id: string, csv: string): Promise<UploadResult> {
  const r = await fetch(`${a.url}/v1/campaigns/${encodeURIComponent(id)}/recipients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${a.key}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const body = (await r.json()) as UploadResult & { error?: { code: string; message: string; details?: unknown } };
  if (!r.ok) fail(`smsrelay campaigns: upload refused: ${r.status} ${body.error?.code} ${body.error?.message} ${JSON.stringify(body.error?.details ?? '')}`, 1);
  return body;
}

/**
 * Reads the CSV as a stream and uploads it in requests of `rowsPerRequest` rows (each with the
 * header), showing rows/s and the invalid rows so far. Row numbers are the file's data rows.
 */
async function uploadFile(a: Api, id: string, file: string, rowsPerRequest: number): Promise<UploadResult> {
  const total: UploadResult = { rows: 0, accepted: 0, invalid: 0, duplicates: 0, suppressed: 0, errors: [] };
  const bar = new SingleBar(
    {
      format: 'uploading | {value} rows | {rate} rows/s | invalid {invalid} | duplicates {duplicates}',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(0, 0, { rate: 0, invalid: 0, duplicates: 0 });
  let header: string[] | null = null;
  let chunk: string[][] = [];
  const send = async () => {
    if (!chunk.length || !header) return;
    const rows = chunk;
    chunk = [];
    const r = await uploadChunk(a, id, stringify([header, ...rows]));
    for (const e of r.errors) if (total.errors.length < 100) total.errors.push({ ...e, row: e.row + total.rows });
    for (const k of ['rows', 'accepted', 'invalid', 'duplicates', 'suppressed'] as const) total[k] += r[k];
    bar.update(total.rows, {
      rate: Math.round(total.rows / Math.max(0.001, (Date.now() - started) / 1000)),
      invalid: total.invalid,
      duplicates: total.duplicates,
    });
  };
  const parser = createReadStream(file).pipe(parseCsv({ bom: true, relax_column_count: true, skip_empty_lines: true }));
  for await (const rec of parser as AsyncIterable<string[]>) {
    if (header === null) {
      header = rec;
      continue;
    }
    chunk.push(rec);
    if (chunk.length >= rowsPerRequest) await send();
  }
  await send();
  bar.stop();
  return total;
}

async function create(a: Api, values: Record<string, string | boolean | undefined>): Promise<void> {
  const name = values.name as string | undefined;
  const csv = values.csv as string | undefined;
  if (!name || !csv || (!values.template && !values.body)) fail(USAGE);
  const body = {
    name,
    ...(values.template ? { template: values.template as string } : { body: values.body as string }),
    ...(values.category ? { category: values.category as 'marketing' | 'transactional' } : {}),
    ...(values.from ? { from: values.from as string } : {}),
    ...(values.rate ? { rate: Number(values.rate) } : {}),
    ...(values['start-at'] ? { start_at: values['start-at'] as string } : {}),
    ...(values['no-dedupe'] ? { dedupe: false } : {}),
  };
  const c = await call(a.client.raw.POST('/v1/campaigns', { body }));
  process.stdout.write(`campaign ${c.id} created (draft)\n`);
  const perRequest = values['rows-per-request'] ? Number(values['rows-per-request']) : ROWS_PER_UPLOAD;
  if (!Number.isInteger(perRequest) || perRequest < 1) fail('smsrelay campaigns: --rows-per-request must be a positive integer');
  const t = await uploadFile(a, c.id!, csv, perRequest);
  process.stdout.write(`rows ${t.rows}: accepted ${t.accepted}, invalid ${t.invalid}, duplicates ${t.duplicates}, opted out ${t.suppressed}\n`);
  for (const e of t.errors.slice(0, 20)) process.stdout.write(`  row ${e.row}: ${e.code} ${e.reason}\n`);
  const est = await call(a.client.raw.POST('/v1/campaigns/{id}/estimate', { params: { path: { id: c.id! } } }));
  process.stdout.write(
    `estimate: ${est.valid} recipients × ${est.segments} segment(s), cost ${est.cost?.amount} ${est.cost?.unit}, held by quiet hours now ${est.held_by_quiet_hours_now}\n`,
  );
  if (!values.yes) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question('Start the campaign? [y/N] ')).trim().toLowerCase();
    rl.close();
    if (answer !== 'y' && answer !== 'yes') {
      process.stdout.write(`not started; start it later with: smsrelay campaigns start ${c.id}\n`);
      return;
    }
  }
  const s = await call(a.client.raw.POST('/v1/campaigns/{id}/start', { params: { path: { id: c.id! } } }));
  process.stdout.write(`campaign ${s.id} ${s.status}\n`);
}

async function watch(a: Api, id: string, intervalMs = 1000): Promise<void> {
  const bars = new MultiBar({ format: '{state} |{bar}| {value}/{total}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_grey);
  const states = RECIPIENT_STATES.map((s) => ({ s, bar: bars.create(0, 0, { state: s.padEnd(11) }) }));
  for (;;) {
    const c = await call(a.client.raw.GET('/v1/campaigns/{id}', { params: { path: { id } } }));
    const counts = (c.counts ?? {}) as Record<string, number>;
    for (const { s, bar } of states) {
      bar.setTotal(c.total ?? 0);
      bar.update(counts[s] ?? 0);
    }
    if (c.status === 'completed' || c.status === 'canceled') {
      bars.stop();
      process.stdout.write(`campaign ${id} ${c.status}; cost ${c.cost}\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function runCampaignsCommand(args: string[], env: Env): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      name: { type: 'string' },
      template: { type: 'string' },
      body: { type: 'string' },
      csv: { type: 'string' },
      category: { type: 'string' },
      from: { type: 'string' },
      rate: { type: 'string' },
      'start-at': { type: 'string' },
      'no-dedupe': { type: 'boolean' },
      yes: { type: 'boolean' },
      interval: { type: 'string' },
      'rows-per-request': { type: 'string' },
    },
  });
  const a = api(env, values);
  const id = positionals[0];
  try {
    switch (sub) {
      case 'create':
        return await create(a, values);
      case 'watch':
        if (!id) fail(USAGE);
        return await watch(a, id, values.interval ? Number(values.interval) : 1000);
      case 'start':
      case 'pause':
      case 'resume':
      case 'cancel': {
        if (!id) fail(USAGE);
        const c = await call(a.client.raw.POST(`/v1/campaigns/{id}/${sub}`, { params: { path: { id } } }));
        process.stdout.write(`campaign ${c.id} ${c.status}\n`);
        return;
      }
      case 'export': {
        if (!id) fail(USAGE);
        const r = await fetch(`${a.url}/v1/campaigns/${encodeURIComponent(id)}/recipients.csv`, { headers: { authorization: `Bearer ${a.key}` } });
        if (!r.ok || !r.body) fail(`smsrelay campaigns export: ${r.status} ${await r.text()}`, 1);
        await pipeline(Readable.fromWeb(r.body as import('node:stream/web').ReadableStream), process.stdout);
        return;
      }
      default:
        fail(USAGE);
    }
  } catch (e) {
    if (e instanceof SmsRelayError) fail(`smsrelay campaigns: ${e.status} ${e.code} ${e.message}`, 1);
    throw e;
  }
}
