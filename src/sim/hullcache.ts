/**
 * On-disk cache of mesh convex hulls (geometry.ts): a mesh's hulls depend only on the mesh file, its scale, where it
 * sits in its body and the hull settings, so they are computed once and read back by later commands — reading the
 * meshes and loading Rapier to hull them was most of a G1 command's fixed cost. Key: the mesh file's absolute path,
 * size and modification time, the scale, the placement and the settings (sha256). A missing, unreadable or
 * malformed entry is a miss; entries are written atomically. REEL2REAL_NO_HULL_CACHE=1 turns it off.
 */
import * as fs from 'node:fs';
import { fileCacheEntry } from '../io/cache.ts';
import { writeFileAtomic } from '../io/atomic.ts';

/** Bump when the hull computation changes, so old entries are not read. */
const VERSION = 1;

export function hullCacheEnabled(): boolean {
  return process.env.REEL2REAL_NO_HULL_CACHE !== '1';
}

/** The entry's file, or null when the mesh file cannot be stat'ed (then nothing is cached). */
export function hullCacheFile(meshFile: string, scale: ArrayLike<number>, pose: ArrayLike<number>, settings: unknown): string | null {
  return fileCacheEntry('hulls', meshFile, [VERSION, Array.from(scale), Array.from(pose), settings]);
}

/** Hulls (point sets, x y z float32) from an entry, or null. Layout: "R2RH", u32 count, per hull u32 floats + data. */
export function readHulls(file: string): Float32Array[] | null {
  let buf: Buffer;
  try { buf = fs.readFileSync(file); } catch { return null; }
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== 'R2RH') return null;
  const n = buf.readUInt32LE(4);
  const out: Float32Array[] = [];
  let o = 8;
  for (let i = 0; i < n; i++) {
    if (o + 4 > buf.length) return null;
    const len = buf.readUInt32LE(o);
    o += 4;
    if (len % 3 !== 0 || o + 4 * len > buf.length) return null;
    const a = new Float32Array(len);
    for (let k = 0; k < len; k++) a[k] = buf.readFloatLE(o + 4 * k);
    out.push(a);
    o += 4 * len;
  }
  return o === buf.length && n > 0 ? out : null;
}

export function writeHulls(file: string, hulls: Float32Array[]): void {
  let size = 8;
  for (const h of hulls) size += 4 + 4 * h.length;
  const buf = Buffer.alloc(size);
  buf.write('R2RH', 0, 'latin1');
  buf.writeUInt32LE(hulls.length, 4);
  let o = 8;
  for (const h of hulls) {
    buf.writeUInt32LE(h.length, o);
    o += 4;
    for (let k = 0; k < h.length; k++) buf.writeFloatLE(h[k], o + 4 * k);
    o += 4 * h.length;
  }
  try { writeFileAtomic(file, buf); } catch { /* a cache that cannot be written is only slower */ }
}
