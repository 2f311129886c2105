// Campaigns: a message (template or body) to an audience uploaded as a stream (CSV or NDJSON),
// validated row by row and appended in batches; a state machine (core/campaigns.ts); and the
// dispatch of each recipient as an ordinary message through the send path. Pause and cancel are a
// state on the campaign, read by the dispatch policy (campaignPolicy) before each send.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { parse as parseCsv } from 'csv-parse';
import { SENDABLE_CATEGORIES } from '../core/categories.js';
import { CAMPAIGN_MOVES, type CampaignAction, recipientState, RECIPIENT_STATES, type RecipientState, stateFilter } from '../core/campaigns.js';
import { AppError, type ErrorCode } from '../core/errors.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import { normalizeRecipient } from '../core/phone.js';
import { DEFAULT_RATE_TABLE, estimatePrice, sumPrices } from '../core/pricing.js';
import { SEND, type Decision } from '../core/policy.js';
import type { TenantSettings } from '../core/settings.js';
import type {
  CampaignRecipientRecord,
  CampaignRecord,
  CampaignsRepository,
  Clock,
  EventsRepository,
  MessagesRepository,
  NewRecipient,
  Policy,
  PolicyMessage,
  Random,
  RecipientOutcome,
  UnitOfWork,
} from '../ports.js';
import { newEvent } from './events.js';
import type { MessagesService, SendInput } from './messages.js';
import type { TemplatesService } from './templates.js';
import type { Tenant } from './tenants.js';

export interface CampaignInput {
  name?: unknown;
  template?: unknown;
  template_locale?: unknown;
  body?: unknown;
  category?: unknown;
  from?: unknown;
  messaging_service_sid?: unknown;
  rate?: unknown;
  start_at?: unknown;
  dedupe?: unknown;
}

export interface CampaignResource {
  id: string;
  name: string;
  status: string;
  template: string | null;
  template_locale: string | null;
  body: string | null;
  category: string;
  from: string | null;
  messaging_service_sid: string | null;
  rate: number | null;
  start_at: string | null;
  dedupe: boolean;
  variables: string[];
  uploaded_rows: number;
  duplicates: number;
  counts: Record<RecipientState, number>;
  total: number;
  cost: string;
  rate_now: number;
  estimated_finish: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface UploadResult {
  rows: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  suppressed: number;
  errors: { row: number; code: string; reason: string }[];
}

export interface RecipientResource {
  seq: number;
  row: number;
  phone: string;
  variables: Record<string, unknown>;
  status: RecipientState;
  error_code: string | null;
  error_message: string | null;
  message_id: string | null;
  provider_sid: string | null;
  price: string | null;
}

export interface CampaignsServiceDeps {
  campaigns: CampaignsRepository;
  /** Cancels the campaign's unsent messages (status moves). */
  messages: Pick<MessagesRepository, 'transition'>;
  send: Pick<MessagesService, 'send'>;
  templates: Pick<TemplatesService, 'variables' | 'preview' | 'previewBody'>;
  /** Quiet hours alone, for the estimate of who would be held now. */
  quietHours: Policy;
  settings: { get(tenantId: string): Promise<TenantSettings> };
  tenantById(id: string): Promise<Tenant | undefined>;
  write: UnitOfWork['write'];
  /** campaign.completed for the host application, in the transaction that completes the campaign. */
  events: Pick<EventsRepository, 'append'>;
  clock: Clock;
  random: Random;
  rejectFixedLine: boolean;
  states: CampaignStates;
  logger: Pick<Logger, 'error'>;
  /** Called when a campaign starts or resumes, so the dispatcher looks at once. */
  onActive?: () => void;
}

/** Rows per insert statement (and per transaction) while uploading. */
const UPLOAD_BATCH = 500;
/** Invalid rows reported in an upload's answer (all of them stay listable as `invalid`). */
const MAX_REPORTED_ERRORS = 100;
/** A CSV record (one line) longer than this ends the upload: no row of a campaign is that large. */
const MAX_RECORD_BYTES = 64 * 1024;
const MAX_FIELD_CHARS = 1000;
const MAX_COLUMNS = 100;
const MAX_NAME = 200;
const MAX_RATE = 10_000;
const MAX_START_AHEAD_MS = 365 * 86_400_000;
/** How long the dispatch policy trusts a campaign's state it read: pause takes effect within this (and one send). */
const STATE_TTL_MS = 200;
/** Held while paused: until resumed (resume releases them at once), or re-judged after this. */
const PAUSE_HOLD_MS = 60 * 60 * 1000;
const CANCEL_BATCH = 500;
const E164 = /^\+[1-9]\d{3,14}$/;
const MG_SID = /^MG[0-9a-fA-F]{32}$/;
const SUPPRESSING: readonly string[] = ['SMS_ERR_RECIPIENT_OPTED_OUT', 'SMS_ERR_NO_CONSENT', 'SMS_ERR_CONVERSATION_BLOCKED'];

const bad = (field: string, message: string) => new AppError('SMS_ERR_VALIDATION', message, { field });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function emptyCounts(): Record<RecipientState, number> {
  return Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
}

export class CampaignsService {
  constructor(private readonly d: CampaignsServiceDeps) {}

  // ---- create, read ----

  async create(tenant: Tenant, input: CampaignInput): Promise<CampaignResource> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('body', 'The request body must be a JSON object.');
    const name = input.name;
    if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME) throw bad('name', `name must be 1 to ${MAX_NAME} characters`);
    const hasTemplate = input.template !== undefined && input.template !== null;
    const hasBody = input.body !== undefined && input.body !== null;
    if (hasTemplate === hasBody) throw new AppError('SMS_ERR_BODY_AND_TEMPLATE', 'Give either template or body.', { field: hasTemplate ? 'template' : 'body' });
    let variables: string[] = [];
    let category = input.category ?? null;
    if (hasTemplate) {
      if (typeof input.template !== 'string') throw bad('template', 'template must be a template name');
      const t = await this.d.templates.variables(tenant, input.template);
      variables = t.variables;
      category ??= t.category;
    } else if (typeof input.body !== 'string' || input.body === '' || input.body.length > 1600) {
      throw bad('body', 'body must be 1 to 1600 characters');
    }
    category ??= 'marketing';
    if (typeof category !== 'string' || !(SENDABLE_CATEGORIES as readonly string[]).includes(category)) {
      throw bad('category', `category must be one of ${SENDABLE_CATEGORIES.map((c) => `'${c}'`).join(', ')}`);
    }
    const locale = input.template_locale ?? null;
    if (locale !== null && (typeof locale !== 'string' || locale.length > 35)) throw bad('template_locale', 'template_locale must be a BCP 47 tag');
    const from = input.from ?? null;
    if (from !== null && (typeof from !== 'string' || !(E164.test(from) || /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/.test(from)))) {
      throw bad('from', 'from must be an E.164 number or an alphanumeric sender ID');
    }
    const mg = input.messaging_service_sid ?? null;
    if (mg !== null && (typeof mg !== 'string' || !MG_SID.test(mg)))
      throw bad('messaging_service_sid', "messaging_service_sid must be 'MG' followed by 32 hex characters");
    const rate = input.rate ?? null;
    if (rate !== null && (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1 || rate > MAX_RATE)) {
      throw bad('rate', `rate must be an integer from 1 to ${MAX_RATE} messages per second`);
    }
    const now = this.d.clock.now().getTime();
    let startAt: number | null = null;
    if (input.start_at !== undefined && input.start_at !== null) {
      startAt = typeof input.start_at === 'string' ? Date.parse(input.start_at) : Number.NaN;
      if (!Number.isFinite(startAt) || startAt > now + MAX_START_AHEAD_MS) throw bad('start_at', 'start_at must be an ISO-8601 date-time at most a year ahead');
    }
    const dedupe = input.dedupe ?? true;
    if (typeof dedupe !== 'boolean') throw bad('dedupe', 'dedupe must be true or false');
    const row: CampaignRecord = {
      id: this.d.random.id(),
      tenant_id: tenant.id,
      name,
      status: 'draft',
      template_name: hasTemplate ? (input.template as string) : null,
      template_locale: locale as string | null,
      body: hasBody ? (input.body as string) : null,
      category,
      from_addr: from as string | null,
      messaging_service_sid: mg as string | null,
      rate: rate as number | null,
      start_at: startAt,
      dedupe: dedupe ? 1 : 0,
      variables: JSON.stringify(variables),
      next_seq: 1,
      uploaded_rows: 0,
      duplicates: 0,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
    };
    await this.d.write((tx) => this.d.campaigns.insert(tx, row));
    return this.resource(row);
  }

  async get(tenant: Tenant, id: string): Promise<CampaignResource> {
    return this.resource(await this.find(tenant, id));
  }

  async list(tenant: Tenant, q: { limit?: number; cursor?: string }): Promise<{ data: CampaignResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const before = decodeCursor(q.cursor, ['string'])?.[0];
    const rows = await this.d.campaigns.list(tenant.id, { before, limit: limit + 1 });
    const p = page(rows, limit, (r) => [r.id]);
    return { data: await Promise.all(p.data.map((r) => this.resource(r))), next_cursor: p.next_cursor };
  }

  private async find(tenant: Tenant, id: string): Promise<CampaignRecord> {
    const row = typeof id === 'string' && id.length <= 64 ? await this.d.campaigns.get(tenant.id, id) : undefined;
    if (!row) throw new AppError('SMS_ERR_NOT_FOUND', 'Campaign not found.', { id: String(id).slice(0, 64) });
    return row;
  }

  private async resource(c: CampaignRecord): Promise<CampaignResource> {
    const counts = emptyCounts();
    let cost = 0;
    let total = 0;
    for (const g of await this.d.campaigns.counts(c.id)) {
      counts[recipientState(g.status, g.message_status, c.status)] += g.count;
      cost += g.cost;
      total += g.count;
    }
    const now = this.d.clock.now().getTime();
    const rateNow = c.status === 'running' ? (await this.d.campaigns.sentSince(c.id, now - 10_000)) / 10 : 0;
    const left = counts.pending;
    return {
      id: c.id,
      name: c.name,
      status: c.status,
      template: c.template_name,
      template_locale: c.template_locale,
      body: c.body,
      category: c.category,
      from: c.from_addr,
      messaging_service_sid: c.messaging_service_sid,
      rate: c.rate,
      start_at: iso(c.start_at),
      dedupe: c.dedupe === 1,
      variables: JSON.parse(c.variables) as string[],
      uploaded_rows: Number(c.uploaded_rows),
      duplicates: Number(c.duplicates),
      counts,
      total,
      cost: cost.toFixed(4),
      rate_now: rateNow,
      estimated_finish: c.status === 'running' && rateNow > 0 ? iso(now + Math.ceil((left / rateNow) * 1000)) : null,
      created_at: new Date(c.created_at).toISOString(),
      started_at: iso(c.started_at),
      finished_at: iso(c.finished_at),
    };
  }

  // ---- the audience ----

  /**
   * Reads the rows from `stream` (CSV with a header, or NDJSON) and appends them in batches; never
   * holds more than one batch. A stream that cannot be parsed (an unclosed quote, a record over
   * MAX_RECORD_BYTES, invalid JSON on a line is only an invalid row) ends the upload with a 400 and
   * its rows are removed again.
   */
  async upload(tenant: Tenant, id: string, format: 'csv' | 'ndjson', stream: Readable): Promise<UploadResult> {
    const c = await this.find(tenant, id).catch((e) => {
      stream.resume(); // read and dropped, so the client gets the answer rather than a reset
      throw e;
    });
    if (c.status === 'completed' || c.status === 'canceled') {
      stream.resume();
      throw new AppError('SMS_ERR_CAMPAIGN_STATE', `Recipients cannot be added to a ${c.status} campaign.`, { status: c.status });
    }
    const required = JSON.parse(c.variables) as string[];
    const result: UploadResult = { rows: 0, accepted: 0, invalid: 0, duplicates: 0, suppressed: 0, errors: [] };
    const region = tenant.defaultRegion;
    let batch: NewRecipient[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const rows = batch;
      batch = [];
      await this.appendBatch(tenant, c, rows, result);
    };
    const addRow = async (rowNumber: number, record: Record<string, unknown> | null, parseError: string | null) => {
      result.rows++;
      batch.push(this.validateRow(rowNumber, record, parseError, required, region, c.dedupe === 1, result));
      if (batch.length >= UPLOAD_BATCH) await flush();
    };
    const firstSeq = Number(c.next_seq);
    try {
      if (format === 'csv') await this.readCsv(stream, required, addRow);
      else await this.readNdjson(stream, addRow);
      await flush();
    } catch (e) {
      stream.resume();
      if (e instanceof AppError && result.rows > 0) await this.discard(c, firstSeq);
      throw e;
    }
    if (result.rows === 0) throw new AppError('SMS_ERR_CAMPAIGN_UPLOAD_EMPTY', undefined, { field: 'body' });
    return result;
  }

  private async discard(c: CampaignRecord, firstSeq: number): Promise<void> {
    // Only this upload's rows were numbered from firstSeq on (uploads to one campaign are meant to be sequential).
    await this.d.write((tx) => this.d.campaigns.truncate(tx, c.id, firstSeq, this.d.clock.now().getTime()));
  }

  private async readCsv(stream: Readable, required: string[], addRow: (n: number, r: Record<string, unknown> | null, err: string | null) => Promise<void>) {
    let header: string[] | null = null;
    const parser = stream.pipe(
      parseCsv({
        bom: true,
        trim: true,
        skip_empty_lines: true,
        relax_column_count: true,
        max_record_size: MAX_RECORD_BYTES,
      }),
    );
    stream.on('error', (e) => parser.destroy(e));
    let n = 0;
    try {
      for await (const rec of parser as AsyncIterable<string[]>) {
        if (header === null) {
          header = rec.map((h) => h.trim());
          if (header.length > MAX_COLUMNS) throw new AppError('SMS_ERR_CAMPAIGN_MALFORMED_UPLOAD', `At most ${MAX_COLUMNS} columns.`, { field: 'header' });
          if (!header.includes('phone')) throw new AppError('SMS_ERR_CAMPAIGN_NO_PHONE_COLUMN', undefined, { field: 'header', columns: header.slice(0, 20) });
          const missing = required.filter((v) => !header!.includes(v));
          if (missing.length)
            throw new AppError('SMS_ERR_CAMPAIGN_MISSING_VARIABLE', `Missing column(s): ${missing.join(', ')}.`, { field: 'header', missing });
          continue;
        }
        n++;
        if (rec.length !== header.length) {
          await addRow(n, null, `the row has ${rec.length} fields, the header ${header.length}`);
          continue;
        }
        const r: Record<string, unknown> = {};
        for (let i = 0; i < header.length; i++) r[header[i]!] = rec[i];
        await addRow(n, r, null);
      }
    } catch (e) {
      if (e instanceof AppError) throw e;
      const err = e as { code?: string; message?: string; lines?: number };
      throw new AppError('SMS_ERR_CAMPAIGN_MALFORMED_UPLOAD', `CSV: ${err.message ?? String(e)}`, { field: 'body', row: n + 1, reason: err.code ?? null });
    }
    if (header === null) throw new AppError('SMS_ERR_CAMPAIGN_UPLOAD_EMPTY', undefined, { field: 'body' });
  }

  private async readNdjson(stream: Readable, addRow: (n: number, r: Record<string, unknown> | null, err: string | null) => Promise<void>) {
    let n = 0;
    for await (const line of lines(stream, MAX_RECORD_BYTES)) {
      if (line.trim() === '') continue;
      n++;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        await addRow(n, null, 'the line is not valid JSON');
        continue;
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) await addRow(n, null, 'the line is not a JSON object');
      else await addRow(n, v as Record<string, unknown>, null);
    }
  }

  private validateRow(
    rowNumber: number,
    record: Record<string, unknown> | null,
    parseError: string | null,
    required: string[],
    region: string,
    dedupe: boolean,
    result: UploadResult,
  ): NewRecipient {
    const invalid = (phone: string, code: ErrorCode, reason: string): NewRecipient => {
      result.invalid++;
      if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push({ row: rowNumber, code, reason });
      return {
        phone: phone.slice(0, 64),
        dedupe_key: null,
        country: null,
        variables: '{}',
        status: 'invalid',
        row_number: rowNumber,
        error_code: code,
        error_message: reason,
      };
    };
    if (record === null) return invalid('', 'SMS_ERR_VALIDATION', parseError ?? 'unreadable row');
    const raw = record.phone;
    if (typeof raw !== 'string' || raw.trim() === '') return invalid(typeof raw === 'string' ? raw : '', 'SMS_ERR_INVALID_PHONE', 'phone is missing');
    const variables: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      if (k === 'phone') continue;
      if (typeof v === 'string' && (v.length > MAX_FIELD_CHARS || v.includes('\u0000')))
        return invalid(raw, 'SMS_ERR_VALIDATION', `${k.slice(0, 64)} is too long or not text`);
      variables[k] = v;
    }
    for (const v of required) {
      const x = variables[v];
      if (x === undefined || x === null || x === '') return invalid(raw, 'SMS_ERR_TEMPLATE_UNKNOWN_VARIABLE', `variable ${v} is missing`);
    }
    let phone: string;
    let country: string | null;
    try {
      const n = normalizeRecipient(raw, 'sms', { defaultRegion: region, rejectFixedLine: this.d.rejectFixedLine, memoize: false });
      phone = n.e164;
      country = n.country ?? null;
    } catch (e) {
      if (e instanceof AppError) return invalid(raw, e.code, e.message);
      throw e;
    }
    const json = JSON.stringify(variables);
    if (json.length > 16_384) return invalid(raw, 'SMS_ERR_VALIDATION', 'the row is too large');
    return {
      phone,
      dedupe_key: dedupe ? phone : null,
      country,
      variables: json,
      status: 'pending',
      row_number: rowNumber,
      error_code: null,
      error_message: null,
    };
  }

  private async appendBatch(tenant: Tenant, c: CampaignRecord, rows: NewRecipient[], result: UploadResult): Promise<void> {
    const phones = [...new Set(rows.filter((r) => r.status === 'pending').map((r) => r.phone))];
    if (phones.length) {
      const out = await this.d.campaigns.suppressed(tenant.id, phones);
      for (const r of rows) {
        if (r.status === 'pending' && out.has(r.phone)) {
          r.status = 'suppressed';
          r.error_code = 'SMS_ERR_RECIPIENT_OPTED_OUT';
          r.error_message = 'The recipient has opted out.';
        }
      }
    }
    const inserted = await this.d.write((tx) => this.d.campaigns.appendRecipients(tx, c, rows, this.d.clock.now().getTime()));
    result.duplicates += rows.length - inserted.length;
    for (const s of inserted) {
      if (s === 'pending') result.accepted++;
      else if (s === 'suppressed') result.suppressed++;
    }
  }

  async recipients(
    tenant: Tenant,
    id: string,
    q: { status?: string; cursor?: string; limit?: number },
  ): Promise<{ data: RecipientResource[]; next_cursor: string | null }> {
    const c = await this.find(tenant, id);
    const limit = pageLimit(q.limit, { default: 100, max: 1000 });
    const after = decodeCursor(q.cursor, ['number'])?.[0];
    let filters: ReturnType<typeof stateFilter> = [];
    if (q.status !== undefined && q.status !== '') {
      if (!(RECIPIENT_STATES as readonly string[]).includes(q.status)) throw bad('status', `status must be one of ${RECIPIENT_STATES.join(', ')}`);
      filters = stateFilter(q.status as RecipientState, c.status);
      if (filters.length === 0) return { data: [], next_cursor: null };
    }
    const rows = await this.d.campaigns.recipients(c.id, { filters, afterSeq: after, limit: limit + 1 });
    const p = page(rows, limit, (r) => [r.seq]);
    return { data: p.data.map((r) => toRecipient(r, c.status)), next_cursor: p.next_cursor };
  }

  /** Every recipient in upload order, a page at a time (the CSV export streams this). */
  async *exportRows(tenant: Tenant, id: string): AsyncGenerator<RecipientResource> {
    const c = await this.find(tenant, id);
    let after: number | undefined;
    for (;;) {
      const rows = await this.d.campaigns.recipients(c.id, { filters: [], afterSeq: after, limit: 1000 });
      for (const r of rows) yield toRecipient(r, c.status);
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  async estimate(tenant: Tenant, id: string) {
    const c = await this.find(tenant, id);
    const groups = await this.d.campaigns.audienceByCountry(c.id);
    const sum = (status: string) => groups.filter((g) => g.status === status).reduce((s, g) => s + g.count, 0);
    const sample = (await this.d.campaigns.recipients(c.id, { filters: [{ status: 'pending' }], limit: 200 })) as CampaignRecipientRecord[];
    // Segments of the first recipient's rendered text (bodies of one template differ little).
    let segments = 1;
    const first = sample[0];
    try {
      const p = c.template_name
        ? await this.d.templates.preview(tenant, c.template_name, { locale: c.template_locale, variables: first ? JSON.parse(first.variables) : {} })
        : await this.d.templates.previewBody(tenant, { body: c.body, category: c.category });
      segments = p.send.segments || p.segments;
    } catch {
      segments = 1;
    }
    const byCountry: Record<string, { recipients: number; amount: string; unit: string }> = {};
    for (const g of groups.filter((x) => x.status === 'pending')) {
      const price = estimatePrice(DEFAULT_RATE_TABLE, g.country, 'sms', segments);
      const key = g.country ?? '*';
      const prev = byCountry[key];
      byCountry[key] = {
        recipients: (prev?.recipients ?? 0) + g.count,
        amount: sumPrices([prev?.amount ?? '0', (Number(price.amount) * g.count).toFixed(4)]),
        unit: price.unit,
      };
    }
    // Quiet hours now, judged on a sample of the audience and scaled.
    const now = this.d.clock.now().getTime();
    const settings = await this.d.settings.get(tenant.id);
    let held = 0;
    for (const r of sample) {
      const m: PolicyMessage = { tenantId: tenant.id, to: r.phone, channel: 'sms', category: c.category, body: null, segments };
      if ((await this.d.quietHours.decide(m, { stage: 'accept', now, settings })).action === 'hold') held++;
    }
    const valid = sum('pending') + sum('messaged');
    return {
      valid,
      invalid: sum('invalid'),
      duplicates: Number(c.duplicates),
      suppressed: sum('suppressed'),
      segments,
      cost: { amount: sumPrices(Object.values(byCountry).map((x) => x.amount)), unit: DEFAULT_RATE_TABLE.unit, by_country: byCountry },
      held_by_quiet_hours_now: sample.length ? Math.round((held / sample.length) * sum('pending')) : 0,
    };
  }

  // ---- the state machine ----

  async act(tenant: Tenant, id: string, action: CampaignAction): Promise<CampaignResource> {
    const c = await this.find(tenant, id);
    const now = this.d.clock.now().getTime();
    let set: Partial<Pick<CampaignRecord, 'status' | 'started_at' | 'finished_at'>> & { updated_at: number };
    switch (action) {
      case 'start': {
        const groups = await this.d.campaigns.audienceByCountry(c.id);
        if (!groups.some((g) => g.status === 'pending')) throw new AppError('SMS_ERR_CAMPAIGN_EMPTY');
        set = c.start_at !== null && c.start_at > now ? { status: 'scheduled', updated_at: now } : { status: 'running', started_at: now, updated_at: now };
        break;
      }
      case 'pause':
        set = { status: 'paused', updated_at: now };
        break;
      case 'resume':
        // A campaign paused before its start time waits for it again.
        set = c.start_at !== null && c.start_at > now ? { status: 'scheduled', updated_at: now } : { status: 'running', updated_at: now };
        if (c.started_at === null && set.status === 'running') set.started_at = now;
        break;
      case 'cancel':
        set = { status: 'canceled', finished_at: now, updated_at: now };
        break;
    }
    const moved = await this.d.write((tx) => this.d.campaigns.move(tx, tenant.id, c.id, CAMPAIGN_MOVES[action], set));
    if (!moved) {
      const current = (await this.d.campaigns.get(tenant.id, c.id))?.status ?? c.status;
      throw new AppError('SMS_ERR_CAMPAIGN_STATE', `A ${current} campaign cannot ${action}.`, { status: current, action });
    }
    this.d.states.set(c.id, moved.status);
    if (action === 'resume') await this.d.campaigns.releaseHeld(c.id, now);
    if (action === 'cancel') {
      void this.cancelUnsent(tenant.id, c.id).catch((e) =>
        // The dispatch policy still refuses whatever this left: nothing of the campaign is sent.
        this.d.logger.error({ err: e, campaign_id: c.id }, 'could not end the canceled campaign’s unsent messages'),
      );
    }
    if (moved.status === 'running') this.d.onActive?.();
    return this.resource(moved);
  }

  /** Ends the canceled campaign's messages not sent yet, in bounded batches (off the request's path). */
  private async cancelUnsent(tenantId: string, campaignId: string): Promise<void> {
    for (;;) {
      const ids = await this.d.campaigns.unsentMessages(campaignId, CANCEL_BATCH);
      if (!ids.length) return;
      const now = this.d.clock.now().getTime();
      const moved = await this.d.write((tx) =>
        this.d.messages.transition(
          tx,
          ids.map((id) => ({
            target: { id, tenantId },
            set: { status: 'canceled', error_code: 'SMS_ERR_CAMPAIGN_CANCELED', updated_at: now, next_attempt_at: null },
            cancelable: true,
            at: now,
            event: { source: 'campaign' },
          })),
        ),
      );
      // What could not move is at a worker now; the dispatch policy refuses it.
      if (!moved.some((m) => m.moved)) return;
    }
  }

  // ---- dispatch (the campaign dispatcher calls these) ----

  /** Campaigns with work: running ones, and scheduled ones whose time came (started here). */
  async active(): Promise<CampaignRecord[]> {
    const now = this.d.clock.now().getTime();
    const out: CampaignRecord[] = [];
    for (const c of await this.d.campaigns.active(now)) {
      if (c.status === 'scheduled') {
        const moved = await this.d.write((tx) =>
          this.d.campaigns.move(tx, c.tenant_id, c.id, ['scheduled'], { status: 'running', started_at: now, updated_at: now }),
        );
        if (moved) out.push(moved);
      } else out.push(c);
    }
    return out;
  }

  /** Turns one claimed recipient into a message through the send path (consent, policy, templates, quiet hours). */
  async dispatch(c: CampaignRecord, r: CampaignRecipientRecord): Promise<'sent' | 'skipped' | 'ended'> {
    const tenant = await this.d.tenantById(c.tenant_id);
    if (!tenant) return 'skipped';
    const input: SendInput = {
      to: r.phone,
      category: c.category,
      from: c.from_addr,
      messaging_service_sid: c.messaging_service_sid,
      ...(c.template_name
        ? { template: { name: c.template_name, locale: c.template_locale, variables: JSON.parse(r.variables) as Record<string, unknown> } }
        : { body: c.body }),
    };
    try {
      await this.d.send.send(tenant, input, { campaign: { id: c.id, seq: r.seq } });
      return 'sent';
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      // Another worker linked it, the campaign was canceled meanwhile (the recipient counts as canceled),
      // or a passing condition (cap, throttle): left to a later claim.
      if (e.retryable || e.code === 'SMS_ERR_CAMPAIGN_RECIPIENT_TAKEN' || e.code === 'SMS_ERR_CAMPAIGN_CANCELED') return 'skipped';
      const status = SUPPRESSING.includes(e.code) ? 'suppressed' : 'failed';
      await this.d.campaigns.settle(c.id, r.seq, status, { code: e.code, message: e.message }, this.d.clock.now().getTime());
      return 'ended';
    }
  }

  /** Completed once nothing is pending or held and every message reached the provider (or ended). */
  async completeIfDone(c: CampaignRecord): Promise<boolean> {
    if ((await this.d.campaigns.outstanding(c.id)) > 0) return false;
    const now = this.d.clock.now().getTime();
    // Its final counts, for the host application's event (read before: nothing of it is outstanding).
    const done = await this.resource({ ...c, status: 'completed', finished_at: now, updated_at: now });
    return this.d.write(async (tx) => {
      const moved = await this.d.campaigns.move(tx, c.tenant_id, c.id, ['running'], { status: 'completed', finished_at: now, updated_at: now });
      if (moved === undefined) return false;
      await this.d.events.append(tx, [newEvent(this.d.random, c.tenant_id, 'campaign.completed', now, { ...done })]);
      return true;
    });
  }
}

/**
 * Campaign states as the dispatch policy sees them (cached for STATE_TTL_MS), and the policy rule
 * that stops a paused or canceled campaign's messages: asked on accept and before each send.
 */
export class CampaignStates {
  private readonly cache = new Map<string, { status: Promise<string | null>; at: number }>();

  constructor(
    private readonly d: {
      campaigns: Pick<CampaignsRepository, 'byId'>;
      /** A monotonic clock in ms for the cache (the Clock port may stand still in tests). */
      monotonic: () => number;
    },
  ) {}

  /** This process changed the state: its policy sees it at once. */
  set(id: string, status: string): void {
    this.cache.set(id, { status: Promise.resolve(status), at: this.d.monotonic() });
  }

  private stateOf(id: string): Promise<string | null> {
    const now = this.d.monotonic();
    const hit = this.cache.get(id);
    if (hit && now - hit.at < STATE_TTL_MS) return hit.status;
    if (this.cache.size > 10_000) this.cache.clear();
    // One read per campaign at a time: the sends that find the state stale together (a campaign's
    // batch) share it, instead of a read each. Its age counts from the read's start.
    const status = this.d.campaigns.byId(id).then((c) => c?.status ?? null);
    this.cache.set(id, { status, at: now });
    status.catch(() => {
      if (this.cache.get(id)?.status === status) this.cache.delete(id);
    });
    return status;
  }

  readonly policy: Policy = {
    decide: async (m, ctx): Promise<Decision> => {
      if (!m.campaignId) return SEND;
      const status = await this.stateOf(m.campaignId);
      if (status === 'paused' || status === 'scheduled') return { action: 'hold', until: ctx.now + PAUSE_HOLD_MS, reason: 'campaign_paused' };
      if (status === 'canceled') return { action: 'refuse', code: 'SMS_ERR_CAMPAIGN_CANCELED' };
      return SEND;
    },
  };
}

function toRecipient(r: RecipientOutcome, campaignStatus: string): RecipientResource {
  return {
    seq: r.seq,
    row: r.row_number,
    phone: r.phone,
    variables: JSON.parse(r.variables) as Record<string, unknown>,
    status: r.message_error_code === 'SMS_ERR_CAMPAIGN_CANCELED' ? 'canceled' : recipientState(r.status, r.message_status, campaignStatus),
    error_code: r.error_code ?? r.message_error_code,
    error_message: r.error_message,
    message_id: r.message_id,
    provider_sid: r.provider_sid,
    price: r.price,
  };
}

/**
 * Lines of a byte stream, each at most `max` bytes (a longer one ends the upload). Hand-written:
 * readline cannot bound a line's length, and this is a dozen lines.
 */
async function* lines(stream: Readable, max: number): AsyncGenerator<string> {
  let rest = '';
  let n = 0;
  stream.setEncoding('utf8');
  for await (const chunk of stream as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      n++;
      if (line.length > max) break;
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
    if (rest.length > max || parts.some((l) => l.length > max))
      throw new AppError('SMS_ERR_CAMPAIGN_MALFORMED_UPLOAD', `Line ${n + 1} is longer than ${max} bytes.`, { field: 'body', row: n + 1 });
  }
  if (rest !== '') yield rest;
}
