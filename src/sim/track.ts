/**
 * Closed-loop tracking of a reference motion in a Rapier world: joint PD (+ inverse-dynamics feedforward,
 * capped at the URDF effort), optionally a virtual wrench on the base that holds it on the reference
 * (assisted mode; the wrench needed is the residual-force measure).
 *
 * Multibody joints: the PD torque is computed here from the bodies' relative rotation and applied as a
 * torque pair on child and parent. Impulse joints: Rapier's PD motor, retargeted every step.
 * The step loop reads body states through Rapier's JS API (which returns small objects); everything of
 * our own is preallocated.
 */
import RAPIER from '@dimforge/rapier3d-compat';
import type { SimWorld } from './world.ts';
import { sampleReference, type Reference } from './reference.ts';
import { rotationError } from './math.ts';
import { matToQuat } from '../robot/kinematics.ts';

export interface TrackOptions {
  mode: 'assisted' | 'unassisted';
  /** Joint PD: kp, kd per dof. */
  kp: Float64Array;
  kd: Float64Array;
  /** Feedforward joint torques per reference frame [T, nq] (or null). */
  feedforward: Float64Array | null;
  /** Base wrench gains (assisted): natural frequency (Hz) and damping ratio. */
  baseFrequency: number;
  baseDamping: number;
  /** Simulation steps per motion frame time are dt-based; stop early after a fall (unassisted). */
  stopOnFall: boolean;
  fallHeightFraction: number;
  fallTiltDeg: number;
}

export interface TrackResult {
  mode: 'assisted' | 'unassisted';
  steps: number;
  wallSeconds: number;
  simSeconds: number;
  /** Per reference frame (NaN after a stop). */
  baseHeight: Float64Array;
  baseTilt: Float64Array; // radians between sim and reference base up-vectors... and world up (see below)
  bodyError: Float64Array; // mean over bodies, metres
  bodyErrorMax: Float64Array; // max over bodies, metres
  jointDrift: Float64Array; // max anchor separation, metres
  residualForce: Float64Array; // |F| / (m g), assisted only
  residualTorque: Float64Array; // |tau| / (m g L)
  fellAt: number; // frame or -1
  torqueSaturation: Float64Array; // fraction of dofs at the effort cap, per frame
  /** Max |q_sim - q_ref| over dofs per frame (rad or m), and the dof. */
  jointError: Float64Array;
  jointErrorDof: Int32Array;
}

export function trackMotion(sim: SimWorld, ref: Reference, o: TrackOptions): TrackResult {
  const { world, bodies, joints } = sim;
  const kin = sim.geometry.kin;
  const nb = bodies.length;
  const nq = kin.nq;
  const dt = sim.opts.dt;
  const T = ref.T;
  const duration = (T - 1) * ref.dt;
  const nSteps = Math.round(duration / dt);
  const effort = kin.effortLimit;
  // Preallocated state.
  const bq = new Float64Array(4 * nb); // body rotations (w,x,y,z)
  const bp = new Float64Array(3 * nb);
  const bw = new Float64Array(3 * nb); // angular velocity
  const bv = new Float64Array(3 * nb);
  const qRef = new Float64Array(nq), qdRef = new Float64Array(nq);
  const rootPos = new Float64Array(3), rootQuat = new Float64Array(4);
  const torque = new Float64Array(3 * nb);
  const force = new Float64Array(3 * nb);
  const vec = { x: 0, y: 0, z: 0 };
  const res: TrackResult = {
    mode: o.mode, steps: 0, wallSeconds: 0, simSeconds: 0,
    baseHeight: new Float64Array(T).fill(NaN), baseTilt: new Float64Array(T).fill(NaN), bodyError: new Float64Array(T).fill(NaN),
    bodyErrorMax: new Float64Array(T).fill(NaN), jointDrift: new Float64Array(T).fill(NaN), residualForce: new Float64Array(T).fill(NaN),
    residualTorque: new Float64Array(T).fill(NaN), fellAt: -1, torqueSaturation: new Float64Array(T).fill(NaN),
    jointError: new Float64Array(T).fill(NaN), jointErrorDof: new Int32Array(T).fill(-1),
  };
  const qSim = new Float64Array(joints.length);
  const L = kin.nLinks;
  const M = sim.totalMass;
  const g = sim.opts.gravity || 9.81;
  // Assist gains (per unit mass).
  const wb = 2 * Math.PI * o.baseFrequency;
  const wb2 = wb * wb, wbd = 2 * o.baseDamping * wb;
  const comLocal = new Float64Array(3 * nb), comW = new Float64Array(3 * nb), massOf = new Float64Array(nb);
  for (let b = 0; b < nb; b++) {
    const spec = sim.geometry.bodies[b];
    const R = sim.bodyToLink.subarray(12 * b, 12 * b + 12);
    for (let r = 0; r < 3; r++) comLocal[3 * b + r] = R[3 * r] * spec.com[0] + R[3 * r + 1] * spec.com[1] + R[3 * r + 2] * spec.com[2];
    massOf[b] = spec.mass;
  }
  const rootTop = sim.geometry.bodies[0].top;
  const refHeight0 = ref.pose[12 * rootTop + 11];
  const comHeight = Math.max(refHeight0, 0.05);
  const prevRootPos = new Float64Array(3), prevRootQuat = new Float64Array(4);
  let saturated = 0;
  let frameAccF = 0, frameAccT = 0, frameAccN = 0;
  const t0 = performance.now();
  let nextFrame = 0;
  const hooks = sim.hooks;
  for (let step = 0; step <= nSteps; step++) {
    const s = step * dt;
    // Read body states.
    for (let b = 0; b < nb; b++) {
      const body = bodies[b];
      const r = body.rotation(), p = body.translation(), w = body.angvel(), v = body.linvel();
      bq[4 * b] = r.w; bq[4 * b + 1] = r.x; bq[4 * b + 2] = r.y; bq[4 * b + 3] = r.z;
      bp[3 * b] = p.x; bp[3 * b + 1] = p.y; bp[3 * b + 2] = p.z;
      bw[3 * b] = w.x; bw[3 * b + 1] = w.y; bw[3 * b + 2] = w.z;
      bv[3 * b] = v.x; bv[3 * b + 1] = v.y; bv[3 * b + 2] = v.z;
    }
    // Record at motion frame times.
    while (nextFrame < T && nextFrame * ref.dt <= s + 0.5 * dt) {
      record(nextFrame);
      nextFrame++;
    }
    if (res.fellAt >= 0 && o.stopOnFall) break;
    if (step === nSteps) break;
    sampleReference(ref, s, qRef, qdRef, rootPos, rootQuat);
    const fi = Math.min(Math.round(s / ref.dt), T - 1);
    torque.fill(0);
    force.fill(0);
    saturated = 0;
    for (let k = 0; k < joints.length; k++) {
      const j = joints[k];
      const a = j.parent, c = j.child, d = j.dof;
      // Axis in world = R_parent * axis (body frames are world-aligned at the initial pose).
      const ax = rotate(bq, a, j.axis[0], j.axis[1], j.axis[2], 0), ay = rotY, az = rotZ;
      // Mimic joints track their leader's reference through the multiplier and offset.
      const target = j.mult * qRef[d] + j.offset, targetVel = j.mult * qdRef[d];
      let pos: number, vel: number;
      if (j.prismatic) {
        // Child anchor displacement along the axis.
        const dx = bp[3 * c] - bp[3 * a], dy = bp[3 * c + 1] - bp[3 * a + 1], dz = bp[3 * c + 2] - bp[3 * a + 2];
        const a1x = rotate(bq, a, j.anchor1[0], j.anchor1[1], j.anchor1[2], 0), a1y = rotY, a1z = rotZ;
        pos = j.q0 + (dx - a1x) * ax + (dy - a1y) * ay + (dz - a1z) * az;
        vel = (bv[3 * c] - bv[3 * a]) * ax + (bv[3 * c + 1] - bv[3 * a + 1]) * ay + (bv[3 * c + 2] - bv[3 * a + 2]) * az;
      } else {
        // Relative rotation conj(qa) * qc, its twist about the (parent-frame) axis.
        const aw = bq[4 * a], axx = -bq[4 * a + 1], ayy = -bq[4 * a + 2], azz = -bq[4 * a + 3];
        const cw = bq[4 * c], cx = bq[4 * c + 1], cy = bq[4 * c + 2], cz = bq[4 * c + 3];
        const rw = aw * cw - axx * cx - ayy * cy - azz * cz;
        const rx = aw * cx + axx * cw + ayy * cz - azz * cy;
        const ry = aw * cy - axx * cz + ayy * cw + azz * cx;
        const rz = aw * cz + axx * cy - ayy * cx + azz * cw;
        const sn = rx * j.axis[0] + ry * j.axis[1] + rz * j.axis[2];
        pos = j.q0 + 2 * Math.atan2(sn, rw);
        if (pos - target > Math.PI) pos -= 2 * Math.PI; else if (target - pos > Math.PI) pos += 2 * Math.PI;
        vel = (bw[3 * c] - bw[3 * a]) * ax + (bw[3 * c + 1] - bw[3 * a + 1]) * ay + (bw[3 * c + 2] - bw[3 * a + 2]) * az;
      }
      qSim[k] = pos;
      // Inverse dynamics gives the leader's generalised force; mimic joints get PD only.
      const ff = o.feedforward && j.mult === 1 && j.offset === 0 ? o.feedforward[fi * nq + d] : 0;
      if (j.impulse) {
        j.impulse.configureMotor(target - j.q0, targetVel, o.kp[d], o.kd[d]);
        if (ff !== 0) applyPair(j.prismatic, a, c, clamp(ff, effort[d]), ax, ay, az);
        continue;
      }
      let tau = o.kp[d] * (target - pos) + o.kd[d] * (targetVel - vel) + ff;
      const e = effort[d];
      if (tau > e) { tau = e; saturated++; } else if (tau < -e) { tau = -e; saturated++; }
      applyPair(j.prismatic, a, c, tau, ax, ay, az);
    }
    let fx = 0, fy = 0, fz = 0, tx = 0, ty = 0, tz = 0;
    if (o.mode === 'assisted' && !sim.opts.fixedBase) {
      // Reference base velocity by differencing the sampled reference.
      let vx = 0, vy = 0, vz = 0, wx = 0, wy = 0, wz = 0;
      if (step > 0) {
        vx = (rootPos[0] - prevRootPos[0]) / dt; vy = (rootPos[1] - prevRootPos[1]) / dt; vz = (rootPos[2] - prevRootPos[2]) / dt;
        // w = 2 * d(q) * conj(q) / dt (vector part)
        const dw = (rootQuat[0] - prevRootQuat[0]) / dt, dx = (rootQuat[1] - prevRootQuat[1]) / dt, dy = (rootQuat[2] - prevRootQuat[2]) / dt, dz = (rootQuat[3] - prevRootQuat[3]) / dt;
        const qw = rootQuat[0], qx = -rootQuat[1], qy = -rootQuat[2], qz = -rootQuat[3];
        wx = 2 * (dw * qx + dx * qw + dy * qz - dz * qy);
        wy = 2 * (dw * qy - dx * qz + dy * qw + dz * qx);
        wz = 2 * (dw * qz + dx * qy - dy * qx + dz * qw);
      }
      prevRootPos.set(rootPos); prevRootQuat.set(rootQuat);
      // The assist is a field proportional to mass (like gravity): every body b gets
      // m_b (a + alpha x (c_b - c)), which accelerates the whole robot as one rigid body without loading its
      // joints; the net force and moment about the COM are the residual wrench.
      const ax = wb2 * (rootPos[0] - bp[0]) + wbd * (vx - bv[0]);
      const ay = wb2 * (rootPos[1] - bp[1]) + wbd * (vy - bv[1]);
      const az = wb2 * (rootPos[2] - bp[2]) + wbd * (vz - bv[2]);
      const e = rootRotationError(rootQuat, bq, sim.bodyToLink);
      const alx = wb2 * e[0] + wbd * (wx - bw[0]);
      const aly = wb2 * e[1] + wbd * (wy - bw[1]);
      const alz = wb2 * e[2] + wbd * (wz - bw[2]);
      let cx = 0, cy = 0, cz = 0;
      for (let b = 0; b < nb; b++) {
        const lx = comLocal[3 * b], ly = comLocal[3 * b + 1], lz = comLocal[3 * b + 2];
        comW[3 * b] = rotate(bq, b, lx, ly, lz, 0) + bp[3 * b];
        comW[3 * b + 1] = rotY + bp[3 * b + 1];
        comW[3 * b + 2] = rotZ + bp[3 * b + 2];
        cx += massOf[b] * comW[3 * b]; cy += massOf[b] * comW[3 * b + 1]; cz += massOf[b] * comW[3 * b + 2];
      }
      cx /= M; cy /= M; cz /= M;
      for (let b = 0; b < nb; b++) {
        const m = massOf[b];
        const rx = comW[3 * b] - cx, ry = comW[3 * b + 1] - cy, rz = comW[3 * b + 2] - cz;
        const bfx = m * (ax + aly * rz - alz * ry), bfy = m * (ay + alz * rx - alx * rz), bfz = m * (az + alx * ry - aly * rx);
        fx += bfx; fy += bfy; fz += bfz;
        tx += ry * bfz - rz * bfy; ty += rz * bfx - rx * bfz; tz += rx * bfy - ry * bfx;
        // Applied at the body's COM: addForce acts at the centre of mass.
        force[3 * b] += bfx; force[3 * b + 1] += bfy; force[3 * b + 2] += bfz;
      }
    }
    frameAccF += Math.hypot(fx, fy, fz) / (M * g);
    frameAccT += Math.hypot(tx, ty, tz) / (M * g * comHeight);
    frameAccN++;
    for (let b = 0; b < nb; b++) {
      const body = bodies[b];
      body.resetForces(false);
      body.resetTorques(false);
      vec.x = torque[3 * b]; vec.y = torque[3 * b + 1]; vec.z = torque[3 * b + 2];
      body.addTorque(vec, false);
      vec.x = force[3 * b]; vec.y = force[3 * b + 1]; vec.z = force[3 * b + 2];
      body.addForce(vec, false);
    }
    world.step(undefined, hooks);
    res.steps++;
  }
  res.wallSeconds = (performance.now() - t0) / 1000;
  res.simSeconds = res.steps * dt;
  return res;

  function applyPair(prismatic: boolean, a: number, c: number, tau: number, ax: number, ay: number, az: number): void {
    const arr = prismatic ? force : torque;
    arr[3 * c] += tau * ax; arr[3 * c + 1] += tau * ay; arr[3 * c + 2] += tau * az;
    if (!(a === 0 && sim.opts.fixedBase)) { arr[3 * a] -= tau * ax; arr[3 * a + 1] -= tau * ay; arr[3 * a + 2] -= tau * az; }
  }

  function record(f: number): void {
    // Base height and tilt (angle between the sim root link's and the reference's up axes).
    res.baseHeight[f] = bp[2];
    const up = linkUp(bq, 0, sim.bodyToLink);
    const o12 = (f * L + rootTop) * 12;
    const rux = ref.pose[o12 + 2], ruy = ref.pose[o12 + 5], ruz = ref.pose[o12 + 8];
    res.baseTilt[f] = Math.acos(Math.max(-1, Math.min(1, up[0] * rux + up[1] * ruy + up[2] * ruz)));
    let sum = 0, mx = 0;
    for (let b = 0; b < nb; b++) {
      const top = sim.geometry.bodies[b].top;
      const o = (f * L + top) * 12;
      const e = Math.hypot(bp[3 * b] - ref.pose[o + 9], bp[3 * b + 1] - ref.pose[o + 10], bp[3 * b + 2] - ref.pose[o + 11]);
      sum += e;
      if (e > mx) mx = e;
    }
    res.bodyError[f] = sum / nb;
    res.bodyErrorMax[f] = mx;
    let drift = 0;
    for (const j of joints) {
      const a = j.parent, c = j.child;
      const x1 = rotate(bq, a, j.anchor1[0], j.anchor1[1], j.anchor1[2], 0) + bp[3 * a], y1 = rotY + bp[3 * a + 1], z1 = rotZ + bp[3 * a + 2];
      const x2 = rotate(bq, c, j.anchor2[0], j.anchor2[1], j.anchor2[2], 0) + bp[3 * c], y2 = rotY + bp[3 * c + 1], z2 = rotZ + bp[3 * c + 2];
      if (j.prismatic) continue;
      const dd = Math.hypot(x1 - x2, y1 - y2, z1 - z2);
      if (dd > drift) drift = dd;
    }
    res.jointDrift[f] = drift;
    let je = 0, jd = -1;
    for (let k = 0; k < joints.length; k++) {
      const j = joints[k];
      const e = Math.abs(qSim[k] - (j.mult * ref.q[f * nq + j.dof] + j.offset));
      if (e > je) { je = e; jd = j.dof; }
    }
    res.jointError[f] = f === 0 ? 0 : je;
    res.jointErrorDof[f] = jd;
    if (frameAccN > 0) {
      res.residualForce[f] = frameAccF / frameAccN;
      res.residualTorque[f] = frameAccT / frameAccN;
    } else {
      res.residualForce[f] = 0;
      res.residualTorque[f] = 0;
    }
    frameAccF = 0; frameAccT = 0; frameAccN = 0;
    res.torqueSaturation[f] = nq ? saturated / nq : 0;
    if (o.mode === 'unassisted' && !sim.opts.fixedBase && res.fellAt < 0) {
      const refH = ref.pose[o12 + 11];
      if (bp[2] < o.fallHeightFraction * refH || res.baseTilt[f] > (o.fallTiltDeg * Math.PI) / 180) res.fellAt = f;
    }
  }
}

function clamp(v: number, e: number): number {
  return v > e ? e : v < -e ? -e : v;
}

// rotate(): returns x, leaves y, z in module scratch (no allocation).
let rotY = 0, rotZ = 0;
function rotate(bq: Float64Array, b: number, x: number, y: number, z: number, _u: number): number {
  const w = bq[4 * b], qx = bq[4 * b + 1], qy = bq[4 * b + 2], qz = bq[4 * b + 3];
  // v' = v + 2w (q x v) + 2 q x (q x v)
  const cx = qy * z - qz * y, cy = qz * x - qx * z, cz = qx * y - qy * x;
  const ccx = qy * cz - qz * cy, ccy = qz * cx - qx * cz, ccz = qx * cy - qy * cx;
  rotY = y + 2 * (w * cy + ccy);
  rotZ = z + 2 * (w * cz + ccz);
  return x + 2 * (w * cx + ccx);
}

const upTmp = new Float64Array(3);
/** Z axis of the root link in the world: body rotation * bodyToLink rotation * ez. */
function linkUp(bq: Float64Array, b: number, bodyToLink: Float64Array): Float64Array {
  const o = 12 * b;
  const x = bodyToLink[o + 2], y = bodyToLink[o + 5], z = bodyToLink[o + 8];
  upTmp[0] = rotate(bq, b, x, y, z, 0); upTmp[1] = rotY; upTmp[2] = rotZ;
  return upTmp;
}

const errTmp = new Float64Array(3);
const simQuat = new Float64Array(4);
const linkQuat = new Float64Array(4);
/** Rotation vector (world, small-angle) taking the sim root link orientation to the reference one. */
function rootRotationError(qRef: Float64Array, bq: Float64Array, bodyToLink: Float64Array): Float64Array {
  // q_sim_link = q_body * q(bodyToLink)
  matToQuat(bodyToLink, 0, linkQuat);
  const lw = linkQuat[0], lx = linkQuat[1], ly = linkQuat[2], lz = linkQuat[3];
  const bw = bq[0], bx = bq[1], by = bq[2], bz = bq[3];
  simQuat[0] = bw * lw - bx * lx - by * ly - bz * lz;
  simQuat[1] = bw * lx + bx * lw + by * lz - bz * ly;
  simQuat[2] = bw * ly - bx * lz + by * lw + bz * lx;
  simQuat[3] = bw * lz + bx * ly - by * lx + bz * lw;
  return rotationError(qRef, simQuat, errTmp);
}

export { RAPIER };
