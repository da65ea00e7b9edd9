/** Per frame and body (of geom.bodies): world centre of mass (3) and rotation of the top link (9). */
function bodyFrames(ref: Reference, geom: RobotGeometry): { com: Float64Array; rot: Float64Array } {
  const T = ref.T, L = geom.kin.nLinks, bodies = geom.bodies, nb = bodies.length;
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
  return { com, rot };
}

/** Angular velocity per frame and body: w = vee(dR/dt R^T), dR/dt by central differences over +-k frames. */
function angularVelocities(rot: Float64Array, T: number, nb: number, k: number, dt: number): Float64Array {
  const omega = new Float64Array(T * nb * 3);
  const W = new Float64Array(9);
  for (let t = 0; t < T; t++) {
    const a = Math.max(0, t - k), c = Math.min(T - 1, t + k);
    const h = (c - a) * dt;
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
  return omega;
}

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
import { solveBoxed } from '../math/linalg.ts';
import { BoxQP } from '../math/boxqp.ts';
import { hypot2, hypot3 } from '../math/hypot.ts';

export interface ContactFrames {
  /** Body indices of the feet. */
  feet: number[];
  /** [T, nFeet] 1 when the foot is in stance. */
  stance: Uint8Array;
  /** Per frame, the support polygon (x,y pairs, counter-clockwise), empty when no foot is down. */
  polygons: Float64Array[];
  /** [T, nFeet*2] foot contact centroids (x, y). */
  centroids: Float64Array;
  /** [T * nFeet] each stance foot's ground points as a 2D convex hull (empty in swing); without it, its centroid. */
  footPolygons?: Float64Array[];
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
  /**
   * [T, 6] the least external wrench on the base that, with ground forces inside the friction cones at the
   * stance feet's sole points, realises the motion: force, and moment about the whole-body COM (NaN for a
   * fixed base). With no foot down it is the whole needed wrench.
   */
  external: Float64Array;
  /** [T] |external force| / (m g) and |external moment about the COM| / (m g h), h the COM height at frame 0. */
  residualForce: Float64Array;
  residualTorque: Float64Array;
}

export interface DynamicsOptions {
  /** Friction coefficient of the ground (linearised cone with 4 edges, inscribed). */
  mu?: number;
  /**
   * A frame with two or more feet down whose least-squares ground forces need some joint above a foot at more
   * than this ratio to its effort is solved again for the least-effort split: the ground forces (as good for
   * the external wrench) that minimise the largest |tau_j| / effort_j (default 1; Infinity: never).
   */
  leastEffortAbove?: number;
}

export function inverseDynamics(ref: Reference, geom: RobotGeometry, contacts: ContactFrames | null, gravity = 9.81, smoothSeconds = 0.04, opts: DynamicsOptions = {}): DynamicsResult {
  const kin = geom.kin;
  const T = ref.T, L = kin.nLinks, nq = kin.nq;
  const bodies = geom.bodies;
  const nb = bodies.length;
  const k = Math.max(1, Math.round(smoothSeconds / 2 / ref.dt));
  // COM positions and rotations per frame.
  // Each pass over the frames is a function of its own: V8 compiles a long-running loop while it runs (on-stack
  // replacement), and a later loop in the same function, which has not run yet, would throw that code away.
  const { com, rot } = bodyFrames(ref, geom);
  const omega = angularVelocities(rot, T, nb, k, ref.dt);
  const Iw = new Float64Array(9);
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
  const external = new Float64Array(T * 6).fill(NaN);
  const residualForce = new Float64Array(T).fill(NaN);
  const residualTorque = new Float64Array(T).fill(NaN);
  const cs = contacts ? contactSolver(ref, geom, contacts, com, gravity, opts.mu ?? 0.9, opts.leastEffortAbove ?? 1) : null;
  const external6 = (t: number, fx: number, fy: number, fz: number, mx: number, my: number, mz: number): void => {
    // Moment about the origin -> about the whole-body COM.
    const c = cs!.comAt(t);
    const nx = mx - (c[1] * fz - c[2] * fy), ny = my - (c[2] * fx - c[0] * fz), nz = mz - (c[0] * fy - c[1] * fx);
    external[6 * t] = fx; external[6 * t + 1] = fy; external[6 * t + 2] = fz;
    external[6 * t + 3] = nx; external[6 * t + 4] = ny; external[6 * t + 5] = nz;
    residualForce[t] = hypot3(fx, fy, fz) / (M * gravity);
    residualTorque[t] = hypot3(nx, ny, nz) / (M * gravity * cs!.h);
  };
  // Second differences need a full window: near the ends the nearest complete window is used.
  const kk = Math.min(k, Math.floor((T - 1) / 2));
  for (let t = 0; t < T; t++) {
    E.fill(0);
    newtonEuler(t, T, kk, ref.dt, bodies, com, omega, rot, gravity, Iw, S);
    for (let r = 0; r < 6; r++) wrench[6 * t + r] = S[r];
    const Fx = S[0], Fy = S[1], Fz = S[2], Mx = S[3], My = S[4];
    // Contacts.
    let nStance = 0;
    if (contacts) for (let f = 0; f < nF; f++) nStance += contacts.stance[t * nF + f];
    if (contacts && nStance > 0) {
      normalForce[t] = Fz / (M * gravity);
      frictionRatio[t] = Fz > 1e-9 ? hypot2(Fx, Fy) / Fz : Infinity;
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
      // Ground forces: the least external wrench (see solveContacts) with each stance foot's force inside the
      // friction cone at points of its own sole, the least joint torques among those.
      const g = cs!.solve(t, S, E);
      external6(t, S[0] - g[0], S[1] - g[1], S[2] - g[2], S[3] - g[3], S[4] - g[4], S[5] - g[5]);
      // External wrench reaches every ancestor of a foot.
      for (let b = nb - 1; b > 0; b--) {
        const p = bodies[b].parent;
        for (let r = 0; r < 6; r++) E[6 * p + r] += E[6 * b + r];
      }
    } else if (contacts) {
      flightResidual[t] = hypot3(Fx, Fy, Fz) / (M * gravity);
      external6(t, S[0], S[1], S[2], S[3], S[4], S[5]);
    }
    jointTorques(t, ref.pose, L, nq, kin, bodies, S, E, tau);
  }
  if (process.env.R2R_DEBUG_SWEEPS) console.error(`contact sweeps ${cs?.sweeps} over ${T} frames, ${cs?.refined} re-solved for the least-effort split (${cs?.qp})`);
  return { tau, wrench, zmp, zmpOutside, frictionRatio, flightResidual, normalForce, external, residualForce, residualTorque };
}

/**
 * Frame t of inverseDynamics: each body's Newton–Euler wrench (about the world origin) into S, then summed over
 * subtrees. A function of its own so that V8 optimises it after a few frames instead of compiling the whole
 * per-frame loop on the stack (which took ≈ 130 ms of a background compile, the frames meanwhile interpreted).
 */
function newtonEuler(t: number, T: number, kk: number, dt: number, bodies: RobotGeometry['bodies'], com: Float64Array, omega: Float64Array, rot: Float64Array, gravity: number, Iw: Float64Array, S: Float64Array): void {
  const nb = bodies.length;
  const tc = kk > 0 ? Math.min(Math.max(t, kk), T - 1 - kk) : t;
  const a = Math.max(0, tc - kk), c = Math.min(T - 1, tc + kk);
  const h = kk > 0 ? kk * dt : dt;
  S.fill(0);
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
    const ro = (t * nb + b) * 9;
    const I = bodies[b].inertia;
    for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) {
      let v = 0;
      for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) v += rot[ro + 3 * r + p] * I[3 * p + q] * rot[ro + 3 * s + q];
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
}

/** Frame t of inverseDynamics: each joint's torque from its subtree's wrench S less the ground's E, into tau. */
function jointTorques(t: number, P: Float64Array, L: number, nq: number, kin: RobotGeometry['kin'], bodies: RobotGeometry['bodies'], S: Float64Array, E: Float64Array, tau: Float64Array): void {
  const nb = bodies.length;
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

const EDGES = 4;
const MAX_POINTS = 4;

/**
 * The ground forces of a stance frame. Unknowns: lambda >= 0 along the 4 edges (mu, 0, 1), (0, mu, 1),
 * (-mu, 0, 1), (0, -mu, 1) of the friction cone (the inscribed pyramid, so every solution is inside the cone)
 * at up to 4 points of each stance foot's sole polygon (its extremes along +-(x+y), +-(x-y)): every force
 * inside the pyramids, every centre of pressure inside the sole. Minimised, as a strictly convex QP solved
 * exactly by an active set on the bounds (linalg.ts solveBoxed):
 *   |W - G lambda|^2 (the external wrench the ground cannot supply: force / (m g), moment about the COM
 *   / (m g h))  +  1e-3^2 sum_j (tau_j(lambda) / effort_j)^2 (among the ground forces that realise the motion
 *   equally well, those that need the least joint torque of every joint above a foot)  +  1e-3^2 |lambda / (m g)|^2.
 * With two or more feet down, the sum of squares can leave one joint above its effort where another split
 * needs less of every joint (the T1 clips of issue 14: the split the physics stage's simulated contacts made needed
 * 0.97-0.98x of an ankle pitch's effort where this one needed 1.03-1.06x). Where the split needs some joint above `leastEffortAbove` x its
 * effort, the frame is solved again for the least-effort split (leastEffort below).
 * solve(t, S, E) adds each foot's ground wrench (about the origin) to E and returns the total ground wrench.
 */
function contactSolver(ref: Reference, geom: RobotGeometry, contacts: ContactFrames, com: Float64Array, gravity: number, mu: number, leastEffortAbove: number) {
  const kin = geom.kin, bodies = geom.bodies, nb = bodies.length, L = kin.nLinks, T = ref.T;
  const feet = contacts.feet, nF = feet.length;
  const M = bodies.reduce((a, b) => a + b.mass, 0);
  const Mg = M * gravity;
  const comAll = new Float64Array(3 * T);
  for (let t = 0; t < T; t++) for (let b = 0; b < nb; b++) for (let r = 0; r < 3; r++) comAll[3 * t + r] += (bodies[b].mass * com[(t * nb + b) * 3 + r]) / M;
  const h = Math.max(comAll[2], 0.05);
  // Joints with a foot below them: their torques are regularised.
  const joints: { body: number; dof: number; prismatic: boolean; effort: number; limited: boolean; feet: Uint8Array }[] = [];
  for (let b = 1; b < nb; b++) {
    const d = kin.linkDof(bodies[b].top);
    if (d < 0) continue;
    const fm = new Uint8Array(nF);
    let any = false;
    feet.forEach((fb, f) => { for (let x = fb; x >= 0; x = bodies[x].parent) if (x === b) { fm[f] = 1; any = true; } });
    if (!any) continue;
    const e = kin.effortLimit[d];
    const limited = Number.isFinite(e) && e > 0;
    joints.push({ body: b, dof: d, prismatic: kin.linkJoint[bodies[b].top]!.type === 'prismatic', effort: limited ? e : 100, limited, feet: fm });
  }
  const nJ = joints.length;
  const maxCols = nF * MAX_POINTS * EDGES;
  const rows = 6 + nJ;
  const A = new Float64Array(rows * maxCols);
  const bv = new Float64Array(rows);
  const H = new Float64Array(maxCols * maxCols);
  const g = new Float64Array(maxCols);
  const lam = new Float64Array(maxCols);
  const prev = new Float64Array(maxCols); // last frame's lambda per (foot, point slot, edge)
  const colFoot = new Int32Array(maxCols), colSlot = new Int32Array(maxCols);
  const px = new Float64Array(maxCols), py = new Float64Array(maxCols);
  const dx = new Float64Array(EDGES), dy = new Float64Array(EDGES), dz = new Float64Array(EDGES);
  const nrm = hypot2(mu, 1);
  for (let e = 0; e < EDGES; e++) {
    const a = (2 * Math.PI * e) / EDGES;
    dx[e] = (mu * Math.cos(a)) / nrm; dy[e] = (mu * Math.sin(a)) / nrm; dz[e] = 1 / nrm;
  }
  const pick = new Int32Array(MAX_POINTS);
  const corner = new Int32Array(4);
  const total = new Float64Array(6);
  const cAt = new Float64Array(3);
  const reg = 1e-3, ridge = 1e-3;
  const lo = new Float64Array(maxCols), hi = new Float64Array(maxCols).fill(Infinity);
  const work = new Float64Array(maxCols * maxCols), tmp = new Float64Array(maxCols), pinned = new Int8Array(maxCols);
  const jax = new Float64Array(3 * nJ), jo = new Float64Array(3 * nJ);
  let lastN = -1;
  const lpx = new Float64Array(maxCols), lpy = new Float64Array(maxCols), lFoot = new Int32Array(maxCols), lSlot = new Int32Array(maxCols);
  const lastS = new Float64Array(6 * nb);
  let sweeps = 0;
  // The least-effort split (leastEffort): unknowns lambda, then one y per joint above a foot.
  const maxM = maxCols + nJ;
  const H2 = new Float64Array(maxM * maxM), g2 = new Float64Array(maxM), x2 = new Float64Array(maxM);
  const lo2 = new Float64Array(maxM), hi2 = new Float64Array(maxM);
  const best = new Float64Array(maxCols), ratio = new Float64Array(nJ);
  const qp = new BoxQP(maxM);
  let refined = 0, qpIters = 0, qpSolves = 0;
  return {
    h,
    get sweeps() { return sweeps; },
    /** Frames solved again for the least-effort split. */
    get refined() { return refined; },
    get qp() { return `${qpSolves} solves, ${qpIters} factorisations`; },
    comAt(t: number): Float64Array {
      cAt[0] = comAll[3 * t]; cAt[1] = comAll[3 * t + 1]; cAt[2] = comAll[3 * t + 2];
      return cAt;
    },
    solve(t: number, S: Float64Array, E: Float64Array): Float64Array {
      const cx = comAll[3 * t], cy = comAll[3 * t + 1], cz = comAll[3 * t + 2];
      // Columns: points of each stance foot's polygon (up to 4 extremes), 4 cone edges each.
      let n = 0, down = 0;
      for (let f = 0; f < nF; f++) {
        if (!contacts.stance[t * nF + f]) continue;
        down++;
        const poly = contacts.footPolygons?.[t * nF + f];
        const nv = poly ? poly.length / 2 : 0;
        let np = 0;
        if (!poly || nv === 0) {
          pick[0] = -1; np = 1; // the foot's contact centroid
        } else if (nv <= MAX_POINTS) {
          for (let v = 0; v < nv; v++) pick[np++] = v;
        } else {
          let b0 = -Infinity, b1 = -Infinity, b2 = -Infinity, b3 = -Infinity;
          const k = corner;
          for (let v = 0; v < nv; v++) {
            const x = poly[2 * v], y = poly[2 * v + 1];
            if (x + y > b0) { b0 = x + y; k[0] = v; }
            if (-x - y > b1) { b1 = -x - y; k[1] = v; }
            if (x - y > b2) { b2 = x - y; k[2] = v; }
            if (-x + y > b3) { b3 = -x + y; k[3] = v; }
          }
          for (let q = 0; q < 4; q++) {
            let dup = false;
            for (let q2 = 0; q2 < q; q2++) if (k[q2] === k[q]) dup = true;
            if (!dup) pick[np++] = k[q];
          }
        }
        for (let q = 0; q < np; q++) {
          const v = pick[q];
          const x = v < 0 ? contacts.centroids[(t * nF + f) * 2] : poly![2 * v];
          const y = v < 0 ? contacts.centroids[(t * nF + f) * 2 + 1] : poly![2 * v + 1];
          for (let e = 0; e < EDGES; e++) { colFoot[n] = f; colSlot[n] = q * EDGES + e; px[n] = x; py[n] = y; n++; }
        }
      }
      // Nothing changed since the last frame solved (same contacts, same needed wrenches: standing still):
      // the same forces.
      let same = lastN === n;
      for (let c = 0; same && c < n; c++) same = px[c] === lpx[c] && py[c] === lpy[c] && colFoot[c] === lFoot[c] && colSlot[c] === lSlot[c];
      for (let k = 0; same && k < 6 * nb; k++) same = S[k] === lastS[k];
      if (!same) {
        solveFrame(t, n, S, cx, cy, cz);
        if (down >= 2) leastEffort(n);
        prev.fill(0);
        for (let c = 0; c < n; c++) prev[colFoot[c] * MAX_POINTS * EDGES + colSlot[c]] = lam[c];
        lastN = n;
        for (let c = 0; c < n; c++) { lpx[c] = px[c]; lpy[c] = py[c]; lFoot[c] = colFoot[c]; lSlot[c] = colSlot[c]; }
        lastS.set(S.subarray(0, 6 * nb));
      } else {
        for (let c = 0; c < n; c++) lam[c] = prev[colFoot[c] * MAX_POINTS * EDGES + colSlot[c]];
      }
      // Ground wrench of each foot (about the origin) into E; the total returned.
      total.fill(0);
      for (let c = 0; c < n; c++) {
        const l = lam[c];
        if (!(l > 0)) continue;
        const e = colSlot[c] % EDGES;
        const fx = l * dx[e], fy = l * dy[e], fz = l * dz[e];
        const x = px[c], y = py[c];
        const mx = y * fz, my = -x * fz, mz = x * fy - y * fx;
        const fb = feet[colFoot[c]];
        E[6 * fb] += fx; E[6 * fb + 1] += fy; E[6 * fb + 2] += fz;
        E[6 * fb + 3] += mx; E[6 * fb + 4] += my; E[6 * fb + 5] += mz;
        total[0] += fx; total[1] += fy; total[2] += fz; total[3] += mx; total[4] += my; total[5] += mz;
      }
      return total;
    },
  };

  function solveFrame(t: number, n: number, S: Float64Array, cx: number, cy: number, cz: number): void {
      // Rows: the needed wrench (force; moment about the COM), then the joint torques above the feet.
      const P = ref.pose;
      for (let j = 0; j < nJ; j++) {
        const top = bodies[joints[j].body].top, o = (t * L + top) * 12;
        const ax = kin.linkJoint[top]!.axis;
        jax[3 * j] = P[o] * ax[0] + P[o + 1] * ax[1] + P[o + 2] * ax[2];
        jax[3 * j + 1] = P[o + 3] * ax[0] + P[o + 4] * ax[1] + P[o + 5] * ax[2];
        jax[3 * j + 2] = P[o + 6] * ax[0] + P[o + 7] * ax[1] + P[o + 8] * ax[2];
        jo[3 * j] = P[o + 9]; jo[3 * j + 1] = P[o + 10]; jo[3 * j + 2] = P[o + 11];
      }
      for (let c = 0; c < n; c++) {
        const e = colSlot[c] % EDGES;
        const fx = dx[e], fy = dy[e], fz = dz[e];
        const rx = px[c] - cx, ry = py[c] - cy, rz = -cz;
        A[0 * n + c] = fx / Mg; A[1 * n + c] = fy / Mg; A[2 * n + c] = fz / Mg;
        A[3 * n + c] = (ry * fz - rz * fy) / (Mg * h);
        A[4 * n + c] = (rz * fx - rx * fz) / (Mg * h);
        A[5 * n + c] = (rx * fy - ry * fx) / (Mg * h);
        for (let j = 0; j < nJ; j++) {
          const J = joints[j];
          let v = 0;
          if (J.feet[colFoot[c]]) {
            const aX = jax[3 * j], aY = jax[3 * j + 1], aZ = jax[3 * j + 2];
            if (J.prismatic) v = aX * fx + aY * fy + aZ * fz;
            else {
              const qx = px[c] - jo[3 * j], qy = py[c] - jo[3 * j + 1], qz = -jo[3 * j + 2];
              v = aX * (qy * fz - qz * fy) + aY * (qz * fx - qx * fz) + aZ * (qx * fy - qy * fx);
            }
          }
          A[(6 + j) * n + c] = (reg * v) / J.effort;
        }
      }
      const Fx = S[0], Fy = S[1], Fz = S[2];
      bv[0] = Fx / Mg; bv[1] = Fy / Mg; bv[2] = Fz / Mg;
      bv[3] = (S[3] - (cy * Fz - cz * Fy)) / (Mg * h);
      bv[4] = (S[4] - (cz * Fx - cx * Fz)) / (Mg * h);
      bv[5] = (S[5] - (cx * Fy - cy * Fx)) / (Mg * h);
      for (let j = 0; j < nJ; j++) {
        // The joint's torque with no ground force: its subtree's needed moment about the joint, along the axis.
        const J = joints[j], b = J.body;
        const aX = jax[3 * j], aY = jax[3 * j + 1], aZ = jax[3 * j + 2];
        let v: number;
        if (J.prismatic) v = aX * S[6 * b] + aY * S[6 * b + 1] + aZ * S[6 * b + 2];
        else {
          const ox = jo[3 * j], oy = jo[3 * j + 1], oz = jo[3 * j + 2];
          const fx = S[6 * b], fy = S[6 * b + 1], fz = S[6 * b + 2];
          v = aX * (S[6 * b + 3] - (oy * fz - oz * fy)) + aY * (S[6 * b + 4] - (oz * fx - ox * fz)) + aZ * (S[6 * b + 5] - (ox * fy - oy * fx));
        }
        bv[6 + j] = (reg * v) / J.effort;
      }
      // H = A^T A + ridge^2 / (m g)^2 I, g = A^T b (lambda in newtons).
      for (let a = 0; a < n; a++) {
        for (let c = a; c < n; c++) {
          let sum = 0;
          for (let r = 0; r < rows; r++) sum += A[r * n + a] * A[r * n + c];
          H[a * n + c] = sum; H[c * n + a] = sum;
        }
        H[a * n + a] += (ridge * ridge) / (Mg * Mg);
        let sg = 0;
        for (let r = 0; r < rows; r++) sg += A[r * n + a] * bv[r];
        g[a] = sg;
      }
      // Exact active-set solve on the bounds lambda >= 0 (src/math/linalg.ts solveBoxed).
      solveBoxed(H, g, lo, hi, n, lam, work, tmp, pinned, 40);
      // A few projected Gauss-Seidel sweeps from there (they never increase the objective): the active set
      // may stop before its last pass.
      for (let sweep = 0; sweep < 20; sweep++) {
        let change = 0;
        for (let a = 0; a < n; a++) {
          let r = g[a];
          for (let c = 0; c < n; c++) r -= H[a * n + c] * lam[c];
          const nl = Math.max(0, lam[a] + r / H[a * n + a]);
          change = Math.max(change, Math.abs(nl - lam[a]));
          lam[a] = nl;
        }
        if (change < 1e-6 * Mg) break;
      }
      sweeps++;
  }

  /** Each limited joint's tau / effort with forces x (the first n entries) into ratio; returns the largest |ratio|. */
  function ratios(n: number, x: Float64Array): number {
    let m = 0;
    for (let j = 0; j < nJ; j++) {
      const r = (6 + j) * n;
      let s = bv[6 + j];
      for (let c = 0; c < n; c++) s -= A[r + c] * x[c];
      ratio[j] = s / reg;
      if (joints[j].limited && Math.abs(ratio[j]) > m) m = Math.abs(ratio[j]);
    }
    return m;
  }

  /** |what the ground cannot supply|^2 (the wrench rows, in units of m g and m g h) with forces x. */
  function wrenchMiss(n: number, x: Float64Array): number {
    let s = 0;
    for (let r = 0; r < 6; r++) {
      let v = -bv[r];
      for (let c = 0; c < n; c++) v += A[r * n + c] * x[c];
      s += v * v;
    }
    return s;
  }

  /**
   * The least-effort split of a frame already solved (lam): the smallest c for which ground forces exist that
   * supply the needed wrench as well as lam does (within 1e-4 m g) with every limited joint above a foot at
   * |tau_j| / effort_j <= c. Each trial c is a box-constrained QP (BoxQP, exact active set) in lambda >= 0 and
   * y_j in [-c, c]: the objective of solveFrame plus rho sum_j (tau_j(lambda) / effort_j - y_j)^2, the squared
   * excess of each joint beyond c; c is feasible when that excess vanishes (<= 1e-3) and the wrench is no
   * worse. Bisection on c between 0 and lam's own largest ratio, to 1e-3; lam becomes the best split found.
   */
  function leastEffort(n: number): void {
    const m0 = ratios(n, lam);
    if (!(m0 > leastEffortAbove)) return;
    refined++;
    const miss0 = wrenchMiss(n, lam);
    const m = n + nJ, rho = 1e-2;
    // H2 = [[H + rho sum a_j a_j^T, rho a_j], [rho a_j^T, rho I]], g2 = [g + rho sum a_j b_j, rho b_j], where
    // tau_j / effort_j = b_j - a_j lambda (a_j = A row / reg, b_j = bv / reg) and the excess row is a_j lambda + y_j - b_j.
    for (let a = 0; a < n; a++) {
      for (let c = 0; c <= a; c++) {
        let s = H[a * n + c];
        for (let j = 0; j < nJ; j++) if (joints[j].limited) s += (rho * A[(6 + j) * n + a] * A[(6 + j) * n + c]) / (reg * reg);
        H2[a * m + c] = s; H2[c * m + a] = s;
      }
      let sg = g[a];
      for (let j = 0; j < nJ; j++) if (joints[j].limited) sg += (rho * A[(6 + j) * n + a] * bv[6 + j]) / (reg * reg);
      g2[a] = sg;
      lo2[a] = 0; hi2[a] = Infinity;
      x2[a] = lam[a];
      qp.state[a] = lam[a] > 0 ? 0 : -1;
    }
    for (let j = 0; j < nJ; j++) {
      const y = n + j, on = joints[j].limited ? rho : 0;
      for (let a = 0; a < n; a++) { const v = (on * A[(6 + j) * n + a]) / reg; H2[y * m + a] = v; H2[a * m + y] = v; }
      for (let k = n; k < m; k++) H2[y * m + k] = 0;
      H2[y * m + y] = rho;
      g2[y] = (on * bv[6 + j]) / reg;
      x2[y] = joints[j].limited ? ratio[j] : 0;
      qp.state[y] = 0;
    }
    best.set(lam.subarray(0, n));
    let lo = 0, hi = m0;
    for (let it = 0; it < 20 && hi - lo > 1e-3; it++) {
      const c = 0.5 * (lo + hi);
      for (let j = 0; j < nJ; j++) {
        const lim = joints[j].limited ? c : Infinity;
        lo2[n + j] = -lim; hi2[n + j] = lim;
      }
      qp.solve(H2, g2, lo2, hi2, m, x2, true, 200);
      qpIters += qp.iterations; qpSolves++;
      const got = ratios(n, x2);
      if (got <= c + 1e-3 && wrenchMiss(n, x2) <= miss0 + 1e-8) {
        hi = Math.min(c, got);
        best.set(x2.subarray(0, n));
      } else {
        lo = c;
      }
    }
    for (let c = 0; c < n; c++) lam[c] = best[c];
  }
}

/** Signed distance of (x, y) outside a convex polygon (ccw x,y pairs): <= 0 inside. */
export function polygonOutside(poly: Float64Array, x: number, y: number): number {
  const n = poly.length / 2;
  if (n === 0) return Infinity;
  if (n === 1) return hypot2(x - poly[0], y - poly[1]);
  if (n === 2) return segDist(poly[0], poly[1], poly[2], poly[3], x, y);
  let inside = true;
  let maxEdge = -Infinity;
  let minDist = Infinity;
  for (let i = 0; i < n; i++) {
    const ax = poly[2 * i], ay = poly[2 * i + 1];
    const bx = poly[(2 * i + 2) % (2 * n)], by = poly[(2 * i + 3) % (2 * n)];
    const ex = bx - ax, ey = by - ay;
    const len = hypot2(ex, ey) || 1;
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
  return hypot2(ax + u * ex - x, ay + u * ey - y);
}

/** 2D convex hull, ccw, as x,y pairs: src/math/hull2d.ts. */
export { convexHull2d } from '../math/hull2d.ts';
