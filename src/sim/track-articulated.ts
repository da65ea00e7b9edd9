/**
 * Closed-loop tracking of a reference motion with the reduced-coordinate model (articulated.ts): joint PD
 * (+ inverse-dynamics feedforward), capped at the URDF effort and integrated implicitly, ground contacts
 * with friction, and in assisted mode the same virtual base wrench as the Rapier tracker (a mass-
 * proportional field that moves the whole robot as one rigid body toward the reference base; the wrench
 * it needs is the residual-force measure). Produces the same TrackResult as trackMotion.
 *
 * Joints are exact by construction (the state is the joint coordinates): the anchor separation reported
 * is 0 by construction.
 */
import type { RobotGeometry } from './geometry.ts';
import type { Reference } from './reference.ts';
import { sampleReference } from './reference.ts';
import type { TrackOptions, TrackResult } from './track.ts';
import { ArticulatedBody } from './articulated.ts';
import { rotationError } from './math.ts';

export interface ArticulatedTrackOptions extends TrackOptions {
  dt: number;
  gravity: number;
  friction: number;
  fixedBase: boolean;
  /** Projected Gauss-Seidel sweeps over the contacts per step. */
  contactIterations?: number;
}

export function trackArticulated(geom: RobotGeometry, ref: Reference, o: ArticulatedTrackOptions): TrackResult {
  const kin = geom.kin;
  const nq = kin.nq, nb = geom.bodies.length, L = kin.nLinks, T = ref.T, dt = o.dt;
  const sim = new ArticulatedBody(geom, { dt, gravity: o.gravity, friction: o.friction, fixedBase: o.fixedBase, iterations: o.contactIterations });
  sim.reset(ref.q.subarray(0, nq), { pos: ref.rootPos.subarray(0, 3), quat: ref.rootQuat.subarray(0, 4) });
  const nSteps = Math.round(((T - 1) * ref.dt) / dt);
  const effort = kin.effortLimit;
  const qRef = new Float64Array(nq), qdRef = new Float64Array(nq);
  const rootPos = new Float64Array(3), rootQuat = new Float64Array(4);
  const prevRootPos = new Float64Array(3), prevRootQuat = new Float64Array(4);
  const tau = new Float64Array(nq), kpI = new Float64Array(nq), kdI = new Float64Array(nq);
  const fext = new Float64Array(3 * nb);
  const M = geom.bodies.reduce((a, b) => a + b.mass, 0);
  const g = o.gravity || 9.81;
  const wb = 2 * Math.PI * o.baseFrequency, wb2 = wb * wb, wbd = 2 * o.baseDamping * wb;
  const rootTop = geom.bodies[0].top;
  const comHeight = Math.max(ref.pose[12 * rootTop + 11], 0.05);
  const nan = () => new Float64Array(T).fill(NaN);
  const res: TrackResult = {
    mode: o.mode, steps: 0, wallSeconds: 0, simSeconds: 0,
    baseHeight: nan(), baseTilt: nan(), bodyError: nan(), bodyErrorMax: nan(), jointDrift: nan(), residualForce: nan(),
    residualTorque: nan(), fellAt: -1, torqueSaturation: nan(), jointError: nan(), jointErrorDof: new Int32Array(T).fill(-1),
  };
  let saturated = 0, accF = 0, accT = 0, accN = 0, nextFrame = 0;
  const assisted = o.mode === 'assisted' && !o.fixedBase;
  const t0 = performance.now();
  for (let step = 0; step <= nSteps; step++) {
    const s = step * dt;
    sim.prepare();
    while (nextFrame < T && nextFrame * ref.dt <= s + 0.5 * dt) record(nextFrame++);
    if ((res.fellAt >= 0 && o.stopOnFall) || step === nSteps) break;
    sampleReference(ref, s, qRef, qdRef, rootPos, rootQuat);
    const fi = Math.min(Math.round(s / ref.dt), T - 1);
    saturated = 0;
    for (let d = 0; d < nq; d++) {
      const ff = o.feedforward ? o.feedforward[fi * nq + d] : 0;
      let t = o.kp[d] * (qRef[d] - sim.q[d]) + o.kd[d] * (qdRef[d] - sim.u[sim.c0 + d]) + ff;
      const e = effort[d];
      kpI[d] = o.kp[d]; kdI[d] = o.kd[d];
      if (t > e || t < -e) { t = t > 0 ? e : -e; saturated++; kpI[d] = 0; kdI[d] = 0; }
      tau[d] = t;
    }
    let fx = 0, fy = 0, fz = 0, tx = 0, ty = 0, tz = 0;
    if (assisted) {
      let vx = 0, vy = 0, vz = 0, wx = 0, wy = 0, wz = 0;
      if (step > 0) {
        vx = (rootPos[0] - prevRootPos[0]) / dt; vy = (rootPos[1] - prevRootPos[1]) / dt; vz = (rootPos[2] - prevRootPos[2]) / dt;
        angularVelocity(prevRootQuat, rootQuat, dt, omega);
        wx = omega[0]; wy = omega[1]; wz = omega[2];
      }
      prevRootPos.set(rootPos); prevRootQuat.set(rootQuat);
      const u = sim.u, bp = sim.basePos;
      const ax = wb2 * (rootPos[0] - bp[0]) + wbd * (vx - u[0]);
      const ay = wb2 * (rootPos[1] - bp[1]) + wbd * (vy - u[1]);
      const az = wb2 * (rootPos[2] - bp[2]) + wbd * (vz - u[2]);
      rotationError(rootQuat, sim.baseQuat, omega);
      const alx = wb2 * omega[0] + wbd * (wx - u[3]);
      const aly = wb2 * omega[1] + wbd * (wy - u[4]);
      const alz = wb2 * omega[2] + wbd * (wz - u[5]);
      let cx = 0, cy = 0, cz = 0;
      const com = sim.c;
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
    accF += Math.hypot(fx, fy, fz) / (M * g);
    accT += Math.hypot(tx, ty, tz) / (M * g * comHeight);
    accN++;
    sim.step(tau, kpI, kdI, assisted ? fext : null);
    res.steps++;
  }
  res.wallSeconds = (performance.now() - t0) / 1000;
  res.simSeconds = res.steps * dt;
  return res;

  function record(f: number): void {
    const P = kin.pose;
    const r12 = 12 * rootTop;
    res.baseHeight[f] = P[r12 + 11];
    const o12 = (f * L + rootTop) * 12;
    const dot = P[r12 + 2] * ref.pose[o12 + 2] + P[r12 + 5] * ref.pose[o12 + 5] + P[r12 + 8] * ref.pose[o12 + 8];
    res.baseTilt[f] = Math.acos(Math.max(-1, Math.min(1, dot)));
    let sum = 0, mx = 0;
    for (let b = 0; b < nb; b++) {
      const top = geom.bodies[b].top;
      const p = 12 * top, r = (f * L + top) * 12;
      const e = Math.hypot(P[p + 9] - ref.pose[r + 9], P[p + 10] - ref.pose[r + 10], P[p + 11] - ref.pose[r + 11]);
      sum += e;
      if (e > mx) mx = e;
    }
    res.bodyError[f] = sum / nb;
    res.bodyErrorMax[f] = mx;
    // Reduced coordinates: every child pose is its parent's pose times the joint transform, so the joint
    // anchors cannot separate; the figure is 0 by construction, not by measurement.
    res.jointDrift[f] = 0;
    let je = 0, jd = -1;
    for (let d = 0; d < nq; d++) {
      const e = Math.abs(sim.q[d] - ref.q[f * nq + d]);
      if (e > je) { je = e; jd = d; }
    }
    res.jointError[f] = f === 0 ? 0 : je;
    res.jointErrorDof[f] = jd;
    res.residualForce[f] = accN ? accF / accN : 0;
    res.residualTorque[f] = accN ? accT / accN : 0;
    accF = 0; accT = 0; accN = 0;
    res.torqueSaturation[f] = nq ? saturated / nq : 0;
    if (o.mode === 'unassisted' && !o.fixedBase && res.fellAt < 0) {
      if (P[r12 + 11] < o.fallHeightFraction * ref.pose[o12 + 11] || res.baseTilt[f] > (o.fallTiltDeg * Math.PI) / 180) res.fellAt = f;
    }
  }
}

const omega = new Float64Array(3);

/** World angular velocity taking quaternion a to b in dt: 2 vec(b conj(a)) / dt (small angle). */
function angularVelocity(a: Float64Array, b: Float64Array, dt: number, out: Float64Array): void {
  rotationError(b, a, out);
  out[0] /= dt; out[1] /= dt; out[2] /= dt;
}
