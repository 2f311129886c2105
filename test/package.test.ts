// The package as a user meets it: `npm pack`, `npm install <tarball>` in a new project (better-sqlite3
// compiles there), the README's library example run with node as written, and `npx smsrelay --help`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'smsrelay-package-'));
const project = join(work, 'app');
afterAll(() => rmSync(work, { recursive: true, force: true }));

// npm passes its own settings down as npm_* variables (npm_config_local_prefix names this repo);
// the inner npm must see only the user's: the machine's npmrc, plus nodedir/cache when given.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') || k === 'npm_config_nodedir' || k === 'npm_config_cache'),
);
// Only the npm registry is reachable: compile better-sqlite3 instead of trying its prebuilt download.
env.npm_config_build_from_source = 'true';

function run(cmd: string, args: string[], cwd: string, timeoutMs: number) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The code block under "## As a library" in README.md. */
function readmeLibraryExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## As a library'));
  return /```ts\n([\s\S]*?)```/.exec(section)![1]!;
}

/** The typed client's example in the README's quick start. */
function readmeClientExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  return /```ts\n([\s\S]*?)```/.exec(section)![1]!;
}

// A relay from the installed package, for the client example: prints its URL and an admin key.
const SERVE = `import { createSmsRelay } from 'smsrelay';
const relay = await createSmsRelay({ databaseUrl: 'sqlite:./data/client.db', port: 0, logLevel: 'silent' });
const { key } = await relay.apiKeys.create(relay.defaultTenant.id, 'client', ['admin']);
const url = await relay.listen();
relay.startWorker();
console.log(JSON.stringify({ url, key }));
process.stdin.on('end', () => relay.close().then(() => process.exit(0)));
process.stdin.resume();
`;

let files: string[] = [];
let tarball = '';

describe('the npm package', () => {
  beforeAll(() => {
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root, 120_000)) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'smsrelay-user', private: true, type: 'module' }));
  }, 150_000);

  it('ships the build, the bin, README and LICENSE, and no tests, benchmarks or CI files', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/smsrelay.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/client/schema.d.ts',
      // The built console and inbox pages (npm run build → scripts/build-web.js).
      'dist/web/manifest.json',
    ])
      expect(files).toContain(f);
    expect(
      files.filter((f) => /^(test|bench|scripts|src|web|\.ci)\//.test(f) || f.endsWith('.map') || f.includes('tsbuildinfo') || f.includes('.test.')),
    ).toEqual([]);
  });

  it('installs into a new project; the README example delivers through the emulator; npx smsrelay --help works', () => {
    const started = Date.now();
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project, 300_000);
    const installMs = Date.now() - started;
    writeFileSync(join(project, 'example.mjs'), readmeLibraryExample());
    const out = run(process.execPath, ['example.mjs'], project, 60_000);
    expect(out.trim().split('\n').at(-1)).toMatch(/^delivered SM[0-9a-f]{32}$/);
    const help = run('npx', ['--no-install', 'smsrelay', '--help'], project, 30_000);
    expect(help).toMatch(/^Usage: smsrelay <command>/);
    console.log(`package test: npm install of the tarball took ${(installMs / 1000).toFixed(1)} s`);
  }, 420_000);

  it("exposes smsrelay/client: the README's client example type-checks and runs against a relay", async () => {
    const example = readmeClientExample();
    expect(example).toContain("from 'smsrelay/client'");
    // Type-checked against the installed package's exports (types condition) with this repo's tsc.
    writeFileSync(join(project, 'client-example.ts'), example);
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const types = ['--typeRoots', join(root, 'node_modules/@types'), '--types', 'node'];
    run(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', ...types, 'client-example.ts'],
      project,
      60_000,
    );
    // Run as JavaScript against a relay started from the installed package.
    writeFileSync(join(project, 'client-example.mjs'), example);
    writeFileSync(join(project, 'serve.mjs'), SERVE);
    const server = spawn(process.execPath, ['serve.mjs'], { cwd: project, env, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        let buf = '';
        server.stdout!.on('data', (d) => {
          buf += String(d);
          const line = buf.split('\n').find((l) => l.startsWith('{"url"'));
          if (line) resolve(line);
        });
        server.on('exit', (code) => reject(new Error(`serve.mjs exited (${code})`)));
      });
      const { url, key } = JSON.parse(first) as { url: string; key: string };
      const r = spawnSync(process.execPath, ['client-example.mjs'], {
        cwd: project,
        env: { ...env, SMSRELAY_URL: url, SMSRELAY_API_KEY: key },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^[0-9a-f-]{36} pending$/), '400 SMS_ERR_INVALID_PHONE']);
    } finally {
      if (server.exitCode === null) {
        server.stdin!.end();
        await new Promise((resolve) => server.once('exit', resolve));
      }
    }
  }, 120_000);
});
