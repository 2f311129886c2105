// `smsrelay emulator`: argument parsing, what it prints, shutdown on SIGINT.
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runEmulatorCommand } from '../../src/cli/emulator-command.js';
import { DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN } from '../../src/emulator/index.js';
import { api, basicAuth, waitFor } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function captureStdout(): () => string {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  return () => out;
}

describe('smsrelay emulator', () => {
  it('starts with the env credentials, prints the env lines, serves, and stops on SIGINT', async () => {
    const out = captureStdout();
    const sid = 'AC' + '1'.repeat(32);
    const running = runEmulatorCommand(['--port', '0', '--numbers', '+15005550006,+14155550100', '--no-callbacks', '--chaos', '{"latencyMs":1}'], {
      TWILIO_ACCOUNT_SID: sid,
      TWILIO_AUTH_TOKEN: 'env-token',
    });
    const base = (await waitFor(() => /listening on (http:\/\/\S+)/.exec(out())?.[1], 5_000, 'the banner'))!;
    expect(out()).toContain(`TWILIO_ACCOUNT_SID=${sid} TWILIO_AUTH_TOKEN=env-token TWILIO_API_BASE_URL=${base}`);
    const cfg = await api(base, 'GET', '/emulator/api/config');
    expect(cfg.body).toMatchObject({ accountSid: sid, numbers: ['+15005550006', '+14155550100'], callbacks: 'off' });
    const r = await api(
      base,
      'POST',
      `/2010-04-01/Accounts/${sid}/Messages.json`,
      'To=%2B14155552671&From=%2B14155550100&Body=hi',
      basicAuth(sid, 'env-token'),
    );
    expect(r.status).toBe(201);
    process.emit('SIGINT');
    await running;
    await expect(fetch(`${base}/emulator/api/config`)).rejects.toThrow();
  });

  it('falls back to the documented test credentials, and flags beat env', async () => {
    const out = captureStdout();
    const running = runEmulatorCommand(['--port', '0'], {});
    await waitFor(() => out().includes('listening'), 5_000);
    expect(out()).toContain(`account SID:           ${DEFAULT_ACCOUNT_SID}`);
    expect(out()).toContain(`auth token:            ${DEFAULT_AUTH_TOKEN}`);
    process.emit('SIGTERM');
    await running;
    const out2 = captureStdout();
    const flagged = runEmulatorCommand(['--port', '0', '--auth-token', 'flag-token'], { TWILIO_AUTH_TOKEN: 'env-token' });
    await waitFor(() => out2().includes('listening'), 5_000);
    expect(out2()).toContain('TWILIO_AUTH_TOKEN=flag-token');
    process.emit('SIGINT');
    await flagged;
  });

  it('rejects bad arguments', async () => {
    await expect(runEmulatorCommand(['--port', 'x'], {})).rejects.toThrow(/--port/);
    await expect(runEmulatorCommand(['--mps', '0'], {})).rejects.toThrow(/--mps/);
    await expect(runEmulatorCommand(['--chaos', '{'], {})).rejects.toThrow(/--chaos/);
    await expect(runEmulatorCommand(['--bogus'], {})).rejects.toThrow();
    await expect(runEmulatorCommand(['--port', '0', '--numbers', '12'], {})).rejects.toThrow(/E\.164/);
    await expect(runEmulatorCommand(['--access', 'token'], {})).rejects.toThrow(/SMSRELAY_EMULATOR_TOKEN/);
    await expect(runEmulatorCommand(['--access', 'token', '--token', 'short'], {})).rejects.toThrow(/24 characters/);
    await expect(runEmulatorCommand(['--access', 'open'], {})).rejects.toThrow(/SMSRELAY_EMULATOR_ACCESS/);
    const out = captureStdout();
    await runEmulatorCommand(['--help'], {});
    expect(out()).toContain('Usage: smsrelay emulator');
  });
});

/** A non-loopback IPv4 address of this machine (the only other address these tests connect to). */
const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe.skipIf(!external)(`smsrelay emulator bound to 0.0.0.0, reached from ${external ?? '(no non-loopback IPv4 address on this machine)'}`, () => {
  const TOKEN = 'standalone-access-token-0123456789';

  it('answers only loopback clients by default', async () => {
    const out = captureStdout();
    const running = runEmulatorCommand(['--port', '0', '--host', '0.0.0.0'], {});
    const base = (await waitFor(() => /listening on (http:\/\/\S+)/.exec(out())?.[1], 5_000, 'the banner'))!;
    expect(out()).toContain('emulator: loopback clients only');
    const port = new URL(base).port;
    const refused = await api(`http://${external}:${port}`, 'PUT', '/emulator/api/config', { inboundUrl: 'http://127.0.0.1:9/x' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'SMS_ERR_EMULATOR_LOOPBACK_ONLY' } });
    const twilioPath = await api(
      `http://${external}:${port}`,
      'GET',
      `/2010-04-01/Accounts/${DEFAULT_ACCOUNT_SID}/Messages.json`,
      undefined,
      basicAuth(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN),
    );
    expect(twilioPath.status).toBe(403);
    expect((await api(`http://127.0.0.1:${port}`, 'GET', '/emulator/api/config')).body.inboundUrl).toBeNull();
    process.emit('SIGINT');
    await running;
  });

  it('with --access token, answers other hosts that present the token', async () => {
    const out = captureStdout();
    const running = runEmulatorCommand(['--port', '0', '--host', '0.0.0.0', '--access', 'token', '--token', TOKEN, '--auth-token', 'a-private-auth-token'], {});
    const base = (await waitFor(() => /listening on (http:\/\/\S+)/.exec(out())?.[1], 5_000, 'the banner'))!;
    expect(out()).toContain('emulator: open to the network with token');
    const ext = `http://${external}:${new URL(base).port}`;
    expect((await api(ext, 'GET', '/emulator/api/config')).status).toBe(401);
    const ok = await api(ext, 'GET', '/emulator/api/config', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    // The Twilio paths take the (non-default) account credentials, as on Twilio.
    const created = await api(
      ext,
      'POST',
      `/2010-04-01/Accounts/${DEFAULT_ACCOUNT_SID}/Messages.json`,
      'To=%2B14155552671&From=%2B15005550006&Body=hi',
      basicAuth(DEFAULT_ACCOUNT_SID, 'a-private-auth-token'),
    );
    expect(created.status).toBe(201);
    process.emit('SIGINT');
    await running;
  });
});
