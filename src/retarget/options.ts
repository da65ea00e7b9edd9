/**
 * retarget()'s options and input helpers (in their own module so the stages can import them without a cycle
 * through index.ts).
 */
import type { Kinematics } from '../robot/kinematics.ts';
import { selectFrames, type PoseTrack } from '../pose/track.ts';
import { UserError } from '../errors.ts';
import type { BodyMap } from './discover.ts';
import type { ProxySet } from './proxies.ts';
import type { Targets } from './targets.ts';
import type { RobotConfig } from './config.ts';

/** Finger solver for one hand: called per frame after the body solve with the wrist pose known. */
export interface FingerSolver {
  /** Dof indices (in the robot's q) this solver writes. */
  dofs: number[];
  /** Write the finger joints of frame t into q (the body's q of this frame, after fk). */
  solveFrame(t: number, q: Float64Array): void;
}

export interface RetargetOptions {
  /** A robot config object or YAML file; default: configs/robots/<robot name>.yaml if present, else none. */
  config?: RobotConfig | string | null;
  /** Output frame rate: frames are taken from the track at this rate (default: the track's). */
  fps?: number;
  /** Only this time window of the track, seconds. */
  start?: number;
  duration?: number;
  /**
   * Gaussian smoothing of the human input (sigma, seconds). Default: 0.012 s for mocap sources (BVH, TRC,
   * DeepMimic, synthetic), 0.05 s for keypoints estimated from video (noisier).
   */
  smoothing?: number;
  /** Zero-phase smoothing of the upper-body joints after the solve (sigma, seconds; default 0.03; 0 = none). */
  postSmoothing?: number;
  /** Self-collision avoidance (default true). */
  selfCollision?: boolean;
  /**
   * Centre of mass kept over the support feet (BalanceTask, weight `weights.balance`). Default: on only
   * when the config sets weights.balance > 0.
   */
  balance?: boolean;
  /** Hard joint acceleration bound, rad/s^2 (default 0 = none; the damping task's acceleration term keeps motion smooth). */
  accelerationLimit?: number;
  /** Gauss-Newton iterations per frame (default 4) and on the first frame per start (default 60). */
  iterations?: number;
  /** Build per-hand finger solvers once the body map is known (used for robots with dexterous hands). */
  fingers?: (kin: Kinematics, map: BodyMap, track: PoseTrack) => FingerSolver[];
  /** Name of the input for errors. */
  file?: string;
}

export interface RetargetContext {
  kin: Kinematics;
  map: BodyMap;
  proxies: ProxySet;
  targets: Targets;
}

/**
 * Keep existing frames of a track at a lower rate and/or in a time window (no interpolation; compare
 * pose/resample.ts resampleTrack, which interpolates onto a new time grid).
 */
export function decimateTrack(track: PoseTrack, opts: { fps?: number; start?: number; duration?: number }): PoseTrack {
  const T = track.timestamps.length;
  const t0 = track.timestamps[0] + (opts.start ?? 0);
  const t1 = opts.duration !== undefined ? t0 + opts.duration : Infinity;
  const step = opts.fps && opts.fps < track.fps ? track.fps / opts.fps : 1;
  const keep: number[] = [];
  let next = 0;
  for (let i = 0; i < T; i++) {
    const ts = track.timestamps[i];
    if (ts < t0 - 1e-9 || ts > t1 + 1e-9) continue;
    if (keep.length === 0) next = i;
    if (i + 1e-9 >= next) { keep.push(i); next += step; }
  }
  if (!keep.length) throw new UserError('no frames in the requested time window', track.source.file);
  if (keep.length === T) return track;
  // Extras are not carried through a resample (so not sliced either).
  return { ...selectFrames({ ...track, extras: undefined }, keep), fps: track.fps / step };
}

const MOCAP_FORMATS = new Set(['bvh', 'trc', 'deepmimic', 'synthetic']);

/** Input smoothing for a track: light for mocap, stronger for keypoints estimated from video. */
export function defaultSmoothing(track: PoseTrack): number {
  return MOCAP_FORMATS.has(String(track.source.format)) ? 0.012 : 0.05;
}

