/**
 * PoseTrack: human motion as joint positions over time. The one type every source (mocap, video, keypoint
 * files) produces and every later stage reads.
 *
 * - positions `[T,J,3]` metres, right-handed world frame, Z up; NaN where a joint is missing
 * - confidence `[T,J]` in [0,1]; 0 = missing
 * - timestamps `[T]` seconds
 *
 * On disk: `.npz` with `positions` (f4), `confidence` (f4), `timestamps` (f8) and `meta.json`
 * `{"kind": "pose-track", "fps", "joint_names", "parents", "source", ...}`. Extra per-frame arrays (e.g. a
 * capture's `presence`) may ride along in `extras`.
 */
import { UserError } from '../errors.ts';
import { nd, readNpz, writeNpz, type NdArray, type NpzContent } from '../io/npz.ts';

export interface PoseSource {
  /** What produced it: 'bvh', 'trc', 'mediapipe-hand-json', 'blazepose-json', 'npy', 'capture', 'synthetic', ... */
  format: string;
  /** Input file name (base name only: no home directories leak into datasets). */
  file?: string;
  /** sha256 of the input file, hex. */
  sha256?: string;
  /** Anything else worth keeping about where this came from (units, scale, original fps, ...). */
  [key: string]: unknown;
}

export interface PoseTrack {
  positions: Float32Array;
  confidence: Float32Array;
  timestamps: Float64Array;
  jointNames: string[];
  /** Parent index of each joint, -1 for roots. */
  parents: number[];
  /** Nominal frame rate (frames per second). Timestamps are authoritative where they disagree. */
  fps: number;
  source: PoseSource;
  /** Further meta.json fields (video properties, per-frame presence description, ...). */
  meta?: Record<string, unknown>;
  /** Further arrays saved alongside (name → array). */
  extras?: Record<string, NdArray>;
}

export function frameCount(t: PoseTrack): number {
  return t.timestamps.length;
}

export function jointCount(t: PoseTrack): number {
  return t.jointNames.length;
}

export function jointIndex(t: PoseTrack, name: string): number {
  return t.jointNames.indexOf(name);
}

/** Largest distance from the origin a position may have, metres. */
const MAX_M = 1e5;

/** Check a track's arrays agree with each other; throws UserError naming `file`. */
export function validateTrack(t: PoseTrack, file?: string): void {
  const T = t.timestamps.length;
  const J = t.jointNames.length;
  if (J === 0) throw new UserError('pose track has no joints', file);
  if (t.parents.length !== J) throw new UserError(`parents has ${t.parents.length} entries for ${J} joints`, file);
  if (t.positions.length !== T * J * 3) throw new UserError(`positions has ${t.positions.length} values, expected ${T}x${J}x3`, file);
  if (t.confidence.length !== T * J) throw new UserError(`confidence has ${t.confidence.length} values, expected ${T}x${J}`, file);
  if (!(t.fps > 0) || !Number.isFinite(t.fps)) throw new UserError(`fps must be a positive number, got ${t.fps}`, file);
  for (let i = 0; i < T; i++) {
    if (!Number.isFinite(t.timestamps[i])) throw new UserError(`timestamp of frame ${i} is not a finite number`, file);
    if (i > 0 && !(t.timestamps[i] > t.timestamps[i - 1])) throw new UserError(`timestamps are not increasing at frame ${i}`, file);
  }
  // One pass over the joints of every frame (this runs on every load): confidence in [0, 1]; no infinite
  // coordinate; a missing position (NaN) has confidence 0.
  const P = t.positions, C = t.confidence;
  for (let k = 0; k < T * J; k++) {
    const c = C[k];
    if (!(c >= 0 && c <= 1)) throw new UserError(`confidence value ${k} is ${c}, outside [0,1]`, file);
    const x = P[3 * k], y = P[3 * k + 1], z = P[3 * k + 2];
    // v - v is 0 for a finite v and NaN for NaN or ±Infinity; metres, so nothing is 100 km away.
    if (x - x === 0 && y - y === 0 && z - z === 0 && x < MAX_M && x > -MAX_M && y < MAX_M && y > -MAX_M && z < MAX_M && z > -MAX_M) continue;
    for (let a = 0; a < 3; a++) {
      const v = P[3 * k + a];
      if (v === Infinity || v === -Infinity) throw new UserError(`position value ${3 * k + a} is infinite`, file);
      if (Math.abs(v) >= MAX_M) throw new UserError(`joint ${t.jointNames[k % J]} at frame ${Math.floor(k / J)} is ${v.toExponential(2)} m from the origin (over ${MAX_M / 1000} km: wrong units or garbage)`, file);
    }
    if (c > 0) throw new UserError(`joint ${t.jointNames[k % J]} at frame ${Math.floor(k / J)} is NaN but has confidence ${c}`, file);
  }
  for (let j = 0; j < J; j++) {
    const p = t.parents[j];
    if (!Number.isInteger(p) || p < -1 || p >= J || p === j) throw new UserError(`joint ${t.jointNames[j]} has invalid parent ${p}`, file);
  }
  // No cycles in the parent relation.
  for (let j = 0; j < J; j++) {
    let k = j;
    for (let steps = 0; k >= 0; steps++) {
      if (steps > J) throw new UserError(`joint hierarchy has a cycle through ${t.jointNames[j]}`, file);
      k = t.parents[k];
    }
  }
}

export function saveTrack(file: string, t: PoseTrack): void {
  writeNpz(file, trackToNpz(t));
}

/** The .npz content of a track (what saveTrack writes; the contributor page encodes it in the browser). */
export function trackToNpz(t: PoseTrack): NpzContent {
  validateTrack(t);
  const T = frameCount(t);
  const J = jointCount(t);
  return {
    arrays: {
      positions: nd(t.positions, [T, J, 3]),
      confidence: nd(t.confidence, [T, J]),
      timestamps: nd(t.timestamps, [T]),
      ...(t.extras ?? {}),
    },
    meta: {
      ...(t.meta ?? {}),
      kind: 'pose-track',
      fps: t.fps,
      joint_names: t.jointNames,
      parents: t.parents,
      source: t.source,
    },
  };
}

export function loadTrack(file: string): PoseTrack {
  return trackFromNpz(readNpz(file), file);
}

/** A pose track from the contents of its .npz (`file` names it in errors). */
export function trackFromNpz({ arrays, meta }: NpzContent, file: string): PoseTrack {
  if (meta.kind !== 'pose-track') throw new UserError(`not a pose track (meta.json kind is ${JSON.stringify(meta.kind)})`, file);
  const { positions, confidence, timestamps, ...extras } = arrays;
  if (!positions || !confidence || !timestamps) throw new UserError('pose track is missing positions, confidence or timestamps', file);
  const names = meta.joint_names;
  const parents = meta.parents;
  if (!Array.isArray(names) || !Array.isArray(parents)) throw new UserError('meta.json lacks joint_names or parents', file);
  const { kind: _k, fps, joint_names: _n, parents: _p, source, ...rest } = meta;
  const t: PoseTrack = {
    positions: toF32(floats(positions, 'positions', file)),
    confidence: toF32(floats(confidence, 'confidence', file)),
    timestamps: toF64(floats(timestamps, 'timestamps', file)),
    jointNames: names.map(String),
    parents: parents.map(Number),
    fps: Number(fps),
    source: (source ?? { format: 'unknown' }) as PoseSource,
    meta: rest,
    extras: Object.keys(extras).length ? extras : undefined,
  };
  validateTrack(t, file);
  return t;
}

function toF32(a: NdArray): Float32Array {
  return a.data instanceof Float32Array ? a.data : Float32Array.from(asNumbers(a.data));
}
function toF64(a: NdArray): Float64Array {
  return a.data instanceof Float64Array ? a.data : Float64Array.from(asNumbers(a.data));
}
/** The array when it holds floating-point numbers; a UserError naming the file otherwise (e.g. int64 positions). */
function floats(a: NdArray, name: string, file: string): NdArray {
  if (a.dtype !== 'f4' && a.dtype !== 'f8') throw new UserError(`${name} has dtype ${a.dtype === 'i8' ? 'int64' : a.dtype}; a pose track stores float32 or float64`, file);
  return a;
}

/** Any stored array as numbers (int64 arrays hold BigInts). */
function asNumbers(d: NdArray['data']): ArrayLike<number> {
  return d instanceof BigInt64Array ? Array.from(d, Number) : (d as ArrayLike<number>);
}

/** An empty track of T frames and the given joints: all positions NaN, confidences 0. */
export function emptyTrack(T: number, jointNames: string[], parents: number[], fps: number, source: PoseSource): PoseTrack {
  const J = jointNames.length;
  const positions = new Float32Array(T * J * 3).fill(NaN);
  const timestamps = new Float64Array(T);
  for (let i = 0; i < T; i++) timestamps[i] = i / fps;
  return { positions, confidence: new Float32Array(T * J), timestamps, jointNames, parents, fps, source };
}

/**
 * A track of the given frames (indices into t, in order). Per-frame extras (first dimension T) are sliced
 * the same way; other extras are kept as they are.
 */
export function selectFrames(t: PoseTrack, keep: number[]): PoseTrack {
  const T = t.timestamps.length;
  const J = t.jointNames.length;
  const positions = new Float32Array(keep.length * J * 3);
  const confidence = new Float32Array(keep.length * J);
  const timestamps = new Float64Array(keep.length);
  keep.forEach((i, k) => {
    positions.set(t.positions.subarray(3 * J * i, 3 * J * (i + 1)), 3 * J * k);
    confidence.set(t.confidence.subarray(J * i, J * (i + 1)), J * k);
    timestamps[k] = t.timestamps[i];
  });
  let extras: Record<string, NdArray> | undefined;
  if (t.extras) {
    extras = {};
    for (const [name, a] of Object.entries(t.extras)) {
      if (a.shape[0] !== T || T === 0) { extras[name] = a; continue; }
      const row = a.data.length / T;
      const C = a.data.constructor as { new (n: number): NdArray['data'] };
      const data = new C(keep.length * row);
      keep.forEach((i, k) => (data as { set(x: ArrayLike<number | bigint>, o: number): void }).set(a.data.subarray(row * i, row * (i + 1)) as never, row * k));
      extras[name] = { dtype: a.dtype, shape: [keep.length, ...a.shape.slice(1)], data };
    }
  }
  return { ...t, positions, confidence, timestamps, extras };
}
