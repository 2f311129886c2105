// The template engine adapter: LiquidJS (the engine Shopify and Novu use), the only module that
// imports it. Locked down for untrusted template sources and variables:
// - strict: an unknown variable or filter is an error naming it, never an empty string
//   (strictVariables, strictFilters; `lenientIf` still lets `{% if nickname %}` test an optional one);
// - no file access: `templates: {}` makes every lookup in-memory (and empty), relativeReference is
//   off, and the tags that load other templates (include, render, layout) are removed;
// - DoS limits (https://liquidjs.com/tutorials/dos): parseLimit, renderLimit, memoryLimit and
//   templateLimit, so a loop over a huge range is an error, not a hung process;
// - ownPropertyOnly: variables' prototypes are invisible;
// - a small allow-list of pure filters (no randomness, hashing, HTML or JSON dumps).
import { Liquid, LiquidError, type Template } from 'liquidjs';
import { AppError, type ErrorCode } from '../core/errors.js';
import type { TemplateEngine } from '../ports.js';

const SAFE_FILTERS = new Set([
  'append',
  'prepend',
  'capitalize',
  'downcase',
  'upcase',
  'strip',
  'lstrip',
  'rstrip',
  'strip_newlines',
  'replace',
  'replace_first',
  'remove',
  'remove_first',
  'truncate',
  'truncatewords',
  'default',
  'size',
  'url_encode',
  'split',
  'join',
  'first',
  'last',
  'slice',
  'plus',
  'minus',
  'times',
  'divided_by',
  'modulo',
  'round',
  'floor',
  'ceil',
  'abs',
  'at_least',
  'at_most',
  'date',
]);
const FILE_TAGS = ['include', 'render', 'layout', 'block'];

export const TEMPLATE_LIMITS = { parseChars: 20_000, renderMs: 100, memory: 1_000_000, renders: 10_000 } as const;
const CACHE_MAX = 500;

function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (!(e instanceof LiquidError)) return new AppError('SMS_ERR_TEMPLATE_RENDER', e instanceof Error ? e.message : String(e));
  const [line, column] = e.token?.getPosition?.() ?? [undefined, undefined];
  const inner = e.originalError?.message ?? e.message;
  let code: ErrorCode = e.name === 'RenderError' ? 'SMS_ERR_TEMPLATE_RENDER' : 'SMS_ERR_TEMPLATE_SYNTAX';
  const details: Record<string, unknown> = { line, column };
  const variable = /^undefined variable: (.+)$/.exec(inner);
  const filter = /^undefined filter: (.+)$/.exec(inner);
  if (variable) {
    code = 'SMS_ERR_TEMPLATE_UNKNOWN_VARIABLE';
    details.variable = variable[1];
  } else if (filter) {
    code = 'SMS_ERR_TEMPLATE_UNKNOWN_FILTER';
    details.filter = filter[1];
  } else if (/limit exceeded/.test(inner)) {
    code = 'SMS_ERR_TEMPLATE_LIMIT';
  }
  // LiquidJS messages end with ", line:1, col:7"; the position is in the details.
  return new AppError(code, inner.replace(/, line:\d+, col:\d+$/, '') + (line ? ` (line ${line}, column ${column})` : ''), details);
}

export function liquidTemplates(): TemplateEngine {
  const liquid = new Liquid({
    strictVariables: true,
    strictFilters: true,
    lenientIf: true,
    ownPropertyOnly: true,
    templates: {},
    relativeReference: false,
    parseLimit: TEMPLATE_LIMITS.parseChars,
    renderLimit: TEMPLATE_LIMITS.renderMs,
    memoryLimit: TEMPLATE_LIMITS.memory,
  });
  for (const name of Object.keys(liquid.filters)) if (!SAFE_FILTERS.has(name)) delete liquid.filters[name];
  for (const name of FILE_TAGS) delete liquid.tags[name];

  // Parsed templates by source: a template is rendered for every message sent with it.
  const cache = new Map<string, Template[]>();
  const parse = (source: string): Template[] => {
    let t = cache.get(source);
    if (!t) {
      try {
        t = liquid.parse(source);
      } catch (e) {
        throw toAppError(e);
      }
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(source, t);
    }
    return t;
  };

  return {
    check(source) {
      parse(source);
    },
    variables(source) {
      // LiquidJS's static analysis: the top-level names the source reads (loop variables excluded).
      return liquid.globalVariablesSync(parse(source));
    },
    async render(source, variables) {
      const t = parse(source);
      try {
        // Synchronously: no tag or filter left enabled does I/O, and the async renderer's promise
        // machinery cost more than the rendering itself on the send path. The limits apply alike.
        return String(liquid.renderSync(t, variables, { templateLimit: TEMPLATE_LIMITS.renders }));
      } catch (e) {
        throw toAppError(e);
      }
    },
  };
}
