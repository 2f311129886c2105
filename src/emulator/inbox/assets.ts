// The inbox's browser code and style, built by `npm run build` (scripts/build-web.js) into
// dist/web/ with content-hashed names. Loaded once into memory: a handful of small files, and only
// names listed in the build's manifest are ever served (no path from the URL reaches the disk).
import { readdirSync, readFileSync } from 'node:fs';

// src/emulator/inbox/ and dist/emulator/inbox/ are both three levels below the package root.
const WEB_DIR = new URL('../../../dist/web/', import.meta.url);

export interface WebAssets {
  /** Entry ('inbox.js', 'inbox.css') → hashed file name; undefined when the build did not run. */
  file(entry: string): string | undefined;
  /** A hashed file's bytes and content type. */
  get(name: string): { body: Buffer; type: string } | undefined;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export function loadWebAssets(): WebAssets {
  let manifest: Record<string, string> = {};
  const files = new Map<string, { body: Buffer; type: string }>();
  try {
    manifest = JSON.parse(readFileSync(new URL('manifest.json', WEB_DIR), 'utf8')) as Record<string, string>;
    for (const name of readdirSync(WEB_DIR)) {
      const type = TYPES[name.slice(name.lastIndexOf('.'))];
      if (type && name !== 'manifest.json') files.set(name, { body: readFileSync(new URL(name, WEB_DIR)), type });
    }
  } catch {
    // Not built: the pages answer 503 and say so.
  }
  return { file: (entry) => manifest[entry], get: (name) => files.get(name) };
}
