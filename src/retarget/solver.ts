/**
 * Inverse kinematics built from small objective objects (mink style): Tasks (weighted least-squares terms)
 * and Limits (hard linear inequalities on the step). Each iteration linearises every task at the current
 * state, accumulates the weighted normal equations H dx = g over the state's variables — for the body
 * dx = [base linear (world), base angular (world), dq]; for a hand (a state over a subset of the dofs, no
 * base) dx = dq of those dofs — and solves them with joint position and velocity limits as a box on dx
 * (solveBoxed) and the Limits' rows A dx <= b (see limitStep), so the result never leaves the box. Everything is
 * preallocated: a frame allocates nothing. The body tasks are in tasks/, one per file; the hand's in
 * hand/objectives.ts and tasks/vector.ts.
 */
import type { Kinematics } from '../robot/kinematics.ts';
import { cholesky, choleskySolve, solveBoxed } from '../math/linalg.ts';

/** The state the tasks read and the normal equations they add to. */
export class IkState {
  readonly kin: Kinematics;
  readonly nq: number;
  /** Number of variables: nb base columns, then one per solved dof (`vars`). */
  readonly nv: number;
  /** Base columns: 6 (floating base, the body) or 0 (a state over a subset of the dofs, e.g. a hand). */
  readonly nb: number;
  /** Kinematics dof of each joint variable (variable nb + k is dof vars[k]); all dofs in order for the body. */
  readonly vars: Int32Array;
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
  private readonly basePose = { pos: null as unknown as Float64Array, quat: null as unknown as Float64Array };

  /**
   * The body's state: floating base and every dof. With `dofs`, a state over those dofs only (no base
   * columns; the other dofs and the base stay as set): the body tasks assume the full layout, a hand's
   * tasks this one.
   */
  constructor(kin: Kinematics, dofs?: ArrayLike<number>) {
    this.kin = kin;
    this.nq = kin.nq;
    this.nb = dofs ? 0 : 6;
    this.vars = dofs ? Int32Array.from(dofs) : Int32Array.from({ length: kin.nq }, (_, i) => i);
    this.nv = this.nb + this.vars.length;
    this.q = new Float64Array(kin.nq);
    this.H = new Float64Array(this.nv * this.nv);
    this.g = new Float64Array(this.nv);
    this.J = new Float64Array(6 * this.nv);
    this.J2 = new Float64Array(6 * this.nv);
    this.cols = [];
    const col = new Int32Array(kin.nq).fill(-1);
    this.vars.forEach((d, k) => { col[d] = this.nb + k; });
    for (let l = 0; l < kin.nLinks; l++) {
      const c = new Set<number>(this.nb ? [0, 1, 2, 3, 4, 5] : []);
      for (let k = l; k >= 0; k = kin.linkParent[k]) if (kin.linkDof(k) >= 0 && col[kin.linkDof(k)] >= 0) c.add(col[kin.linkDof(k)]);
      this.cols.push(Int32Array.from([...c].sort((a, b) => a - b)));
    }
    this.basePose.pos = this.basePos;
    this.basePose.quat = this.baseQuat;
  }

  /** Forward kinematics at the state (a subclass may also compute what its tasks share; `linearize`: Jacobians too). */
  fk(linearize = true): void {
    void linearize;
    this.kin.fk(this.q, this.basePose);
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

/**
 * A hard limit on the step (mink's Limit): rows A dx <= b linearised at the current state, written into
 * A (row-major, nv columns per row) and b from row r0; returns the number of rows (at most `max`).
 */
export interface Limit {
  name: string;
  /** How far (row units) a step may pass a row that holds at its start (the linearisation's tolerance; default 0). */
  slack?: number;
  /** How far past the limit the state is (after fk; 0 when within): a step that lowers it is taken even if the tasks' cost rises. */
  violation(s: IkState): number;
  rows(s: IkState, A: Float64Array, b: Float64Array, r0: number, max: number): number;
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
  /**
   * Stop when an accepted step lowers the cost by less than this fraction, or a rejected one would have
   * raised it by less (a flat valley). Default 0: only `tol` and `maxIters` stop.
   */
  relTol?: number;
}

/** Most limit rows one solve step takes (the nearest ones are the limit's to choose). */
const MAX_LIMIT_ROWS = 32;

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

  readonly limits: Limit[];
  private readonly A: Float64Array;
  private readonly b: Float64Array;
  private readonly lam: Float64Array;
  private readonly hinvA: Float64Array;
  private readonly gl: Float64Array;
  private readonly S: Float64Array;
  private readonly slack: Float64Array;

  /** `state`: a state over a subset of the dofs (e.g. a hand's); default the body's (floating base, all dofs). */
  constructor(kin: Kinematics, tasks: Task[], opts: { state?: IkState; limits?: Limit[] } = {}) {
    this.s = opts.state ?? new IkState(kin);
    this.tasks = tasks;
    this.limits = opts.limits ?? [];
    const nv = this.s.nv;
    const nl = this.limits.length ? MAX_LIMIT_ROWS : 0;
    this.A = new Float64Array(nl * nv);
    this.b = new Float64Array(nl);
    this.lam = new Float64Array(nl);
    this.hinvA = new Float64Array(nl * nv);
    this.gl = new Float64Array(nl);
    this.S = new Float64Array(nl * nl);
    this.slack = new Float64Array(nl);
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
    s.fk(linearize);
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
    const relTol = o.relTol ?? 0;
    let flat = false;
    for (; it < o.maxIters; it++) {
      cost = this.cost(true);
      this.Hs.set(H);
      let maxStep = 0;
      let accepted = false;
      let nl = 0;
      for (let k = 0; k < this.limits.length; k++) {
        const n = this.limits[k].rows(s, this.A, this.b, nl, MAX_LIMIT_ROWS - nl);
        this.slack.fill(this.limits[k].slack ?? 0, nl, nl + n);
        nl += n;
      }
      // Past a limit (a row with b < 0): a step that lowers the violation is taken even if the tasks' cost rises.
      let v0 = 0;
      for (let r = 0; r < nl; r++) if (this.b[r] < 0) { v0 = 0; for (let k = 0; k < this.limits.length; k++) v0 = Math.max(v0, this.limits[k].violation(s)); break; }
      for (let tries = 0; tries < 5; tries++) {
        H.set(this.Hs);
        for (let i = 0; i < nv; i++) H[i * nv + i] += lambda * (1 + this.Hs[i * nv + i]);
        this.bounds(nq);
        solveBoxed(H, s.g, this.dlo, this.dhi, nv, dx, this.work, this.tmp, this.pinned);
        if (nl) this.limitStep(nl);
        maxStep = 0;
        for (let i = 0; i < nv; i++) maxStep = Math.max(maxStep, Math.abs(dx[i]));
        this.save();
        this.apply(dx);
        // Small steps are taken without the check (the linearisation holds there); large ones must lower the cost.
        if (maxStep < (o.trustStep ?? 0)) { accepted = true; lambda = Math.max(o.lambda, lambda / 4); break; }
        const c1 = this.cost(false);
        let restoring = false;
        if (v0 > 0) {
          let v1 = 0;
          for (let k = 0; k < this.limits.length; k++) v1 = Math.max(v1, this.limits[k].violation(s));
          restoring = v1 < v0;
        }
        if (c1 <= cost || restoring) {
          accepted = true;
          if (!restoring && cost - c1 < relTol * cost) flat = true;
          cost = c1; lambda = Math.max(o.lambda, lambda / 4); break;
        }
        this.restore();
        if (c1 - cost < relTol * cost) { flat = true; break; }
        lambda *= 10;
      }
      if (!accepted || maxStep < o.tol || flat) { it++; break; }
    }
    this.lastIters = it;
    this.lastCost = cost;
    return cost;
  }

  /**
   * Make the boxed step dx (solveBoxed's, in this.dx; H damped, in s.H) respect the limit rows A dx <= b:
   * their multipliers lam >= 0 by projected Gauss-Seidel on the rows' dual, S lam = A dx - b with
   * S = A H^-1 A^T (dx - H^-1 A^T lam is the step with the rows' reactions; the box is not re-solved),
   * the result clamped into the box, then scaled back so that every row that holds at dx = 0 (b >= 0)
   * holds to within its limit's slack (the box contains 0, so the scaled step stays in it). Rows with b < 0 (already past
   * the limit) get as much as the box allows.
   */
  private limitStep(nl: number): void {
    const s = this.s, nv = s.nv, H = s.H, A = this.A, b = this.b, lam = this.lam, HA = this.hinvA, dx = this.dx;
    // Any violated row? Most steps have none.
    let worst = 0;
    for (let r = 0; r < nl; r++) {
      let ad = 0;
      for (let i = 0; i < nv; i++) ad += A[r * nv + i] * dx[i];
      this.gl[r] = ad - b[r];
      worst = Math.max(worst, ad - b[r]);
    }
    if (worst <= 1e-9) return;
    // H^-1 a per row (damped H), and S = A H^-1 A^T.
    this.work.set(H);
    if (!cholesky(this.work, nv)) return;
    for (let r = 0; r < nl; r++) {
      for (let i = 0; i < nv; i++) this.tmp[i] = A[r * nv + i];
      choleskySolve(this.work, nv, this.tmp);
      for (let i = 0; i < nv; i++) HA[r * nv + i] = this.tmp[i];
    }
    const S = this.S, viol = this.gl;
    for (let r = 0; r < nl; r++) for (let q = 0; q <= r; q++) {
      let v = 0;
      for (let i = 0; i < nv; i++) v += A[r * nv + i] * HA[q * nv + i];
      S[r * MAX_LIMIT_ROWS + q] = S[q * MAX_LIMIT_ROWS + r] = v;
    }
    lam.fill(0, 0, nl);
    for (let sweep = 0; sweep < 50; sweep++) {
      let moved = 0;
      for (let r = 0; r < nl; r++) {
        const srr = S[r * MAX_LIMIT_ROWS + r];
        if (!(srr > 1e-15)) continue;
        // Row r's residual at the current multipliers.
        let res = viol[r];
        for (let q = 0; q < nl; q++) res -= S[r * MAX_LIMIT_ROWS + q] * lam[q];
        const l1 = Math.max(0, lam[r] + res / srr);
        moved = Math.max(moved, Math.abs(l1 - lam[r]) * srr);
        lam[r] = l1;
      }
      if (moved < 1e-9) break;
    }
    for (let r = 0; r < nl; r++) if (lam[r]) for (let i = 0; i < nv; i++) dx[i] -= lam[r] * HA[r * nv + i];
    for (let i = 0; i < nv; i++) dx[i] = Math.min(this.dhi[i], Math.max(this.dlo[i], dx[i]));
    // Scale back onto the rows that hold at 0 (within their slack).
    let alpha = 1;
    for (let r = 0; r < nl; r++) {
      if (b[r] < 0) continue;
      let ad = 0;
      for (let i = 0; i < nv; i++) ad += A[r * nv + i] * dx[i];
      const lim = b[r] + this.slack[r];
      if (ad > lim) alpha = Math.min(alpha, lim / ad);
    }
    if (alpha < 1) for (let i = 0; i < nv; i++) dx[i] *= alpha;
  }

  private bounds(nq: number): void {
    const s = this.s;
    void nq;
    if (s.nb === 0) {
      // A state over a subset of the dofs: no base.
    } else if (this.baseDt > 0) {
      const v = this.baseSpeed * this.baseDt, w = this.baseAngularSpeed * this.baseDt;
      for (let i = 0; i < 3; i++) {
        this.dlo[i] = Math.min(0, this.basePrev[i] - v - s.basePos[i]);
        this.dhi[i] = Math.max(0, this.basePrev[i] + v - s.basePos[i]);
        this.dlo[3 + i] = -w; this.dhi[3 + i] = w;
      }
    } else {
      for (let i = 0; i < 6; i++) { this.dlo[i] = -0.5; this.dhi[i] = 0.5; }
    }
    const nb = s.nb, vars = s.vars;
    for (let k = 0; k < vars.length; k++) {
      // Keep q inside its box even if it starts outside (first frame).
      const i = vars[k], c = nb + k;
      this.dlo[c] = this.lo[i] - s.q[i];
      this.dhi[c] = this.hi[i] - s.q[i];
      if (this.dlo[c] > this.dhi[c]) this.dlo[c] = this.dhi[c];
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
    if (s.nb === 0) {
      const vars = s.vars;
      for (let k = 0; k < vars.length; k++) { const i = vars[k]; s.q[i] = Math.min(this.hi[i], Math.max(this.lo[i], s.q[i] + dx[k])); }
      return;
    }
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
