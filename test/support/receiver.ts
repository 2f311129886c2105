// A webhook receiver on 127.0.0.1 that records every request and answers as the test says.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** 'reset' destroys the connection without an answer; 'hang' answers after `ms`. */
export type Answer = number | { status: number; body?: string } | 'reset' | { hang: number; status?: number };

export interface Receiver {
  url: string;
  received: Received[];
  /** Decides each answer (default 200). */
  answer: (r: Received) => Answer;
  /** The most requests to one path that were open at once. */
  maxOpen: Map<string, number>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const rec: Receiver = { url: '', received: [], answer: () => 200, maxOpen: new Map(), close: async () => undefined };
  const open = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    open.set(path, (open.get(path) ?? 0) + 1);
    rec.maxOpen.set(path, Math.max(rec.maxOpen.get(path) ?? 0, open.get(path)!));
    res.on('close', () => open.set(path, open.get(path)! - 1));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        path: req.url ?? '/',
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      rec.received.push(r);
      const a = rec.answer(r);
      if (a === 'reset') return req.socket.destroy();
      if (typeof a === 'number') return res.writeHead(a).end('ok');
      if ('hang' in a) {
        const t = setTimeout(() => res.writeHead(a.status ?? 200).end('late'), a.hang);
        res.on('close', () => clearTimeout(t));
        return;
      }
      res.writeHead(a.status).end(a.body ?? '');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rec.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rec.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return rec;
}
