// A lean HTTP/1.1 keep-alive client for plain-http webhooks (POST, one request per connection at a
// time). Hand-written because each status change of each message is one webhook: node's
// http.request costs ~60 µs per call (ClientRequest, agent, parser, stream machinery), which caps
// the emulator far below the callbacks-on throughput target; this costs a fraction. undici's
// request() would do, but it is not a dependency (node's global fetch is slower than http.request).
// https webhooks go through node:https instead (see webhooks.ts).
import net from 'node:net';

export type FailureClass = 'ct' | 'rt' | '4xx' | '5xx';

export interface AttemptResult {
  statusCode: number | null;
  body: string;
  error: string | null;
  failure: FailureClass | null;
}

export interface PostRequest {
  host: string;
  port: number;
  /** Request head without the final blank line: request line, Host and the other headers. */
  head: string;
  body: string;
  keepBody: boolean;
  connectTimeoutMs: number;
  readTimeoutMs: number;
}

// A reset or close before the whole answer is a connection failure (Twilio's "ct") when no byte of
// the answer came: a keep-alive socket closed by the receiver looks exactly like that. 'closed'
// and 'overloaded' are the emulator's own refusals and are not retried.
function failed(error: string, gotBytes: boolean): AttemptResult {
  const failure: FailureClass | null = error === 'closed' || error === 'overloaded' ? null : gotBytes || error === 'read-timeout' ? 'rt' : 'ct';
  return { statusCode: null, body: '', error, failure };
}

interface Exchange {
  req: PostRequest;
  resolve: (r: AttemptResult) => void;
  buf: Buffer | null;
  /** -1 until the head is parsed. */
  bodyStart: number;
  statusCode: number;
  contentLength: number;
  chunked: boolean;
  /** No framing: the body ends when the connection does. */
  untilClose: boolean;
  close: boolean;
}

interface Conn {
  sock: net.Socket;
  pool: Pool;
  busy: Exchange | null;
  connectTimer: NodeJS.Timeout | null;
  lastError: string | null;
}

interface Waiting {
  req: PostRequest;
  resolve: (r: AttemptResult) => void;
}

interface Pool {
  host: string;
  port: number;
  idle: Conn[];
  /** Every open connection, busy or idle (close() ends them all). */
  conns: Set<Conn>;
  /** FIFO of requests waiting for a connection: `queue` from index `head` (shift() is O(n)). */
  queue: Waiting[];
  head: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** Requests waiting for a connection to one origin; beyond it they fail at once (memory stays bounded when a receiver is slower than the traffic). */
const MAX_WAITING = 100_000;
/** Webhook answers are small (TwiML); anything bigger is dropped. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const CRLF = Buffer.from('\r\n');
const CONTENT_LENGTH = '\r\ncontent-length:';
const TRANSFER_ENCODING = '\r\ntransfer-encoding:';
const CONNECTION = '\r\nconnection:';

export class KeepAliveClient {
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  constructor(private readonly maxSocketsPerOrigin = 128) {}

  post(req: PostRequest): Promise<AttemptResult> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve(failed('closed', false));
        return;
      }
      const key = req.host + ':' + req.port;
      let pool = this.pools.get(key);
      if (!pool) {
        pool = { host: req.host, port: req.port, idle: [], conns: new Set(), queue: [], head: 0 };
        this.pools.set(key, pool);
      }
      this.dispatch(pool, req, resolve);
    });
  }

  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) {
      for (let i = pool.head; i < pool.queue.length; i++) pool.queue[i]!.resolve(failed('closed', false));
      pool.queue = [];
      pool.head = 0;
      for (const c of pool.conns) c.sock.destroy();
    }
  }

  private dispatch(pool: Pool, req: PostRequest, resolve: (r: AttemptResult) => void): void {
    const idle = pool.idle.pop();
    if (idle) this.start(idle, req, resolve);
    else if (pool.conns.size < this.maxSocketsPerOrigin) this.start(this.connect(pool, req.connectTimeoutMs), req, resolve);
    else if (pool.queue.length - pool.head >= MAX_WAITING) resolve(failed('overloaded', false));
    else pool.queue.push({ req, resolve });
  }

  private connect(pool: Pool, connectTimeoutMs: number): Conn {
    const sock = net.connect(pool.port, pool.host);
    sock.setNoDelay(true);
    const conn: Conn = { sock, pool, busy: null, connectTimer: null, lastError: null };
    pool.conns.add(conn);
    conn.connectTimer = setTimeout(() => {
      conn.lastError = 'connect-timeout';
      sock.destroy();
    }, connectTimeoutMs);
    sock.once('connect', () => {
      if (conn.connectTimer) clearTimeout(conn.connectTimer);
      conn.connectTimer = null;
    });
    sock.on('data', (d: Buffer) => {
      if (conn.busy) this.onData(conn, conn.busy, d);
      else sock.destroy(); // bytes nobody asked for: the connection cannot be trusted
    });
    sock.on('timeout', () => {
      conn.lastError = 'read-timeout';
      sock.destroy();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      conn.lastError ??= e.code ?? 'error';
    });
    sock.on('close', () => {
      if (conn.connectTimer) clearTimeout(conn.connectTimer);
      pool.conns.delete(conn);
      const i = pool.idle.indexOf(conn);
      if (i !== -1) pool.idle.splice(i, 1);
      const x = conn.busy;
      conn.busy = null;
      if (x) {
        // An unframed answer ends with its connection (unless a timeout or error ended it).
        if (x.untilClose && x.buf && conn.lastError === null) this.finish(x, x.buf.subarray(x.bodyStart));
        else x.resolve(failed(conn.lastError ?? 'ECONNRESET', x.buf !== null));
      }
      this.next(pool);
    });
    return conn;
  }

  private start(conn: Conn, req: PostRequest, resolve: (r: AttemptResult) => void): void {
    conn.busy = {
      req,
      resolve,
      buf: null,
      bodyStart: -1,
      statusCode: 0,
      contentLength: -1,
      chunked: false,
      untilClose: false,
      close: false,
    };
    conn.lastError = null;
    conn.sock.setTimeout(req.readTimeoutMs);
    conn.sock.write(`${req.head}\r\nContent-Length: ${Buffer.byteLength(req.body)}\r\nConnection: keep-alive\r\n\r\n${req.body}`);
  }

  /** Starts a queued request on a free connection slot, if any. */
  private next(pool: Pool): void {
    if (pool.head === pool.queue.length || this.closed) return;
    const q = pool.queue[pool.head++]!;
    if (pool.head === pool.queue.length) {
      pool.queue = [];
      pool.head = 0;
    } else if (pool.head > 1024 && pool.head * 2 > pool.queue.length) {
      pool.queue = pool.queue.slice(pool.head);
      pool.head = 0;
    }
    this.dispatch(pool, q.req, q.resolve);
  }

  private onData(conn: Conn, x: Exchange, d: Buffer): void {
    x.buf = x.buf === null ? d : Buffer.concat([x.buf, d]);
    if (x.buf.length > MAX_RESPONSE_BYTES) {
      this.abandon(conn);
      return;
    }
    if (x.bodyStart === -1 && !this.parseHead(x)) {
      if (x.statusCode === -1) this.abandon(conn);
      return;
    }
    if (x.untilClose) return;
    let body: Buffer | null;
    try {
      body = x.chunked
        ? dechunk(x.buf, x.bodyStart)
        : x.buf.length - x.bodyStart >= x.contentLength
          ? x.buf.subarray(x.bodyStart, x.bodyStart + x.contentLength)
          : null;
    } catch {
      this.abandon(conn);
      return;
    }
    if (body === null) return;
    conn.busy = null;
    conn.sock.setTimeout(0);
    this.finish(x, body);
    if (x.close || this.closed) conn.sock.destroy();
    else {
      conn.pool.idle.push(conn);
      this.next(conn.pool);
    }
  }

  /** An answer that is not HTTP: the exchange fails when the socket has closed. */
  private abandon(conn: Conn): void {
    conn.lastError = 'bad-response';
    conn.sock.destroy();
  }

  /** Parses the status line and headers once they are complete; statusCode -1 = garbage. */
  private parseHead(x: Exchange): boolean {
    const buf = x.buf!;
    const end = buf.indexOf(HEAD_END);
    if (end === -1) return false;
    // "HTTP/1.1 204 …": only the framing headers matter, found in the lower-cased head.
    const head = buf.toString('latin1', 0, end + 2).toLowerCase();
    const status = head.startsWith('http/1.') && head[8] === ' ' ? Number(head.slice(9, 12)) : NaN;
    if (!(status >= 100 && status <= 999)) {
      x.statusCode = -1;
      return false;
    }
    if (status < 200) {
      // Interim answer (100 Continue): skip it, the real one follows.
      x.buf = buf.subarray(end + 4);
      return x.buf.length > 0 && this.parseHead(x);
    }
    x.statusCode = status;
    x.bodyStart = end + 4;
    const length = headerValue(head, CONTENT_LENGTH);
    x.contentLength = length === null ? -1 : Number(length);
    x.chunked = headerValue(head, TRANSFER_ENCODING)?.includes('chunked') ?? false;
    x.close = headerValue(head, CONNECTION) === 'close';
    if (status === 204 || status === 304) {
      x.chunked = false;
      x.contentLength = 0;
    } else if (!x.chunked && !(x.contentLength >= 0)) {
      x.untilClose = true;
      x.close = true;
    }
    return true;
  }

  private finish(x: Exchange, body: Buffer): void {
    const s = x.statusCode;
    x.resolve({
      statusCode: s,
      body: x.req.keepBody ? body.toString('utf8') : '',
      error: null,
      failure: s >= 500 ? '5xx' : s >= 400 ? '4xx' : null,
    });
  }
}

/** A header's value in a lower-cased head that ends with CRLF; `key` is "\r\nname:". */
function headerValue(head: string, key: string): string | null {
  const i = head.indexOf(key);
  if (i === -1) return null;
  const start = i + key.length;
  return head.slice(start, head.indexOf('\r\n', start)).trim();
}

/** The body of a complete chunked message starting at `from`, or null while incomplete; throws on garbage. */
function dechunk(buf: Buffer, from: number): Buffer | null {
  const parts: Buffer[] = [];
  let i = from;
  for (;;) {
    const eol = buf.indexOf(CRLF, i);
    if (eol === -1) return null;
    const size = parseInt(buf.toString('latin1', i, eol).split(';', 1)[0]!, 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    if (size === 0) {
      // Optional trailers, then an empty line.
      const end = buf.indexOf(CRLF, eol + 2);
      if (end === -1) return null;
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}
