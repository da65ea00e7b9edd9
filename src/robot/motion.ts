/**
 * RobotMotion: a robot trajectory, the output of retargeting and the input of validation, storage, export
 * and streaming.
 *
 * On disk: `.npz` with `q` f4 `[T,n]` (joint positions, in `joint_names` order, actuated joints only — mimic
 * joints are derived), `root_pos` f4 `[T,3]` (metres, world, Z up), `root_quat` f4 `[T,4]` (w,x,y,z),
 * `timestamps` f8 `[T]`, and `meta.json` `{"kind": "robot-motion", "fps", "joint_names", "root_link",
 * "robot": {"name", "urdf_sha256"}, "mapping", "source", "quality"?}`.
 */
import { UserError } from '../errors.ts';
import { nd, readNpz, writeNpz, type NdArray, type NpzContent } from '../io/npz.ts';

export interface RobotMotion {
  q: Float32Array;
  rootPos: Float32Array;
  rootQuat: Float32Array;
  timestamps: Float64Array;
  fps: number;
  jointNames: string[];
  rootLink: string;
  robot: { name: string; urdf_sha256: string; urdf?: string };
  /** Which human joint drove which robot link, and how (scales, offsets). */
  mapping?: Record<string, unknown>;
  source?: Record<string, unknown>;
  /** Retargeting quality report (see src/retarget). */
  quality?: Record<string, unknown>;
  /** Further meta.json fields. */
  meta?: Record<string, unknown>;
  extras?: Record<string, NdArray>;
}

export function motionFrames(m: RobotMotion): number {
  return m.timestamps.length;
}

export function validateMotion(m: RobotMotion, file?: string): void {
  const T = m.timestamps.length;
  const n = m.jointNames.length;
  if (m.q.length !== T * n) throw new UserError(`q has ${m.q.length} values, expected ${T}x${n}`, file);
  if (m.rootPos.length !== T * 3) throw new UserError(`root_pos has ${m.rootPos.length} values, expected ${T}x3`, file);
  if (m.rootQuat.length !== T * 4) throw new UserError(`root_quat has ${m.rootQuat.length} values, expected ${T}x4`, file);
  if (!(m.fps > 0)) throw new UserError(`fps must be positive, got ${m.fps}`, file);
  for (const [name, a] of [['q', m.q], ['root_pos', m.rootPos], ['root_quat', m.rootQuat]] as const) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) throw new UserError(`${name} value ${i} is not finite`, file);
      // Radians, metres: nothing a robot does is 10 km or 10,000 rad away.
      if (Math.abs(a[i]) > 1e4) throw new UserError(`${name} value ${i} is ${a[i].toExponential(2)} (over 1e4: wrong units or garbage)`, file);
    }
  }
  for (let i = 1; i < T; i++) if (!(m.timestamps[i] > m.timestamps[i - 1])) throw new UserError(`timestamps are not increasing at frame ${i}`, file);
  if (T === 0) throw new UserError('the motion has no frames', file);
  if (!Number.isFinite(m.timestamps[0]) || !Number.isFinite(m.timestamps[T - 1])) throw new UserError('timestamps are not finite', file);
  for (let t = 0; t < T; t++) {
    const w = m.rootQuat[4 * t], x = m.rootQuat[4 * t + 1], y = m.rootQuat[4 * t + 2], z = m.rootQuat[4 * t + 3];
    const n2 = w * w + x * x + y * y + z * z;
    // A unit quaternion, give or take float32 rounding and a file written without normalising.
    if (!(n2 > 0.8 && n2 < 1.2)) throw new UserError(`root_quat at frame ${t} is not a rotation (norm ${Math.sqrt(n2).toPrecision(3)}, expected 1)`, file);
    for (let a = 0; a < 3; a++) if (Math.abs(m.rootPos[3 * t + a]) >= 1e5) throw new UserError(`root_pos at frame ${t} is ${m.rootPos[3 * t + a].toExponential(2)} m from the origin (wrong units or garbage)`, file);
  }
}

/** Any stored array as numbers (int64 arrays hold BigInts). */
function asNumbers(d: NpzContent['arrays'][string]['data']): ArrayLike<number> {
  return d instanceof BigInt64Array ? Array.from(d, Number) : (d as ArrayLike<number>);
}

export function motionMeta(m: RobotMotion): Record<string, unknown> {
  return {
    ...(m.meta ?? {}),
    kind: 'robot-motion',
    fps: m.fps,
    joint_names: m.jointNames,
    root_link: m.rootLink,
    robot: m.robot,
    mapping: m.mapping ?? {},
    source: m.source ?? {},
    ...(m.quality ? { quality: m.quality } : {}),
  };
}

export function saveMotion(file: string, m: RobotMotion): void {
  validateMotion(m);
  const T = motionFrames(m);
  writeNpz(file, {
    arrays: {
      q: nd(m.q, [T, m.jointNames.length]),
      root_pos: nd(m.rootPos, [T, 3]),
      root_quat: nd(m.rootQuat, [T, 4]),
      timestamps: nd(m.timestamps, [T]),
      ...(m.extras ?? {}),
    },
    meta: motionMeta(m),
  });
}

export function loadMotion(file: string): RobotMotion {
  return motionFromNpz(readNpz(file), file);
}

/** A robot motion from the contents of its .npz (`file` names it in errors). */
export function motionFromNpz({ arrays, meta }: NpzContent, file: string): RobotMotion {
  if (meta.kind !== 'robot-motion') throw new UserError(`not a robot motion (meta.json kind is ${JSON.stringify(meta.kind)})`, file);
  const { q, root_pos, root_quat, timestamps, ...extras } = arrays;
  if (!q || !root_pos || !root_quat || !timestamps) throw new UserError('robot motion is missing q, root_pos, root_quat or timestamps', file);
  const { kind: _k, fps, joint_names, root_link, robot, mapping, source, quality, ...rest } = meta as Record<string, any>;
  if (!Array.isArray(joint_names)) throw new UserError('meta.json lacks joint_names', file);
  for (const [k, a] of [['q', q], ['root_pos', root_pos], ['root_quat', root_quat], ['timestamps', timestamps]] as const) {
    if (a.dtype !== 'f4' && a.dtype !== 'f8') throw new UserError(`${k} has dtype ${a.dtype === 'i8' ? 'int64' : a.dtype}; a robot motion stores float32 or float64`, file);
  }
  const m: RobotMotion = {
    q: Float32Array.from(asNumbers(q.data)),
    rootPos: Float32Array.from(asNumbers(root_pos.data)),
    rootQuat: Float32Array.from(asNumbers(root_quat.data)),
    timestamps: Float64Array.from(asNumbers(timestamps.data)),
    fps: Number(fps),
    jointNames: joint_names.map(String),
    rootLink: String(root_link ?? ''),
    robot: robot ?? { name: 'unknown', urdf_sha256: '' },
    mapping,
    source,
    quality,
    meta: rest,
    extras: Object.keys(extras).length ? extras : undefined,
  };
  validateMotion(m, file);
  return m;
}
