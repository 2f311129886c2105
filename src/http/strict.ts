// How request parts are read and validated: JSON bodies strictly (no type coercion, well-formed
// strings, bounded nesting, an empty body is no body), query strings and path parameters with
// the usual string → number/boolean coercion.
import { AjvCompiler, type BuildCompilerFromPool } from '@fastify/ajv-compiler';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../core/errors.js';

type AjvOptions = { customOptions?: Record<string, unknown>; plugins?: never[] };

/**
 * Fastify's compiler factory with two Ajv pools: one for bodies, which never coerces (JSON has
 * types: `"from": true` must not become "true"), one for the querystring, params and headers,
 * which are text and coerce (`limit=10`).
 */
export function buildValidator(): BuildCompilerFromPool {
  const pool = AjvCompiler();
  return (externalSchemas, options) => {
    const o = (options ?? {}) as AjvOptions;
    const custom = { removeAdditional: false, allErrors: false, ...o.customOptions };
    const body = pool(externalSchemas, { ...o, customOptions: { ...custom, coerceTypes: false } });
    const text = pool(externalSchemas, { ...o, customOptions: { ...custom, coerceTypes: 'array' } });
    // Fastify calls the result with its route definition ({ schema, httpPart, … }); the library's
    // typings describe a plain Ajv compile instead.
    type Compile = (route: { httpPart?: string }) => ReturnType<ReturnType<BuildCompilerFromPool>>;
    const pick: Compile = (route) => ((route.httpPart === 'body' ? body : text) as unknown as Compile)(route);
    return pick as unknown as ReturnType<BuildCompilerFromPool>;
  };
}

/** Deeper JSON is refused: nothing here needs it, and deep values cost recursion downstream. */
export const MAX_JSON_DEPTH = 32;
// With the u flag a surrogate pair is one code point, so \p{Cs} matches only a lone surrogate
// (String.prototype.isWellFormed, not yet in the TypeScript lib this project targets).
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The first value of a parsed JSON body that cannot be stored and sent as text: a string or key
 * with a lone UTF-16 surrogate (a handset would get U+FFFD), or nesting beyond MAX_JSON_DEPTH.
 * Iterative, so a hostile body cannot exhaust the stack.
 */
export function jsonProblem(root: unknown): { field: string; message: string } | null {
  const stack: [unknown, string[]][] = [[root, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    const field = path.join('.') || 'body';
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return { field, message: 'is not well-formed Unicode (lone UTF-16 surrogate)' };
    } else if (v !== null && typeof v === 'object') {
      if (path.length >= MAX_JSON_DEPTH) return { field, message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], [...path, String(i)]]);
      } else {
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i]!;
          if (LONE_SURROGATE.test(k)) return { field, message: 'has a key that is not well-formed Unicode (lone UTF-16 surrogate)' };
          stack.push([(v as Record<string, unknown>)[k], [...path, k]]);
        }
      }
    }
  }
  return null;
}

/**
 * Replaces the JSON parser: Fastify's own (prototype-poisoning checks kept), except that an
 * empty body is no body — most clients send `Content-Type: application/json` on bodiless POSTs;
 * routes that need a body say so in validation — and values jsonProblem refuses are a 400.
 */
export function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    parse(req, body as string, (err, value) => {
      if (err) return done(err, undefined);
      const p = jsonProblem(value);
      if (p) return done(new AppError('SMS_ERR_VALIDATION', `Invalid body: ${p.field} ${p.message}`, [p]), undefined);
      done(null, value);
    });
  });
}
