// The emulator's lean keep-alive webhook client against raw TCP servers answering in every framing
// HTTP/1.1 allows, plus the failures Twilio's retry policy tells apart.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepAliveClient, type PostRequest } from '../../src/emulator/http-client.js';

const servers: net.Server[] = [];
const clients: KeepAliveClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server that answers each complete request (head + Content-Length body) with `answer(n)`. */
async function rawServer(answer: (n: number, sock: net.Socket) => string | Buffer[] | null): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  let n = 0;
  const server = net.createServer((sock) => {
    connections++;
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.slice(end + 4 + len);
        const a = answer(n++, sock);
        if (a === null) continue;
        if (typeof a === 'string') sock.write(a);
        else for (const [i, part] of a.entries()) setTimeout(() => sock.write(part), i * 5);
      }
    });
    sock.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

function client(max?: number): KeepAliveClient {
  const c = new KeepAliveClient(max);
  clients.push(c);
  return c;
}

function req(port: number, overrides: Partial<PostRequest> = {}): PostRequest {
  return {
    host: '127.0.0.1',
    port,
    head: 'POST /hook HTTP/1.1\r\nHost: 127.0.0.1',
    body: 'A=1',
    keepBody: true,
    connectTimeoutMs: 1000,
    readTimeoutMs: 1000,
    ...overrides,
  };
}

const ok = (body: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('KeepAliveClient', () => {
  it('reads Content-Length bodies (UTF-8) and reuses the connection', async () => {
    const s = await rawServer(() => ok('<Response>héllo</Response>'));
    const c = client();
    const a = await c.post(req(s.port));
    const b = await c.post(req(s.port));
    expect([a.statusCode, a.body, a.error, a.failure]).toEqual([200, '<Response>héllo</Response>', null, null]);
    expect(b.body).toBe('<Response>héllo</Response>');
    expect(s.connections()).toBe(1);
  });

  it('reads chunked bodies split across packets, and 204 without a body', async () => {
    const s = await rawServer((n) =>
      n === 0
        ? [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'), Buffer.from('lo\r\n6;x=y\r\n world\r\n'), Buffer.from('0\r\n\r\n')]
        : 'HTTP/1.1 204 No Content\r\n\r\n',
    );
    const c = client();
    expect((await c.post(req(s.port))).body).toBe('hello world');
    expect((await c.post(req(s.port))).statusCode).toBe(204);
    expect(s.connections()).toBe(1);
  });

  it('opens a new connection after Connection: close, and reads unframed bodies until close', async () => {
    const s = await rawServer((n, sock) => {
      if (n === 0) return ok('first', 'Connection: close\r\n');
      sock.end('HTTP/1.0 200 OK\r\n\r\nuntil close');
      return null;
    });
    const c = client();
    expect((await c.post(req(s.port))).body).toBe('first');
    expect((await c.post(req(s.port))).body).toBe('until close');
    expect(s.connections()).toBe(2);
  });

  it('skips 100 Continue and classifies 4xx/5xx', async () => {
    const s = await rawServer((n) =>
      n === 0 ? 'HTTP/1.1 100 Continue\r\n\r\n' + ok('x') : n === 1 ? ok('', '').replace('200 OK', '404 Not Found') : ok('').replace('200 OK', '503 Busy'),
    );
    const c = client();
    expect((await c.post(req(s.port))).statusCode).toBe(200);
    expect((await c.post(req(s.port))).failure).toBe('4xx');
    expect((await c.post(req(s.port))).failure).toBe('5xx');
  });

  it('tells connection failures (ct) from read failures (rt)', async () => {
    const dead = await rawServer(() => null);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    const c = client();
    expect(await c.post(req(dead.port))).toMatchObject({ statusCode: null, error: 'ECONNREFUSED', failure: 'ct' });
    const reset = await rawServer((_, sock) => {
      sock.destroy();
      return null;
    });
    expect(await c.post(req(reset.port))).toMatchObject({ error: 'ECONNRESET', failure: 'ct' });
    const silent = await rawServer(() => null);
    expect(await c.post(req(silent.port, { readTimeoutMs: 100 }))).toMatchObject({ error: 'read-timeout', failure: 'rt' });
    const garbage = await rawServer(() => 'SMTP ready\r\n\r\n');
    expect(await c.post(req(garbage.port))).toMatchObject({ error: 'bad-response', failure: 'rt' });
    const halfway = await rawServer((_, sock) => {
      sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort');
      return null;
    });
    expect(await c.post(req(halfway.port))).toMatchObject({ statusCode: null, failure: 'rt' });
  });

  it('recovers when the receiver closes an idle keep-alive connection', async () => {
    const s = await rawServer((_, sock) => {
      setTimeout(() => sock.end(), 20);
      return ok('x');
    });
    const c = client();
    expect((await c.post(req(s.port))).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 60));
    expect((await c.post(req(s.port))).statusCode).toBe(200);
    expect(s.connections()).toBe(2);
  });

  it('queues beyond the socket limit, and close() fails what still waits (not retryable)', async () => {
    const s = await rawServer(() => ok('x'));
    const c = client(2);
    const all = await Promise.all(Array.from({ length: 20 }, () => c.post(req(s.port))));
    expect(all.every((r) => r.statusCode === 200)).toBe(true);
    expect(s.connections()).toBe(2);
    const slow = await rawServer(() => null);
    const c2 = client(1);
    const pending = [c2.post(req(slow.port)), c2.post(req(slow.port))];
    await new Promise((r) => setTimeout(r, 20));
    c2.close();
    expect((await pending[1])!).toMatchObject({ error: 'closed', failure: null });
  });
});
