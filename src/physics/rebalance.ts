/**
 * A balanced reference for the tracking controller: the kinematic retarget re-solved so that its whole-body
 * dynamics can be realised with the robot's feet — a dynamics filter in the manner of ZMP compensation of captured
 * motion (Dasgupta & Nakamura 1999; Nishiwaki & Kagami's iterative ZMP correction).
 *
 * The controller tracks joint angles, feet, hands and a centre of mass at once; when the reference's CoM path is
 * not the one its posture implies, those tasks fight and the robot falls. Here the reference itself is made
 * coherent before tracking:
 *
 * 1. Stance feet are pinned: through each of the reference's stance intervals a foot lies flat on the ground at
 *    its mean position and heading (a robot's foot does not skate or roll on its edge while it bears weight).
 * 2. Whole-body IK per frame (the retargeter's own solver and tasks): the sole corners of the feet (pinned in
 *    stance, the reference's in swing), the CoM over a horizontal target, the hands and the root orientation
 *    near the reference's, the joints near the reference's as the weakest objective.
 * 3. The CoM target starts as the cart-table plan (com.ts). Then, for a few rounds, the full multibody ZMP of the
 *    re-solved motion (Newton–Euler: every body's linear and angular momentum, src/sim/dynamics.ts) is clamped
 *    into the pinned feet's support polygon, and the CoM shift whose cart-table ZMP makes up the difference is
 *    added to the target (the shift solves dx - (z/g) dx'' = dp with dx = 0 at the ends).
 *
 * IK runs on every `stride`-th frame; the frames between get the correction (joint and root offsets from the
 * reference) interpolated, so the reference's high-frequency detail is kept.
 */
import type { RobotGeometry } from '../sim/geometry.ts';
import type { Reference } from '../sim/reference.ts';
import { buildReference } from '../sim/reference.ts';
import type { RobotMotion } from '../robot/motion.ts';
import { IkSolver, PositionTask, PostureTask, DirectionTask, type Task } from '../retarget/solver.ts';
import { ComModel, ComTask } from '../retarget/balance.ts';
import { convexHull2dInto } from '../math/hull2d.ts';
import { clampIntoPolygon, zmpShift } from './com.ts';
import { gaussianSmooth } from '../retarget/targets.ts';

export interface RebalanceSettings {
  /** Rounds of multibody-ZMP correction after the first solve (0 = the cart-table plan only). */
  rounds: number;
  /** IK on every this many frames at most this far apart in time (s); corrections interpolated between. */
  ikPeriod: number;
  /** IK iterations per solved frame. */
  ikIters: number;
  /** Keep the ZMP this far inside the pinned support polygon (m). */
  margin: number;
  /** Smoothing (s, moving-average window applied twice) of the body positions before their accelerations are taken. */
  smoothing: number;
  /** smooth: the joint correction (balanced minus retarget) held close to the previous solved frame's. */
  weights: { foot: number; com: number; hand: number; root: number; posture: number; smooth: number };
  /** The support the ZMP is held in, when smaller than the soles: the feet's corners for one foot in stance and for
   *  two (e.g. clipped to where the ankles' effort can hold the centre of pressure). Default: the soles. */
  supportFeet?: [RebalanceFoot[], RebalanceFoot[]];
}

export interface RebalanceFoot { link: number; corners: Float64Array }

export interface Rebalanced {
  ref: Reference;
  /** [T,3] CoM of the balanced reference. */
  com: Float64Array;
  /** Per frame the support polygon of the pinned stance feet (ccw x,y pairs; empty in flight). */
  polygons: Float64Array[];
  /** Largest distance of the multibody ZMP outside the pinned support polygon: the kinematic reference's, and the
   *  balanced reference's (m). */
  zmpOutsideBefore: number;
  zmpOutsideAfter: number;
  /** Fraction of supported frames whose multibody ZMP is more than 1 cm outside the pinned support, before and after. */
  zmpOutsideFractionBefore: number;
  zmpOutsideFractionAfter: number;
  /** Largest distance any solved frame's CoM stayed from its target (m). */
  comErrorMax: number;
}

/** World positions of a foot's sole corners (4 x 3) with the link at pose `o` of `pose`. */
function cornersWorld(pose: Float64Array, o: number, c: Float64Array, out: Float64Array): void {
  for (let k = 0; k < 4; k++) {
    const x = c[3 * k], y = c[3 * k + 1], z = c[3 * k + 2];
    for (let r = 0; r < 3; r++) out[3 * k + r] = pose[o + 3 * r] * x + pose[o + 3 * r + 1] * y + pose[o + 3 * r + 2] * z + pose[o + 9 + r];
  }
}

/**
 * Sole-corner targets per frame and foot ([T, nF, 4, 3]): in a stance interval the corners of the foot laid flat at
 * the interval's mean position and heading (lowest corner on the ground); in swing the reference's own corners.
 * `flat` holds each foot's corners in the world at the zero pose relative to the link origin (rotation only).
 */
export function pinFeet(ref: Reference, nL: number, feet: RebalanceFoot[], flat: Float64Array[], stance: Uint8Array): Float64Array {
  const T = ref.T, nF = feet.length;
  const out = new Float64Array(T * nF * 12);
  const w = new Float64Array(12);
  for (let i = 0; i < nF; i++) {
    const link = feet[i].link;
    for (let t = 0; t < T; t++) { cornersWorld(ref.pose, (t * nL + link) * 12, feet[i].corners, w); out.set(w, (t * nF + i) * 12); }
    for (let a = 0; a < T; ) {
      if (!stance[a * nF + i]) { a++; continue; }
      let b = a;
      while (b + 1 < T && stance[(b + 1) * nF + i]) b++;
      // Mean origin (x, y) and heading (of the link's x axis projected on the ground) over [a, b].
      let px = 0, py = 0, hx = 0, hy = 0;
      for (let t = a; t <= b; t++) {
        const o = (t * nL + link) * 12, P = ref.pose;
        px += P[o + 9]; py += P[o + 10];
        // Heading of the link frame relative to its zero-pose orientation: rotate the flat forward by the pose.
        hx += P[o]; hy += P[o + 3];
      }
      px /= b - a + 1; py /= b - a + 1;
      const yaw = Math.atan2(hy, hx);
      const cy = Math.cos(yaw), sy = Math.sin(yaw);
      const f = flat[i];
      let zmin = Infinity;
      for (let k = 0; k < 4; k++) zmin = Math.min(zmin, f[3 * k + 2]);
      for (let k = 0; k < 4; k++) {
        const x = f[3 * k], y = f[3 * k + 1];
        w[3 * k] = px + cy * x - sy * y; w[3 * k + 1] = py + sy * x + cy * y; w[3 * k + 2] = f[3 * k + 2] - zmin;
      }
      for (let t = a; t <= b; t++) out.set(w, (t * nF + i) * 12);
      a = b + 1;
    }
    // Swing: the reference's corners moved by an offset blended from the last hold's to the next hold's, so the
    // foot leaves and lands on its pinned positions without a jump.
    for (let a = 0; a < T; ) {
      if (stance[a * nF + i]) { a++; continue; }
      let b = a;
      while (b + 1 < T && !stance[(b + 1) * nF + i]) b++;
      const before = a - 1, after = b + 1 < T ? b + 1 : -1;
      const off0 = new Float64Array(12), off1 = new Float64Array(12);
      if (before >= 0) { cornersWorld(ref.pose, (before * nL + link) * 12, feet[i].corners, w); for (let k = 0; k < 12; k++) off0[k] = out[(before * nF + i) * 12 + k] - w[k]; }
      if (after >= 0) { cornersWorld(ref.pose, (after * nL + link) * 12, feet[i].corners, w); for (let k = 0; k < 12; k++) off1[k] = out[(after * nF + i) * 12 + k] - w[k]; }
      if (before < 0) off0.set(off1);
      if (after < 0) off1.set(off0);
      for (let t = a; t <= b; t++) {
        const u = (t - a + 1) / (b - a + 2);
        const o = (t * nF + i) * 12;
        for (let k = 0; k < 12; k++) out[o + k] += off0[k] * (1 - u) + off1[k] * u;
      }
      a = b + 1;
    }
  }
  return out;
}

/** Support polygons (ccw) of the pinned stance feet per frame. */
function supportPolygons(T: number, nF: number, corners: Float64Array, stance: Uint8Array): Float64Array[] {
  const pts = new Float64Array(8 * nF), hull = new Float64Array(2 * (4 * nF + 1)), order = new Int32Array(4 * nF);
  const out: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    let n = 0;
    for (let i = 0; i < nF; i++) {
      if (!stance[t * nF + i]) continue;
      for (let k = 0; k < 4; k++) { pts[2 * n] = corners[(t * nF + i) * 12 + 3 * k]; pts[2 * n + 1] = corners[(t * nF + i) * 12 + 3 * k + 1]; n++; }
    }
    const h = n ? convexHull2dInto(pts, n, hull, order) : 0;
    out.push(hull.slice(0, 2 * h));
  }
  return out;
}

/** Signed... distance of a point outside a ccw polygon (0 inside). */
function outside(poly: Float64Array, x: number, y: number, tmp: Float64Array): number {
  return poly.length ? clampIntoPolygon(poly, x, y, 0, tmp) : 0;
}

export function rebalance(
  ref: Reference, geom: RobotGeometry, feet: RebalanceFoot[], stance: Uint8Array, hands: number[],
  comTarget: Float64Array, gravity: number, s: RebalanceSettings,
): Rebalanced {
  const kin = geom.kin, nq = kin.nq, T = ref.T, L = kin.nLinks, nF = feet.length;
  // Each foot's corners at the zero pose, rotated into the world (relative to the link origin).
  kin.fk(new Float64Array(nq));
  const flatOf = (fs: RebalanceFoot[]) => fs.map((f) => {
    const o = 12 * f.link, P = kin.pose, c = f.corners, r = new Float64Array(12);
    for (let k = 0; k < 4; k++) for (let a = 0; a < 3; a++) r[3 * k + a] = P[o + 3 * a] * c[3 * k] + P[o + 3 * a + 1] * c[3 * k + 1] + P[o + 3 * a + 2] * c[3 * k + 2];
    return r;
  });
  const flat = flatOf(feet);
  const footTargets = pinFeet(ref, L, feet, flat, stance);
  let polygons: Float64Array[];
  if (!s.supportFeet) polygons = supportPolygons(T, nF, footTargets, stance);
  else {
    // The same pins, the smaller corners: one foot's reach in single support, the two-foot reach otherwise.
    const [one, two] = s.supportFeet.map((sf) => supportPolygons(T, nF, pinFeet(ref, L, sf, flatOf(sf), stance), stance));
    polygons = one.map((p, t) => { let k = 0; for (let i = 0; i < nF; i++) k += stance[t * nF + i]; return k >= 2 ? two[t] : p; });
  }

  // IK tasks.
  const w = s.weights;
  const cornerTasks: PositionTask[] = [];
  feet.forEach((f, i) => { for (let k = 0; k < 4; k++) cornerTasks.push(new PositionTask(`foot${i}.${k}`, f.link, f.corners.subarray(3 * k, 3 * k + 3), w.foot)); });
  const handTasks = hands.map((h, i) => new PositionTask(`hand${i}`, h, [0, 0, 0], w.hand));
  const comModel = new ComModel(kin);
  const com = new ComTask(comModel, w.com, nq + 6);
  const up = new DirectionTask('root-up', 0, [0, 0, 1], w.root);
  const fwd = new DirectionTask('root-forward', 0, [1, 0, 0], w.root);
  const posture = new PostureTask(new Float64Array(nq), new Float64Array(nq).fill(w.posture));
  const smooth = new PostureTask(new Float64Array(nq), new Float64Array(nq).fill(w.smooth));
  const tasks: Task[] = [...cornerTasks, com, ...handTasks, up, fwd, posture, smooth];
  const ik = new IkSolver(kin, tasks);
  ik.setBounds(null, ref.dt);

  const stride = Math.max(1, Math.round(s.ikPeriod / ref.dt));
  // Solved frames: every stride-th, and the first and last frame of every stance (so a pinned foot is a knot at
  // both ends of its stance and the spline between does not carry swing motion into it).
  // A regular knot closer than half a stride to a stance knot is dropped: two knots a frame or two apart, one with
  // the foot pinned and one without, put the foot's last centimetre of descent into a frame or two (on the G1 walk,
  // CoM accelerations of 26 m/s^2 asked of the controller; 11 without such pairs).
  const knot = new Uint8Array(T);
  const stanceKnot = new Uint8Array(T);
  for (let t = 0; t < T; t++) for (let i = 0; i < nF; i++) {
    const st = stance[t * nF + i];
    if (st && (t === 0 || !stance[(t - 1) * nF + i] || t === T - 1 || !stance[(t + 1) * nF + i])) stanceKnot[t] = 1;
  }
  const gap = Math.floor(stride / 2);
  for (let t = 0; t < T; t += stride) {
    let near = false;
    for (let u = Math.max(0, t - gap); u <= Math.min(T - 1, t + gap) && !near; u++) if (u !== t && stanceKnot[u]) near = true;
    if (!near || t === 0) knot[t] = 1;
  }
  for (let t = 0; t < T; t++) if (stanceKnot[t]) knot[t] = 1;
  knot[0] = 1; knot[T - 1] = 1;
  const solved: number[] = [];
  for (let t = 0; t < T; t++) if (knot[t]) solved.push(t);

  // The kinematic reference's own multibody ZMP against the pinned support.
  const tmp0 = new Float64Array(2);
  const zmp0 = multibodyZmp(ref, geom, gravity, s.smoothing);
  let before = 0, nBefore = 0, nSupported = 0;
  for (let t = 0; t < T; t++) {
    if (!Number.isFinite(zmp0[2 * t]) || !polygons[t].length) continue;
    const d = outside(polygons[t], zmp0[2 * t], zmp0[2 * t + 1], tmp0);
    before = Math.max(before, d);
    nSupported++;
    if (d > OUTSIDE) nBefore++;
  }
  let nAfter = 0;
  const q = new Float64Array(ref.q), rootPos = new Float64Array(ref.rootPos), rootQuat = new Float64Array(ref.rootQuat);
  const target = new Float64Array(comTarget);
  const tmp = new Float64Array(2);
  let after = 0, comErrMax = 0;
  const comOut = new Float64Array(3 * T);
  let cur: Reference = ref;
  for (let round = 0; round <= s.rounds; round++) {
    const st = ik.s;
    comErrMax = 0;
    for (let j = 0; j < solved.length; j++) {
      const t = solved[j];
      // Start from the reference frame shifted by the previous solved frame's correction.
      if (j === 0 || round > 0) { st.q.set(q.subarray(t * nq, t * nq + nq)); st.basePos.set(rootPos.subarray(3 * t, 3 * t + 3)); st.baseQuat.set(rootQuat.subarray(4 * t, 4 * t + 4)); }
      else {
        const p = solved[j - 1];
        for (let d = 0; d < nq; d++) st.q[d] = ref.q[t * nq + d] + (q[p * nq + d] - ref.q[p * nq + d]);
        for (let c = 0; c < 3; c++) st.basePos[c] = ref.rootPos[3 * t + c] + (rootPos[3 * p + c] - ref.rootPos[3 * p + c]);
        st.baseQuat.set(ref.rootQuat.subarray(4 * t, 4 * t + 4));
      }
      for (let d = 0; d < nq; d++) st.q[d] = Math.min(ik.hi[d], Math.max(ik.lo[d], st.q[d]));
      for (let f = 0; f < nF; f++) for (let k = 0; k < 4; k++) cornerTasks[4 * f + k].target.set(footTargets.subarray((t * nF + f) * 12 + 3 * k, (t * nF + f) * 12 + 3 * k + 3));
      for (let h = 0; h < hands.length; h++) { const o = (t * L + hands[h]) * 12; handTasks[h].target.set(ref.pose.subarray(o + 9, o + 12)); }
      const ro = t * L * 12;
      up.target[0] = ref.pose[ro + 2]; up.target[1] = ref.pose[ro + 5]; up.target[2] = ref.pose[ro + 8];
      fwd.target[0] = ref.pose[ro]; fwd.target[1] = ref.pose[ro + 3]; fwd.target[2] = ref.pose[ro + 6];
      posture.ref.set(ref.q.subarray(t * nq, t * nq + nq));
      // Smoothness: this frame's correction near the previous solved frame's (the first frame: no correction).
      const p = j > 0 ? solved[j - 1] : -1;
      for (let d = 0; d < nq; d++) smooth.ref[d] = ref.q[t * nq + d] + (p >= 0 ? q[p * nq + d] - ref.q[p * nq + d] : 0);
      com.target[0] = target[3 * t]; com.target[1] = target[3 * t + 1];
      com.stale = true;
      ik.solve({ maxIters: s.ikIters, lambda: 1e-4, tol: 1e-5 });
      comErrMax = Math.max(comErrMax, Math.hypot(com.com[0] - target[3 * t], com.com[1] - target[3 * t + 1]));
      q.set(st.q, t * nq); rootPos.set(st.basePos, 3 * t); rootQuat.set(st.baseQuat, 4 * t);
    }
    // Frames between solved ones: a Catmull-Rom spline through the solved frames (joints, root position, root
    // quaternion normalised). The balanced reference is thereby smooth at the IK rate: the retarget's frame-to-frame
    // jitter (which double differentiation turns into large accelerations) is not passed on to the controller.
    for (let j = 0; j + 1 < solved.length; j++) {
      const a = solved[j], b = solved[j + 1];
      const a0 = solved[Math.max(0, j - 1)], b1 = solved[Math.min(solved.length - 1, j + 2)];
      for (let t = a + 1; t < b; t++) {
        const u = (t - a) / (b - a);
        for (let d = 0; d < nq; d++) q[t * nq + d] = spline(q[a0 * nq + d], q[a * nq + d], q[b * nq + d], q[b1 * nq + d], a0, a, b, b1, u);
        for (let c = 0; c < 3; c++) rootPos[3 * t + c] = spline(rootPos[3 * a0 + c], rootPos[3 * a + c], rootPos[3 * b + c], rootPos[3 * b1 + c], a0, a, b, b1, u);
        for (let c = 0; c < 4; c++) rootQuat[4 * t + c] = spline(rootQuat[4 * a0 + c], rootQuat[4 * a + c], rootQuat[4 * b + c], rootQuat[4 * b1 + c], a0, a, b, b1, u);
        const n = Math.hypot(rootQuat[4 * t], rootQuat[4 * t + 1], rootQuat[4 * t + 2], rootQuat[4 * t + 3]);
        for (let c = 0; c < 4; c++) rootQuat[4 * t + c] /= n;
      }
    }
    cur = buildReference(asMotion(q, rootPos, rootQuat, T, ref.dt, kin), kin);
    // Multibody ZMP of the re-solved motion against the pinned support.
    const zmp = multibodyZmp(cur, geom, gravity, s.smoothing);
    for (let t = 0; t < T; t++) { comModel.com(setPose(kin, cur, t), tmp3); comOut.set(tmp3, 3 * t); }
    let worst = 0;
    nAfter = 0;
    const shift = new Float64Array(2 * T);
    for (let t = 0; t < T; t++) {
      const zx = zmp[2 * t], zy = zmp[2 * t + 1];
      if (!Number.isFinite(zx) || !polygons[t].length) continue;
      const d = outside(polygons[t], zx, zy, tmp);
      worst = Math.max(worst, d);
      if (d > OUTSIDE) nAfter++;
      clampIntoPolygon(polygons[t], zx, zy, s.margin, tmp);
      shift[2 * t] = tmp[0] - zx; shift[2 * t + 1] = tmp[1] - zy;
    }
    if (process.env.REBAL_DEBUG) {
      for (let t = 0; t < T; t += 15) {
        let fe = 0;
        for (let f = 0; f < nF; f++) { cornersWorld(cur.pose, (t * L + feet[f].link) * 12, feet[f].corners, cw); for (let k = 0; k < 12; k++) fe = Math.max(fe, Math.abs(cw[k] - footTargets[(t * nF + f) * 12 + k])); }
        console.log('rb', round, t, 'st', stance[t * nF], stance[t * nF + 1], 'footErr', fe.toFixed(3), 'com', comOut[3 * t].toFixed(3), comOut[3 * t + 1].toFixed(3), 'tgt', target[3 * t].toFixed(3), target[3 * t + 1].toFixed(3), 'zmp', zmp[2 * t].toFixed(3), zmp[2 * t + 1].toFixed(3), 'sh', shift[2 * t].toFixed(3), shift[2 * t + 1].toFixed(3), 'poly', Array.from(polygons[t]).map((v) => v.toFixed(2)).join(','));
      }
    }
    after = worst;
    if (round === s.rounds) break;
    // Next CoM target: where the CoM is now, moved by the shift whose cart-table ZMP supplies the missing part.
    const dx = zmpShift(shift, comOut, T, ref.dt, gravity);
    for (let t = 0; t < T; t++) { target[3 * t] = comOut[3 * t] + dx[2 * t]; target[3 * t + 1] = comOut[3 * t + 1] + dx[2 * t + 1]; }
  }
  const frac = (n: number) => (nSupported ? n / nSupported : 0);
  return { ref: cur, com: comOut, polygons, zmpOutsideBefore: before, zmpOutsideAfter: after, zmpOutsideFractionBefore: frac(nBefore), zmpOutsideFractionAfter: frac(nAfter), comErrorMax: comErrMax };
}

const tmp3 = new Float64Array(3);
/** A ZMP counts as outside the support beyond this (m). */
const OUTSIDE = 0.01;
const cw = new Float64Array(12);

/**
 * ZMP of a motion ([T,2]; NaN where the ground would have to pull) from every body's COM as a point mass:
 * F = sum m (a + g z), N = sum m p x (a + g z) about the world origin, ZMP = (-N_y, N_x) / F_z on the ground.
 * Positions are smoothed (centred moving average of `smoothing` s, twice) before differencing.
 */
export function multibodyZmp(ref: Reference, geom: RobotGeometry, gravity: number, smoothing: number): Float64Array {
  const T = ref.T, L = geom.kin.nLinks, bodies = geom.bodies, nb = bodies.length, dt = ref.dt;
  const p = new Float64Array(T * 3 * nb), tmp = new Float64Array(T * 3 * nb);
  let M = 0;
  for (const b of bodies) M += b.mass;
  for (let t = 0; t < T; t++) for (let i = 0; i < nb; i++) {
    const o = (t * L + bodies[i].top) * 12, P = ref.pose, c = bodies[i].com;
    for (let r = 0; r < 3; r++) p[(t * nb + i) * 3 + r] = P[o + 3 * r] * c[0] + P[o + 3 * r + 1] * c[1] + P[o + 3 * r + 2] * c[2] + P[o + 9 + r];
  }
  const h = Math.max(0, Math.round(smoothing / dt / 2));
  for (let pass = 0; pass < 2 && h > 0; pass++) {
    for (let t = 0; t < T; t++) {
      const a = Math.max(0, t - h), b = Math.min(T - 1, t + h);
      for (let k = 0; k < 3 * nb; k++) {
        let sum = 0;
        for (let u = a; u <= b; u++) sum += p[u * 3 * nb + k];
        tmp[t * 3 * nb + k] = sum / (b - a + 1);
      }
    }
    p.set(tmp);
  }
  const out = new Float64Array(2 * T);
  for (let t = 0; t < T; t++) {
    const t0 = Math.max(1, Math.min(T - 2, t));
    let Fz = 0, Nx = 0, Ny = 0;
    for (let i = 0; i < nb; i++) {
      const m = bodies[i].mass, o = (t * nb + i) * 3, o0 = (t0 * nb + i) * 3, s = 3 * nb;
      const ax = T >= 3 ? (p[o0 + s] - 2 * p[o0] + p[o0 - s]) / (dt * dt) : 0;
      const ay = T >= 3 ? (p[o0 + s + 1] - 2 * p[o0 + 1] + p[o0 - s + 1]) / (dt * dt) : 0;
      const az = (T >= 3 ? (p[o0 + s + 2] - 2 * p[o0 + 2] + p[o0 - s + 2]) / (dt * dt) : 0) + gravity;
      const x = p[o], y = p[o + 1], z = p[o + 2];
      Fz += m * az;
      Nx += m * (y * az - z * ay);
      Ny += m * (z * ax - x * az);
    }
    if (Fz > 0.1 * M * gravity) { out[2 * t] = -Ny / Fz; out[2 * t + 1] = Nx / Fz; } else { out[2 * t] = NaN; out[2 * t + 1] = NaN; }
  }
  return out;
}

/**
 * Cubic Hermite between knots (t1, p1) and (t2, p2) at fraction u, with finite-difference tangents in time units
 * (p2 - p0) / (t2 - t0) and (p3 - p1) / (t3 - t1): the curve's velocity is continuous across knots however unevenly
 * they are spaced (a uniform Catmull-Rom on uneven knots jumps in velocity where a short segment meets a long one).
 */
export function spline(p0: number, p1: number, p2: number, p3: number, t0: number, t1: number, t2: number, t3: number, u: number): number {
  const h = t2 - t1;
  const m1 = t2 > t0 ? (p2 - p0) / (t2 - t0) : 0, m2 = t3 > t1 ? (p3 - p1) / (t3 - t1) : 0;
  const u2 = u * u, u3 = u2 * u;
  return (2 * u3 - 3 * u2 + 1) * p1 + (u3 - 2 * u2 + u) * h * m1 + (-2 * u3 + 3 * u2) * p2 + (u3 - u2) * h * m2;
}

function setPose(kin: RobotGeometry['kin'], ref: Reference, t: number): RobotGeometry['kin'] {
  kin.pose.set(ref.pose.subarray(t * kin.nLinks * 12, (t + 1) * kin.nLinks * 12));
  return kin;
}

/**
 * The reference low-passed (zero-phase Gaussian, `sigma` seconds) in its joints and root pose: a jump the kinematic
 * retarget makes in a frame or two (tens of m/s^2 that no robot can follow) is spread over the filter's width before
 * the reference is balanced. The balancing IK puts the feet and the CoM back where they belong.
 */
export function smoothReference(ref: Reference, kin: RobotGeometry['kin'], sigma: number): Reference {
  const sf = sigma / ref.dt;
  if (!(sf > 0.3)) return ref;
  const nq = kin.nq, T = ref.T;
  const q = gaussianSmooth(ref.q, T, nq, sf), rootPos = gaussianSmooth(ref.rootPos, T, 3, sf);
  // Quaternions: one hemisphere before averaging, normalised after.
  const rq = new Float64Array(ref.rootQuat);
  for (let t = 1; t < T; t++) {
    let d = 0;
    for (let c = 0; c < 4; c++) d += rq[4 * t + c] * rq[4 * t - 4 + c];
    if (d < 0) for (let c = 0; c < 4; c++) rq[4 * t + c] = -rq[4 * t + c];
  }
  const rootQuat = gaussianSmooth(rq, T, 4, sf);
  for (let t = 0; t < T; t++) {
    const n = Math.hypot(rootQuat[4 * t], rootQuat[4 * t + 1], rootQuat[4 * t + 2], rootQuat[4 * t + 3]);
    for (let c = 0; c < 4; c++) rootQuat[4 * t + c] /= n;
  }
  return buildReference(asMotion(q, rootPos, rootQuat, T, ref.dt, kin), kin);
}

function asMotion(q: Float64Array, rootPos: Float64Array, rootQuat: Float64Array, T: number, dt: number, kin: RobotGeometry['kin']): RobotMotion {
  const timestamps = new Float64Array(T);
  for (let t = 0; t < T; t++) timestamps[t] = t * dt;
  return {
    robot: { name: kin.robot.name, urdf_sha256: '' }, rootLink: kin.robot.rootLink, fps: 1 / dt, jointNames: kin.dofNames, timestamps,
    q: Float32Array.from(q), rootPos: Float32Array.from(rootPos), rootQuat: Float32Array.from(rootQuat),
  };
}
