// `smsrelay campaigns …` (the compiled CLI) against a relay over HTTP: create with a CSV (uploaded
// in parts with progress), estimate, start, watch until done, export; pause, resume and cancel.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/ports.js';
import { backends } from './support/backends.js';
import { startRelay, type TestRelay } from './support/relay.js';

const dir = mkdtempSync(join(tmpdir(), 'smsrelay-campaigns-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const num = (i: number) => `+1415${String(4_000_000 + i).padStart(7, '0')}`;

describe.each(backends.filter((b) => b.name === 'sqlite'))('smsrelay campaigns on $name', (backend) => {
  let t: TestRelay;
  // Noon in New York: inside the marketing window.
  const offset = Date.parse('2025-06-10T12:00:00-04:00') - Date.now();
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  const cli = (args: string[], stdin = ''): Promise<{ code: number | null; out: string; err: string }> => {
    const child = spawn(process.execPath, ['dist/cli/main.js', 'campaigns', ...args], {
      env: { PATH: process.env.PATH!, SMSRELAY_URL: t.url, SMSRELAY_API_KEY: t.apiKey, SMSRELAY_LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.stdin.end(stdin);
    return new Promise((res) => child.once('close', (code) => res({ code, out, err })));
  };

  beforeAll(async () => {
    t = await startRelay(backend, 'campaigns-cli', {}, { relay: { clock } });
    await t.relay.settings.update(t.relay.defaultTenant.id, { consent_mode: { marketing: 'opt_out' }, recipient_limits: { marketing: null } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('create uploads the CSV in parts, prints counts and the estimate, starts with --yes; watch ends when it completes; export lists outcomes', async () => {
    const file = join(dir, 'r.csv');
    const rows = Array.from({ length: 2500 }, (_, i) => `${num(i)},Ann`);
    writeFileSync(file, `phone,name\n${rows.join('\n')}\nnot-a-number,Bob\n${num(0)},Dup\n`);
    const c = await cli(['create', '--name', 'cli', '--body', 'CLI test', '--csv', file, '--yes', '--rows-per-request', '1000']);
    expect(c.code, c.err).toBe(0);
    // The progress bar (stderr) shows rows/s and the invalid rows so far.
    expect(c.err).toMatch(/uploading \| 2502 rows \| \d+ rows\/s \| invalid 1/);
    expect(c.out).toContain('rows 2502: accepted 2500, invalid 1, duplicates 1, opted out 0');
    expect(c.out).toContain('row 2501: SMS_ERR_INVALID_PHONE');
    expect(c.out).toMatch(/estimate: 2500 recipients × 1 segment\(s\), cost 20\.7500 USD/);
    const id = /campaign (\S+) running/.exec(c.out)?.[1];
    expect(id).toBeTruthy();
    const w = await cli(['watch', id!, '--interval', '200']);
    expect(w.code).toBe(0);
    expect(w.out).toContain(`campaign ${id} completed`);
    const e = await cli(['export', id!]);
    const lines = e.out.trim().split('\n');
    expect(lines).toHaveLength(2502);
    expect(lines.filter((l) => /,(sent|delivered),/.test(l))).toHaveLength(2500);
  }, 120_000);

  it('without --yes and a "n" answer nothing starts; pause, resume and cancel by id; an illegal move exits 1 with the code', async () => {
    const file = join(dir, 's.csv');
    writeFileSync(file, `phone\n${Array.from({ length: 50 }, (_, i) => num(30_000 + i)).join('\n')}\n`);
    const c = await cli(['create', '--name', 'ask', '--body', 'Ask test', '--csv', file, '--rate', '2'], 'n\n');
    expect(c.code).toBe(0);
    expect(c.out).toContain('not started');
    const id = /campaign (\S+) created/.exec(c.out)![1]!;
    expect((await t.api(`/v1/campaigns/${id}`)).body.status).toBe('draft');
    expect((await cli(['start', id])).out).toContain('running');
    expect((await cli(['pause', id])).out).toContain('paused');
    expect((await cli(['resume', id])).out).toContain('running');
    expect((await cli(['cancel', id])).out).toContain('canceled');
    const bad = await cli(['resume', id]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('SMS_ERR_CAMPAIGN_STATE');
    expect((await cli(['pause', 'nope'])).err).toContain('SMS_ERR_NOT_FOUND');
  });
});
