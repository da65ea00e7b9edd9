/**
 * Access to the real test material in ../shared/data, read in place. Tests that need it use
 * `describeShared`, which skips (with a message saying what is missing) when it is absent, as on a user's
 * fresh clone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DATA = process.env.REEL2REAL_SHARED_DATA ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'data');

/** Absolute path of a file under ../shared/data, or null when it is not there. */
export function sharedPath(rel: string): string | null {
  const p = path.join(SHARED_DATA, rel);
  return fs.existsSync(p) ? p : null;
}

/** Like path.join into ../shared/data, but throws if missing (use inside describeShared). */
export function shared(rel: string): string {
  const p = sharedPath(rel);
  if (!p) throw new Error(`missing shared data file ${rel}`);
  return p;
}

/** describe() that runs only when every named file under ../shared/data exists; otherwise skips with a message. */
export function describeShared(name: string, files: string[], fn: () => void): void {
  const missing = files.filter((f) => !sharedPath(f));
  if (missing.length) {
    console.warn(`[skip] ${name}: ../shared/data is absent or incomplete (missing ${missing.join(', ')})`);
    // The body is not run at all: it may read the missing files while collecting its tests.
    describe.skip(name, () => {
      it(`needs ${missing.join(', ')} in ../shared/data`, () => {});
    });
  } else {
    describe(name, fn);
  }
}
