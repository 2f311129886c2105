// Chaos knobs: per-endpoint error injection, latency, 429 bursts, hangs, resets and callback
// disorder. Decisions are made once per API request, before the handler runs.
import type { ChaosEndpoint, ChaosError, ChaosErrorKey, ChaosFault, ChaosSettings, ChaosUpdate } from './types.js';

export const CHAOS_ENDPOINTS: readonly ChaosEndpoint[] = [
  'messages.create',
  'messages.fetch',
  'messages.list',
  'messages.update',
  'messages.delete',
  'verify.services',
  'verify.verifications',
  'verify.checks',
  'lookup',
  'accounts',
  'numbers',
  'messaging.services',
];

const ERROR_KEYS = new Set<string>([...CHAOS_ENDPOINTS, 'messages.*', 'verify.*', '*']);

function defaultChaos(callbacks: boolean): ChaosSettings {
  return {
    errors: {},
    latencyMs: 0,
    jitterMs: 0,
    burst429: { next: 0, retryAfter: 1 },
    hang: { rate: 0, next: 0, endpoints: null },
    reset: { rate: 0, next: 0, endpoints: null },
    callbacks: callbacks ? 'on' : 'off',
    dropCallbacksRate: 0,
    duplicateCallbacksRate: 0,
    reorderCallbacksRate: 0,
  };
}

export type ChaosDecision = { kind: 'hang' } | { kind: '429'; retryAfter: number } | { kind: 'error'; error: ChaosError } | { kind: 'reset' } | null;

function rate(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${name} must be a number between 0 and 1`);
  return v;
}

function count(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  return v;
}

function mergeFault(cur: ChaosFault, upd: Partial<ChaosFault> | undefined, name: string): ChaosFault {
  if (upd === undefined) return cur;
  if (typeof upd !== 'object' || upd === null) throw new Error(`${name} must be an object`);
  let endpoints = cur.endpoints;
  if (upd.endpoints !== undefined) {
    if (upd.endpoints !== null && (!Array.isArray(upd.endpoints) || !upd.endpoints.every((e) => CHAOS_ENDPOINTS.includes(e)))) {
      throw new Error(`${name}.endpoints must be null or a list of ${CHAOS_ENDPOINTS.join(', ')}`);
    }
    endpoints = upd.endpoints === null ? null : [...upd.endpoints];
  }
  return {
    rate: upd.rate === undefined ? cur.rate : rate(upd.rate, `${name}.rate`),
    next: upd.next === undefined ? cur.next : count(upd.next, `${name}.next`),
    endpoints,
  };
}

export class Chaos {
  private s: ChaosSettings;
  // Resolved error rule per endpoint, rebuilt on each change so a request does one lookup.
  private errorFor = new Map<ChaosEndpoint, ChaosError>();
  // False when no request-level knob is set: the common case costs one branch. May stay true
  // after `next` counters run out; that only costs the checks.
  private active = false;

  constructor(callbacks: boolean, initial?: ChaosUpdate) {
    this.s = defaultChaos(callbacks);
    if (initial) this.update(initial);
  }

  get settings(): ChaosSettings {
    return structuredClone(this.s);
  }

  get callbacksOn(): boolean {
    return this.s.callbacks === 'on';
  }

  get dropRate(): number {
    return this.s.dropCallbacksRate;
  }

  get duplicateRate(): number {
    return this.s.duplicateCallbacksRate;
  }

  get reorderRate(): number {
    return this.s.reorderCallbacksRate;
  }

  /** Validates everything before changing anything; throws Error with a message for the caller. */
  update(u: ChaosUpdate): void {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) throw new Error('chaos settings must be an object');
    const known = new Set(Object.keys(defaultChaos(true)));
    for (const k of Object.keys(u)) if (!known.has(k)) throw new Error(`unknown chaos setting: ${k}`);
    const next: ChaosSettings = structuredClone(this.s);
    if (u.errors !== undefined) {
      if (typeof u.errors !== 'object' || u.errors === null) throw new Error('errors must be an object');
      for (const [key, rule] of Object.entries(u.errors)) {
        if (!ERROR_KEYS.has(key)) throw new Error(`errors: unknown endpoint ${key}`);
        if (rule === null) {
          delete next.errors[key as ChaosErrorKey];
          continue;
        }
        if (typeof rule !== 'object' || rule === undefined) throw new Error(`errors.${key} must be an object or null`);
        const status = rule.status ?? 500;
        const code = rule.code ?? 20500;
        if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`errors.${key}.status must be 400..599`);
        if (!Number.isInteger(code)) throw new Error(`errors.${key}.code must be an integer`);
        const e: ChaosError = { rate: rate(rule.rate, `errors.${key}.rate`), status, code };
        if (rule.message !== undefined) e.message = String(rule.message);
        next.errors[key as ChaosErrorKey] = e;
      }
    }
    if (u.latencyMs !== undefined) next.latencyMs = count(u.latencyMs, 'latencyMs');
    if (u.jitterMs !== undefined) next.jitterMs = count(u.jitterMs, 'jitterMs');
    if (u.burst429 !== undefined) {
      if (typeof u.burst429 !== 'object' || u.burst429 === null) throw new Error('burst429 must be an object');
      if (u.burst429.next !== undefined) next.burst429.next = count(u.burst429.next, 'burst429.next');
      if (u.burst429.retryAfter !== undefined) next.burst429.retryAfter = count(u.burst429.retryAfter, 'burst429.retryAfter');
    }
    next.hang = mergeFault(next.hang, u.hang, 'hang');
    next.reset = mergeFault(next.reset, u.reset, 'reset');
    if (u.callbacks !== undefined) {
      if (u.callbacks !== 'on' && u.callbacks !== 'off') throw new Error("callbacks must be 'on' or 'off'");
      next.callbacks = u.callbacks;
    }
    if (u.dropCallbacksRate !== undefined) next.dropCallbacksRate = rate(u.dropCallbacksRate, 'dropCallbacksRate');
    if (u.duplicateCallbacksRate !== undefined) next.duplicateCallbacksRate = rate(u.duplicateCallbacksRate, 'duplicateCallbacksRate');
    if (u.reorderCallbacksRate !== undefined) next.reorderCallbacksRate = rate(u.reorderCallbacksRate, 'reorderCallbacksRate');
    this.s = next;
    this.rebuild();
  }

  reset(callbacks: boolean): void {
    this.s = defaultChaos(callbacks);
    this.rebuild();
  }

  /** Added latency for this answer, in ms. */
  latency(): number {
    if (!this.active) return 0;
    const { latencyMs, jitterMs } = this.s;
    return jitterMs > 0 ? latencyMs + Math.floor(Math.random() * (jitterMs + 1)) : latencyMs;
  }

  /** What chaos does to this request; consumes `next` counters. */
  decide(endpoint: ChaosEndpoint): ChaosDecision {
    if (!this.active) return null;
    const s = this.s;
    if (hits(s.hang, endpoint)) return { kind: 'hang' };
    if (s.burst429.next > 0) {
      s.burst429.next--;
      return { kind: '429', retryAfter: s.burst429.retryAfter };
    }
    const e = this.errorFor.get(endpoint);
    if (e && Math.random() < e.rate) return { kind: 'error', error: e };
    if (hits(s.reset, endpoint)) return { kind: 'reset' };
    return null;
  }

  private rebuild(): void {
    const s = this.s;
    this.errorFor.clear();
    for (const ep of CHAOS_ENDPOINTS) {
      const group = ep.startsWith('messages.') ? 'messages.*' : ep.startsWith('verify.') ? 'verify.*' : null;
      const rule = s.errors[ep] ?? (group ? s.errors[group] : undefined) ?? s.errors['*'];
      if (rule && rule.rate > 0) this.errorFor.set(ep, rule);
    }
    this.active =
      this.errorFor.size > 0 ||
      s.burst429.next > 0 ||
      s.hang.next > 0 ||
      s.hang.rate > 0 ||
      s.reset.next > 0 ||
      s.reset.rate > 0 ||
      s.latencyMs > 0 ||
      s.jitterMs > 0;
  }
}

function hits(f: ChaosFault, endpoint: ChaosEndpoint): boolean {
  if (f.next === 0 && f.rate === 0) return false;
  if (f.endpoints !== null && !f.endpoints.includes(endpoint)) return false;
  if (f.next > 0) {
    f.next--;
    return true;
  }
  return Math.random() < f.rate;
}
