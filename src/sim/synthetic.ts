/**
 * Synthetic robot motions with known answers, for tests, benchmarks and sanity checks of the validator:
 * standing still, a squat by joint interpolation (no IK: hip pitch -a, knee +2a, ankle pitch -a about the
 * lateral axis keeps the torso upright and the feet flat), time scaling, a lifted root, joint overrides.
 */
import type { RobotMotion } from '../robot/motion.ts';
import type { UrdfRobot } from '../robot/urdf.ts';
import { robotGeometry, bodySamplePoints, type RobotGeometry } from './geometry.ts';
import { findFeet } from './contacts.ts';

function frames(seconds: number, fps: number): { T: number; timestamps: Float64Array } {
  const T = Math.round(seconds * fps) + 1;
  const timestamps = new Float64Array(T);
  for (let t = 0; t < T; t++) timestamps[t] = t / fps;
  return { T, timestamps };
}

/** Root height that puts the robot's lowest point on the ground (z = 0) at joint positions q (root upright). */
export function groundedRootHeight(geom: RobotGeometry, q: ArrayLike<number>): { z: number; feetXY: [number, number] } {
  const kin = geom.kin;
  kin.fk(q);
  let low = Infinity;
  for (const b of geom.bodies) {
    const p = bodySamplePoints(b);
    const o = 12 * b.top;
    const P = kin.pose;
    for (let i = 0; i < p.length; i += 3) low = Math.min(low, P[o + 6] * p[i] + P[o + 7] * p[i + 1] + P[o + 8] * p[i + 2] + P[o + 11]);
  }
  const feet = findFeet(geom, 0.02);
  let fx = 0, fy = 0;
  for (const f of feet) { fx += kin.pose[12 * geom.bodies[f].top + 9]; fy += kin.pose[12 * geom.bodies[f].top + 10]; }
  const n = Math.max(1, feet.length);
  return { z: -low, feetXY: [fx / n, fy / n] };
}

function baseMotion(robot: UrdfRobot, geom: RobotGeometry, T: number, timestamps: Float64Array, fps: number): RobotMotion {
  const nq = geom.kin.nq;
  const rootQuat = new Float32Array(4 * T);
  for (let t = 0; t < T; t++) rootQuat[4 * t] = 1;
  return {
    q: new Float32Array(T * nq), rootPos: new Float32Array(3 * T), rootQuat, timestamps, fps,
    jointNames: geom.kin.dofNames.slice(), rootLink: robot.rootLink,
    robot: { name: robot.name, urdf_sha256: robot.sha256 }, source: { kind: 'synthetic' },
  };
}

/** The neutral pose: every joint at 0 clamped into its limits. */
export function neutralPose(geom: RobotGeometry): Float64Array {
  const kin = geom.kin;
  const q = new Float64Array(kin.nq);
  for (let d = 0; d < kin.nq; d++) q[d] = Math.min(Math.max(0, kin.lower[d]), kin.upper[d]);
  return q;
}

/** Standing still in the neutral pose (or q), feet on the ground; a fixed-base robot just holds the pose. */
export async function standingMotion(robot: UrdfRobot, seconds: number, fps: number, q?: ArrayLike<number>): Promise<RobotMotion> {
  const geom = await robotGeometry(robot);
  const { T, timestamps } = frames(seconds, fps);
  const m = baseMotion(robot, geom, T, timestamps, fps);
  const q0 = q ? Float64Array.from(q) : neutralPose(geom);
  const nq = geom.kin.nq;
  const { z } = groundedRootHeight(geom, q0);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) m.q[t * nq + d] = q0[d];
    m.rootPos[3 * t + 2] = z;
  }
  return m;
}

/** Hip pitch, knee and ankle pitch dofs of each leg, with the sign that maps world pitch (about +y) to q. */
export function legPitchJoints(geom: RobotGeometry): { dofs: [number, number, number]; signs: [number, number, number] }[] {
  const kin = geom.kin;
  kin.fk(new Float64Array(kin.nq));
  const out: { dofs: [number, number, number]; signs: [number, number, number] }[] = [];
  for (const f of findFeet(geom, 0.02)) {
    const found: { d: number; s: number }[] = [];
    for (let b = f; b > 0 && found.length < 3; b = geom.bodies[b].parent) {
      const top = geom.bodies[b].top;
      const j = kin.linkJoint[top]!;
      const o = 12 * top;
      const ay = kin.pose[o + 3] * j.axis[0] + kin.pose[o + 4] * j.axis[1] + kin.pose[o + 5] * j.axis[2];
      if (j.type !== 'prismatic' && Math.abs(ay) > 0.9) found.push({ d: kin.linkDof(top), s: Math.sign(ay) });
    }
    if (found.length === 3) out.push({ dofs: [found[2].d, found[1].d, found[0].d], signs: [found[2].s, found[1].s, found[0].s] });
  }
  return out;
}

/**
 * Squats: `reps` down-and-up cycles over `seconds`, thigh pitched forward by `a` rad at the bottom
 * (knee 2a, ankle -a), root lowered so the feet stay on the ground where they were.
 */
export async function squatMotion(robot: UrdfRobot, seconds: number, fps: number, a = 0.6, reps = 1): Promise<RobotMotion> {
  const geom = await robotGeometry(robot);
  const legs = legPitchJoints(geom);
  if (legs.length < 2) throw new Error(`${robot.name}: could not find two legs with hip/knee/ankle pitch joints`);
  const { T, timestamps } = frames(seconds, fps);
  const m = baseMotion(robot, geom, T, timestamps, fps);
  const nq = geom.kin.nq;
  const q0 = neutralPose(geom);
  const ref = groundedRootHeight(geom, q0);
  const q = new Float64Array(nq);
  for (let t = 0; t < T; t++) {
    const s = (timestamps[t] / seconds) * reps;
    const u = a * 0.5 * (1 - Math.cos(2 * Math.PI * s));
    q.set(q0);
    for (const leg of legs) {
      q[leg.dofs[0]] = -u * leg.signs[0];
      q[leg.dofs[1]] = 2 * u * leg.signs[1];
      q[leg.dofs[2]] = -u * leg.signs[2];
    }
    const { z, feetXY } = groundedRootHeight(geom, q);
    for (let d = 0; d < nq; d++) m.q[t * nq + d] = q[d];
    m.rootPos[3 * t] = ref.feetXY[0] - feetXY[0];
    m.rootPos[3 * t + 1] = ref.feetXY[1] - feetXY[1];
    m.rootPos[3 * t + 2] = z;
  }
  return m;
}

/** The same frames played `factor` times faster. */
export function speedUp(m: RobotMotion, factor: number): RobotMotion {
  return { ...m, fps: m.fps * factor, timestamps: Float64Array.from(m.timestamps, (v) => v / factor) };
}

/** Raise the root by `height` over [start, start + duration] (smooth), and hold it there. */
export function liftRoot(m: RobotMotion, height: number, start: number, duration: number): RobotMotion {
  const rootPos = Float32Array.from(m.rootPos);
  for (let t = 0; t < m.timestamps.length; t++) {
    const u = Math.min(1, Math.max(0, (m.timestamps[t] - start) / duration));
    rootPos[3 * t + 2] += height * u * u * (3 - 2 * u);
  }
  return { ...m, rootPos };
}

/** Set named joints to values, blended in linearly over [start, start + ramp] and held. */
export function setJoints(m: RobotMotion, values: Record<string, number>, start = 0, ramp = 0): RobotMotion {
  const q = Float32Array.from(m.q);
  const n = m.jointNames.length;
  for (const [name, v] of Object.entries(values)) {
    const i = m.jointNames.indexOf(name);
    if (i < 0) throw new Error(`motion has no joint ${name}`);
    for (let t = 0; t < m.timestamps.length; t++) {
      const u = ramp > 0 ? Math.min(1, Math.max(0, (m.timestamps[t] - start) / ramp)) : m.timestamps[t] >= start ? 1 : 0;
      q[t * n + i] = q[t * n + i] * (1 - u) + v * u;
    }
  }
  return { ...m, q };
}
