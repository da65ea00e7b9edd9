/**
 * Whole-body inverse kinematics with a floating base, built from small objective objects (mink style) and
 * hard box limits. Each iteration linearises every task at the current state, accumulates the weighted
 * normal equations H dx = g over dx = [base linear (world), base angular (world), dq], and solves them with
 * joint position and velocity limits as a box on dq (solveBoxed), so the result never leaves the box.
 * Everything is preallocated: a frame allocates nothing. The tasks are in tasks/, one per file.
 */
import type { Kinematics } from '../robot/kinematics.ts';
import { solveBoxed } from '../math/linalg.ts';

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

export { PositionTask } from './tasks/position.ts';
export { DirectionTask } from './tasks/direction.ts';
export { PostureTask } from './tasks/posture.ts';
export { DampingTask } from './tasks/damping.ts';
export { SelfCollisionTask } from './tasks/self-collision.ts';
export { GroundTask } from './tasks/ground.ts';


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
