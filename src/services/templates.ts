// Templates: CRUD with immutable versions, rendering for the send path (locale fallback), and the
// previews (rendered text, segments, UCS-2 culprits, smart-encoded alternative, price, footer,
// warnings) that show exactly what a send would do.
import { bodyWarnings, shapeBody, ucs2Characters, type Shaped } from '../core/body.js';
import { type Category, DEFAULT_CATEGORY, SENDABLE_CATEGORIES } from '../core/categories.js';
import { AppError } from '../core/errors.js';
import { canonicalLocale, pickLocale } from '../core/locales.js';
import { decodeCursor, page, pageLimit } from '../core/pagination.js';
import { normalizeRecipient } from '../core/phone.js';
import { DEFAULT_RATE_TABLE, estimatePrice, type PriceEstimate } from '../core/pricing.js';
import { MAX_BODY_CHARS, countSegments } from '../core/segments.js';
import type { TenantSettings } from '../core/settings.js';
import { smartEncode } from '../core/smart-encoding.js';
import { isStorableText } from '../core/text.js';
import type { Clock, TemplateEngine, TemplatesRepository, TemplateVersionRecord } from '../ports.js';
import { BatchedLookup, pairKey } from './batched-check.js';
import type { Tenant } from './tenants.js';

export interface TemplateInput {
  name?: unknown;
  category?: unknown;
  default_locale?: unknown;
  locales?: unknown;
  smart_encoding?: unknown;
}

export interface TemplateResource {
  name: string;
  version: number;
  category: string;
  default_locale: string;
  locales: Record<string, string>;
  /** null: the tenant's smart_encoding setting applies. */
  smart_encoding: boolean | null;
  created_at: string;
}

/** `template` of a send request. */
export interface TemplateRef {
  name: string;
  locale?: string | null;
  variables?: Record<string, unknown> | null;
}

export interface Rendered {
  text: string;
  name: string;
  version: number;
  category: Category;
  locale: string;
  /** The template's smart-encoding choice (null: the tenant's). */
  smartEncoding: boolean | null;
}

export interface TemplatesServiceDeps {
  templates: TemplatesRepository;
  engine: TemplateEngine;
  clock: Clock;
  settings: { get(tenantId: string): Promise<TenantSettings> };
  /**
   * The recipient's stored locale (a contacts feature supplies it): asked after the request's
   * locales and before the template's default. Default: none.
   */
  contactLocale?: (tenantId: string, phone: string) => Promise<string | null>;
}

const NAME = /^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/;
const MAX_LOCALES = 50;
const MAX_SOURCE_CHARS = 5000;
const MAX_VARIABLES_BYTES = 16_384;

const bad = (field: string, message: string) => new AppError('SMS_ERR_VALIDATION', message, { field });

function toResource(r: TemplateVersionRecord): TemplateResource {
  return {
    name: r.name,
    version: r.version,
    category: r.category,
    default_locale: r.default_locale,
    locales: JSON.parse(r.locales) as Record<string, string>,
    smart_encoding: r.smart_encoding === null ? null : r.smart_encoding === 1,
    created_at: new Date(r.created_at).toISOString(),
  };
}

export function assertTemplateName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw bad(field, `${field} must be 1-64 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit`);
  }
  return name;
}

function assertVariables(v: unknown, field: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(field, `${field} must be a JSON object`);
  if (Buffer.byteLength(JSON.stringify(v)) > MAX_VARIABLES_BYTES) throw bad(field, `${field} must serialize to at most ${MAX_VARIABLES_BYTES} bytes`);
  return v as Record<string, unknown>;
}

export class TemplatesService {
  /** Sends rendered in one tick read their templates' current versions in one query. */
  private readonly latest: BatchedLookup<TemplateVersionRecord>;

  constructor(private readonly d: TemplatesServiceDeps) {
    this.latest = new BatchedLookup(async (tenantIds, names) => {
      const rows = await d.templates.currentAmong(tenantIds, names);
      return new Map(rows.map((r) => [pairKey(r.tenant_id, r.name), r]));
    });
  }

  private validate(input: TemplateInput): Omit<TemplateVersionRecord, 'version' | 'tenant_id' | 'name' | 'created_at'> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('body', 'The request body must be a JSON object.');
    const category = input.category ?? DEFAULT_CATEGORY;
    if (typeof category !== 'string' || !(SENDABLE_CATEGORIES as readonly string[]).includes(category)) {
      throw bad('category', `category must be one of ${SENDABLE_CATEGORIES.map((c) => `'${c}'`).join(', ')}`);
    }
    const raw = input.locales;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('locales', 'locales must be an object of locale tag → template text');
    const entries = Object.entries(raw as Record<string, unknown>);
    if (entries.length === 0 || entries.length > MAX_LOCALES) throw bad('locales', `locales must have 1 to ${MAX_LOCALES} entries`);
    const locales: Record<string, string> = {};
    for (const [tag, source] of entries) {
      const field = `locales.${tag}`;
      const locale = canonicalLocale(tag);
      if (!locale) throw bad(field, `'${tag}' is not a BCP 47 locale tag (e.g. en, es-MX)`);
      if (locales[locale] !== undefined) throw bad(field, `'${tag}' repeats locale ${locale}`);
      if (typeof source !== 'string' || source.trim() === '' || source.length > MAX_SOURCE_CHARS || !isStorableText(source)) {
        throw bad(field, `${field} must be a non-empty text of at most ${MAX_SOURCE_CHARS} characters`);
      }
      try {
        this.d.engine.check(source);
      } catch (e) {
        if (e instanceof AppError) throw new AppError(e.code, `${field}: ${e.message}`, { field, locale, ...(e.details as object) });
        throw e;
      }
      locales[locale] = source;
    }
    const def = input.default_locale === undefined ? Object.keys(locales)[0]! : canonicalLocale(input.default_locale);
    if (!def) throw bad('default_locale', 'default_locale must be a BCP 47 locale tag');
    if (locales[def] === undefined) throw bad('default_locale', `default_locale ${def} must be one of the template's locales`);
    const se = input.smart_encoding ?? null;
    if (se !== null && typeof se !== 'boolean') throw bad('smart_encoding', 'smart_encoding must be true, false or null (the tenant setting)');
    return { category, default_locale: def, locales: JSON.stringify(locales), smart_encoding: se === null ? null : se ? 1 : 0 };
  }

  async create(tenant: Tenant, input: TemplateInput): Promise<TemplateResource> {
    const name = assertTemplateName((input as TemplateInput | null)?.name);
    const row = { ...this.validate(input), tenant_id: tenant.id, name, created_at: this.d.clock.now().getTime() };
    const r = await this.d.templates.write('create', row);
    if (r.kind !== 'written') throw new AppError('SMS_ERR_TEMPLATE_EXISTS', `A template named ${name} already exists.`, { field: 'name' });
    return toResource(r.version);
  }

  /** PUT: the whole template again; a new version. */
  async update(tenant: Tenant, name: string, input: TemplateInput): Promise<TemplateResource> {
    assertTemplateName(name);
    if (input && typeof input === 'object' && input.name !== undefined && input.name !== name) throw bad('name', 'name cannot be changed');
    const row = { ...this.validate(input), tenant_id: tenant.id, name, created_at: this.d.clock.now().getTime() };
    const r = await this.d.templates.write('update', row);
    if (r.kind !== 'written') throw new AppError('SMS_ERR_NOT_FOUND', 'Template not found.', { name });
    return toResource(r.version);
  }

  /** The variables a send with this template must give (read by any of its locales). */
  async variables(tenant: Tenant, name: string): Promise<{ category: string; variables: string[] }> {
    const row = NAME.test(name) ? await this.d.templates.get(tenant.id, name) : undefined;
    if (!row) throw new AppError('SMS_ERR_UNKNOWN_TEMPLATE', `No template named ${name.slice(0, 64)}.`, { field: 'template' });
    const names = new Set<string>();
    for (const source of Object.values(JSON.parse(row.locales) as Record<string, string>)) for (const v of this.d.engine.variables(source)) names.add(v);
    return { category: row.category, variables: [...names].sort() };
  }

  async get(tenant: Tenant, name: string): Promise<TemplateResource> {
    return toResource(await this.current(tenant, name));
  }

  private async current(tenant: Tenant, name: string): Promise<TemplateVersionRecord> {
    const r = NAME.test(name) ? await this.d.templates.get(tenant.id, name) : undefined;
    if (!r) throw new AppError('SMS_ERR_NOT_FOUND', 'Template not found.', { name: name.slice(0, 64) });
    return r;
  }

  async list(tenant: Tenant, q: { limit?: number; cursor?: string }): Promise<{ data: TemplateResource[]; next_cursor: string | null }> {
    const limit = pageLimit(q.limit);
    const after = decodeCursor(q.cursor, ['string'])?.[0];
    const rows = await this.d.templates.list(tenant.id, { after, limit: limit + 1 });
    const p = page(rows, limit, (r) => [r.name]);
    return { data: p.data.map(toResource), next_cursor: p.next_cursor };
  }

  async versions(tenant: Tenant, name: string, q: { limit?: number; cursor?: string }): Promise<{ data: TemplateResource[]; next_cursor: string | null }> {
    await this.current(tenant, name);
    const limit = pageLimit(q.limit);
    const before = decodeCursor(q.cursor, ['number'])?.[0];
    const rows = await this.d.templates.versions(tenant.id, name, { before, limit: limit + 1 });
    const p = page(rows, limit, (r) => [r.version]);
    return { data: p.data.map(toResource), next_cursor: p.next_cursor };
  }

  async remove(tenant: Tenant, name: string): Promise<void> {
    const gone = NAME.test(name) && (await this.d.templates.remove(tenant.id, name, this.d.clock.now().getTime()));
    if (!gone) throw new AppError('SMS_ERR_NOT_FOUND', 'Template not found.', { name: name.slice(0, 64) });
  }

  /**
   * Renders a template for a send. The locale is the first that the template has, each tag with
   * its parents (`es-MX` → `es`): the template reference's, the request's, the contact's, else
   * the template's default.
   */
  async render(tenant: Tenant, ref: unknown, opts: { requestLocale?: string | null; to?: string } = {}): Promise<Rendered> {
    if (ref === null || typeof ref !== 'object' || Array.isArray(ref)) throw bad('template', 'template must be an object with name and variables');
    const t = ref as Record<string, unknown>;
    const name = assertTemplateName(t.name, 'template.name');
    if (t.locale !== undefined && t.locale !== null && !canonicalLocale(t.locale)) throw bad('template.locale', 'template.locale must be a BCP 47 locale tag');
    const variables = assertVariables(t.variables, 'template.variables');
    const row = await this.latest.get(tenant.id, name);
    if (!row) throw new AppError('SMS_ERR_UNKNOWN_TEMPLATE', `No template named ${name}.`, { field: 'template.name' });
    const locales = JSON.parse(row.locales) as Record<string, string>;
    // A template with one locale renders it whatever the recipient's language: no contact to read.
    const contact = opts.to && this.d.contactLocale && Object.keys(locales).length > 1 ? await this.d.contactLocale(tenant.id, opts.to) : null;
    const locale = pickLocale([t.locale as string | null | undefined, opts.requestLocale, contact], Object.keys(locales), row.default_locale);
    let text: string;
    try {
      text = await this.d.engine.render(locales[locale]!, variables);
    } catch (e) {
      if (e instanceof AppError) {
        const field = e.code === 'SMS_ERR_TEMPLATE_UNKNOWN_VARIABLE' ? 'template.variables' : 'template';
        throw new AppError(e.code, e.message, { field, template: name, locale, ...(e.details as object) });
      }
      throw e;
    }
    if (text.length > MAX_BODY_CHARS) {
      throw new AppError('SMS_ERR_BODY_TOO_LONG', `The rendered template is ${text.length} characters; at most ${MAX_BODY_CHARS} are allowed.`, {
        field: 'template',
        length: text.length,
        max: MAX_BODY_CHARS,
      });
    }
    return {
      text,
      name,
      version: row.version,
      category: row.category as Category,
      locale,
      smartEncoding: row.smart_encoding === null ? null : row.smart_encoding === 1,
    };
  }

  async preview(tenant: Tenant, name: string, input: { locale?: string | null; variables?: unknown; to?: string | null }) {
    await this.current(tenant, name); // an unknown name in the path is a 404, as for every route of the resource
    const r = await this.render(tenant, { name, locale: input.locale, variables: input.variables }, {});
    const settings = await this.d.settings.get(tenant.id);
    return {
      template: { name: r.name, version: r.version, locale: r.locale },
      ...this.analyse(tenant, settings, { text: r.text, category: r.category, locale: r.locale, smartEncoding: r.smartEncoding, to: input.to }),
    };
  }

  async previewBody(tenant: Tenant, input: { body?: unknown; category?: unknown; locale?: unknown; to?: string | null }) {
    const body = input.body;
    if (typeof body !== 'string' || body === '') throw new AppError('SMS_ERR_BODY_REQUIRED', undefined, { field: 'body' });
    if (body.length > MAX_BODY_CHARS) throw new AppError('SMS_ERR_BODY_TOO_LONG', undefined, { field: 'body', length: body.length, max: MAX_BODY_CHARS });
    const category = input.category ?? DEFAULT_CATEGORY;
    if (typeof category !== 'string' || !(SENDABLE_CATEGORIES as readonly string[]).includes(category))
      throw bad('category', 'category must be transactional or marketing');
    const locale = input.locale === undefined || input.locale === null ? null : canonicalLocale(input.locale);
    if (input.locale !== undefined && input.locale !== null && !locale) throw bad('locale', 'locale must be a BCP 47 locale tag');
    const settings = await this.d.settings.get(tenant.id);
    return this.analyse(tenant, settings, { text: body, category: category as Category, locale, smartEncoding: null, to: input.to });
  }

  private analyse(
    tenant: Tenant,
    settings: TenantSettings,
    m: { text: string; category: Category; locale: string | null; smartEncoding: boolean | null; to?: string | null },
  ) {
    let country: string | null = null;
    if (m.to !== undefined && m.to !== null) {
      country = normalizeRecipient(m.to, 'sms', { defaultRegion: tenant.defaultRegion, rejectFixedLine: false }).country ?? null;
    }
    const seg = countSegments(m.text);
    const smart = smartEncode(m.text);
    const smartSeg = countSegments(smart);
    const shaped: Shaped = shapeBody({
      text: m.text,
      category: m.category,
      locale: m.locale,
      smartEncoding: m.smartEncoding ?? settings.smart_encoding,
      rules: settings,
      optOutKeywords: settings.keywords.opt_out,
    });
    const price: PriceEstimate & { country: string | null } = { ...estimatePrice(DEFAULT_RATE_TABLE, country, 'sms', shaped.segments), country };
    return {
      category: m.category,
      text: m.text,
      segments: seg.segments,
      encoding: seg.encoding,
      characters: seg.characters,
      ucs2_characters: ucs2Characters(m.text),
      smart_encoded: { text: smart, segments: smartSeg.segments, encoding: smartSeg.encoding, changed: smart !== m.text },
      send: {
        body: shaped.body,
        segments: shaped.segments,
        encoding: shaped.encoding,
        smart_encoding: m.smartEncoding ?? settings.smart_encoding,
        footer: shaped.footer,
        footer_applied: shaped.footer_applied,
        truncated_from: shaped.truncated_from,
        error: shaped.problem ? { code: shaped.problem.code, message: shaped.problem.message } : null,
      },
      price,
      warnings: bodyWarnings(m.text, shaped, m.category, settings.keywords.opt_out),
    };
  }
}
