// package.json's `engines` must be true for the whole installed tree (npm prints EBADENGINE
// otherwise), and the Node majors the README promises are the ones .ci/run tests.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }> };

// The README's promise: "Runs on Node.js 20.19+ and 22" (the 20 line from 20.19, and other majors).
const promised = /Runs on Node\.js (\d+)\.(\d+)\+((?:,? (?:and )?\d+)+) /.exec(read('README.md'));
const otherMajors = () => promised![3]!.match(/\d+/g)!;

describe('supported Node versions', () => {
  it('the README names the supported majors', () => {
    expect(promised).not.toBeNull();
  });

  it('every locked package accepts the oldest Node of our engines range and each promised major', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const [, major, minor] = promised!;
    const others = otherMajors();
    expect(oldest).toBe(`${major}.${minor}.0`);
    for (const m of others) expect(semver.satisfies(`${m}.20.0`, pkg.engines.node)).toBe(true);
    const bad: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
      if (!path || !range) continue;
      // Dev tools may skip early minors of a line (rolldown wants 22.12+): test the current ones too.
      for (const v of [oldest, ...others.map((m) => `${m}.20.0`)]) {
        if (!semver.satisfies(v, range)) bad.push(`${path.replace(/^.*node_modules\//, '')} needs node ${range} (not ${v})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('.ci/run runs the suite on every other promised major', () => {
    const majors = /^NODE_MAJORS="([^"]*)"/m.exec(read('.ci/run'))![1]!.split(' ');
    expect(majors).toEqual(otherMajors());
  });
});
