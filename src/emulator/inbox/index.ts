// Serves the web inbox: GET /emulator, /emulator/ and deep links /emulator/numbers/{n}[/{peer}],
// /emulator/handsets/{n}[/{peer}] (the page turns those into its #/ routes). Its data comes from
// /emulator/api/*.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PAGE_CSP, PAGE_HTML } from './page.js';

const BODY = Buffer.from(PAGE_HTML, 'utf8');
const DEEP_LINK = /^\/emulator\/(numbers|handsets)\/[^/]+(\/[^/]+)?\/?$/;

/** Answers the request if `path` (without query) is a page of the inbox; returns false otherwise. */
export function serveInbox(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path !== '/emulator' && path !== '/emulator/' && !DEEP_LINK.test(path)) return false;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
    res.end();
    return true;
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': BODY.length,
    'cache-control': 'no-store',
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(method === 'HEAD' ? undefined : BODY);
  return true;
}
