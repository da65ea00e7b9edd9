/**
 * Inverse dynamics of a reference motion on the kinematic tree, with the contacts the motion implies.
 *
 * Newton–Euler per body from the reference's own kinematics: COM acceleration and angular velocity and
 * acceleration by (smoothed) finite differences of the forward-kinematics poses, F = m (a - g),
 * N = I alpha + w x I w. Summed over subtrees (about the world origin), each joint's torque is the axis
 * component of the moment its subtree needs about the joint, minus what the ground supplies to feet in
 * that subtree. The total wrench the whole body needs is what the ground must supply: its zero-moment
 * point is checked against the support polygon of the stance feet, its tangential part against the
 * friction cone, and it is shared between the stance feet by their distance to the ZMP.
 * With no foot in stance the needed wrench should vanish (ballistic flight); what remains is a residual.
 */
import type { Reference } from './reference.ts';
import type { RobotGeometry } from './geometry.ts';

export interface ContactFrames {
  /** Body indices of the feet. */
  feet: number[];
  /** [T, nFeet] 1 when the foot is in stance. */
  stance: Uint8Array;
  /** Per frame, the support polygon (x,y pairs, counter-clockwise), empty when no foot is down. */
  polygons: Float64Array[];
  /** [T, nFeet*2] foot contact centroids (x, y). */
  centroids: Float64Array;
}

export interface DynamicsResult {
  /** [T, nq] joint torques. */
  tau: Float64Array;
  /** [T, 6] total external wrench needed (force, moment about the world origin). */
  wrench: Float64Array;
  /** [T, 2] ZMP (NaN without stance or without upward force). */
  zmp: Float64Array;
  /** [T] signed distance of the ZMP outside the support polygon (m; <= 0 inside, NaN without stance). */
  zmpOutside: Float64Array;
  /** [T] |F_t| / F_n during stance (NaN otherwise; Infinity when F_n <= 0). */
  frictionRatio: Float64Array;
  /** [T] |F| / (m g) needed with no foot down (NaN during stance). */
  flightResidual: Float64Array;
  /** [T] F_n / (m g) during stance. */
  normalForce: Float64Array;
}

export function inverseDynamics(ref: Reference, geom: RobotGeometry, contacts: ContactFrames | null, gravity = 9.81, smoothSeconds = 0.04): DynamicsResult {
  const kin = geom.kin;
  const T = ref.T, L = kin.nLinks, nq = kin.nq;
  const bodies = geom.bodies;
  const nb = bodies.length;
  const k = Math.max(1, Math.round(smoothSeconds / 2 / ref.dt));
  // COM positions and rotations per frame.
  const com = new Float64Array(T * nb * 3);
  const rot = new Float64Array(T * nb * 9);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nb; b++) {
      const o = (t * L + bodies[b].top) * 12;
      const P = ref.pose;
      const c = bodies[b].com;
      for (let r = 0; r < 3; r++) com[(t * nb + b) * 3 + r] = P[o + 3 * r] * c[0] + P[o + 3 * r + 1] * c[1] + P[o + 3 * r + 2] * c[2] + P[o + 9 + r];
      for (let r = 0; r < 9; r++) rot[(t * nb + b) * 9 + r] = P[o + r];
    }
  }
  // Angular velocity per frame and body: w = vee(dR/dt R^T).
  const omega = new Float64Array(T * nb * 3);
  const W = new Float64Array(9);
  const Iw = new Float64Array(9);
  for (let t = 0; t < T; t++) {
    const a = Math.max(0, t - k), c = Math.min(T - 1, t + k);
    const h = (c - a) * ref.dt;
    for (let b = 0; b < nb; b++) {
      const Ra = (a * nb + b) * 9, Rc = (c * nb + b) * 9, R = (t * nb + b) * 9;
      // W = (Rc - Ra)/h * R^T
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let m = 0; m < 3; m++) s += (rot[Rc + 3 * i + m] - rot[Ra + 3 * i + m]) * rot[R + 3 * j + m];
        W[3 * i + j] = s / h;
      }
      omega[(t * nb + b) * 3] = 0.5 * (W[7] - W[5]);
      omega[(t * nb + b) * 3 + 1] = 0.5 * (W[2] - W[6]);
      omega[(t * nb + b) * 3 + 2] = 0.5 * (W[3] - W[1]);
    }
  }
  const tau = new Float64Array(T * nq);
  const wrench = new Float64Array(T * 6);
  const zmp = new Float64Array(T * 2).fill(NaN);
  const zmpOutside = new Float64Array(T).fill(NaN);
  const frictionRatio = new Float64Array(T).fill(NaN);
  const flightResidual = new Float64Array(T).fill(NaN);
  const normalForce = new Float64Array(T).fill(NaN);
  const M = bodies.reduce((s, b) => s + b.mass, 0);
  const S = new Float64Array(nb * 6); // subtree wrench about the origin
  const E = new Float64Array(nb * 6); // external (ground) wrench on each body, about the origin
  const nF = contacts ? contacts.feet.length : 0;
  const weights = new Float64Array(nF);
  // Second differences need a full window: near the ends the nearest complete window is used.
  const kk = Math.min(k, Math.floor((T - 1) / 2));
  for (let t = 0; t < T; t++) {
    const tc = kk > 0 ? Math.min(Math.max(t, kk), T - 1 - kk) : t;
    const a = Math.max(0, tc - kk), c = Math.min(T - 1, tc + kk);
    const h = kk > 0 ? kk * ref.dt : ref.dt;
    S.fill(0);
    E.fill(0);
    for (let b = 0; b < nb; b++) {
      const m = bodies[b].mass;
      const i0 = (t * nb + b) * 3, ia = (a * nb + b) * 3, ic = (c * nb + b) * 3, im = (tc * nb + b) * 3;
      // Second difference over the window (one-sided windows at the ends shrink h accordingly).
      const ax = kk > 0 ? (com[ic] - 2 * com[im] + com[ia]) / (h * h) : 0;
      const ay = kk > 0 ? (com[ic + 1] - 2 * com[im + 1] + com[ia + 1]) / (h * h) : 0;
      const az = kk > 0 ? (com[ic + 2] - 2 * com[im + 2] + com[ia + 2]) / (h * h) : 0;
      const fx = m * ax, fy = m * ay, fz = m * (az + gravity);
      const wx = omega[i0], wy = omega[i0 + 1], wz = omega[i0 + 2];
      const alx = (omega[ic] - omega[ia]) / (2 * h) || 0, aly = (omega[ic + 1] - omega[ia + 1]) / (2 * h) || 0, alz = (omega[ic + 2] - omega[ia + 2]) / (2 * h) || 0;
      // World inertia I_w = R I R^T.
      const R = rot.subarray((t * nb + b) * 9, (t * nb + b) * 9 + 9);
      const I = bodies[b].inertia;
      for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) {
        let v = 0;
        for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) v += R[3 * r + p] * I[3 * p + q] * R[3 * s + q];
        Iw[3 * r + s] = v;
      }
      const Iwx = Iw[0] * wx + Iw[1] * wy + Iw[2] * wz, Iwy = Iw[3] * wx + Iw[4] * wy + Iw[5] * wz, Iwz = Iw[6] * wx + Iw[7] * wy + Iw[8] * wz;
      const nx = Iw[0] * alx + Iw[1] * aly + Iw[2] * alz + (wy * Iwz - wz * Iwy);
      const ny = Iw[3] * alx + Iw[4] * aly + Iw[5] * alz + (wz * Iwx - wx * Iwz);
      const nz = Iw[6] * alx + Iw[7] * aly + Iw[8] * alz + (wx * Iwy - wy * Iwx);
      const cx = com[i0], cy = com[i0 + 1], cz = com[i0 + 2];
      S[6 * b] = fx; S[6 * b + 1] = fy; S[6 * b + 2] = fz;
      S[6 * b + 3] = nx + cy * fz - cz * fy;
      S[6 * b + 4] = ny + cz * fx - cx * fz;
      S[6 * b + 5] = nz + cx * fy - cy * fx;
    }
    // Subtree sums: bodies are in parent-before-child order.
    for (let b = nb - 1; b > 0; b--) {
      const p = bodies[b].parent;
      for (let r = 0; r < 6; r++) S[6 * p + r] += S[6 * b + r];
    }
    for (let r = 0; r < 6; r++) wrench[6 * t + r] = S[r];
    const Fx = S[0], Fy = S[1], Fz = S[2], Mx = S[3], My = S[4];
    // Contacts.
    let nStance = 0;
    if (contacts) for (let f = 0; f < nF; f++) nStance += contacts.stance[t * nF + f];
    if (contacts && nStance > 0) {
      normalForce[t] = Fz / (M * gravity);
      frictionRatio[t] = Fz > 1e-9 ? Math.hypot(Fx, Fy) / Fz : Infinity;
      let zx = NaN, zy = NaN;
      // Below a tenth of the weight the ZMP is ill-defined (it runs off to infinity as F_n -> 0): the body is
      // nearly in free fall while a foot touches, or the ground would have to pull.
      if (Fz > 0.1 * M * gravity) {
        zx = -My / Fz; zy = Mx / Fz;
        zmp[2 * t] = zx; zmp[2 * t + 1] = zy;
        zmpOutside[t] = polygonOutside(contacts.polygons[t], zx, zy);
      } else {
        zmpOutside[t] = Infinity;
      }
      // Share the wrench between stance feet. Each foot k takes a share w_k of the force, applied at its
      // contact centroid c_k (on the ground); the weights put sum w_k c_k at the ZMP when they can (two
      // feet: the ZMP's projection on the segment between centroids; otherwise inverse distance), and the
      // moment left over is shared as pure moments (a centre-of-pressure shift within each foot).
      let wsum = 0;
      const C = contacts.centroids;
      const cb = t * nF * 2;
      if (nStance === 2 && nF === 2 && Number.isFinite(zx)) {
        const ex = C[cb + 2] - C[cb], ey = C[cb + 3] - C[cb + 1];
        const l2 = ex * ex + ey * ey;
        const u = l2 > 1e-12 ? Math.min(1, Math.max(0, ((zx - C[cb]) * ex + (zy - C[cb + 1]) * ey) / l2)) : 0.5;
        weights[0] = 1 - u; weights[1] = u; wsum = 1;
      } else {
        for (let f = 0; f < nF; f++) {
          weights[f] = 0;
          if (!contacts.stance[t * nF + f]) continue;
          const d = Number.isFinite(zx) ? Math.hypot(C[cb + 2 * f] - zx, C[cb + 2 * f + 1] - zy) : 1;
          weights[f] = 1 / Math.max(d, 0.01);
          wsum += weights[f];
        }
      }
      let rmx = S[3], rmy = S[4], rmz = S[5];
      for (let f = 0; f < nF; f++) {
        const w = weights[f] / wsum;
        if (!(w > 0)) continue;
        const cx = C[cb + 2 * f], cy = C[cb + 2 * f + 1];
        rmx -= w * (cy * Fz);
        rmy -= w * (-cx * Fz);
        rmz -= w * (cx * Fy - cy * Fx);
      }
      for (let f = 0; f < nF; f++) {
        const w = weights[f] / wsum;
        if (!(w > 0)) continue;
        const fb = contacts.feet[f];
        const cx = C[cb + 2 * f], cy = C[cb + 2 * f + 1];
        const fx = w * Fx, fy = w * Fy, fz = w * Fz;
        E[6 * fb] += fx; E[6 * fb + 1] += fy; E[6 * fb + 2] += fz;
        E[6 * fb + 3] += cy * fz + w * rmx;
        E[6 * fb + 4] += -cx * fz + w * rmy;
        E[6 * fb + 5] += cx * fy - cy * fx + w * rmz;
      }
      // External wrench reaches every ancestor of a foot.
      for (let b = nb - 1; b > 0; b--) {
        const p = bodies[b].parent;
        for (let r = 0; r < 6; r++) E[6 * p + r] += E[6 * b + r];
      }
    } else if (contacts) {
      flightResidual[t] = Math.hypot(Fx, Fy, Fz) / (M * gravity);
    }
    // Joint torques.
    const P = ref.pose;
    for (let b = 1; b < nb; b++) {
      const top = bodies[b].top;
      const d = kin.linkDof(top);
      if (d < 0) continue;
      const j = kin.linkJoint[top]!;
      const o = (t * L + top) * 12;
      const ax = P[o] * j.axis[0] + P[o + 1] * j.axis[1] + P[o + 2] * j.axis[2];
      const ay = P[o + 3] * j.axis[0] + P[o + 4] * j.axis[1] + P[o + 5] * j.axis[2];
      const az = P[o + 6] * j.axis[0] + P[o + 7] * j.axis[1] + P[o + 8] * j.axis[2];
      const fx = S[6 * b] - E[6 * b], fy = S[6 * b + 1] - E[6 * b + 1], fz = S[6 * b + 2] - E[6 * b + 2];
      if (j.type === 'prismatic') {
        tau[t * nq + d] += fx * ax + fy * ay + fz * az;
        continue;
      }
      const px = P[o + 9], py = P[o + 10], pz = P[o + 11];
      const mx = S[6 * b + 3] - E[6 * b + 3] - (py * fz - pz * fy);
      const my = S[6 * b + 4] - E[6 * b + 4] - (pz * fx - px * fz);
      const mz = S[6 * b + 5] - E[6 * b + 5] - (px * fy - py * fx);
      tau[t * nq + d] += mx * ax + my * ay + mz * az;
    }
  }
  return { tau, wrench, zmp, zmpOutside, frictionRatio, flightResidual, normalForce };
}

/** Signed distance of (x, y) outside a convex polygon (ccw x,y pairs): <= 0 inside. */
export function polygonOutside(poly: Float64Array, x: number, y: number): number {
  const n = poly.length / 2;
  if (n === 0) return Infinity;
  if (n === 1) return Math.hypot(x - poly[0], y - poly[1]);
  if (n === 2) return segDist(poly[0], poly[1], poly[2], poly[3], x, y);
  let inside = true;
  let maxEdge = -Infinity;
  let minDist = Infinity;
  for (let i = 0; i < n; i++) {
    const ax = poly[2 * i], ay = poly[2 * i + 1];
    const bx = poly[(2 * i + 2) % (2 * n)], by = poly[(2 * i + 3) % (2 * n)];
    const ex = bx - ax, ey = by - ay;
    const len = Math.hypot(ex, ey) || 1;
    // Outward normal of a ccw polygon: (ey, -ex).
    const s = ((x - ax) * ey - (y - ay) * ex) / len;
    if (s > 0) inside = false;
    if (s > maxEdge) maxEdge = s;
    minDist = Math.min(minDist, segDist(ax, ay, bx, by, x, y));
  }
  return inside ? maxEdge : minDist;
}

function segDist(ax: number, ay: number, bx: number, by: number, x: number, y: number): number {
  const ex = bx - ax, ey = by - ay;
  const l2 = ex * ex + ey * ey;
  const u = l2 > 0 ? Math.min(1, Math.max(0, ((x - ax) * ex + (y - ay) * ey) / l2)) : 0;
  return Math.hypot(ax + u * ex - x, ay + u * ey - y);
}

/** 2D convex hull, ccw, as x,y pairs: src/math/hull2d.ts. */
export { convexHull2d } from '../math/hull2d.ts';
