/**
 * The project's on-disk cache: REEL2REAL_CACHE_DIR, else $XDG_CACHE_HOME/reel2real, else ~/.cache/reel2real.
 * Derived data only (converted models, mesh hulls): deleting it costs time, never results.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export function cacheDir(sub: string): string {
  const base = process.env.REEL2REAL_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'reel2real');
  return path.join(base, sub);
}
