// Webhook HTTP to the host application, with the SSRF guard. Every address a host name resolves
// to is checked in the connection's own DNS lookup (the `lookup` hook), so the address connected to
// is the one checked: no window between a check and the connection (DNS rebinding). Redirects are
// not followed (a 3xx is a failed attempt). Classification by ipaddr.js (a well-kept parser of
// every IPv4/IPv6 notation and its special ranges) rather than hand-written prefix lists.
import dns, { type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { WebhookResponse, WebhookTransport } from '../ports.js';

// Cloud metadata services: refused even when private addresses are allowed.
const METADATA_ADDRESSES = new Set(
  ['169.254.169.254', '169.254.170.2', '169.254.169.253', '100.100.100.200', '192.0.0.192', 'fd00:ec2::254', 'fd00:ec2::23'].map((a) => normalize(a)),
);
const METADATA_HOSTS = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.internal',
]);
const EXCERPT_BYTES = 1024;
// Bodies longer than this are not read to the end (the connection is dropped instead).
const MAX_READ_BYTES = 64 * 1024;

function parse(ip: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const a = ipaddr.parse(ip);
  // ::ffff:10.0.0.1 is 10.0.0.1.
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

function normalize(ip: string): string {
  const a = parse(ip);
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toNormalizedString() : a.toString();
}

/** Why an address may not be connected to, or null. Only globally routable unicast is public. */
export function addressRefusal(ip: string, allowPrivate: boolean): string | null {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = parse(ip);
  } catch {
    return `not an IP address: ${ip}`;
  }
  if (METADATA_ADDRESSES.has(normalize(ip))) return `${ip} is a cloud metadata address`;
  const range = a.range();
  if (range !== 'unicast' && !allowPrivate) return `${ip} is a ${range} address (set SMSRELAY_WEBHOOK_ALLOW_PRIVATE=true to allow)`;
  return null;
}

class RefusedAddress extends Error {}

export function webhookTransport(opts: { allowPrivate: boolean; userAgent: string }): WebhookTransport {
  const { allowPrivate } = opts;
  const lookup: LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refusal = addresses.map((a) => addressRefusal(a.address, allowPrivate)).find((r) => r !== null);
      if (refusal || addresses.length === 0) return callback(new RefusedAddress(refusal ?? `${hostname} has no address`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  // Keep-alive connections per host: a connection is checked when it is made.
  const agents = {
    'http:': new http.Agent({ keepAlive: true, lookup } as http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, lookup } as https.AgentOptions),
  };

  function urlRefusal(raw: string): { url: URL } | { refusal: string } {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { refusal: 'not a URL' };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { refusal: 'the URL must be https' };
    // Plain http only where private addresses are allowed (development): elsewhere payloads and signatures would travel in clear.
    if (url.protocol === 'http:' && !allowPrivate) return { refusal: 'the URL must be https (http only with SMSRELAY_WEBHOOK_ALLOW_PRIVATE=true)' };
    if (url.username || url.password) return { refusal: 'the URL must not carry credentials' };
    const host = url.hostname
      .replace(/^\[|\]$/g, '')
      .toLowerCase()
      .replace(/\.$/, '');
    if (METADATA_HOSTS.has(host)) return { refusal: `${host} is a cloud metadata host` };
    if (isIP(host)) {
      const r = addressRefusal(host, allowPrivate);
      if (r) return { refusal: r };
    }
    return { url };
  }

  return {
    async check(raw) {
      const u = urlRefusal(raw);
      if ('refusal' in u) return u.refusal;
      const host = u.url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) return null;
      try {
        const addresses = await dns.promises.lookup(host, { all: true });
        return addresses.map((a) => addressRefusal(a.address, allowPrivate)).find((r) => r !== null) ?? null;
      } catch {
        return `${host} does not resolve`;
      }
    },

    post(p) {
      const started = performance.now();
      const done = (r: Omit<WebhookResponse, 'latencyMs'>): WebhookResponse => ({ ...r, latencyMs: Math.round(performance.now() - started) });
      const u = urlRefusal(p.url);
      if ('refusal' in u) return Promise.resolve(done({ status: null, error: `refused: ${u.refusal}`, excerpt: null }));
      return new Promise<WebhookResponse>((resolve) => {
        const req = (u.url.protocol === 'https:' ? https : http).request(u.url, {
          method: 'POST',
          agent: agents[u.url.protocol as 'http:' | 'https:'],
          headers: { ...p.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(p.body), 'user-agent': opts.userAgent },
          signal: AbortSignal.timeout(p.timeoutMs),
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          let read = 0;
          res.on('data', (c: Buffer) => {
            read += c.length;
            if (kept < EXCERPT_BYTES) {
              chunks.push(c.subarray(0, EXCERPT_BYTES - kept));
              kept += Math.min(c.length, EXCERPT_BYTES - kept);
            }
            if (read > MAX_READ_BYTES) res.destroy();
          });
          const finish = () =>
            resolve(done({ status: res.statusCode ?? null, error: null, excerpt: chunks.length ? Buffer.concat(chunks).toString('utf8') : null }));
          res.on('end', finish);
          res.on('close', finish);
          res.on('error', finish);
        });
        req.on('error', (e) => {
          const error =
            e instanceof RefusedAddress
              ? `refused: ${e.message}`
              : e.name === 'AbortError' || e.name === 'TimeoutError'
                ? `timeout after ${p.timeoutMs} ms`
                : e.message || String(e);
          resolve(done({ status: null, error, excerpt: null }));
        });
        req.end(p.body);
      });
    },
  };
}
