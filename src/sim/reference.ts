/**
 * A RobotMotion resampled onto the robot's dof order, with smoothed finite-difference velocities and
 * accelerations, and per-frame forward kinematics of every link (positions, rotations, COM positions),
 * kept in flat typed arrays.
 */
import type { RobotMotion } from '../robot/motion.ts';
import { Kinematics } from '../robot/kinematics.ts';
import { UserError } from '../errors.ts';
import { hypot4 } from '../math/hypot.ts';

export interface Reference {
  T: number;
  nq: number;
  dt: number;
  fps: number;
  /** [T, nq] joint positions / velocities / accelerations (robot dof order). */
  q: Float64Array;
  qd: Float64Array;
  qdd: Float64Array;
  /** [T,3] root position, [T,4] root quaternion (w,x,y,z, sign-continuous). */
  rootPos: Float64Array;
  rootQuat: Float64Array;
  /** [T, nLinks*12] link poses (world). */
  pose: Float64Array;
  /** Dofs of the robot the motion does not drive (held at 0 or clamped into limits). */
  undriven: string[];
}

/** Map the motion's joint names onto the kinematics dofs; unknown motion joints are an error. */
export function buildReference(motion: RobotMotion, kin: Kinematics, file?: string): Reference {
  const T = motion.timestamps.length;
  if (motion.rootLink && motion.rootLink !== kin.robot.rootLink) {
    throw new UserError(`motion's root link "${motion.rootLink}" is not the robot's root link "${kin.robot.rootLink}"`, file);
  }
  if (T < 2) throw new UserError(`motion has ${T} frame(s); validation needs at least 2`, file);
  const n = motion.jointNames.length;
  const nq = kin.nq;
  const map = new Int32Array(n).fill(-1);
  const driven = new Uint8Array(nq);
  const unknown: string[] = [];
  motion.jointNames.forEach((name, i) => {
    try {
      map[i] = kin.dofIndex(name);
      driven[map[i]] = 1;
    } catch {
      unknown.push(name);
    }
  });
  if (unknown.length) throw new UserError(`motion names joints the robot does not have: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}`, file);
  const undriven = kin.dofNames.filter((_, d) => !driven[d]);
  const q = new Float64Array(T * nq);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) if (!driven[d]) q[t * nq + d] = Math.min(Math.max(0, kin.lower[d]), kin.upper[d]);
    for (let i = 0; i < n; i++) q[t * nq + map[i]] = motion.q[t * n + i];
  }
  const rootPos = Float64Array.from(motion.rootPos);
  const rootQuat = Float64Array.from(motion.rootQuat);
  for (let t = 0; t < T; t++) {
    const o = 4 * t;
    const nrm = hypot4(rootQuat[o], rootQuat[o + 1], rootQuat[o + 2], rootQuat[o + 3]) || 1;
    for (let k = 0; k < 4; k++) rootQuat[o + k] /= nrm;
    if (t > 0) {
      const dot = rootQuat[o] * rootQuat[o - 4] + rootQuat[o + 1] * rootQuat[o - 3] + rootQuat[o + 2] * rootQuat[o - 2] + rootQuat[o + 3] * rootQuat[o - 1];
      if (dot < 0) for (let k = 0; k < 4; k++) rootQuat[o + k] = -rootQuat[o + k];
    }
  }
  const dt = (motion.timestamps[T - 1] - motion.timestamps[0]) / (T - 1);
  const qd = new Float64Array(T * nq);
  const qdd = new Float64Array(T * nq);
  differentiate(q, T, nq, dt, qd);
  differentiate(qd, T, nq, dt, qdd);
  const L = kin.nLinks;
  const pose = new Float64Array(T * L * 12);
  const base = { pos: new Float64Array(3), quat: new Float64Array(4) };
  for (let t = 0; t < T; t++) {
    base.pos.set(rootPos.subarray(3 * t, 3 * t + 3));
    base.quat.set(rootQuat.subarray(4 * t, 4 * t + 4));
    kin.fk(q.subarray(t * nq, (t + 1) * nq), base);
    pose.set(kin.pose, t * L * 12);
  }
  return { T, nq, dt, fps: 1 / dt, q, qd, qdd, rootPos, rootQuat, pose, undriven };
}

/** Central differences (one-sided at the ends) of a [T, n] signal. */
export function differentiate(x: Float64Array, T: number, n: number, dt: number, out: Float64Array): void {
  for (let t = 0; t < T; t++) {
    const a = Math.max(0, t - 1), b = Math.min(T - 1, t + 1);
    const h = (b - a) * dt;
    for (let k = 0; k < n; k++) out[t * n + k] = (x[b * n + k] - x[a * n + k]) / h;
  }
}

/** Linear interpolation of the reference at time s (seconds from the first frame) into qOut and base. */
export function sampleReference(ref: Reference, s: number, qOut: Float64Array, qdOut: Float64Array, pos: Float64Array, quat: Float64Array): void {
  const f = Math.min(Math.max(s / ref.dt, 0), ref.T - 1);
  const i = Math.min(Math.floor(f), ref.T - 2);
  const u = f - i;
  const nq = ref.nq;
  for (let d = 0; d < nq; d++) {
    qOut[d] = ref.q[i * nq + d] * (1 - u) + ref.q[(i + 1) * nq + d] * u;
    qdOut[d] = ref.qd[i * nq + d] * (1 - u) + ref.qd[(i + 1) * nq + d] * u;
  }
  for (let k = 0; k < 3; k++) pos[k] = ref.rootPos[3 * i + k] * (1 - u) + ref.rootPos[3 * i + 3 + k] * u;
  let n = 0;
  for (let k = 0; k < 4; k++) { quat[k] = ref.rootQuat[4 * i + k] * (1 - u) + ref.rootQuat[4 * i + 4 + k] * u; n += quat[k] * quat[k]; }
  n = Math.sqrt(n) || 1;
  for (let k = 0; k < 4; k++) quat[k] /= n;
}
