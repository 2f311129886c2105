// Validators built from Twilio's OpenAPI specs in test/fixtures/twilio/openapi/, for responses and for the
// requests the official client sends. Reusable by any test that talks Twilio's API.
//
// Conversion from OpenAPI 3.0 to the JSON Schema ajv checks:
// - `$ref` to components.schemas are inlined; `nullable: true` becomes a union with null;
//   vendor keys (x-twilio…) and docs keys are dropped.
// - Twilio's schemas list no `required` and allow extra keys, yet Twilio always sends every
//   documented key. Response objects are therefore made strict (every property required, no
//   others): a renamed or missing field is drift.
// - Lookups v2: the spec types the per-package objects and their fields as non-null, but its own
//   examples answer null for every package not requested and for `error_code`; every property of
//   that spec's response schemas is made nullable to match.
// - IncomingPhoneNumbers: `sms_application_sid` and `voice_application_sid` also accept '' — the
//   spec's own examples (and Twilio) answer '' for a number without an application, which the SID
//   pattern forbids.
// - Twilio formats: phone-number (E.164, short code, alphanumeric or channel address),
//   date-time-rfc-2822, currency, uri-map; `uri` accepts relative references, because the 2010
//   API's *_uri fields are relative to https://api.twilio.com.
// - Requests: `date-time` also accepts YYYY-MM-DD (DateSent filters). Form fields arrive as strings, so request validators coerce (ajv coerceTypes
//   'array': "5" → 5, "true" → true, a single value → [value]) and reject unknown parameters.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';

export type SpecName = 'api_v2010' | 'verify_v2' | 'lookups_v2' | 'messaging_v1';

type Json = Record<string, unknown>;

interface Operation {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: Json }[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { content?: Record<string, { schema?: Json; examples?: Record<string, { value: unknown }> }> }>;
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
}

const FILES: Record<SpecName, string> = {
  api_v2010: 'twilio_api_v2010.json',
  verify_v2: 'twilio_verify_v2.json',
  lookups_v2: 'twilio_lookups_v2.json',
  messaging_v1: 'twilio_messaging_v1.json',
};

const specs = new Map<SpecName, Spec>();

export function loadSpec(name: SpecName): Spec {
  let s = specs.get(name);
  if (!s) {
    s = JSON.parse(readFileSync(new URL(`../fixtures/twilio/openapi/${FILES[name]}`, import.meta.url), 'utf8')) as Spec;
    specs.set(name, s);
  }
  return s;
}

/** Twilio's classic error body (the Verify spec's 429 schema), for error answers the spec leaves undocumented. */
const ERROR_SCHEMA: Json = {
  type: 'object',
  properties: {
    code: { type: 'integer' },
    message: { type: 'string' },
    more_info: { type: 'string' },
    status: { type: 'integer' },
  },
  required: ['code', 'message', 'more_info', 'status'],
  additionalProperties: false,
};

const EMPTY_SID_OK = new Set(['sms_application_sid', 'voice_application_sid']);

const DROP = new Set(['description', 'example', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'xml', 'externalDocs', 'title', 'nullable', 'default']);

interface ConvertOpts {
  strict: boolean;
  allNullable: boolean;
}

function convert(schema: unknown, spec: Spec, opts: ConvertOpts, depth = 0): Json {
  if (depth > 40) throw new Error('schema nesting too deep (recursive $ref?)');
  if (typeof schema !== 'object' || schema === null) return {};
  const src = schema as Json;
  if (typeof src.$ref === 'string') {
    const name = src.$ref.replace('#/components/schemas/', '');
    const target = spec.components.schemas[name];
    if (!target) throw new Error(`unresolved $ref ${src.$ref}`);
    return convert(target, spec, opts, depth + 1);
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (DROP.has(k) || k.startsWith('x-')) continue;
    if (k === 'properties') {
      const props: Json = {};
      for (const [pk, pv] of Object.entries(v as Json)) {
        let p = convert(pv, spec, opts, depth + 1);
        if (opts.allNullable) p = orNull(p);
        if (EMPTY_SID_OK.has(pk)) p = { anyOf: [p, { const: '' }] };
        props[pk] = p;
      }
      out.properties = props;
    } else if (k === 'items') out.items = convert(v, spec, opts, depth + 1);
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as unknown[]).map((x) => convert(x, spec, opts, depth + 1));
    else if (k === 'additionalProperties' && typeof v === 'object') out[k] = convert(v, spec, opts, depth + 1);
    else out[k] = v;
  }
  if (opts.strict && out.properties && !out.required) {
    out.required = Object.keys(out.properties as Json);
    out.additionalProperties ??= false;
  }
  return src.nullable === true ? orNull(out) : out;
}

function orNull(s: Json): Json {
  if (Object.keys(s).length === 0) return s;
  if (typeof s.type === 'string') {
    const r: Json = { ...s, type: [s.type, 'null'] };
    if (Array.isArray(s.enum)) r.enum = [...(s.enum as unknown[]), null];
    return r;
  }
  if (Array.isArray(s.type)) return s.type.includes('null') ? s : { ...s, type: [...(s.type as string[]), 'null'] };
  return { anyOf: [s, { type: 'null' }] };
}

// E.164 or national spelling, short code, alphanumeric sender ID, or a channel address.
const PHONE = /^([+0-9 ().-]{3,32}|[A-Za-z0-9 ]{1,11}|[a-z]+:.+)$/;
const RFC2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, ...(coerce ? { coerceTypes: 'array' as const } : {}) });
  addFormats.default(ajv);
  ajv.addFormat('uri', fullFormats['uri-reference']);
  ajv.addFormat('phone-number', PHONE);
  ajv.addFormat('date-time-rfc-2822', RFC2822);
  ajv.addFormat('currency', /^[A-Za-z]{3}$/);
  ajv.addFormat('uri-map', () => true);
  if (coerce) {
    // DateSent filters are typed date-time, yet the spec's descriptions and examples use YYYY-MM-DD.
    const dt = fullFormats['date-time'] as { validate: (s: string) => boolean };
    const day = fullFormats.date as { validate: (s: string) => boolean };
    ajv.addFormat('date-time', (s: string) => dt.validate(s) || day.validate(s));
  }
  return ajv;
}

let responseAjv: Ajv | null = null;
let requestAjv: Ajv | null = null;
const compiled = new Map<string, ValidateFunction>();

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params ? ' ' + JSON.stringify(e.params) : ''}`).join('; ');
}

function operation(spec: SpecName, path: string, method: string): Operation {
  const op = loadSpec(spec).paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${spec} has no operation ${method.toUpperCase()} ${path}`);
  return op;
}

/** Throws when `body` does not match the documented answer of this operation and status. */
export function responseValidator(spec: SpecName, path: string, method: string, status: number): (body: unknown) => void {
  const key = `res ${spec} ${method.toLowerCase()} ${path} ${status}`;
  let validate = compiled.get(key);
  if (!validate) {
    const op = operation(spec, path, method);
    const documented = op.responses[String(status)];
    let schema: Json | undefined;
    if (documented) {
      const s = documented.content?.['application/json']?.schema;
      // Answers documented without content (204): only an empty body passes.
      schema = s ? convert(s, loadSpec(spec), { strict: true, allNullable: spec === 'lookups_v2' }) : { anyOf: [{ type: 'null' }, { const: '' }] };
    } else if (status >= 400) {
      schema = ERROR_SCHEMA;
    } else {
      throw new Error(`${op.operationId}: status ${status} is not documented`);
    }
    responseAjv ??= makeAjv(false);
    validate = responseAjv.compile(schema);
    compiled.set(key, validate);
  }
  const v = validate;
  return (body: unknown) => {
    if (!v(body === undefined ? null : body))
      throw new Error(`${method.toUpperCase()} ${path} ${status}: response does not match the spec: ${describe(v.errors)}`);
  };
}

/** Throws when the parameters (form body for POST, query for GET) do not match the spec. */
export function requestValidator(spec: SpecName, path: string, method: string): (params: Record<string, string | string[]>) => void {
  const key = `req ${spec} ${method.toLowerCase()} ${path}`;
  let validate = compiled.get(key);
  if (!validate) {
    const op = operation(spec, path, method);
    let schema: Json;
    const form = op.requestBody?.content['application/x-www-form-urlencoded']?.schema;
    if (form) {
      schema = convert(form, loadSpec(spec), { strict: false, allNullable: false });
    } else {
      const properties: Json = {};
      const required: string[] = [];
      for (const p of op.parameters ?? []) {
        if (p.in !== 'query') continue;
        properties[p.name] = convert(p.schema ?? {}, loadSpec(spec), { strict: false, allNullable: false });
        if (p.required) required.push(p.name);
      }
      schema = { type: 'object', properties, required };
    }
    schema.additionalProperties = false;
    requestAjv ??= makeAjv(true);
    validate = requestAjv.compile(schema);
    compiled.set(key, validate);
  }
  const v = validate;
  return (params) => {
    if (!v(structuredClone(params))) throw new Error(`${method.toUpperCase()} ${path}: request does not match the spec: ${describe(v.errors)}`);
  };
}

const SPEC_ORDER: SpecName[] = ['api_v2010', 'verify_v2', 'lookups_v2', 'messaging_v1'];

/** Where an operationId (optionally 'spec:id') lives, e.g. 'CreateMessage' → api_v2010 POST /2010-04-01/Accounts/{AccountSid}/Messages.json. */
export function findOperation(qualifiedId: string): { spec: SpecName; path: string; method: string } {
  // 'messaging_v1:FetchService': ids that repeat across specs name theirs.
  const colon = qualifiedId.indexOf(':');
  const operationId = colon === -1 ? qualifiedId : qualifiedId.slice(colon + 1);
  const specs = colon === -1 ? SPEC_ORDER : [qualifiedId.slice(0, colon) as SpecName];
  for (const spec of specs) {
    for (const [path, ops] of Object.entries(loadSpec(spec).paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op && typeof op === 'object' && op.operationId === operationId) return { spec, path, method };
      }
    }
  }
  throw new Error(`no operation ${operationId} in ${SPEC_ORDER.join(', ')}`);
}

/** Spec and path template of a concrete request path, e.g. /2010-04-01/Accounts/AC…/Messages/SM….json. */
export function matchPath(concrete: string): { spec: SpecName; path: string } {
  const spec: SpecName = concrete.startsWith('/2010-04-01/')
    ? 'api_v2010'
    : concrete.startsWith('/v2/PhoneNumbers')
      ? 'lookups_v2'
      : concrete.startsWith('/v1/')
        ? 'messaging_v1'
        : 'verify_v2';
  const segments = concrete.split('/');
  let best: { path: string; templated: number } | null = null;
  for (const path of Object.keys(loadSpec(spec).paths)) {
    const t = path.split('/');
    if (t.length !== segments.length) continue;
    let templated = 0;
    const ok = t.every((x, i) => {
      if (x === segments[i]) return true;
      templated++;
      return matchesTemplate(x, segments[i]!);
    });
    // The most literal match wins (Messages.json over {Sid}.json).
    if (ok && (best === null || templated < best.templated)) best = { path, templated };
  }
  if (!best) throw new Error(`no path of ${spec} matches ${concrete}`);
  return { spec, path: best.path };
}

function matchesTemplate(template: string, value: string): boolean {
  const m = /^(.*)\{[^}]+\}(.*)$/.exec(template);
  return m !== null && value.startsWith(m[1]!) && value.endsWith(m[2]!) && value.length > m[1]!.length + m[2]!.length;
}

/** The response examples the spec gives for an operation (to test the validators themselves). */
export function responseExamples(spec: SpecName, path: string, method: string): { status: number; name: string; value: unknown }[] {
  const op = operation(spec, path, method);
  const out: { status: number; name: string; value: unknown }[] = [];
  for (const [status, r] of Object.entries(op.responses)) {
    for (const [name, ex] of Object.entries(r.content?.['application/json']?.examples ?? {})) out.push({ status: Number(status), name, value: ex.value });
  }
  return out;
}
