// Small helpers of the emulator's hot path: SIDs, dates, body reading, JSON answers.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request bodies above this answer 413. */
const MAX_BODY_BYTES = 1024 * 1024;

const JSON_TYPE = 'application/json; charset=utf-8';

// One randomBytes call per 256 SIDs: the syscall dominates when done per SID.
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** prefix + 32 lowercase hex, e.g. sid('SM'). */
export function sid(prefix: string): string {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  const s = prefix + pool.toString('hex', poolOffset, poolOffset + 16);
  poolOffset += 16;
  return s;
}

const HEX = Buffer.from('0123456789abcdef');
const uuidText = Buffer.alloc(36);

/**
 * A random (v4) UUID as one flat string. crypto.randomUUID() builds its text by concatenation, and
 * V8 keeps such a string as a tree of ~20 pieces (about 450 bytes): the tokens of the webhook
 * records kept with each message were a third of the emulator's memory.
 */
export function uuid(): string {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  let p = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidText[p++] = 0x2d;
    let b = pool[poolOffset + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40;
    else if (i === 8) b = (b & 0x3f) | 0x80;
    uuidText[p++] = HEX[b >> 4]!;
    uuidText[p++] = HEX[b & 15]!;
  }
  poolOffset += 16;
  return uuidText.toString('latin1');
}

// Two cached seconds: a message's created and updated times usually fall in one or two.
let rfcSecondA = -1;
let rfcTextA = '';
let rfcSecondB = -1;
let rfcTextB = '';

/** RFC 2822 in GMT as Twilio writes it: "Thu, 24 Aug 2023 05:01:45 +0000". `ms`: epoch ms. */
export function rfc2822(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second === rfcSecondA) return rfcTextA;
  if (second === rfcSecondB) return rfcTextB;
  rfcSecondB = rfcSecondA;
  rfcTextB = rfcTextA;
  rfcSecondA = second;
  rfcTextA = new Date(second * 1000).toUTCString().replace('GMT', '+0000');
  return rfcTextA;
}

/** An API answer: an object to serialise, or JSON text already built. */
export interface Reply {
  status: number;
  body?: unknown;
  json?: string;
  headers?: Record<string, string>;
}

/** ISO 8601 without milliseconds, as Verify writes dates: "2015-07-30T20:00:00Z". */
export function isoSeconds(d: Date): string {
  return d.toISOString().slice(0, 19) + 'Z';
}

type BodyResult = { ok: true; body: string } | { ok: false; reason: 'too_large' | 'aborted' };

/**
 * A request header read from rawHeaders: `req.headers` builds (and lower-cases) the whole header
 * object on first access, which shows up at tens of thousands of requests per second.
 */
export function rawHeader(req: IncomingMessage, lowerName: string): string | undefined {
  const h = req.rawHeaders;
  for (let i = 0; i < h.length; i += 2) {
    const k = h[i]!;
    if (k.length === lowerName.length && k.toLowerCase() === lowerName) return h[i + 1];
  }
  return undefined;
}

/** Reads a request body as UTF-8, giving up at MAX_BODY_BYTES. */
export function readBody(req: IncomingMessage, cb: (r: BodyResult) => void): void {
  const declared = Number(rawHeader(req, 'content-length'));
  if (declared > MAX_BODY_BYTES) {
    cb({ ok: false, reason: 'too_large' });
    return;
  }
  let first: Buffer | null = null;
  let rest: Buffer[] | null = null;
  let bytes = 0;
  let done = false;
  req.on('data', (chunk: Buffer) => {
    if (done) return;
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) {
      done = true;
      cb({ ok: false, reason: 'too_large' });
      return;
    }
    if (first === null) first = chunk;
    else {
      rest ??= [first];
      rest.push(chunk);
    }
  });
  req.on('end', () => {
    if (done) return;
    done = true;
    const buf = rest ? Buffer.concat(rest) : first;
    cb({ ok: true, body: buf ? buf.toString('utf8') : '' });
  });
  req.on('error', () => {
    if (done) return;
    done = true;
    cb({ ok: false, reason: 'aborted' });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>, json?: string): void {
  if (res.headersSent || res.destroyed) return;
  const text = json ?? (body === undefined ? '' : JSON.stringify(body));
  // A flat [name, value, …] list spares writeHead an object walk.
  const h: (string | number)[] = ['content-type', JSON_TYPE, 'content-length', Buffer.byteLength(text)];
  if (headers) for (const k in headers) h.push(k, headers[k]!);
  res.writeHead(status, h);
  res.end(text);
}

/** A 413 cannot keep the connection: the rest of the body is never read. */
export function sendTooLarge(res: ServerResponse, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.once('finish', () => res.socket?.destroy());
  sendJson(res, 413, body, { connection: 'close' });
}

export function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function allValues(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const CONTENT_TYPES = new Map<string, string>(
  Object.entries({
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    mp4: 'video/mp4',
    mp3: 'audio/mpeg',
    pdf: 'application/pdf',
    vcf: 'text/vcard',
    txt: 'text/plain',
  }),
);

/** Guesses a media content type from the URL's extension. */
export function contentTypeOf(url: string): string {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const dot = path.lastIndexOf('.');
  const ext = dot === -1 ? '' : path.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES.get(ext) ?? 'application/octet-stream';
}
