/**
 * Closed-loop tracking of a reference motion on a plant (plant.ts: the articulated dynamics or Rapier's
 * multibody world), one loop for every engine: joint PD (+ inverse-dynamics feedforward) capped at the URDF
 * effort by the plant, ground contacts, and in assisted mode a virtual assist that holds the robot on the
 * reference base: a mass-proportional field (every body b gets m_b (a + alpha x (c_b - c)), like gravity) that
 * moves the whole robot as one rigid body toward the reference base pose and velocity without loading its
 * joints. Per reference frame: base height and tilt, body position errors, joint errors, joint anchor drift,
 * torque saturation, the assist's net wrench, and (unassisted, floating base) the frame of a fall.
 */
import type { RobotGeometry } from './geometry.ts';
import type { Reference } from './reference.ts';
import { sampleReference } from './reference.ts';
import { rotationError } from './math.ts';
import { hypot3 } from '../math/hypot.ts';
import { makePlantState, type Plant, type PlantCommand } from './plant.ts';

export interface TrackOptions {
  mode: 'assisted' | 'unassisted';
  /** Joint PD: kp, kd per dof. */
  kp: Float64Array;
  kd: Float64Array;
  /** Feedforward joint torques per reference frame [T, nq] (or null). */
  feedforward: Float64Array | null;
  /** Base assist gains (assisted): natural frequency (Hz) and damping ratio. */
  baseFrequency: number;
  baseDamping: number;
  /** Stop early after a fall (unassisted). */
  stopOnFall: boolean;
  fallHeightFraction: number;
  fallTiltDeg: number;
}

export interface TrackResult {
  mode: 'assisted' | 'unassisted';
  /** The plant's engine and whether it simulated self-contact. */
  engine: string;
  selfContacts: boolean;
  steps: number;
  wallSeconds: number;
  simSeconds: number;
  /** Per reference frame (NaN after a stop). */
  baseHeight: Float64Array;
  /** Angle (rad) between the simulated and the reference root link's up axes. */
  baseTilt: Float64Array;
  bodyError: Float64Array; // mean over bodies, metres
  bodyErrorMax: Float64Array; // max over bodies, metres
  jointDrift: Float64Array; // max anchor separation, metres (0 by construction for reduced coordinates)
  /** The assist's net force |F| / (m g) and moment about the COM |tau| / (m g h), per frame (assisted). */
  residualForce: Float64Array;
  residualTorque: Float64Array;
  fellAt: number; // frame or -1
  torqueSaturation: Float64Array; // fraction of dofs at the effort cap, per frame
  /** Max |q_sim - q_ref| over dofs per frame (rad or m), and the dof. */
  jointError: Float64Array;
  jointErrorDof: Int32Array;
}

/** Track ref on plant, which starts at the reference's first frame (reset here). */
export function trackMotion(plant: Plant, geom: RobotGeometry, ref: Reference, o: TrackOptions): TrackResult {
  const kin = geom.kin;
  const nq = kin.nq, nb = geom.bodies.length, L = kin.nLinks, T = ref.T, dt = plant.dt;
  const st = makePlantState(nq);
  st.q.set(ref.q.subarray(0, nq));
  st.rootPos.set(ref.rootPos.subarray(0, 3));
  st.rootQuat.set(ref.rootQuat.subarray(0, 4));
  plant.reset(st);
  const nSteps = Math.round(((T - 1) * ref.dt) / dt);
  const qRef = new Float64Array(nq), qdRef = new Float64Array(nq);
  const rootPos = new Float64Array(3), rootQuat = new Float64Array(4);
  const prevRootPos = new Float64Array(3), prevRootQuat = new Float64Array(4);
  const ffNow = new Float64Array(nq);
  const fext = new Float64Array(3 * nb);
  const omega = new Float64Array(3);
  // The assist's body forces (all zero when unassisted: subtracting a zero force changes no bit). The command
  // always carries an array, so the plant's code optimised in one mode is not thrown away in the other
  // (a field that was null and becomes an array, or a branch never taken before, deoptimises it).
  const cmd: PlantCommand = { tau: ffNow, qRef, qdRef, kp: o.kp, kd: o.kd, bodyForces: fext };
  const M = geom.bodies.reduce((a, b) => a + b.mass, 0);
  const g = plant.gravity || 9.81;
  const wb = 2 * Math.PI * o.baseFrequency, wb2 = wb * wb, wbd = 2 * o.baseDamping * wb;
  const rootTop = geom.bodies[0].top;
  const comHeight = Math.max(ref.pose[12 * rootTop + 11], 0.05);
  const nan = () => new Float64Array(T).fill(NaN);
  // wallSeconds and simSeconds are set at the end; NaN (not 0) makes them doubles from the start, so storing a
  // fraction later does not change the object's layout under optimised code.
  const res: TrackResult = {
    mode: o.mode, engine: plant.engine, selfContacts: plant.selfContacts, steps: 0, wallSeconds: NaN, simSeconds: NaN,
    baseHeight: nan(), baseTilt: nan(), bodyError: nan(), bodyErrorMax: nan(), jointDrift: nan(), residualForce: nan(),
    residualTorque: nan(), fellAt: -1, torqueSaturation: nan(), jointError: nan(), jointErrorDof: new Int32Array(T).fill(-1),
  };
  let accF = 0, accT = 0, accN = 0, nextFrame = 0;
  const assisted = o.mode === 'assisted' && !plant.fixedBase;
  const t0 = performance.now();
  for (let step = 0; step <= nSteps; step++) {
    const s = step * dt;
    if (nextFrame < T && nextFrame * ref.dt <= s + 0.5 * dt) {
      const P = plant.linkPoses();
      plant.read(st);
      while (nextFrame < T && nextFrame * ref.dt <= s + 0.5 * dt) record(nextFrame++, P);
    }
    if ((res.fellAt >= 0 && o.stopOnFall) || step === nSteps) break;
    sampleReference(ref, s, qRef, qdRef, rootPos, rootQuat);
    const fi = Math.min(Math.round(s / ref.dt), T - 1);
    if (o.feedforward) for (let d = 0; d < nq; d++) ffNow[d] = o.feedforward[fi * nq + d];
    let fx = 0, fy = 0, fz = 0, tx = 0, ty = 0, tz = 0;
    if (assisted) {
      plant.read(st);
      let vx = 0, vy = 0, vz = 0, wx = 0, wy = 0, wz = 0;
      if (step > 0) {
        vx = (rootPos[0] - prevRootPos[0]) / dt; vy = (rootPos[1] - prevRootPos[1]) / dt; vz = (rootPos[2] - prevRootPos[2]) / dt;
        rotationError(rootQuat, prevRootQuat, omega);
        wx = omega[0] / dt; wy = omega[1] / dt; wz = omega[2] / dt;
      }
      prevRootPos.set(rootPos); prevRootQuat.set(rootQuat);
      const u = st.rootVel, w = st.rootAngVel, bp = st.rootPos;
      const ax = wb2 * (rootPos[0] - bp[0]) + wbd * (vx - u[0]);
      const ay = wb2 * (rootPos[1] - bp[1]) + wbd * (vy - u[1]);
      const az = wb2 * (rootPos[2] - bp[2]) + wbd * (vz - u[2]);
      rotationError(rootQuat, st.rootQuat, omega);
      const alx = wb2 * omega[0] + wbd * (wx - w[0]);
      const aly = wb2 * omega[1] + wbd * (wy - w[1]);
      const alz = wb2 * omega[2] + wbd * (wz - w[2]);
      let cx = 0, cy = 0, cz = 0;
      const com = plant.bodyComs();
      for (let b = 0; b < nb; b++) {
        const m = geom.bodies[b].mass;
        cx += m * com[3 * b]; cy += m * com[3 * b + 1]; cz += m * com[3 * b + 2];
      }
      cx /= M; cy /= M; cz /= M;
      for (let b = 0; b < nb; b++) {
        const m = geom.bodies[b].mass;
        const rx = com[3 * b] - cx, ry = com[3 * b + 1] - cy, rz = com[3 * b + 2] - cz;
        const bfx = m * (ax + aly * rz - alz * ry), bfy = m * (ay + alz * rx - alx * rz), bfz = m * (az + alx * ry - aly * rx);
        fext[3 * b] = bfx; fext[3 * b + 1] = bfy; fext[3 * b + 2] = bfz;
        fx += bfx; fy += bfy; fz += bfz;
        tx += ry * bfz - rz * bfy; ty += rz * bfx - rx * bfz; tz += rx * bfy - ry * bfx;
      }
    }
    accF += hypot3(fx, fy, fz) / (M * g);
    accT += hypot3(tx, ty, tz) / (M * g * comHeight);
    accN++;
    plant.step(cmd);
    res.steps++;
  }
  res.wallSeconds = (performance.now() - t0) / 1000;
  res.simSeconds = res.steps * dt;
  return res;

  function record(f: number, P: Float64Array): void {
    const r12 = 12 * rootTop;
    res.baseHeight[f] = P[r12 + 11];
    const o12 = (f * L + rootTop) * 12;
    const dot = P[r12 + 2] * ref.pose[o12 + 2] + P[r12 + 5] * ref.pose[o12 + 5] + P[r12 + 8] * ref.pose[o12 + 8];
    res.baseTilt[f] = Math.acos(Math.max(-1, Math.min(1, dot)));
    let sum = 0, mx = 0;
    for (let b = 0; b < nb; b++) {
      const top = geom.bodies[b].top;
      const p = 12 * top, r = (f * L + top) * 12;
      const e = hypot3(P[p + 9] - ref.pose[r + 9], P[p + 10] - ref.pose[r + 10], P[p + 11] - ref.pose[r + 11]);
      sum += e;
      if (e > mx) mx = e;
    }
    res.bodyError[f] = sum / nb;
    res.bodyErrorMax[f] = mx;
    res.jointDrift[f] = plant.jointDrift();
    let je = 0, jd = -1;
    for (let d = 0; d < nq; d++) {
      const e = Math.abs(st.q[d] - ref.q[f * nq + d]);
      if (e > je) { je = e; jd = d; }
    }
    res.jointError[f] = f === 0 ? 0 : je;
    res.jointErrorDof[f] = jd;
    res.residualForce[f] = accN ? accF / accN : 0;
    res.residualTorque[f] = accN ? accT / accN : 0;
    accF = 0; accT = 0; accN = 0;
    res.torqueSaturation[f] = nq ? plant.saturated / nq : 0;
    if (o.mode === 'unassisted' && !plant.fixedBase && res.fellAt < 0) {
      if (P[r12 + 11] < o.fallHeightFraction * ref.pose[o12 + 11] || res.baseTilt[f] > (o.fallTiltDeg * Math.PI) / 180) res.fellAt = f;
    }
  }
}
