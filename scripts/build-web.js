// `npm run build` (after tsc): bundles the browser code under web/ with esbuild into dist/web/,
// content-hashed so the server can cache them for a year, plus dist/web/manifest.json mapping each
// entry ('admin.js', 'inbox.css', …) to its hashed file. esbuild: one fast binary, no dev server
// or plugin config to keep (Vite would bring both). Type checking is `npm run typecheck`
// (web/tsconfig.json); esbuild only strips types.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web`;

const ENTRIES = {
  admin: 'web/admin/main.ts',
  'admin-style': 'web/admin/admin.css',
  inbox: 'web/inbox/main.ts',
  'inbox-style': 'web/inbox/inbox.css',
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ENTRIES,
  outdir: out,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});

// manifest: entry name + extension → hashed file name (e.g. 'admin.js' → 'admin-3FQ2J7KD.js').
const manifest = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const name = Object.keys(ENTRIES).find((k) => meta.entryPoint === ENTRIES[k]);
  const ext = file.slice(file.lastIndexOf('.'));
  manifest[`${name.replace(/-style$/, '')}${ext}`] = basename(file);
}
writeFileSync(`${out}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);

// The licences of the packages bundled into the pages (uPlot, openapi-fetch, …) ship beside them.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
const notices = [...packages].sort().map((name) => {
  const dir = `${root}node_modules/${name}`;
  const file = existsSync(dir) ? readdirSync(dir).find((f) => /^licen[cs]e/i.test(f)) : undefined;
  return `${name}\n${'='.repeat(name.length)}\n${file ? readFileSync(`${dir}/${file}`, 'utf8').trim() : '(no licence file)'}\n`;
});
writeFileSync(`${out}/THIRD-PARTY-LICENSES.txt`, notices.join('\n'));
