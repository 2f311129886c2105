// Serves the web inbox: GET /emulator, /emulator/ and deep links /emulator/numbers/{n}[/{peer}],
// /emulator/handsets/{n}[/{peer}] (the page turns those into its #/ routes), and its built script
// and style under /emulator/assets/. Its data comes from /emulator/api/*.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadWebAssets } from './assets.js';
import { PAGE_CSP, pageHtml } from './page.js';

const DEEP_LINK = /^\/emulator\/(numbers|handsets)\/[^/]+(\/[^/]+)?\/?$/;
const ASSETS = '/emulator/assets/';
const assets = loadWebAssets();
const script = assets.file('inbox.js');
const style = assets.file('inbox.css');
const BODY =
  script && style ? Buffer.from(pageHtml(ASSETS + script, ASSETS + style), 'utf8') : Buffer.from('The web inbox is not built: run `npm run build`.\n', 'utf8');

/** Answers the request if `path` (without query) is a page or an asset of the inbox; returns false otherwise. */
export function serveInbox(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const asset = path.startsWith(ASSETS) ? assets.get(path.slice(ASSETS.length)) : undefined;
  if (!asset && path !== '/emulator' && path !== '/emulator/' && !DEEP_LINK.test(path)) return false;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
    res.end();
    return true;
  }
  const body = asset ? asset.body : BODY;
  res.writeHead(asset || (script && style) ? 200 : 503, {
    'content-type': asset ? asset.type : script ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': body.length,
    // Hashed names change with their content: cache them for good; the page itself never.
    'cache-control': asset ? 'public, max-age=31536000, immutable' : 'no-store',
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(method === 'HEAD' ? undefined : body);
  return true;
}
