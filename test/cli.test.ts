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

  it('send delivers one message through the emulator and prints it', () => {
    const r = cli(['send', '--to', '+14155552671', '--body', 'hi from the CLI'], { SMSRELAY_DATABASE_URL: db });
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out);
    expect(m).toMatchObject({ to: '+14155552671', body: 'hi from the CLI' });
    expect(m.provider_sid).toMatch(/^SM/);
    const bad = cli(['send', '--to', 'nope', '--body', 'x'], { SMSRELAY_DATABASE_URL: db });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/SMS_ERR_INVALID_PHONE/);
  });

  it('serve writes the initial API key (0600), logs only its path, and exits 0 on SIGTERM', async () => {
    const data = mkdtempSync(join(tmpdir(), 'smsrelay-serve-'));
    const child = spawn(process.execPath, ['dist/cli/main.js', 'serve'], {
      env: { PATH: process.env.PATH!, PORT: '0', SMSRELAY_DATA_DIR: data, SMSRELAY_DATABASE_URL: `sqlite:${join(data, 'db.sqlite')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const deadline = Date.now() + 20_000;
    // The last start-up line; logs are written asynchronously, so wait for it rather than for the first.
    while (!out.includes('Emulator inbox') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const keyFile = join(data, 'initial-api-key');
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(out).toContain(keyFile);
    expect(out).not.toContain(key);
    expect(out).toMatch(/NOTHING IS SENT/);
    const url = /smsrelay listening on (http:\/\/[^"\s]+)/.exec(out)![1];
    const r = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: '+14155552671', body: 'quick start' }),
    });
    expect(r.status).toBe(202);
    child.kill('SIGTERM');
    const code = await new Promise((res) => child.once('exit', res));
    expect(code).toBe(0);
    rmSync(data, { recursive: true, force: true });
  }, 40_000);
});
