/**
 * Episode: one recording's worth of results, the unit the store holds, export writes and transport streams.
 *
 *   provenance (pseudonymous contributor, consent reference, task, source hashes)
 * + pose track + robot motion (+ optional hand motion)
 * + quality report + validation report (JSON; their shapes belong to src/quality and src/sim)
 *
 * The id is content-addressed: sha256 over the canonical bytes of everything above (see src/store).
 */
import type { PoseTrack } from '../pose/track.ts';
import type { RobotMotion } from '../retarget/motion.ts';

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
