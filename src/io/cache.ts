/**
 * The project's on-disk cache: REEL2REAL_CACHE_DIR, else $XDG_CACHE_HOME/reel2real, else ~/.cache/reel2real.
 * Derived data only (converted models, mesh hulls, capsules fitted to meshes): deleting it costs time, never
 * results.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export function cacheDir(sub: string): string {
  const base = process.env.REEL2REAL_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'reel2real');
  return path.join(base, sub);
}

/**
 * The cache entry (`<cacheDir(sub)>/<key>.bin`) for data derived from one input file: the key is a sha256 of the
 * file's absolute path, size and modification time and `params` (JSON: whatever else the data depends on,
 * including a version to bump when the computation changes). Null when the file cannot be stat'ed (then
 * nothing is cached).
 */
export function fileCacheEntry(sub: string, inputFile: string, params: unknown): string | null {
  let st: fs.Stats;
  try { st = fs.statSync(inputFile); } catch { return null; }
  const key = createHash('sha256').update(JSON.stringify([path.resolve(inputFile), st.size, st.mtimeMs, params])).digest('hex');
  return path.join(cacheDir(sub), `${key.slice(0, 40)}.bin`);
}
