/**
 * Episode: one recording's worth of results, the unit the store holds, export writes and transport streams.
 *
 *   provenance (pseudonymous contributor, consent reference, task, source hashes)
 * + pose track + robot motion (+ optional hand motion)
 * + quality report + validation report (JSON; their shapes belong to src/quality and src/sim)
 *
 * The id is content-addressed: sha256 over the canonical bytes of everything above (see src/store).
 */
import { crc32, type NumericArray } from '../io/npz.ts';
import type { PoseTrack } from '../pose/track.ts';
import type { RobotMotion } from '../robot/motion.ts';

export interface SourceRef {
  /** Base name of the input file (never a full path: paths can carry a worker's name). */
  file: string;
  sha256: string;
  bytes?: number;
}

export interface Provenance {
  /** HMAC-SHA256 pseudonym of the contributor (never the raw id); see src/privacy. */
  contributor: string;
  /** Reference to the consent manifest that allowed this: its id/version and the scopes used. */
  consent: { id: string; version: string; scopes: string[]; expires?: string | null };
  task?: string;
  sources: SourceRef[];
  /** ISO time the episode was made. Not part of the content id. */
  createdAt?: string;
  tool?: { name: string; version: string };
}

export interface Episode {
  provenance: Provenance;
  track?: PoseTrack;
  motion?: RobotMotion;
  /** A hand motion where the robot's hand is a separate model (`--hand`). */
  handMotion?: RobotMotion;
  quality?: Record<string, unknown>;
  validation?: Record<string, unknown>;
  /** Per-frame quality masks (name → [T] 0/1) saved with the episode. */
  masks?: Record<string, Uint8Array>;
  /**
   * CRC-32 of each array's bytes, by part and array name, where already known: `Store.get` takes them from
   * the files' zip directory (checked as it reads), `MemorySource` computes them once when an episode is
   * added. The transport sends them instead of checksumming every array again. Not part of the content id.
   */
  checksums?: EpisodeChecksums;
}

/** Part → array name (as in the part's .npz) → CRC-32 of the array's bytes. */
export type EpisodeChecksums = Partial<Record<'track' | 'motion' | 'hand_motion' | 'masks', Record<string, number>>>;

/** The arrays of each part of an episode, named as in the part's .npz file (src/store writes them so). */
export function partArrays(ep: Episode): Record<keyof EpisodeChecksums, Record<string, NumericArray>> {
  const motion = (m: RobotMotion | undefined): Record<string, NumericArray> => {
    if (!m) return {};
    const out: Record<string, NumericArray> = { q: m.q, root_pos: m.rootPos, root_quat: m.rootQuat, timestamps: m.timestamps };
    for (const [k, v] of Object.entries(m.extras ?? {})) out[k] = v.data;
    return out;
  };
  const track: Record<string, NumericArray> = {};
  if (ep.track) {
    Object.assign(track, { positions: ep.track.positions, confidence: ep.track.confidence, timestamps: ep.track.timestamps });
    for (const [k, v] of Object.entries(ep.track.extras ?? {})) track[k] = v.data;
  }
  return { track, motion: motion(ep.motion), hand_motion: motion(ep.handMotion), masks: { ...(ep.masks ?? {}) } };
}

/** Compute the CRC-32 of every array of an episode (what `Episode.checksums` holds). */
export function episodeChecksums(ep: Episode): EpisodeChecksums {
  const out: EpisodeChecksums = {};
  for (const [part, arrays] of Object.entries(partArrays(ep)) as [keyof EpisodeChecksums, Record<string, NumericArray>][]) {
    const names = Object.keys(arrays);
    if (!names.length) continue;
    const sums: Record<string, number> = {};
    for (const k of names) {
      const a = arrays[k];
      sums[k] = crc32(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    out[part] = sums;
  }
  return out;
}

/** One line of the store's append-only index. */
export interface IndexEntry {
  id: string;
  createdAt: string;
  task?: string;
  contributor: string;
  robot?: string;
  frames?: number;
  fps?: number;
  feasible?: boolean | null;
  verdict?: string | null;
  sources: SourceRef[];
}
