// Bad input never crashes the emulator: malformed and huge bodies, unknown paths, wrong methods,
// fuzzed forms. Also: mounted inside another node:http server through handle().
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator/index.js';
import { api, basicAuth, startEmulator, type TestEmulator } from './support.js';

let t: TestEmulator;
let auth: Record<string, string>;
let create: string;

beforeAll(async () => {
  t = await startEmulator();
  auth = basicAuth(t.emulator.accountSid, t.emulator.authToken);
  create = `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages.json`;
});
afterAll(() => t.close());

async function alive(): Promise<void> {
  const r = await api(t.base, 'POST', create, 'To=%2B14155552671&From=%2B15005550006&Body=still+alive', auth);
  expect(r.status).toBe(201);
}

/** Sends raw bytes and returns whatever comes back before the socket closes (or 2 s). */
function raw(payload: string | Buffer): Promise<string> {
  const { port } = new URL(t.base);
  return new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
    s.setTimeout(2_000, () => s.destroy());
    s.write(payload, () => s.end());
  });
}

describe('malformed input', () => {
  it('malformed form bodies get Twilio errors', async () => {
    for (const body of ['%%%&=&&To', 'To=%E0%A4%A&Body=x', '\u0000\u0001\u0002', 'To=+14155552671&To=+14155552672&From=%2B15005550006&Body=x']) {
      const r = await api(t.base, 'POST', create, body, auth);
      expect([201, 400]).toContain(r.status);
      expect(r.status === 201 ? r.body.sid : r.body.code).toBeTruthy();
    }
    await alive();
    t.drift.splice(0);
  });

  it('a body over 1 MB is 413 (declared or streamed) and the server carries on', async () => {
    const big = 'Body=' + 'a'.repeat(1024 * 1024 + 10);
    const declared = await api(t.base, 'POST', create, big, auth);
    expect(declared.status).toBe(413);
    expect(declared.body.status).toBe(413);
    const chunked = await new Promise<number | string>((resolve) => {
      const req = http.request(`${t.base}${create}`, { method: 'POST', headers: { ...auth, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      for (let i = 0; i < 20; i++) req.write('a'.repeat(64 * 1024));
      req.end();
    });
    expect([413, 'ECONNRESET', 'EPIPE']).toContain(chunked);
    const admin = await api(t.base, 'POST', '/emulator/api/handsets/%2B14155552671/messages', 'x'.repeat(1024 * 1024 + 1), {
      'content-type': 'application/json',
    });
    expect(admin.status).toBe(413);
    expect(admin.body.error.code).toBe('payload_too_large');
    await alive();
  });

  it('garbage on the socket does not take the server down', async () => {
    await raw('GARBAGE\r\n\r\n');
    await raw(Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a]));
    await raw(`POST ${create} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nTo=`);
    await alive();
  });

  it('fuzzed form bodies and paths never crash it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.constantFrom(create, `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages/SMx.json`, '/v2/Services', '/v2/PhoneNumbers/x'),
        async (body, path) => {
          const r = await api(t.base, 'POST', path, body, auth);
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
    await alive();
    t.drift.splice(0);
  });
});

describe('routing', () => {
  it('unknown paths: Twilio-style 404; /emulator/api: { error }', async () => {
    const a = await api(t.base, 'GET', '/nope');
    expect(a.status).toBe(404);
    expect(a.body.code).toBe(20404);
    const b = await api(t.base, 'GET', `/2010-04-01/Accounts/${t.emulator.accountSid}/Calls.json`, undefined, auth);
    expect([b.status, b.body.code]).toEqual([404, 20404]);
    const c = await api(t.base, 'GET', '/emulator/api/nope');
    expect([c.status, c.body.error.code]).toEqual([404, 'not_found']);
  });

  it('wrong methods: 405 / 20004, and { error } on /emulator/api', async () => {
    const a = await api(t.base, 'PUT', create, 'x=1', auth);
    expect([a.status, a.body.code]).toEqual([405, 20004]);
    const b = await api(t.base, 'DELETE', '/v2/Services', undefined, auth);
    expect(b.status).toBe(405);
    const c = await api(t.base, 'POST', '/emulator/api/numbers', {});
    expect([c.status, c.body.error.code]).toEqual([405, 'method_not_allowed']);
  });

  it('invalid JSON on /emulator/api is 400 invalid_json', async () => {
    const r = await api(t.base, 'PUT', '/emulator/api/chaos', '{nope', { 'content-type': 'application/json' });
    expect([r.status, r.body.error.code]).toEqual([400, 'invalid_json']);
  });

  it('config never shows the auth token and can set URLs', async () => {
    const put = await api(t.base, 'PUT', '/emulator/api/config', { inboundUrl: 'http://127.0.0.1:9/in', defaultStatusCallback: null });
    expect(put.status).toBe(200);
    expect(put.body.inboundUrl).toBe('http://127.0.0.1:9/in');
    expect(JSON.stringify(put.body)).not.toContain(t.emulator.authToken);
    expect(put.body.accountSid).toBe(t.emulator.accountSid);
    expect((await api(t.base, 'PUT', '/emulator/api/config', { inboundUrl: 'ftp://x' })).status).toBe(400);
    expect((await api(t.base, 'PUT', '/emulator/api/config', { authToken: 'x' })).status).toBe(400);
    await api(t.base, 'PUT', '/emulator/api/config', { inboundUrl: null });
  });
});

describe('mounted in another server', () => {
  it('handles its own paths and leaves the others to the host', async () => {
    const emulator = createEmulator();
    const host = http.createServer((req, res) => {
      if (emulator.handle(req, res)) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('host');
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/v1/messages`)).text()).toBe('host');
      expect(await (await fetch(`${base}/v2/Other`)).text()).toBe('host');
      const r = await api(
        base,
        'POST',
        `/2010-04-01/Accounts/${emulator.accountSid}/Messages.json`,
        'To=%2B14155552671&From=%2B15005550006&Body=hi',
        basicAuth(emulator.accountSid, emulator.authToken),
      );
      expect(r.status).toBe(201);
      expect((await api(base, 'GET', '/emulator/api/config')).body.publicBaseUrl).toBe(base);
      expect((await api(base, 'GET', '/emulator/api/messages')).body.messages).toHaveLength(1);
    } finally {
      await emulator.close();
      await new Promise<void>((r) => {
        host.close(() => r());
        host.closeAllConnections();
      });
    }
  });
});
