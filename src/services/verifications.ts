// Verification codes (OTP): one API over two backends (local codes or Twilio Verify), with the
// state, the limits and the answers kept here so that both backends behave the same.
//
// Concurrency: every decision that must not be taken twice is one atomic write. A start (limits,
// resend-or-create, counters) runs in one Store.write transaction behind per-key locks (see
// rate-limits.ts). A check first claims an attempt with
// `UPDATE … SET attempts = attempts + 1 WHERE status = 'pending' AND attempts < max`, so parallel
// guesses can never exceed the budget, and approval is `UPDATE … WHERE status = 'pending'`, so of two
// correct checks exactly one wins.
import { isIP } from 'node:net';
import { sql, type Selectable, type Transaction } from 'kysely';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Logger } from 'pino';
import type { VerifyConfig } from '../config.js';
import { AppError } from '../core/errors.js';
import { DEFAULT_CODE_LENGTH, MAX_CODE_LENGTH, MIN_CODE_LENGTH, OTP_LOCALES, resolveLocale } from '../core/otp.js';
import { maskPhone, normalizeRecipient } from '../core/phone.js';
import type { Clock } from '../ports.js';
import type { Database } from '../storage/schema.js';
import type { VerificationsTable, VerifyBlockedPrefixesTable } from '../storage/schema-verify.js';
import type { Store } from '../storage/store.js';
import { exceeded, lockKeys, record, type LimitRule } from './rate-limits.js';
import type { Tenant } from './tenants.js';

export type VerificationRow = Selectable<VerificationsTable>;
export type VerifyChannel = 'sms' | 'whatsapp';

/** Tenant settings a backend needs (from tenants.settings). */
export interface VerifySettings {
  appName: string;
  serviceSid: string | null;
}

/** approved / wrong code / the provider says locked (max checks) / the provider no longer has it. */
export type CheckOutcome = 'approved' | 'wrong' | 'locked' | 'gone';

export interface VerifyBackend {
  readonly name: 'local' | 'twilio';
  /** A fresh code for verification `id` and its hash; null when the provider keeps the code. */
  issue(id: string, length: number): { code: string; codeHash: string } | null;
  /** Sends the code (new or resend); the row is already reserved and committed. */
  deliver(tenant: Tenant, row: VerificationRow, code: string | null, settings: VerifySettings): Promise<{ messageId?: string; providerSid?: string }>;
  /** Compares a code; the attempt was already counted. */
  check(row: VerificationRow, code: string, settings: VerifySettings): Promise<CheckOutcome>;
  cancel(row: VerificationRow, settings: VerifySettings): Promise<void>;
}

export interface StartInput {
  to: string;
  channel?: VerifyChannel;
  locale?: string | null;
  code_length?: number | null;
  /** The end user's IP as seen by the calling application (the request's own IP otherwise). */
  client_ip?: string | null;
}

export interface CheckInput {
  id?: string | null;
  to?: string | null;
  code: string;
}

export interface VerificationStarted {
  id: string;
  to: string;
  channel: string;
  status: 'pending';
  expires_at: string;
  send_count: number;
}

export interface VerificationCheckResult {
  id: string;
  status: 'approved' | 'pending' | 'max_attempts_reached';
  attempts_left: number;
}

export interface VerificationResource {
  id: string;
  to: string;
  channel: string;
  status: string;
  locale: string;
  send_count: number;
  attempts_left: number;
  expires_at: string;
  created_at: string;
  updated_at: string;
  approved_at: string | null;
}

export interface ConversionRow {
  started: number;
  approved: number;
  conversion: number | null;
}

export interface VerificationStats {
  since: string;
  until: string;
  total: ConversionRow;
  countries: (ConversionRow & { country: string | null })[];
  prefixes: (ConversionRow & { prefix: string; country: string | null })[];
  blocked_prefixes: { prefix: string; blocked_until: string; started: number; approved: number; blocked_at: string }[];
}

export interface VerificationsServiceDeps {
  store: Store;
  clock: Clock;
  newId: () => string;
  logger: Logger;
  config: VerifyConfig;
  defaultRegion: string;
  rejectFixedLine: boolean;
  /** TWILIO_VERIFY_SERVICE_SID; a tenant's verify_service_sid setting takes precedence. */
  defaultServiceSid: string | null;
  backends: { local: VerifyBackend; twilio: VerifyBackend };
}

interface TenantVerifySettings extends VerifySettings {
  backend: 'local' | 'twilio';
  allowedCountries: string[];
}

type Refusal = 'number' | 'ip' | 'tenant' | 'prefix' | 'prefix_blocked' | 'max_sends' | 'max_attempts';

const REFUSAL_TEXT: Record<Refusal, string> = {
  number: 'Too many verification codes were sent to this number; retry later.',
  ip: 'Too many verifications were started from this client IP; retry later.',
  tenant: 'This account started too many verifications; retry later.',
  prefix: 'Too many verifications were started for this number range; retry later.',
  prefix_blocked: 'Verifications to this number range are paused: too few of its recent codes were confirmed.',
  max_sends: 'This verification was sent the maximum number of times; retry after it expired.',
  max_attempts: 'Too many wrong codes were entered for this number; retry after the verification expired.',
};

// Codes younger than this still have their chance to be entered: counting them as unconverted
// would make a burst of legitimate sign-ups look like SMS pumping.
const CONVERSION_SETTLE_MS = 2 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const SERVICE_SID = /^VA[0-9a-fA-F]{32}$/;
const ISO2 = /^[A-Z]{2}$/;

function bad(field: string, message: string): AppError {
  return new AppError('SMS_ERR_VALIDATION', message, { field });
}

function notFound(id?: string, status?: string): AppError {
  return new AppError('SMS_ERR_VERIFICATION_NOT_FOUND', status ? `The verification is ${status}.` : undefined, id ? { id, ...(status ? { status } : {}) } : undefined);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** '+' + country calling code + the first 6 national digits: where SMS pumping concentrates. */
export function numberPrefix(e164: string): string {
  const p = parsePhoneNumberFromString(e164);
  return p ? `+${p.countryCallingCode}${p.nationalNumber.slice(0, 6)}` : e164.slice(0, 8);
}

function ratio(started: number, approved: number): ConversionRow {
  return { started, approved, conversion: started ? Math.round((approved / started) * 10_000) / 10_000 : null };
}

export class VerificationsService {
  constructor(private readonly d: VerificationsServiceDeps) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  private backendOf(row: VerificationRow): VerifyBackend {
    return row.backend === 'twilio' ? this.d.backends.twilio : this.d.backends.local;
  }

  /** Read on every call (one primary-key lookup): a changed backend or allow-list applies at once. */
  private async settings(tenant: Tenant): Promise<TenantVerifySettings> {
    const row = await this.d.store.kysely.selectFrom('tenants').select('settings').where('id', '=', tenant.id).executeTakeFirst();
    let s: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(row?.settings ?? '{}');
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) s = parsed as Record<string, unknown>;
    } catch {
      // A corrupt settings column means defaults, not a failed request.
    }
    const countries = Array.isArray(s.verify_allowed_countries)
      ? s.verify_allowed_countries.filter((c): c is string => typeof c === 'string').map((c) => c.toUpperCase()).filter((c) => c === '*' || ISO2.test(c))
      : [(tenant.defaultRegion ?? this.d.defaultRegion).toUpperCase()];
    const appName = typeof s.verify_app_name === 'string' && s.verify_app_name.trim() ? s.verify_app_name.trim().slice(0, 30) : this.d.config.appName;
    return {
      backend: s.verify_backend === 'local' || s.verify_backend === 'twilio' ? s.verify_backend : this.d.config.backend,
      serviceSid: typeof s.verify_service_sid === 'string' && SERVICE_SID.test(s.verify_service_sid) ? s.verify_service_sid : this.d.defaultServiceSid,
      allowedCountries: countries,
      appName,
    };
  }

  private refused(reason: Refusal, retryAt: number, now: number): AppError {
    const s = Math.max(1, Math.ceil((retryAt - now) / 1000));
    return new AppError('SMS_ERR_RATE_LIMITED', REFUSAL_TEXT[reason], { limit: reason, retry_after: s }, { 'Retry-After': String(s) });
  }

  async start(tenant: Tenant, input: StartInput, ctx: { ip?: string | null } = {}): Promise<VerificationStarted> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('body', 'The request body must be a JSON object.');
    const channel = input.channel ?? 'sms';
    if (channel !== 'sms' && channel !== 'whatsapp') throw bad('channel', "channel must be 'sms' or 'whatsapp'");
    if (typeof input.to !== 'string') throw new AppError('SMS_ERR_INVALID_PHONE', 'to is required and must be a string.', { field: 'to' });
    const length = input.code_length ?? DEFAULT_CODE_LENGTH;
    if (!Number.isInteger(length) || length < MIN_CODE_LENGTH || length > MAX_CODE_LENGTH) {
      throw bad('code_length', `code_length must be an integer between ${MIN_CODE_LENGTH} and ${MAX_CODE_LENGTH}`);
    }
    if (input.locale !== undefined && input.locale !== null && (typeof input.locale !== 'string' || input.locale.length > 35)) throw bad('locale', 'locale must be a language tag');
    const clientIp = input.client_ip ?? null;
    if (clientIp !== null && (typeof clientIp !== 'string' || clientIp.length > 64 || isIP(clientIp) === 0)) throw bad('client_ip', 'client_ip must be an IPv4 or IPv6 address');

    const settings = await this.settings(tenant);
    const addr = normalizeRecipient(input.to, channel, { defaultRegion: tenant.defaultRegion ?? this.d.defaultRegion, rejectFixedLine: this.d.rejectFixedLine });
    const country = addr.country ?? null;
    if (!settings.allowedCountries.includes('*') && (country === null || !settings.allowedCountries.includes(country))) {
      throw new AppError('SMS_ERR_COUNTRY_NOT_ALLOWED', undefined, { field: 'to', country });
    }
    const locale = resolveLocale(input.locale, country ?? undefined);
    if (!locale) throw bad('locale', `locale must be one of ${OTP_LOCALES.join(', ')} (optionally with a region, e.g. pt-BR)`);

    const cfg = this.d.config;
    const now = this.now();
    const prefix = numberPrefix(addr.e164);
    const ip = clientIp ?? ctx.ip ?? null;
    const rules: LimitRule[] = [
      { name: 'number', key: `n:${tenant.id}:${addr.e164}`, limit: cfg.limitNumber },
      ...(ip ? [{ name: 'ip' as const, key: `ip:${tenant.id}:${ip}`, limit: cfg.limitIp }] : []),
      { name: 'tenant', key: `t:${tenant.id}`, limit: cfg.limitTenant },
      { name: 'prefix', key: `p:${tenant.id}:${prefix}`, limit: cfg.limitPrefix },
    ];
    const newId = this.d.newId();

    const r = await this.d.store.write(async (trx) => {
      await lockKeys(trx, this.d.store.dialect, rules.map((x) => x.key));
      const block = await trx.selectFrom('verify_blocked_prefixes').selectAll().where('tenant_id', '=', tenant.id).where('prefix', '=', prefix).executeTakeFirst();
      if (block && block.blocked_until > now) return { kind: 'refused' as const, reason: 'prefix_blocked' as Refusal, retryAt: block.blocked_until };
      const live = await trx
        .selectFrom('verifications')
        .selectAll()
        .where('tenant_id', '=', tenant.id)
        .where('to_addr', '=', addr.e164)
        .where('status', 'in', ['pending', 'max_attempts_reached'])
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        // A check approving it in another process waits for this resend to commit (SQLite has one writer).
        .$if(this.d.store.dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      // A number locked by wrong guesses stays locked until its verification expires, resend or not.
      if (live?.status === 'max_attempts_reached') return { kind: 'refused' as const, reason: 'max_attempts' as Refusal, retryAt: live.expires_at };
      if (live && live.send_count >= cfg.maxSends) return { kind: 'refused' as const, reason: 'max_sends' as Refusal, retryAt: live.expires_at };
      const hit = await exceeded(trx, rules, now);
      if (hit) return { kind: 'refused' as const, reason: hit.name as Refusal, retryAt: hit.retryAt };
      const collapsed = await this.conversionCollapsed(trx, tenant.id, prefix, now, block);
      if (collapsed) return { kind: 'blocked' as const, ...collapsed };
      await record(trx, rules, now);

      if (live) {
        const issued = this.backendOf(live).issue(live.id, length);
        const row = await trx
          .updateTable('verifications')
          .set({
            // A resend replaces a local code (and gives it a full lifetime); Twilio re-sends its own.
            ...(issued ? { code_hash: issued.codeHash, code_length: length, expires_at: now + cfg.ttlS * 1000 } : {}),
            send_count: sql<number>`send_count + 1`,
            channel,
            locale,
            updated_at: now,
          })
          .where('id', '=', live.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return { kind: 'ok' as const, row, code: issued?.code ?? null, resend: true };
      }
      const backend = this.d.backends[settings.backend];
      const issued = backend.issue(newId, length);
      const row: VerificationRow = {
        id: newId,
        tenant_id: tenant.id,
        backend: backend.name,
        to_addr: addr.e164,
        channel,
        country,
        prefix,
        locale,
        code_length: length,
        code_hash: issued?.codeHash ?? null,
        provider_sid: null,
        status: 'pending',
        attempts: 0,
        send_count: 1,
        message_id: null,
        expires_at: now + cfg.ttlS * 1000,
        created_at: now,
        updated_at: now,
        approved_at: null,
      };
      await trx.insertInto('verifications').values(row).execute();
      return { kind: 'ok' as const, row, code: issued?.code ?? null, resend: false };
    });

    if (r.kind === 'blocked') {
      this.d.logger.warn(
        { tenant: tenant.slug, prefix, started: r.started, approved: r.approved, conversion: ratio(r.started, r.approved).conversion, blocked_until: iso(r.until) },
        'verify: number prefix blocked automatically, its conversion collapsed',
      );
      throw this.refused('prefix_blocked', r.until, now);
    }
    if (r.kind === 'refused') throw this.refused(r.reason, r.retryAt, now);

    const row = r.row;
    try {
      const out = await this.backendOf(row).deliver(tenant, row, r.code, settings);
      const set = { ...(out.messageId ? { message_id: out.messageId } : {}), ...(out.providerSid ? { provider_sid: out.providerSid } : {}) };
      if (Object.keys(set).length) await this.d.store.write((trx) => trx.updateTable('verifications').set(set).where('id', '=', row.id).execute());
    } catch (e) {
      // A first send that failed leaves nothing to check. A failed resend keeps the verification:
      // the caller may resend again.
      if (!r.resend) {
        await this.d.store.write((trx) => trx.updateTable('verifications').set({ status: 'failed', updated_at: now }).where('id', '=', row.id).where('status', '=', 'pending').execute());
      }
      this.d.logger.info({ verification: row.id, to: maskPhone(row.to_addr), error: e instanceof AppError ? e.code : 'error' }, 'verify: code could not be sent');
      throw e;
    }
    return { id: row.id, to: row.to_addr, channel: row.channel, status: 'pending', expires_at: iso(row.expires_at), send_count: row.send_count };
  }

  /** Started vs approved for a prefix since the window began (or its last block ended); records a block when it collapsed. */
  private async conversionCollapsed(
    trx: Transaction<Database>,
    tenantId: string,
    prefix: string,
    now: number,
    previous: Selectable<VerifyBlockedPrefixesTable> | undefined,
  ): Promise<{ until: number; started: number; approved: number } | null> {
    const cfg = this.d.config;
    if (cfg.blockMinConversion <= 0) return null;
    const s = await trx
      .selectFrom('verifications')
      .select([sql<number>`count(*)`.as('started'), sql<number>`coalesce(sum(case when status = 'approved' then 1 else 0 end), 0)`.as('approved')])
      .where('tenant_id', '=', tenantId)
      .where('prefix', '=', prefix)
      .where('created_at', '>=', Math.max(now - cfg.blockWindowS * 1000, previous?.blocked_until ?? 0))
      .where('created_at', '<=', now - Math.min(CONVERSION_SETTLE_MS, cfg.ttlS * 1000))
      .where('status', '!=', 'failed')
      .executeTakeFirstOrThrow();
    const started = Number(s.started);
    const approved = Number(s.approved);
    if (started < cfg.blockMinStarts || approved / started >= cfg.blockMinConversion) return null;
    const until = now + cfg.blockCooldownS * 1000;
    await trx
      .insertInto('verify_blocked_prefixes')
      .values({ tenant_id: tenantId, prefix, blocked_until: until, started, approved, created_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'prefix']).doUpdateSet({ blocked_until: until, started, approved, created_at: now }))
      .execute();
    return { until, started, approved };
  }

  async check(tenant: Tenant, input: CheckInput): Promise<VerificationCheckResult> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('body', 'The request body must be a JSON object.');
    if (typeof input.code !== 'string' || !/^[0-9]{4,10}$/.test(input.code)) throw bad('code', 'code must be a string of 4 to 10 digits');
    const row = await this.find(tenant, input);
    const now = this.now();
    const status = effectiveStatus(row, now);
    if (status !== 'pending') throw notFound(row.id, status);
    const max = this.d.config.maxChecks;

    const claimed = await this.d.store.write((trx) =>
      trx
        .updateTable('verifications')
        .set({ attempts: sql<number>`attempts + 1`, updated_at: now })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .where('attempts', '<', max)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst(),
    );
    if (!claimed) throw notFound(row.id);
    const left = Math.max(0, max - claimed.attempts);
    const outcome = await this.backendOf(claimed).check(claimed, input.code, await this.settings(tenant));

    if (outcome === 'approved') {
      const won = await this.d.store.write(async (trx) => {
        let q = trx
          .updateTable('verifications')
          .set({ status: 'approved', approved_at: now, updated_at: now })
          .where('id', '=', claimed.id)
          .where('status', '=', 'pending');
        // A resend in between replaced the code: the one just matched is no longer valid.
        if (claimed.code_hash !== null) q = q.where('code_hash', '=', claimed.code_hash);
        return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
      });
      if (!won) throw notFound(claimed.id);
      return { id: claimed.id, status: 'approved', attempts_left: left };
    }
    if (outcome === 'gone') throw notFound(claimed.id);
    if (outcome === 'wrong' && left > 0) return { id: claimed.id, status: 'pending', attempts_left: left };
    await this.d.store.write((trx) =>
      trx.updateTable('verifications').set({ status: 'max_attempts_reached', updated_at: now }).where('id', '=', claimed.id).where('status', '=', 'pending').execute(),
    );
    return { id: claimed.id, status: 'max_attempts_reached', attempts_left: 0 };
  }

  /** By id, or the number's latest verification. */
  private async find(tenant: Tenant, input: { id?: string | null; to?: string | null }): Promise<VerificationRow> {
    const q = this.d.store.kysely.selectFrom('verifications').selectAll().where('tenant_id', '=', tenant.id);
    if (input.id !== undefined && input.id !== null) {
      if (typeof input.id !== 'string' || input.id.length > 64) throw bad('id', 'id must be a verification id');
      const row = await q.where('id', '=', input.id).executeTakeFirst();
      if (!row) throw notFound();
      return row;
    }
    if (typeof input.to !== 'string' || input.to === '') throw bad('to', 'id or to is required');
    const channel = input.to.trim().toLowerCase().startsWith('whatsapp:') ? 'whatsapp' : 'sms';
    const e164 = normalizeRecipient(input.to, channel, { defaultRegion: tenant.defaultRegion ?? this.d.defaultRegion, rejectFixedLine: false }).e164;
    const row = await q.where('to_addr', '=', e164).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (!row) throw notFound();
    return row;
  }

  async get(tenant: Tenant, id: string): Promise<VerificationResource> {
    return this.resource(await this.find(tenant, { id }));
  }

  async cancel(tenant: Tenant, id: string): Promise<VerificationResource> {
    const row = await this.find(tenant, { id });
    const now = this.now();
    const status = effectiveStatus(row, now);
    const done = await this.d.store.write(async (trx) => {
      const u = await trx
        .updateTable('verifications')
        .set({ status: 'canceled', updated_at: now })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(u.numUpdatedRows) > 0;
    });
    if (!done) throw new AppError('SMS_ERR_INVALID_STATE', `Only pending verifications can be canceled (status: ${status}).`, { status });
    try {
      await this.backendOf(row).cancel(row, await this.settings(tenant));
    } catch (e) {
      // Ours is the state that answers checks; Twilio's copy expires on its own.
      this.d.logger.warn({ verification: row.id, error: e instanceof AppError ? e.code : 'error' }, 'verify: provider cancel failed');
    }
    return this.get(tenant, id);
  }

  async stats(tenant: Tenant, q: { since?: string; until?: string } = {}): Promise<VerificationStats> {
    const now = this.now();
    const parse = (v: string | undefined, field: string, dflt: number) => {
      if (v === undefined || v === '') return dflt;
      const ms = Date.parse(v);
      if (!Number.isFinite(ms)) throw bad(field, `${field} must be an ISO-8601 date-time`);
      return ms;
    };
    const until = parse(q.until, 'until', now);
    const since = parse(q.since, 'since', until - DAY_MS);
    if (since >= until) throw bad('since', 'since must be before until');
    const base = this.d.store.kysely
      .selectFrom('verifications')
      .where('tenant_id', '=', tenant.id)
      .where('created_at', '>=', since)
      .where('created_at', '<', until)
      .where('status', '!=', 'failed');
    const started = sql<number>`count(*)`.as('started');
    const approved = sql<number>`coalesce(sum(case when status = 'approved' then 1 else 0 end), 0)`.as('approved');
    const [total, countries, prefixes, blocked] = await Promise.all([
      base.select([started, approved]).executeTakeFirstOrThrow(),
      base.select(['country', started, approved]).groupBy('country').orderBy(sql`count(*)`, 'desc').limit(250).execute(),
      base.select(['prefix', sql<string | null>`max(country)`.as('country'), started, approved]).groupBy('prefix').orderBy(sql`count(*)`, 'desc').limit(100).execute(),
      this.d.store.kysely.selectFrom('verify_blocked_prefixes').selectAll().where('tenant_id', '=', tenant.id).where('blocked_until', '>', now).orderBy('blocked_until', 'desc').execute(),
    ]);
    return {
      since: iso(since),
      until: iso(until),
      total: ratio(Number(total.started), Number(total.approved)),
      countries: countries.map((c) => ({ country: c.country, ...ratio(Number(c.started), Number(c.approved)) })),
      prefixes: prefixes.map((p) => ({ prefix: p.prefix, country: p.country, ...ratio(Number(p.started), Number(p.approved)) })),
      blocked_prefixes: blocked.map((b) => ({ prefix: b.prefix, blocked_until: iso(b.blocked_until), started: b.started, approved: b.approved, blocked_at: iso(b.created_at) })),
    };
  }

  private resource(row: VerificationRow): VerificationResource {
    const now = this.now();
    return {
      id: row.id,
      to: row.to_addr,
      channel: row.channel,
      status: effectiveStatus(row, now),
      locale: row.locale,
      send_count: row.send_count,
      attempts_left: Math.max(0, this.d.config.maxChecks - row.attempts),
      expires_at: iso(row.expires_at),
      created_at: iso(row.created_at),
      updated_at: iso(row.updated_at),
      approved_at: row.approved_at === null ? null : iso(row.approved_at),
    };
  }
}

/** Expiry is applied on read: a pending row past its time is expired without a write. */
function effectiveStatus(row: VerificationRow, now: number): string {
  return row.status === 'pending' && now >= row.expires_at ? 'expired' : row.status;
}
