// `smsrelay emulator`: argument parsing, what it prints, shutdown on SIGINT.
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
    const r = await api(base, 'POST', `/2010-04-01/Accounts/${sid}/Messages.json`, 'To=%2B14155552671&From=%2B14155550100&Body=hi', basicAuth(sid, 'env-token'));
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
    const out = captureStdout();
    await runEmulatorCommand(['--help'], {});
    expect(out()).toContain('Usage: smsrelay emulator');
  });
});
