/**
 * Whole-body inverse kinematics with a floating base, built from small objective objects (mink style) and
 * hard box limits. Each iteration linearises every task at the current state, accumulates the weighted
 * normal equations H dx = g over dx = [base linear (world), base angular (world), dq], and solves them with
 * joint position and velocity limits as a box on dq (solveBoxed), so the result never leaves the box.
 * Everything is preallocated: a frame allocates nothing.
 */
import type { Kinematics } from '../robot/kinematics.ts';
import { solveBoxed } from '../math/linalg.ts';
import { capsuleDistanceInto, type ProxySet } from './proxies.ts';

/** The state the tasks read and the normal equations they add to. */
export class IkState {
  readonly kin: Kinematics;
  readonly nq: number;
  readonly nv: number;
  readonly q: Float64Array;
  readonly basePos = new Float64Array(3);
  /** w, x, y, z */
  readonly baseQuat = new Float64Array([1, 0, 0, 0]);
  readonly H: Float64Array;
  readonly g: Float64Array;
  /** Scratch Jacobians (6 x nv). */
  readonly J: Float64Array;
  readonly J2: Float64Array;
  /** Non-zero Jacobian columns per link: the 6 base columns and the dofs of its ancestors. */
  readonly cols: Int32Array[];
  /** When set, tasks only add up their cost (no Jacobians, no normal equations). */
  costOnly = false;
  private readonly base = { pos: null as unknown as Float64Array, quat: null as unknown as Float64Array };

  constructor(kin: Kinematics) {
    this.kin = kin;
    this.nq = kin.nq;
    this.nv = kin.nq + 6;
    this.q = new Float64Array(kin.nq);
    this.H = new Float64Array(this.nv * this.nv);
    this.g = new Float64Array(this.nv);
    this.J = new Float64Array(6 * this.nv);
    this.J2 = new Float64Array(6 * this.nv);
    this.cols = [];
    for (let l = 0; l < kin.nLinks; l++) {
      const c = new Set<number>([0, 1, 2, 3, 4, 5]);
      for (let k = l; k >= 0; k = kin.linkParent[k]) if (kin.linkDof(k) >= 0) c.add(6 + kin.linkDof(k));
      this.cols.push(Int32Array.from([...c].sort((a, b) => a - b)));
    }
    this.base.pos = this.basePos;
    this.base.quat = this.baseQuat;
  }

  fk(): void {
    this.kin.fk(this.q, this.base);
  }

  /** Add rows r0..r0+nr of Jacobian J (only columns `cols` non-zero) with residuals res and weight w. Returns w*|res|^2. */
  addRows(J: Float64Array, r0: number, nr: number, res: ArrayLike<number>, w: number, cols: Int32Array, ncols = cols.length): number {
    const nv = this.nv, H = this.H, g = this.g, nc = ncols;
    let cost = 0;
    for (let r = 0; r < nr; r++) {
      const row = (r0 + r) * nv;
      const e = res[r];
      cost += w * e * e;
      for (let a = 0; a < nc; a++) {
        const ca = cols[a];
        const ja = J[row + ca] * w;
        if (ja === 0) continue;
        g[ca] -= ja * e;
        const hr = ca * nv;
        for (let b = 0; b < nc; b++) H[hr + cols[b]] += ja * J[row + cols[b]];
      }
    }
    return cost;
  }
}

export interface Task {
  name: string;
  /** Add this task's terms at the current state (after fk). Returns its cost. */
  accumulate(s: IkState): number;
}

const res3 = new Float64Array(3);

/** Keep a point of a link at a world target. */
export class PositionTask implements Task {
  readonly target = new Float64Array(3);
  readonly local: Float64Array;
  weight: number;
  constructor(readonly name: string, readonly link: number, local: ArrayLike<number>, weight: number) {
    this.local = Float64Array.from(local);
    this.weight = weight;
  }
  error(s: IkState, out: Float64Array): number {
    s.kin.pointWorld(this.link, this.local, out);
    out[0] -= this.target[0]; out[1] -= this.target[1]; out[2] -= this.target[2];
    return Math.sqrt(out[0] * out[0] + out[1] * out[1] + out[2] * out[2]);
  }
  accumulate(s: IkState): number {
    if (this.weight <= 0) return 0;
    this.error(s, res3);
    if (s.costOnly) return this.weight * (res3[0] * res3[0] + res3[1] * res3[1] + res3[2] * res3[2]);
    s.kin.jacobian(this.link, this.local, s.J, true);
    return s.addRows(s.J, 0, 3, res3, this.weight, s.cols[this.link]);
  }
}

/**
 * Align a direction fixed in a link with a world direction (unit vectors). With `heading`, only the
 * direction's bearing about the world z axis is matched (one row: the z component of v x target), so a
 * pitched foot can still follow a horizontal heading.
 */
export class DirectionTask implements Task {
  readonly target = new Float64Array(3);
  readonly local: Float64Array;
  weight: number;
  heading = false;
  private readonly row = new Float64Array(1);
  constructor(readonly name: string, readonly link: number, local: ArrayLike<number>, weight: number) {
    const n = Math.hypot(local[0], local[1], local[2]);
    this.local = Float64Array.from([local[0] / n, local[1] / n, local[2] / n]);
    this.weight = weight;
  }
  accumulate(s: IkState): number {
    if (this.weight <= 0) return 0;
    const P = s.kin.pose, o = 12 * this.link, d = this.local, u = this.target;
    const vx = P[o] * d[0] + P[o + 1] * d[1] + P[o + 2] * d[2];
    const vy = P[o + 3] * d[0] + P[o + 4] * d[1] + P[o + 5] * d[2];
    const vz = P[o + 6] * d[0] + P[o + 7] * d[1] + P[o + 8] * d[2];
    if (s.costOnly) {
      if (this.heading) { const r = vx * u[1] - vy * u[0]; return this.weight * r * r; }
      return this.weight * ((vx - u[0]) ** 2 + (vy - u[1]) ** 2 + (vz - u[2]) ** 2);
    }
    const J = s.kin.jacobian(this.link, null, s.J, true);
    const nv = s.nv;
    const cols = s.cols[this.link];
    if (this.heading) {
      // r = (v x u).z, dv = w x v.
      this.row[0] = vx * u[1] - vy * u[0];
      for (let k = 0; k < cols.length; k++) {
        const c = cols[k];
        const wx = J[3 * nv + c], wy = J[4 * nv + c], wz = J[5 * nv + c];
        const dvx = wy * vz - wz * vy, dvy = wz * vx - wx * vz;
        J[c] = dvx * u[1] - dvy * u[0];
      }
      return s.addRows(J, 0, 1, this.row, this.weight, cols);
    }
    res3[0] = vx - u[0]; res3[1] = vy - u[1]; res3[2] = vz - u[2];
    // dv = w x v: rows 0..2 of J become the direction's Jacobian.
    for (let k = 0; k < cols.length; k++) {
      const c = cols[k];
      const wx = J[3 * nv + c], wy = J[4 * nv + c], wz = J[5 * nv + c];
      J[c] = wy * vz - wz * vy;
      J[nv + c] = wz * vx - wx * vz;
      J[2 * nv + c] = wx * vy - wy * vx;
    }
    return s.addRows(J, 0, 3, res3, this.weight, cols);
  }
}

/** Pull joints towards a reference configuration (per-dof weights). */
export class PostureTask implements Task {
  readonly name = 'posture';
  readonly ref: Float64Array;
  readonly weights: Float64Array;
  constructor(ref: ArrayLike<number>, weights: ArrayLike<number>) {
    this.ref = Float64Array.from(ref);
    this.weights = Float64Array.from(weights);
  }
  accumulate(s: IkState): number {
    let cost = 0;
    const nv = s.nv;
    for (let i = 0; i < s.nq; i++) {
      const w = this.weights[i];
      if (w <= 0) continue;
      const e = s.q[i] - this.ref[i];
      cost += w * e * e;
      if (s.costOnly) continue;
      s.H[(6 + i) * nv + 6 + i] += w;
      s.g[6 + i] -= w * e;
    }
    return cost;
  }
}

/**
 * Temporal smoothness: stay close to the previous frame (weight) and to the constant-velocity prediction
 * 2 q[t-1] - q[t-2] (accelWeight: an acceleration penalty); the base position likewise.
 */
export class DampingTask implements Task {
  readonly name = 'damping';
  readonly qPrev: Float64Array;
  readonly qPrev2: Float64Array;
  readonly basePrev = new Float64Array(3);
  readonly basePrev2 = new Float64Array(3);
  /** 0: off, 1: previous frame only, 2: previous two frames. */
  history = 0;
  constructor(nq: number, public weight: number, public baseWeight: number, public accelWeight = 0) {
    this.qPrev = new Float64Array(nq);
    this.qPrev2 = new Float64Array(nq);
  }
  /** Shift the history: the state just solved becomes the previous frame. */
  push(q: Float64Array, basePos: Float64Array): void {
    this.qPrev2.set(this.qPrev);
    this.basePrev2.set(this.basePrev);
    this.qPrev.set(q);
    this.basePrev.set(basePos);
    this.history = Math.min(2, this.history + 1);
  }
  accumulate(s: IkState): number {
    if (!this.history) return 0;
    let cost = 0;
    const nv = s.nv;
    const wa = this.history >= 2 ? this.accelWeight : 0;
    for (let i = 0; i < s.nq; i++) {
      const e = s.q[i] - this.qPrev[i];
      const a = wa ? s.q[i] - 2 * this.qPrev[i] + this.qPrev2[i] : 0;
      cost += this.weight * e * e + wa * a * a;
      if (s.costOnly) continue;
      s.H[(6 + i) * nv + 6 + i] += this.weight + wa;
      s.g[6 + i] -= this.weight * e + wa * a;
    }
    for (let k = 0; k < 3; k++) {
      const e = s.basePos[k] - this.basePrev[k];
      const a = wa ? s.basePos[k] - 2 * this.basePrev[k] + this.basePrev2[k] : 0;
      const wb = this.baseWeight, wab = wa ? this.baseWeight * (this.accelWeight / Math.max(this.weight, 1e-12)) : 0;
      cost += wb * e * e + wab * a * a;
      if (s.costOnly) continue;
      s.H[k * nv + k] += wb + wab;
      s.g[k] -= wb * e + wab * a;
    }
    return cost;
  }
}

/** Keep capsule pairs at least `margin` apart (one-sided: inactive beyond `activation`). */
export class SelfCollisionTask implements Task {
  readonly name = 'self-collision';
  private readonly pts = new Float64Array(7);
  private readonly loc = new Float64Array(3);
  private readonly row = new Float64Array(1);
  private readonly merged: Int32Array;
  /**
   * Links whose own joints should not react to a contact with a non-passive link (per link index, 1 =
   * passive): e.g. the legs, so an arm brushing a thigh moves the arm, not the stance leg.
   */
  passive: Uint8Array | null = null;
  /** Pairs near enough to matter this frame (broad phase, see beginFrame). */
  private readonly near: Int32Array;
  private nNear = -1;
  constructor(readonly proxies: ProxySet, public weight: number, public margin = 0.01, public activation = 0.03, nv = 0) {
    this.merged = new Int32Array(Math.max(nv, 6));
    this.near = new Int32Array(proxies.pairs.length);
  }
  /**
   * Broad phase once per frame: keep the pairs within activation + slack at the frame's start pose. Joint
   * velocity limits bound how far links travel within a frame, so `slack` covers the frame's motion.
   */
  beginFrame(P: Float64Array, slack = 0.1): void {
    const caps = this.proxies.capsules, pairs = this.proxies.pairs;
    let n = 0;
    for (let k = 0; k < pairs.length; k += 2) {
      capsuleDistanceInto(P, caps[pairs[k]], caps[pairs[k + 1]], this.pts);
      if (this.pts[6] < this.activation + slack) { this.near[n++] = pairs[k]; this.near[n++] = pairs[k + 1]; }
    }
    this.nNear = n;
  }
  /** Check every pair again from now on (e.g. after a large jump of the state). */
  resetBroadPhase(): void {
    this.nNear = -1;
  }
  accumulate(s: IkState): number {
    const P = s.kin.pose, caps = this.proxies.capsules;
    const pairs = this.nNear >= 0 ? this.near : this.proxies.pairs;
    const np = this.nNear >= 0 ? this.nNear : pairs.length;
    let cost = 0;
    for (let k = 0; k < np; k += 2) {
      const A = caps[pairs[k]], B = caps[pairs[k + 1]];
      capsuleDistanceInto(P, A, B, this.pts);
      const d = this.pts[6];
      if (d >= this.activation) continue;
      if (s.costOnly) { const r = d - this.activation; cost += (d < this.margin ? this.weight * 10 : this.weight) * r * r; continue; }
      const pts = this.pts;
      let nx = pts[0] - pts[3], ny = pts[1] - pts[4], nz = pts[2] - pts[5];
      const nn = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (nn < 1e-9) continue;
      nx /= nn; ny /= nn; nz /= nn;
      // d(distance) = n . (J_a - J_b) dx
      this.toLocal(P, A.link, pts, 0);
      s.kin.jacobian(A.link, this.loc, s.J, true);
      this.toLocal(P, B.link, pts, 3);
      s.kin.jacobian(B.link, this.loc, s.J2, true);
      const nv = s.nv, J = s.J, J2 = s.J2;
      // Row 0 of J := n^T (Ja - Jb), over the union of both links' columns.
      const ca = s.cols[A.link], cb = s.cols[B.link];
      if (this.passive) {
        const pa = this.passive[A.link], pb = this.passive[B.link];
        if (pa && !pb) for (let k = 6; k < ca.length; k++) { const c = ca[k]; if (cb.indexOf(c) < 0) J[c] = J[nv + c] = J[2 * nv + c] = 0; }
        if (pb && !pa) for (let k = 6; k < cb.length; k++) { const c = cb[k]; if (ca.indexOf(c) < 0) J2[c] = J2[nv + c] = J2[2 * nv + c] = 0; }
      }
      let m = 0;
      const merged = this.merged;
      for (let i = 0, j = 0; i < ca.length || j < cb.length;) {
        if (j >= cb.length || (i < ca.length && ca[i] < cb[j])) merged[m++] = ca[i++];
        else if (i >= ca.length || cb[j] < ca[i]) merged[m++] = cb[j++];
        else { merged[m++] = ca[i++]; j++; }
      }
      for (let i = 0; i < m; i++) {
        const c = merged[i];
        J[c] = nx * (J[c] - J2[c]) + ny * (J[nv + c] - J2[nv + c]) + nz * (J[2 * nv + c] - J2[2 * nv + c]);
      }
      // Target: distance >= margin + a little; residual is (d - activation) scaled towards the margin.
      this.row[0] = d - this.activation;
      const w = d < this.margin ? this.weight * 10 : this.weight;
      cost += s.addRows(J, 0, 1, this.row, w, merged, m);
    }
    return cost;
  }
  /** Deepest penetration among the pairs at the current poses (0 when clear). */
  deepest(P: Float64Array): number {
    const caps = this.proxies.capsules, pairs = this.proxies.pairs;
    let worst = 0;
    for (let k = 0; k < pairs.length; k += 2) {
      capsuleDistanceInto(P, caps[pairs[k]], caps[pairs[k + 1]], this.pts);
      if (this.pts[6] < worst) worst = this.pts[6];
    }
    return -worst;
  }
  private toLocal(P: Float64Array, link: number, pts: Float64Array, off: number): void {
    const o = 12 * link;
    const dx = pts[off] - P[o + 9], dy = pts[off + 1] - P[o + 10], dz = pts[off + 2] - P[o + 11];
    this.loc[0] = P[o] * dx + P[o + 3] * dy + P[o + 6] * dz;
    this.loc[1] = P[o + 1] * dx + P[o + 4] * dy + P[o + 7] * dz;
    this.loc[2] = P[o + 2] * dx + P[o + 5] * dy + P[o + 8] * dz;
  }
}

/** Points of links stay above the ground plane: z >= clearance per point (one-sided). */
/**
 * A swing foot's landing cone: its sole points keep min(slope * d, cap) above the ground, d being the
 * horizontal distance of the foot's reference point (the ankle) from `anchor` (its nearer stance lock;
 * NaN = no cone), so the foot comes down onto the lock from above instead of sliding into it.
 */
export interface LandingCone { link: number; local: Float64Array; anchor: Float64Array; slope: number; cap: number }

export class GroundTask implements Task {
  readonly name = 'ground';
  private readonly w3 = new Float64Array(3);
  private readonly row = new Float64Array(1);
  constructor(readonly points: { link: number; local: Float64Array; clearance?: number; cone?: LandingCone }[], public weight: number) {}
  accumulate(s: IkState): number {
    let cost = 0;
    let lastCone: LandingCone | undefined, coneC = 0;
    for (const p of this.points) {
      let c = p.clearance ?? 0;
      const cone = p.cone;
      if (cone && !Number.isNaN(cone.anchor[0])) {
        if (cone !== lastCone) {
          s.kin.pointWorld(cone.link, cone.local, this.w3);
          coneC = Math.min(cone.slope * Math.hypot(this.w3[0] - cone.anchor[0], this.w3[1] - cone.anchor[1]), cone.cap);
          lastCone = cone;
        }
        c = Math.max(c, coneC);
      }
      s.kin.pointWorld(p.link, p.local, this.w3);
      const z = this.w3[2];
      if (z >= c) continue;
      if (s.costOnly) { cost += this.weight * (z - c) * (z - c); continue; }
      s.kin.jacobian(p.link, p.local, s.J, true);
      // Use the z row (row 2) as row 0.
      const nv = s.nv, cols = s.cols[p.link];
      for (let k = 0; k < cols.length; k++) s.J[cols[k]] = s.J[2 * nv + cols[k]];
      this.row[0] = z - c;
      cost += s.addRows(s.J, 0, 1, this.row, this.weight, cols);
    }
    return cost;
  }
}

export interface SolveOptions {
  maxIters: number;
  /** Levenberg-Marquardt damping added to the diagonal. */
  lambda: number;
  /** Stop when the step's max-norm falls below this. */
  tol: number;
  /** Steps with a max-norm below this are accepted without re-evaluating the cost (default 0: always check). */
  trustStep?: number;
}

/** Gauss-Newton on the tasks with joint boxes [lo, hi] (absolute joint values). */
export class IkSolver {
  readonly s: IkState;
  readonly tasks: Task[];
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  private readonly dlo: Float64Array;
  private readonly dhi: Float64Array;
  private readonly dx: Float64Array;
  private readonly work: Float64Array;
  private readonly tmp: Float64Array;
  private readonly pinned: Int8Array;
  private readonly Hs: Float64Array;
  private readonly qSave: Float64Array;
  private readonly posSave = new Float64Array(3);
  private readonly quatSave = new Float64Array(4);
  lastCost = 0;
  lastIters = 0;
  /** Base motion bounds for the next solve: position within baseSpeed*dt of basePrev, rotation step per iteration. */
  readonly basePrev = new Float64Array(3);
  baseDt = 0;
  baseSpeed = 6;
  baseAngularSpeed = 20;

  constructor(kin: Kinematics, tasks: Task[]) {
    this.s = new IkState(kin);
    this.tasks = tasks;
    const nv = this.s.nv;
    this.lo = new Float64Array(kin.nq);
    this.hi = new Float64Array(kin.nq);
    this.dlo = new Float64Array(nv);
    this.dhi = new Float64Array(nv);
    this.dx = new Float64Array(nv);
    this.work = new Float64Array(nv * nv);
    this.tmp = new Float64Array(nv);
    this.pinned = new Int8Array(nv);
    this.Hs = new Float64Array(nv * nv);
    this.qSave = new Float64Array(kin.nq);
  }

  /**
   * Joint box for the next solve: position limits; velocity limits around qPrev over dt when given; and,
   * with qPrev2 and accel > 0, an acceleration bound |q - 2 qPrev + qPrev2| <= accel dt^2 (dropped for a
   * joint where it cannot be met inside the other limits).
   */
  setBounds(qPrev: Float64Array | null, dt: number, qPrev2: Float64Array | null = null, accel = 0, eps = 1e-6): void {
    const kin = this.s.kin;
    for (let i = 0; i < kin.nq; i++) {
      let lo = kin.lower[i] + eps, hi = kin.upper[i] - eps;
      if (qPrev && Number.isFinite(kin.velocityLimit[i]) && kin.velocityLimit[i] > 0) {
        const v = kin.velocityLimit[i] * dt * (1 - 1e-3);
        lo = Math.max(lo, qPrev[i] - v);
        hi = Math.min(hi, qPrev[i] + v);
      }
      if (lo > hi) lo = hi = Math.min(kin.upper[i], Math.max(kin.lower[i], qPrev ? qPrev[i] : 0));
      if (qPrev && qPrev2 && accel > 0) {
        const c = 2 * qPrev[i] - qPrev2[i], a = accel * dt * dt;
        const l2 = Math.max(lo, c - a), h2 = Math.min(hi, c + a);
        if (l2 <= h2) { lo = l2; hi = h2; }
        else if (c - a > hi) lo = hi; // closest feasible: decelerate as hard as the box allows
        else hi = lo;
      }
      this.lo[i] = lo;
      this.hi[i] = hi;
    }
  }

  /** Cost of the tasks at the current state (runs fk), and with `linearize` their normal equations. */
  cost(linearize = true): number {
    const s = this.s;
    s.fk();
    s.costOnly = !linearize;
    if (linearize) { s.H.fill(0); s.g.fill(0); }
    let c = 0;
    for (const t of this.tasks) c += t.accumulate(s);
    s.costOnly = false;
    return c;
  }

  /**
   * Levenberg-Marquardt: linearise, solve the boxed normal equations with damping lambda, accept the step
   * only if the cost goes down (else restore, raise lambda and re-solve). Never leaves the joint box.
   */
  solve(o: SolveOptions): number {
    const s = this.s, nv = s.nv, nq = s.nq, H = s.H, dx = this.dx;
    let cost = 0;
    let it = 0;
    let lambda = o.lambda;
    for (; it < o.maxIters; it++) {
      cost = this.cost(true);
      this.Hs.set(H);
      let maxStep = 0;
      let accepted = false;
      for (let tries = 0; tries < 5; tries++) {
        H.set(this.Hs);
        for (let i = 0; i < nv; i++) H[i * nv + i] += lambda * (1 + this.Hs[i * nv + i]);
        this.bounds(nq);
        solveBoxed(H, s.g, this.dlo, this.dhi, nv, dx, this.work, this.tmp, this.pinned);
        maxStep = 0;
        for (let i = 0; i < nv; i++) maxStep = Math.max(maxStep, Math.abs(dx[i]));
        this.save();
        this.apply(dx);
        // Small steps are taken without the check (the linearisation holds there); large ones must lower the cost.
        if (maxStep < (o.trustStep ?? 0)) { accepted = true; lambda = Math.max(o.lambda, lambda / 4); break; }
        const c1 = this.cost(false);
        if (c1 <= cost) { accepted = true; cost = c1; lambda = Math.max(o.lambda, lambda / 4); break; }
        this.restore();
        lambda *= 10;
      }
      if (!accepted || maxStep < o.tol) { it++; break; }
    }
    this.lastIters = it;
    this.lastCost = cost;
    return cost;
  }

  private bounds(nq: number): void {
    const s = this.s;
    if (this.baseDt > 0) {
      const v = this.baseSpeed * this.baseDt, w = this.baseAngularSpeed * this.baseDt;
      for (let i = 0; i < 3; i++) {
        this.dlo[i] = Math.min(0, this.basePrev[i] - v - s.basePos[i]);
        this.dhi[i] = Math.max(0, this.basePrev[i] + v - s.basePos[i]);
        this.dlo[3 + i] = -w; this.dhi[3 + i] = w;
      }
    } else {
      for (let i = 0; i < 6; i++) { this.dlo[i] = -0.5; this.dhi[i] = 0.5; }
    }
    for (let i = 0; i < nq; i++) {
      // Keep q inside its box even if it starts outside (first frame).
      this.dlo[6 + i] = this.lo[i] - s.q[i];
      this.dhi[6 + i] = this.hi[i] - s.q[i];
      if (this.dlo[6 + i] > this.dhi[6 + i]) this.dlo[6 + i] = this.dhi[6 + i];
    }
  }

  private save(): void {
    this.qSave.set(this.s.q); this.posSave.set(this.s.basePos); this.quatSave.set(this.s.baseQuat);
  }

  private restore(): void {
    this.s.q.set(this.qSave); this.s.basePos.set(this.posSave); this.s.baseQuat.set(this.quatSave);
  }

  private apply(dx: Float64Array): void {
    const s = this.s;
    s.basePos[0] += dx[0]; s.basePos[1] += dx[1]; s.basePos[2] += dx[2];
    // q_new = exp(w) * q (w in world).
    const wx = dx[3], wy = dx[4], wz = dx[5];
    const th = Math.sqrt(wx * wx + wy * wy + wz * wz);
    const Q = s.baseQuat;
    if (th > 1e-12) {
      const h = th / 2, sn = Math.sin(h) / th;
      const dw = Math.cos(h), dxq = wx * sn, dyq = wy * sn, dzq = wz * sn;
      const w = Q[0], x = Q[1], y = Q[2], z = Q[3];
      Q[0] = dw * w - dxq * x - dyq * y - dzq * z;
      Q[1] = dw * x + dxq * w + dyq * z - dzq * y;
      Q[2] = dw * y - dxq * z + dyq * w + dzq * x;
      Q[3] = dw * z + dxq * y - dyq * x + dzq * w;
      const n = Math.sqrt(Q[0] * Q[0] + Q[1] * Q[1] + Q[2] * Q[2] + Q[3] * Q[3]);
      Q[0] /= n; Q[1] /= n; Q[2] /= n; Q[3] /= n;
    }
    for (let i = 0; i < s.nq; i++) s.q[i] = Math.min(this.hi[i], Math.max(this.lo[i], s.q[i] + dx[6 + i]));
  }
}
