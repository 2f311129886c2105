// The browser bundles (the emulator's inbox and the admin console), built by `npm run build`
// (scripts/build-web.js) into dist/web/ with content-hashed names. Loaded once into memory: a handful
// of small files, served only by exact name (no path from the URL reaches the disk). The one loader:
// it lives here because the emulator stands alone (it imports only core/), and http/ may import it.
import { readdirSync, readFileSync } from 'node:fs';

// src/emulator/inbox/ and dist/emulator/inbox/ are both three levels below the package root.
const WEB_DIR = new URL('../../../dist/web/', import.meta.url);

export interface WebAssets {
  /** Entry ('inbox.js', 'admin.css', …) → hashed file name; undefined when the build did not run. */
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
      if (type) files.set(name, { body: readFileSync(new URL(name, WEB_DIR)), type });
    }
  } catch {
    // Not built: the inbox and the console answer 503 and say so.
  }
  return { file: (entry) => manifest[entry], get: (name) => files.get(name) };
}
