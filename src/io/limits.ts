/**
 * Ceilings on sizes that come from input files (frame counts, array sizes, decompressed members), so a
 * malformed or hostile file is refused with a clear error instead of exhausting memory. Generous for real
 * data: a 2-hour capture at 120 fps is 864,000 frames; the largest episode arrays in ../shared/data are a few
 * hundred MB at most.
 */
import { UserError } from '../errors.ts';

export const LIMITS = {
  /** Frames in one track or motion (after resampling too). */
  frames: 2_000_000,
  /** Bytes of one array made from input (after resampling, decompression). */
  arrayBytes: 1024 * 2 ** 20,
  /** Bytes of one decompressed member of an .npz (zip). */
  memberBytes: 1024 * 2 ** 20,
  /** Bytes of all decompressed members of one .npz together. */
  npzBytes: 2048 * 2 ** 20,
  /** Nesting depth of a hierarchy read from a file (BVH joints, JSON). */
  depth: 1000,
} as const;

/** Throw a UserError naming `file` when `n` (of `what`) exceeds `max`. */
export function checkLimit(n: number, max: number, what: string, file?: string): void {
  if (!(n <= max)) throw new UserError(`${what} (${Number.isFinite(n) ? n.toLocaleString('en-US') : String(n)}) exceeds the limit of ${max.toLocaleString('en-US')}`, file);
}
