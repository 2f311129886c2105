// How request parts are read and validated: JSON bodies strictly (no type coercion, well-formed
// strings, bounded nesting, an empty body is no body), query strings and path parameters with
// the usual string → number/boolean coercion.
import { AjvCompiler, type BuildCompilerFromPool } from '@fastify/ajv-compiler';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../core/errors.js';
import { UNSTORABLE } from '../core/text.js';

type AjvOptions = { customOptions?: Record<string, unknown> };

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

/** Deeper bodies are refused: nothing here needs them, and deep values cost recursion downstream. */
const MAX_BODY_DEPTH = 32;
const unstorable = (s: string) => (s.includes('\u0000') ? 'contains a NUL character' : 'is not well-formed Unicode (lone UTF-16 surrogate)');

/**
 * The first value of a parsed body (JSON or form) that cannot be stored and sent as text: a
 * string or key with a lone UTF-16 surrogate (a handset would get U+FFFD) or a NUL, or nesting
 * beyond MAX_BODY_DEPTH. Iterative, so a hostile body cannot exhaust the stack.
 */
export function bodyProblem(root: unknown): { field: string; message: string } | null {
  const stack: [unknown, string[]][] = [[root, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    const field = path.join('.') || 'body';
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return { field, message: unstorable(v) };
    } else if (v !== null && typeof v === 'object') {
      if (path.length >= MAX_BODY_DEPTH) return { field, message: `nests deeper than ${MAX_BODY_DEPTH} levels` };
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], [...path, String(i)]]);
      } else {
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i]!;
          if (UNSTORABLE.test(k)) return { field, message: `has a key that ${unstorable(k)}` };
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
 * routes that need a body say so in validation. Then every parsed body (JSON or form) of a route
 * with a body schema is checked with bodyProblem before validation.
 */
export function installBodyChecks(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    parse(req, body as string, done);
  });
  const check = async (req: FastifyRequest) => {
    const p = bodyProblem(req.body);
    if (p) throw new AppError('SMS_ERR_VALIDATION', `Invalid body: ${p.field} ${p.message}`, [p]);
  };
  // Routes with a body schema: the API's. Twilio's webhooks have none and keep what Twilio sent.
  app.addHook('onRoute', (route) => {
    if (!route.schema?.body) return;
    const hooks = route.preValidation;
    route.preValidation = hooks === undefined ? [check] : [...(Array.isArray(hooks) ? hooks : [hooks]), check];
  });
}
