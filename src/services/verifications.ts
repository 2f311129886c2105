// Verification codes (OTP), the use case: start, check, get, cancel and stats over two backends
// (local codes or Twilio Verify, see verifications/), with the state, the limits and the answers
// kept here so that both backends behave the same.
//
// Concurrency: every decision that must not be taken twice is one atomic write. A start (limits,
// prefix guard, resend-or-create, counters) runs in one transaction behind per-key locks (see
// verifications/limits.ts). A check first claims an attempt (counted only while the row is pending
// with budget left), so parallel guesses can never exceed the budget, and approval only moves a
// pending row, so of two correct checks exactly one wins.
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { VerifyConfig } from '../config.js';
import { AppError } from '../core/errors.js';
import { DEFAULT_CODE_LENGTH, MAX_CODE_LENGTH, MIN_CODE_LENGTH, OTP_LOCALES, resolveLocale, type OtpLocale } from '../core/otp.js';
import { maskPhone, normalizeRecipient } from '../core/phone.js';
import type { Clock, CountersRepository, EventsPort, Random, Tx, UnitOfWork, VerificationRecord, VerificationsRepository } from '../ports.js';
import { newEvent } from './events.js';
import type { Tenant } from './tenants.js';
import type { VerifyBackend } from './verifications/backend.js';
import { SendLimits, startRules, type LimitName } from './verifications/limits.js';
import { numberPrefix, PrefixGuard } from './verifications/prefix-guard.js';
import type { TenantSettings } from '../core/settings.js';
import { verifySettingsOf, type TenantVerifySettings } from './verifications/settings.js';

export type VerifyChannel = 'sms' | 'whatsapp';

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
  write: UnitOfWork['write'];
  verifications: VerificationsRepository;
  counters: CountersRepository;
  /** Backend, Verify Service, allowed countries and app name come from the tenant's settings document. */
  settings: { get(tenantId: string): Promise<TenantSettings> };
  clock: Clock;
  random: Random;
  logger: Logger;
  config: VerifyConfig;
  rejectFixedLine: boolean;
  backends: { local: VerifyBackend; twilio: VerifyBackend };
  /** verification.approved / verification.locked, in the transaction of the change. */
  events: EventsPort;
}

type Refusal = LimitName | 'prefix_blocked' | 'max_sends' | 'max_attempts';

const REFUSAL_TEXT: Record<Refusal, string> = {
  number: 'Too many verification codes were sent to this number; retry later.',
  ip: 'Too many verifications were started from this client IP; retry later.',
  tenant: 'This account started too many verifications; retry later.',
  prefix: 'Too many verifications were started for this number range; retry later.',
  prefix_blocked: 'Verifications to this number range are paused: too few of its recent codes were confirmed.',
  max_sends: 'This verification was sent the maximum number of times; retry after it expired.',
  max_attempts: 'Too many wrong codes were entered for this number; retry after the verification expired.',
};

const DAY_MS = 24 * 60 * 60 * 1000;

function bad(field: string, message: string): AppError {
  return new AppError('SMS_ERR_VALIDATION', message, { field });
}

function notFound(id?: string, status?: string): AppError {
  return new AppError(
    'SMS_ERR_VERIFICATION_NOT_FOUND',
    status ? `The verification is ${status}.` : undefined,
    id ? { id, ...(status ? { status } : {}) } : undefined,
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

function ratio(started: number, approved: number): ConversionRow {
  return { started, approved, conversion: started ? Math.round((approved / started) * 10_000) / 10_000 : null };
}

/** Expiry is applied on read: a pending row past its time is expired without a write. */
function effectiveStatus(row: VerificationRecord, now: number): string {
  return row.status === 'pending' && now >= row.expires_at ? 'expired' : row.status;
}

/** The start request's own fields, checked before anything is read. */
function parseStart(input: StartInput): { channel: VerifyChannel; to: string; length: number; clientIp: string | null } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('body', 'The request body must be a JSON object.');
  const channel = input.channel ?? 'sms';
  if (channel !== 'sms' && channel !== 'whatsapp') throw bad('channel', "channel must be 'sms' or 'whatsapp'");
  if (typeof input.to !== 'string') throw new AppError('SMS_ERR_INVALID_PHONE', 'to is required and must be a string.', { field: 'to' });
  const length = input.code_length ?? DEFAULT_CODE_LENGTH;
  if (!Number.isInteger(length) || length < MIN_CODE_LENGTH || length > MAX_CODE_LENGTH) {
    throw bad('code_length', `code_length must be an integer between ${MIN_CODE_LENGTH} and ${MAX_CODE_LENGTH}`);
  }
  if (input.locale !== undefined && input.locale !== null && (typeof input.locale !== 'string' || input.locale.length > 35))
    throw bad('locale', 'locale must be a language tag');
  const clientIp = input.client_ip ?? null;
  if (clientIp !== null && (typeof clientIp !== 'string' || clientIp.length > 64 || isIP(clientIp) === 0))
    throw bad('client_ip', 'client_ip must be an IPv4 or IPv6 address');
  return { channel, to: input.to, length, clientIp };
}

/** Where a start's transaction ended: a reserved row to deliver, a refusal, or a new prefix block. */
type Reserved =
  | { kind: 'ok'; row: VerificationRecord; code: string | null; resend: boolean }
  | { kind: 'refused'; reason: Refusal; retryAt: number }
  | { kind: 'blocked'; until: number; started: number; approved: number };

export class VerificationsService {
  private readonly limits: SendLimits;
  private readonly prefixGuard: PrefixGuard;

  constructor(private readonly d: VerificationsServiceDeps) {
    this.limits = new SendLimits(d.counters);
    this.prefixGuard = new PrefixGuard({ verifications: d.verifications, config: d.config });
  }

  private now(): number {
    return this.d.clock.now().getTime();
  }

  private backendOf(row: VerificationRecord): VerifyBackend {
    return row.backend === 'twilio' ? this.d.backends.twilio : this.d.backends.local;
  }

  private async settings(tenant: Tenant): Promise<TenantVerifySettings> {
    return verifySettingsOf(await this.d.settings.get(tenant.id));
  }

  private refused(reason: Refusal, retryAt: number, now: number): AppError {
    const s = Math.max(1, Math.ceil((retryAt - now) / 1000));
    return new AppError('SMS_ERR_RATE_LIMITED', REFUSAL_TEXT[reason], { limit: reason, retry_after: s }, { 'Retry-After': String(s) });
  }

  async start(tenant: Tenant, input: StartInput, ctx: { ip?: string | null } = {}): Promise<VerificationStarted> {
    const req = parseStart(input);
    const settings = await this.settings(tenant);
    const addr = normalizeRecipient(req.to, req.channel, {
      defaultRegion: tenant.defaultRegion,
      rejectFixedLine: this.d.rejectFixedLine,
    });
    const country = addr.country ?? null;
    if (!settings.allowedCountries.includes('*') && (country === null || !settings.allowedCountries.includes(country))) {
      throw new AppError('SMS_ERR_COUNTRY_NOT_ALLOWED', undefined, { field: 'to', country });
    }
    const locale = resolveLocale(input.locale, country ?? undefined);
    if (!locale) throw bad('locale', `locale must be one of ${OTP_LOCALES.join(', ')} (optionally with a region, e.g. pt-BR)`);

    const now = this.now();
    const prefix = numberPrefix(addr.e164);
    const rules = startRules(this.d.config, { tenantId: tenant.id, e164: addr.e164, prefix, ip: req.clientIp ?? ctx.ip ?? null });
    const fresh = { id: this.d.random.id(), tenant_id: tenant.id, to_addr: addr.e164, channel: req.channel, country, prefix, locale, code_length: req.length };

    const r: Reserved = await this.d.write(async (tx) => {
      await this.limits.lock(tx, rules);
      const block = await this.prefixGuard.lastBlock(tx, tenant.id, prefix);
      if (block && block.blocked_until > now) return { kind: 'refused', reason: 'prefix_blocked', retryAt: block.blocked_until };
      const live = await this.d.verifications.liveForUpdate(tx, tenant.id, addr.e164, now);
      // A number locked by wrong guesses stays locked until its verification expires, resend or not.
      if (live?.status === 'max_attempts_reached') return { kind: 'refused', reason: 'max_attempts', retryAt: live.expires_at };
      if (live && live.send_count >= this.d.config.maxSends) return { kind: 'refused', reason: 'max_sends', retryAt: live.expires_at };
      const hit = await this.limits.exceeded(tx, rules, now);
      if (hit) return { kind: 'refused', reason: hit.name, retryAt: hit.retryAt };
      const collapsed = await this.prefixGuard.collapsed(tx, tenant.id, prefix, now, block);
      if (collapsed) return { kind: 'blocked', ...collapsed };
      await this.limits.record(tx, rules, now);
      return live ? this.reserveResend(tx, live, req.channel, locale, req.length, now) : this.reserveNew(tx, fresh, this.d.backends[settings.backend], now);
    });

    if (r.kind === 'blocked') {
      this.d.logger.warn(
        {
          tenant: tenant.slug,
          prefix,
          started: r.started,
          approved: r.approved,
          conversion: ratio(r.started, r.approved).conversion,
          blocked_until: iso(r.until),
        },
        'verify: number prefix blocked automatically, its conversion collapsed',
      );
      throw this.refused('prefix_blocked', r.until, now);
    }
    if (r.kind === 'refused') throw this.refused(r.reason, r.retryAt, now);
    const row = await this.deliver(tenant, r, settings, now);
    return { id: row.id, to: row.to_addr, channel: row.channel, status: 'pending', expires_at: iso(row.expires_at), send_count: row.send_count };
  }

  private async reserveResend(tx: Tx, live: VerificationRecord, channel: VerifyChannel, locale: OtpLocale, length: number, now: number): Promise<Reserved> {
    const issued = this.backendOf(live).issue(live.id, length);
    const row = await this.d.verifications.resend(tx, live.id, {
      // A resend replaces a local code (and gives it a full lifetime); Twilio re-sends its own.
      ...(issued ? { code_hash: issued.codeHash, code_length: length, expires_at: now + this.d.config.ttlS * 1000 } : {}),
      channel,
      locale,
      updated_at: now,
    });
    return { kind: 'ok', row, code: issued?.code ?? null, resend: true };
  }

  private async reserveNew(
    tx: Tx,
    fresh: Pick<VerificationRecord, 'id' | 'tenant_id' | 'to_addr' | 'channel' | 'country' | 'prefix' | 'locale' | 'code_length'>,
    backend: VerifyBackend,
    now: number,
  ): Promise<Reserved> {
    const issued = backend.issue(fresh.id, fresh.code_length);
    const row: VerificationRecord = {
      ...fresh,
      backend: backend.name,
      code_hash: issued?.codeHash ?? null,
      provider_sid: null,
      status: 'pending',
      attempts: 0,
      send_count: 1,
      message_id: null,
      expires_at: now + this.d.config.ttlS * 1000,
      created_at: now,
      updated_at: now,
      approved_at: null,
    };
    await this.d.verifications.insert(tx, row);
    return { kind: 'ok', row, code: issued?.code ?? null, resend: false };
  }

  /** Sends a reserved (committed) code and records where it went. */
  private async deliver(tenant: Tenant, r: Extract<Reserved, { kind: 'ok' }>, settings: TenantVerifySettings, now: number): Promise<VerificationRecord> {
    const row = r.row;
    try {
      const out = await this.backendOf(row).deliver(tenant, row, r.code, settings);
      const set = { ...(out.messageId ? { message_id: out.messageId } : {}), ...(out.providerSid ? { provider_sid: out.providerSid } : {}) };
      if (Object.keys(set).length) await this.d.write((tx) => this.d.verifications.setDelivery(tx, row.id, set));
    } catch (e) {
      // A first send that failed leaves nothing to check. A failed resend keeps the verification:
      // the caller may resend again.
      if (!r.resend) await this.d.write((tx) => this.d.verifications.markFailed(tx, row.id, now));
      this.d.logger.info(
        { verification: row.id, to: maskPhone(row.to_addr), error: e instanceof AppError ? e.code : 'error' },
        'verify: code could not be sent',
      );
      throw e;
    }
    return row;
  }

  async check(tenant: Tenant, input: CheckInput): Promise<VerificationCheckResult> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('body', 'The request body must be a JSON object.');
    if (typeof input.code !== 'string' || !/^[0-9]{4,10}$/.test(input.code)) throw bad('code', 'code must be a string of 4 to 10 digits');
    const row = await this.find(tenant, input);
    const now = this.now();
    const status = effectiveStatus(row, now);
    if (status !== 'pending') throw notFound(row.id, status);
    const max = this.d.config.maxChecks;

    const claimed = await this.d.write((tx) => this.d.verifications.claimAttempt(tx, row.id, max, now));
    if (!claimed) throw notFound(row.id);
    const left = Math.max(0, max - claimed.attempts);
    const outcome = await this.backendOf(claimed).check(claimed, input.code, await this.settings(tenant));

    if (outcome === 'approved') {
      // A resend in between replaced the code: the one just matched is no longer valid.
      const approved = { ...claimed, status: 'approved', approved_at: now, updated_at: now };
      const won = await this.d.write(async (tx) => {
        if (!(await this.d.verifications.approve(tx, claimed.id, claimed.code_hash, now))) return false;
        await this.d.events.append(tx, [newEvent(this.d.random, tenant.id, 'verification.approved', now, { ...this.resource(approved) })]);
        return true;
      });
      if (!won) throw notFound(claimed.id);
      return { id: claimed.id, status: 'approved', attempts_left: left };
    }
    if (outcome === 'gone') throw notFound(claimed.id);
    if (outcome === 'wrong' && left > 0) return { id: claimed.id, status: 'pending', attempts_left: left };
    const locked = { ...claimed, status: 'max_attempts_reached', updated_at: now };
    await this.d.write(async (tx) => {
      if (await this.d.verifications.lockOut(tx, claimed.id, now))
        await this.d.events.append(tx, [newEvent(this.d.random, tenant.id, 'verification.locked', now, { ...this.resource(locked) })]);
    });
    return { id: claimed.id, status: 'max_attempts_reached', attempts_left: 0 };
  }

  /** By id, or the number's latest verification. */
  private async find(tenant: Tenant, input: { id?: string | null; to?: string | null }): Promise<VerificationRecord> {
    if (input.id !== undefined && input.id !== null) {
      if (typeof input.id !== 'string' || input.id.length > 64) throw bad('id', 'id must be a verification id');
      const row = await this.d.verifications.get(tenant.id, input.id);
      if (!row) throw notFound();
      return row;
    }
    if (typeof input.to !== 'string' || input.to === '') throw bad('to', 'id or to is required');
    const channel = input.to.trim().toLowerCase().startsWith('whatsapp:') ? 'whatsapp' : 'sms';
    const e164 = normalizeRecipient(input.to, channel, { defaultRegion: tenant.defaultRegion, rejectFixedLine: false }).e164;
    const row = await this.d.verifications.latestTo(tenant.id, e164);
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
    const done = await this.d.write((tx) => this.d.verifications.cancel(tx, row.id, now));
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
    const [counts, blocked] = await Promise.all([this.d.verifications.stats(tenant.id, since, until), this.d.verifications.activeBlocks(tenant.id, now)]);
    return {
      since: iso(since),
      until: iso(until),
      total: ratio(counts.total.started, counts.total.approved),
      countries: counts.countries.map((c) => ({ country: c.country, ...ratio(c.started, c.approved) })),
      prefixes: counts.prefixes.map((p) => ({ prefix: p.prefix, country: p.country, ...ratio(p.started, p.approved) })),
      blocked_prefixes: blocked.map((b) => ({
        prefix: b.prefix,
        blocked_until: iso(b.blocked_until),
        started: b.started,
        approved: b.approved,
        blocked_at: iso(b.created_at),
      })),
    };
  }

  private resource(row: VerificationRecord): VerificationResource {
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
