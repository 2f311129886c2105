// The compiled CLI as a user runs it (npm test builds dist/ first).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['dist/cli/main.js', ...args], {
    env: { PATH: process.env.PATH!, SMSRELAY_LOG_LEVEL: 'warn', SMSRELAY_DATA_DIR: dir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('config loader', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, databaseUrl: 'sqlite:./data/smsrelay.db', provider: 'emulator', defaultRegion: 'US' });
    expect(loadConfig({ PORT: '8080' }).port).toBe(8080);
    expect(loadConfig({ PORT: '8080', SMSRELAY_PORT: '9090' }).port).toBe(9090);
    expect(loadConfig({ TWILIO_ENABLED: 'false' }).provider).toBe('disabled');
    expect(loadConfig({ TWILIO_PHONE_NUMBER: '+14155550000' }).twilio.fromNumber).toBe('+14155550000');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ SMSRELAY_DEFAULT_REGION: 'USA' }, 'SMSRELAY_DEFAULT_REGION'],
    [{ TWILIO_ACCOUNT_SID: 'AC123', TWILIO_AUTH_TOKEN: 'x' }, 'TWILIO_ACCOUNT_SID'],
    [{ TWILIO_ACCOUNT_SID: 'AC' + 'a'.repeat(32) }, 'TWILIO_AUTH_TOKEN'],
    [{ TWILIO_ENABLED: 'maybe' }, 'TWILIO_ENABLED'],
    [{ SMSRELAY_DATABASE_URL: 'mysql://x' }, 'SMSRELAY_DATABASE_URL'],
    [{ TWILIO_MESSAGING_SERVICE_SID: 'MG1' }, 'TWILIO_MESSAGING_SERVICE_SID'],
    [{ SMSRELAY_PUBLIC_URL: 'ftp://x' }, 'SMSRELAY_PUBLIC_URL'],
  ])('rejects %o naming the variable', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}: expected`));
  });
});

/** The CLI without blocking the test's event loop (a server may be answering it). */
function cliAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['dist/cli/main.js', ...args], {
    env: { PATH: process.env.PATH!, SMSRELAY_LOG_LEVEL: 'warn', SMSRELAY_DATA_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  return new Promise((res) => child.once('close', (code) => res({ code, out, err })));
}

/** `smsrelay serve` on a free port, as `npm start` runs it. */
async function startServe(env: Record<string, string>) {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve'], {
    env: { PATH: process.env.PATH!, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const deadline = Date.now() + 20_000;
  // The last start-up line; logs are written asynchronously, so wait for it rather than for the first.
  while (!out.includes('Emulator inbox') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const url = /smsrelay listening on (http:\/\/[^"\s]+)/.exec(out)?.[1];
  if (!url) {
    child.kill('SIGKILL');
    throw new Error(`serve did not start:\n${out}`);
  }
  return {
    child,
    url,
    out: () => out,
    async stop() {
      child.kill('SIGTERM');
      return new Promise<number | null>((res) => child.once('exit', res));
    },
  };
}

describe('smsrelay CLI', () => {
  const db = `sqlite:${join(dir, 'cli.db')}`;

  it('migrate applies migrations, then reports up to date; fails with a non-zero exit', () => {
    const first = cli(['migrate'], { SMSRELAY_DATABASE_URL: db });
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/applied: 0001_send_pipeline/);
    const again = cli(['migrate'], { SMSRELAY_DATABASE_URL: db });
    expect(again.out).toMatch(/up to date/);
    const bad = cli(['migrate'], { SMSRELAY_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing' });
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/smsrelay migrate:/);
  });

  it('exits with one line naming a wrong variable', () => {
    const r = cli(['migrate'], { SMSRELAY_DEFAULT_REGION: 'Narnia' });
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/SMSRELAY_DEFAULT_REGION/);
  });

  it('keys create | list | revoke', () => {
    const created = cli(['keys', 'create', '--tenant', 'default', '--scopes', 'messages:read', '--name', 'ci'], { SMSRELAY_DATABASE_URL: db });
    expect(created.code).toBe(0);
    const key = created.out.trim();
    expect(key).toMatch(/^smsr_/);
    const list = JSON.parse(cli(['keys', 'list', '--tenant', 'default'], { SMSRELAY_DATABASE_URL: db }).out);
    const row = list.find((k: { name: string }) => k.name === 'ci');
    expect(row).toMatchObject({ scopes: ['messages:read'], revoked_at: null, prefix: key.slice(0, 12) });
    expect(JSON.stringify(list)).not.toContain(key);
    expect(cli(['keys', 'revoke', '--tenant', 'default', row.prefix], { SMSRELAY_DATABASE_URL: db }).code).toBe(0);
    expect(cli(['keys', 'revoke', '--tenant', 'default', row.prefix], { SMSRELAY_DATABASE_URL: db }).code).toBe(1);
    expect(cli(['keys', 'create', '--scopes', 'root'], { SMSRELAY_DATABASE_URL: db }).err).toMatch(/Unknown scope/);
  });

  it('no command prints the usage and fails; help and --help succeed', () => {
    const none = cli([]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^Usage: smsrelay <command>/);
    for (const h of ['help', '--help']) {
      const r = cli([h]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/tenants create --slug/);
    }
  });

  it('tenants create | list, and the new tenant can get a key', () => {
    const created = cli(['tenants', 'create', '--slug', 'acme', '--name', 'Acme Corp', '--region', 'mx'], { SMSRELAY_DATABASE_URL: db });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ slug: 'acme', name: 'Acme Corp', defaultRegion: 'MX' });
    const list = cli(['tenants', 'list'], { SMSRELAY_DATABASE_URL: db });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out).map((t: { slug: string }) => t.slug)).toEqual(['default', 'acme']);
    const again = cli(['tenants', 'create', '--slug', 'acme', '--name', 'Acme again'], { SMSRELAY_DATABASE_URL: db });
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
    expect(cli(['tenants', 'create', '--slug', 'Not A Slug', '--name', 'x'], { SMSRELAY_DATABASE_URL: db }).err).toMatch(/SMS_ERR_VALIDATION: slug/);
    expect(cli(['tenants', 'create', '--slug', 'eu', '--name', 'x', '--region', 'EUR'], { SMSRELAY_DATABASE_URL: db }).err).toMatch(
      /SMS_ERR_VALIDATION: defaultRegion/,
    );
    expect(cli(['tenants', 'create', '--slug', 'nameless'], { SMSRELAY_DATABASE_URL: db }).code).toBe(2);
    expect(JSON.parse(cli(['tenants', 'list'], { SMSRELAY_DATABASE_URL: db }).out)).toHaveLength(2);
    expect(cli(['keys', 'create', '--tenant', 'acme'], { SMSRELAY_DATABASE_URL: db }).out).toMatch(/^smsr_/);
  });

  it('send with the built-in emulator and no server: queues only, says nothing picked it up, fails', () => {
    const r = cli(['send', '--to', '+14155552671', '--body', 'nobody home', '--wait', '1'], { SMSRELAY_DATABASE_URL: db });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'pending', provider_sid: null });
    expect(r.err).toMatch(/still 'pending' after 1 s: no worker picked it up.*smsrelay serve/);
    const bad = cli(['send', '--to', 'nope', '--body', 'x'], { SMSRELAY_DATABASE_URL: db });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/SMS_ERR_INVALID_PHONE/);
  });

  it('worker with no Twilio credentials refuses to start (it would send into a private emulator)', () => {
    const r = cli(['worker'], { SMSRELAY_DATABASE_URL: db });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/private emulator.*TWILIO_ACCOUNT_SID/);
  });

  it('send while `serve` runs on the same database: the server sends it through its emulator, the CLI prints it delivered', async () => {
    const data = mkdtempSync(join(tmpdir(), 'smsrelay-send-'));
    const env = { SMSRELAY_DATA_DIR: data, SMSRELAY_DATABASE_URL: `sqlite:${join(data, 'db.sqlite')}` };
    const server = await startServe(env);
    try {
      const r = await cliAsync(['send', '--to', '+14155552671', '--body', 'hi from the CLI'], env);
      expect(r.err).not.toMatch(/still/);
      expect(r.code).toBe(0);
      const m = JSON.parse(r.out);
      expect(m).toMatchObject({ to: '+14155552671', body: 'hi from the CLI', status: 'delivered' });
      expect(m.provider_sid).toMatch(/^SM/);
      // It went through the server's emulator: its inbox has it.
      const inbox = (await (await fetch(`${server.url}/emulator/api/messages?to=%2B14155552671`)).json()) as { messages: { sid: string }[] };
      expect(inbox.messages.map((x) => x.sid)).toContain(m.provider_sid);
    } finally {
      await server.stop();
      rmSync(data, { recursive: true, force: true });
    }
  }, 60_000);

  it('serve writes the initial API key (0600), logs only its path, and exits 0 on SIGTERM', async () => {
    const data = mkdtempSync(join(tmpdir(), 'smsrelay-serve-'));
    const server = await startServe({ SMSRELAY_DATA_DIR: data, SMSRELAY_DATABASE_URL: `sqlite:${join(data, 'db.sqlite')}` });
    const out = server.out();
    const keyFile = join(data, 'initial-api-key');
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(out).toContain(keyFile);
    expect(out).not.toContain(key);
    expect(out).toMatch(/NOTHING IS SENT/);
    const r = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: '+14155552671', body: 'quick start' }),
    });
    expect(r.status).toBe(202);
    expect(await server.stop()).toBe(0);
    rmSync(data, { recursive: true, force: true });
  }, 40_000);
});
