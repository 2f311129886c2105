// The admin console's browser code and style, built by `npm run build` (scripts/build-web.js) into
// dist/web/ with content-hashed names, loaded once into memory. Only files the build wrote are
// served, by exact name (no path from the URL reaches the disk). The emulator has its own loader
// (src/emulator/inbox/assets.ts): it stands alone and imports nothing from here.
import { readdirSync, readFileSync } from 'node:fs';

// src/http/ and dist/http/ are both two levels below the package root.
const WEB_DIR = new URL('../../dist/web/', import.meta.url);

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface WebAssets {
  /** Entry ('admin.js', 'admin.css') → hashed file name; undefined when the build did not run. */
  file(entry: string): string | undefined;
  get(name: string): { body: Buffer; type: string } | undefined;
}

export function loadWebAssets(): WebAssets {
  let manifest: Record<string, string> = {};
  const files = new Map<string, { body: Buffer; type: string }>();
  try {
    manifest = JSON.parse(readFileSync(new URL('manifest.json', WEB_DIR), 'utf8')) as Record<string, string>;
    for (const name of readdirSync(WEB_DIR)) {
      const type = TYPES[name.slice(name.lastIndexOf('.'))];
      if (type) files.set(name, { body: readFileSync(new URL(name, WEB_DIR)), type });
    }
  } catch {
    // Not built: the console answers 503 and says so.
  }
  return { file: (entry) => manifest[entry], get: (name) => files.get(name) };
}
