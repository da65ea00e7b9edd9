/**
 * Whole-body tracking controller on the project's rigid-body dynamics (src/sim/articulated.ts supplies the
 * mass matrix M and the bias forces h of the current state).
 *
 * Per control step it chooses x = [tau (nq joint torques); lambda (weights of friction-pyramid edges at the
 * corners of each stance foot's sole)] that minimise weighted task-acceleration errors, subject to
 * -effort <= tau <= effort and lambda >= 0 (bounds only: solved by the project's box-constrained least squares,
 * src/math/linalg.ts solveBoxed). lambda >= 0 on pyramid edges at the sole corners is the (linearised) friction
 * cone and the centre of pressure inside the foot at once. The generalised accelerations follow from the
 * floating-base equations of motion, linear in x:
 *
 *     qdd = M^-1 (S^T tau + Jc^T E lambda - h) = G x + a0.
 *
 * Tasks (each a small object with one job, composed the way src/retarget/solver.ts composes IK tasks):
 * posture (joint PD on the reference), base orientation, feet (a stance foot holds still; a swing foot follows
 * the reference), hands (follow the reference), centre of mass (follows a feasible reference; its acceleration
 * is the total contact force over the mass, so this task is written directly on lambda). A task writes either a
 * Jacobian on qdd (its rows become J G) or rows directly on x. Nothing is allocated per step.
 */
import type { RobotGeometry } from '../sim/geometry.ts';
import type { Kinematics } from '../robot/kinematics.ts';
import { ArticulatedBody } from '../sim/articulated.ts';
import { rotationError } from '../sim/math.ts';
import { cholesky, choleskySolve, solveBoxed } from '../math/linalg.ts';
import type { PlantState } from './plant.ts';

export interface Pd { kp: number; kd: number; weight: number }

export interface ControllerGains {
  posture: Pd & { feedforward: number };
  base: Pd;
  stanceFoot: Pd;
  swingFoot: Pd;
  hand: Pd;
  comXY: Pd;
  comZ: Pd;
  regTau: number;
  regLambda: number;
  /** Added to the diagonal of the normal equations, relative to it (conditioning). */
  regRelative: number;
  /** Friction coefficient of the pyramid edges the controller plans with (inner approximation of the plant's). */
  mu: number;
  /** A reference-stance foot counts as in contact when its lowest sole corner is below this (m). */
  contactHeight: number;
}

export interface FootSpec {
  /** Kinematics link of the foot body. */
  link: number;
  /** Sole corners in the link frame (4 x 3). */
  corners: Float64Array;
}

/** What the controller should do this step (filled by the stage from the reference). */
export interface ControlTarget {
  qRef: Float64Array; qdRef: Float64Array; qddRef: Float64Array;
  rootQuat: Float64Array; rootAngVel: Float64Array;
  com: Float64Array; comVel: Float64Array; comAcc: Float64Array;
  /** Per foot: 1 when the reference has it on the ground. */
  stance: Uint8Array;
  /** Per foot: link origin position (3), velocity (3), orientation (4). */
  footPos: Float64Array; footVel: Float64Array; footQuat: Float64Array;
  /** Per hand: link origin position (3), velocity (3). */
  handPos: Float64Array; handVel: Float64Array;
}

export function makeControlTarget(nq: number, nFeet: number, nHands: number): ControlTarget {
  const f = (k: number) => new Float64Array(k);
  return {
    qRef: f(nq), qdRef: f(nq), qddRef: f(nq), rootQuat: new Float64Array([1, 0, 0, 0]), rootAngVel: f(3),
    com: f(3), comVel: f(3), comAcc: f(3), stance: new Uint8Array(nFeet),
    footPos: f(3 * nFeet), footVel: f(3 * nFeet), footQuat: f(4 * nFeet), handPos: f(3 * nHands), handVel: f(3 * nHands),
  };
}

/** Shared per-step quantities the tasks read. */
export interface ControlContext {
  kin: Kinematics;
  n: number; nq: number; c0: number; nx: number;
  u: Float64Array;
  state: PlantState;
  target: ControlTarget;
  gains: ControllerGains;
  mass: number; gravity: number;
  com: Float64Array; comVel: Float64Array;
  /** Active contact columns: count, force direction (3 per column). */
  nLam: number;
  lamDir: Float64Array;
  /** Per foot: in contact this step (controller's decision). */
  contact: Uint8Array;
  holdPos: Float64Array; holdQuat: Float64Array;
  scratch6: Float64Array; // 6 x n Jacobian scratch
  err: Float64Array; quat: Float64Array;
}

export interface Task {
  readonly name: string;
  readonly maxRows: number;
  /** true: rows are written on x (A, rows x nx); false: a Jacobian on qdd (J, rows x n). */
  readonly direct: boolean;
  /** Write rows (J or A), desired values b and weights w; return the number of rows (0 = inactive now). */
  update(c: ControlContext, M: Float64Array, b: Float64Array, w: Float64Array): number;
}

export class PostureTask implements Task {
  readonly name = 'posture';
  readonly direct = false;
  readonly maxRows: number;
  constructor(nq: number) { this.maxRows = nq; }
  update(c: ControlContext, J: Float64Array, b: Float64Array, w: Float64Array): number {
    const { n, nq, c0, state, target: t } = c;
    const g = c.gains.posture;
    J.fill(0, 0, nq * n);
    for (let d = 0; d < nq; d++) {
      J[d * n + c0 + d] = 1;
      b[d] = g.feedforward * t.qddRef[d] + g.kp * (t.qRef[d] - state.q[d]) + g.kd * (t.qdRef[d] - state.qd[d]);
      w[d] = g.weight;
    }
    return nq;
  }
}

export class BaseOrientationTask implements Task {
  readonly name = 'base-orientation';
  readonly direct = false;
  readonly maxRows = 3;
  update(c: ControlContext, J: Float64Array, b: Float64Array, w: Float64Array): number {
    const { n, state, target: t } = c;
    const g = c.gains.base;
    J.fill(0, 0, 3 * n);
    rotationError(t.rootQuat, state.rootQuat, c.err);
    for (let k = 0; k < 3; k++) {
      J[k * n + 3 + k] = 1;
      b[k] = g.kp * c.err[k] + g.kd * (t.rootAngVel[k] - state.rootAngVel[k]);
      w[k] = g.weight;
    }
    return 3;
  }
}

/** One foot: held still while in contact, following the reference's foot pose otherwise. */
export class FootTask implements Task {
  readonly name: string;
  readonly direct = false;
  readonly maxRows = 6;
  constructor(readonly foot: number, readonly link: number, name: string) { this.name = name; }
  update(c: ControlContext, J: Float64Array, b: Float64Array, w: Float64Array): number {
    const { n, kin, u, target: t } = c;
    const f = this.foot;
    const stance = c.contact[f] === 1;
    const g = stance ? c.gains.stanceFoot : c.gains.swingFoot;
    kin.jacobian(this.link, null, J, true);
    const P = kin.pose, o = 12 * this.link;
    const tp = stance ? c.holdPos : t.footPos;
    const tq = stance ? c.holdQuat : t.footQuat;
    kin.linkQuat(this.link, c.quat);
    rotationError(tq.subarray(4 * f, 4 * f + 4), c.quat, c.err);
    for (let r = 0; r < 6; r++) {
      let v = 0;
      const jr = r * n;
      for (let i = 0; i < n; i++) v += J[jr + i] * u[i];
      const vRef = stance || r >= 3 ? 0 : t.footVel[3 * f + r];
      const e = r < 3 ? tp[3 * f + r] - P[o + 9 + r] : c.err[r - 3];
      b[r] = g.kp * e + g.kd * (vRef - v);
      w[r] = g.weight;
    }
    return 6;
  }
}

/** One hand (link origin) following the reference position. */
export class HandTask implements Task {
  readonly name: string;
  readonly direct = false;
  readonly maxRows = 3;
  constructor(readonly hand: number, readonly link: number, name: string, private readonly floating: boolean) { this.name = name; }
  update(c: ControlContext, J: Float64Array, b: Float64Array, w: Float64Array): number {
    const { n, kin, u, target: t } = c;
    const g = c.gains.hand;
    kin.jacobian(this.link, null, c.scratch6, this.floating);
    J.set(c.scratch6.subarray(0, 3 * n));
    const o = 12 * this.link;
    for (let r = 0; r < 3; r++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += J[r * n + i] * u[i];
      b[r] = g.kp * (t.handPos[3 * this.hand + r] - kin.pose[o + 9 + r]) + g.kd * (t.handVel[3 * this.hand + r] - v);
      w[r] = g.weight;
    }
    return 3;
  }
}

/** Centre of mass: m cdd = sum of contact forces + m g, a function of lambda alone (rows written on x). */
export class ComTask implements Task {
  readonly name = 'com';
  readonly direct = true;
  readonly maxRows = 3;
  update(c: ControlContext, A: Float64Array, b: Float64Array, w: Float64Array): number {
    if (!c.nLam) return 0;
    const { nx, nq, target: t } = c;
    A.fill(0, 0, 3 * nx);
    for (let r = 0; r < 3; r++) {
      const g = r < 2 ? c.gains.comXY : c.gains.comZ;
      for (let j = 0; j < c.nLam; j++) A[r * nx + nq + j] = c.lamDir[3 * j + r] / c.mass;
      b[r] = t.comAcc[r] + g.kp * (t.com[r] - c.com[r]) + g.kd * (t.comVel[r] - c.comVel[r]) + (r === 2 ? c.gravity : 0);
      w[r] = g.weight;
    }
    return 3;
  }
}

const EDGES = 4;

export class WholeBodyController {
  readonly nq: number;
  readonly n: number;
  readonly c0: number;
  readonly fixedBase: boolean;
  readonly feet: FootSpec[];
  readonly tasks: Task[];
  /** Last solve: joint torques, total contact normal force (N), torques at their limit. */
  readonly tau: Float64Array;
  normalForce = 0;
  /** Print achieved vs desired task values after each solve (diagnostics). */
  debug = false;
  private lastNx = -1;
  readonly qddPred: Float64Array;
  saturated = 0;
  private readonly model: ArticulatedBody;
  private readonly kin: Kinematics;
  private readonly ctx: ControlContext;
  private readonly nxMax: number;
  private readonly G: Float64Array; // n x nxMax
  private readonly a0: Float64Array;
  private readonly L: Float64Array;
  private readonly col: Float64Array;
  private readonly Bc: Float64Array; // contact columns, nLamMax x n
  private readonly H: Float64Array;
  private readonly g: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly x: Float64Array;
  private readonly work: Float64Array;
  private readonly tmp: Float64Array;
  private readonly pinned: Int8Array;
  private readonly TJ: Float64Array; // task rows (J or A)
  private readonly TA: Float64Array; // task rows on x
  private readonly Tb: Float64Array;
  private readonly Tw: Float64Array;
  private readonly Jc: Float64Array; // 6 x n
  private readonly edge: Float64Array;
  private readonly scale: Float64Array;
  private readonly effort: Float64Array;

  constructor(geom: RobotGeometry, o: { fixedBase: boolean; gravity: number; feet: FootSpec[]; hands: { link: number; name: string }[]; footNames: string[]; gains: ControllerGains }) {
    this.kin = geom.kin;
    this.fixedBase = o.fixedBase;
    this.model = new ArticulatedBody(geom, { dt: 0.01, gravity: o.gravity, friction: o.gains.mu, fixedBase: o.fixedBase });
    this.nq = this.model.nq;
    this.n = this.model.n;
    this.c0 = this.model.c0;
    this.feet = o.fixedBase ? [] : o.feet;
    const nF = this.feet.length;
    const nLamMax = nF * 4 * EDGES;
    const nx = this.nq + nLamMax;
    this.nxMax = nx;
    const n = this.n;
    this.G = new Float64Array(n * nx);
    this.a0 = new Float64Array(n);
    this.L = new Float64Array(n * n);
    this.col = new Float64Array(n);
    this.Bc = new Float64Array(Math.max(1, nLamMax) * n);
    this.H = new Float64Array(nx * nx);
    this.g = new Float64Array(nx);
    this.lo = new Float64Array(nx);
    this.hi = new Float64Array(nx);
    this.x = new Float64Array(nx);
    this.work = new Float64Array(nx * nx);
    this.tmp = new Float64Array(nx);
    this.pinned = new Int8Array(nx);
    this.scale = new Float64Array(nx);
    this.effort = new Float64Array(this.nq);
    this.tau = new Float64Array(this.nq);
    this.qddPred = new Float64Array(this.n);
    this.tasks = [new PostureTask(this.nq)];
    if (!o.fixedBase) {
      this.tasks.push(new BaseOrientationTask());
      this.feet.forEach((f, i) => this.tasks.push(new FootTask(i, f.link, `foot:${o.footNames[i]}`)));
      this.tasks.push(new ComTask());
    }
    o.hands.forEach((h, i) => this.tasks.push(new HandTask(i, h.link, `hand:${h.name}`, !o.fixedBase)));
    const maxRows = Math.max(...this.tasks.map((t) => t.maxRows), 6);
    this.TJ = new Float64Array(maxRows * Math.max(n, nx));
    this.TA = new Float64Array(maxRows * nx);
    this.Tb = new Float64Array(maxRows);
    this.Tw = new Float64Array(maxRows);
    this.Jc = new Float64Array(6 * n);
    this.edge = new Float64Array(3 * EDGES);
    const mu = o.gains.mu;
    for (let e = 0; e < EDGES; e++) {
      const a = (e * Math.PI) / 2;
      this.edge[3 * e] = mu * Math.cos(a); this.edge[3 * e + 1] = mu * Math.sin(a); this.edge[3 * e + 2] = 1;
    }
    const mass = geom.bodies.reduce((a, b) => a + b.mass, 0);
    this.ctx = {
      kin: this.kin, n, nq: this.nq, c0: this.c0, nx, u: this.model.u, state: null as unknown as PlantState,
      target: null as unknown as ControlTarget, gains: o.gains, mass, gravity: o.gravity,
      com: new Float64Array(3), comVel: new Float64Array(3), nLam: 0, lamDir: new Float64Array(3 * Math.max(1, nLamMax)),
      contact: new Uint8Array(nF), holdPos: new Float64Array(3 * nF), holdQuat: new Float64Array(4 * nF),
      scratch6: new Float64Array(6 * n), err: new Float64Array(3), quat: new Float64Array(4),
    };
    const eff = this.kin.effortLimit;
    for (let d = 0; d < this.nq; d++) {
      this.effort[d] = Number.isFinite(eff[d]) && eff[d] > 0 ? eff[d] : 1e3;
      this.scale[d] = this.effort[d];
      this.lo[d] = -1; this.hi[d] = 1;
    }
    for (let j = this.nq; j < nx; j++) { this.lo[j] = 0; this.hi[j] = Infinity; }
  }

  /** Total mass of the model (kg). */
  get mass(): number { return this.ctx.mass; }

  /** Whether foot f was treated as in contact in the last step. */
  inContact(f: number): boolean { return this.ctx.contact[f] === 1; }

  /** Compute joint torques for the plant state; returns this.tau. */
  compute(state: PlantState, target: ControlTarget): Float64Array {
    const { model, kin, n, nq, c0, ctx } = this;
    // Model state <- plant state.
    model.q.set(state.q);
    model.basePos.set(state.rootPos); model.baseQuat.set(state.rootQuat);
    if (!this.fixedBase) { model.u.set(state.rootVel, 0); model.u.set(state.rootAngVel, 3); }
    model.u.set(state.qd, c0);
    model.prepare();
    const h = model.bias(null);
    const M = model.massMatrix();
    ctx.state = state; ctx.target = target;
    const P = kin.pose;
    // Centre of mass and its velocity (first rows of M: total linear momentum).
    if (!this.fixedBase) {
      const m = ctx.mass, u = model.u;
      for (let r = 0; r < 3; r++) {
        let p = 0;
        for (let i = 0; i < n; i++) p += M[r * n + i] * u[i];
        ctx.comVel[r] = p / m;
      }
      // M[3..5][0..2] = skew(m (c - o)) about the root origin o: c - o from its entries.
      const o = state.rootPos;
      ctx.com[0] = o[0] + M[5 * n + 1] / m; ctx.com[1] = o[1] + M[3 * n + 2] / m; ctx.com[2] = o[2] - M[3 * n + 1] / m;
    }
    // Contacts: which feet, and their force columns B = Jc^T E.
    let nLam = 0;
    for (let f = 0; f < this.feet.length; f++) {
      const ft = this.feet[f], lo = 12 * ft.link;
      let low = Infinity;
      for (let k = 0; k < 4; k++) {
        const x = ft.corners[3 * k], y = ft.corners[3 * k + 1], z = ft.corners[3 * k + 2];
        low = Math.min(low, P[lo + 6] * x + P[lo + 7] * y + P[lo + 8] * z + P[lo + 11]);
      }
      const contact = target.stance[f] === 1 && low < ctx.gains.contactHeight ? 1 : 0;
      if (contact && !ctx.contact[f]) {
        // Touch-down: hold the foot where it is (on the ground).
        for (let r = 0; r < 3; r++) ctx.holdPos[3 * f + r] = P[lo + 9 + r];
        ctx.holdPos[3 * f + 2] -= Math.max(0, low);
        kin.linkQuat(ft.link, ctx.holdQuat, 4 * f);
      }
      ctx.contact[f] = contact;
      if (!contact) continue;
      for (let k = 0; k < 4; k++) {
        kin.jacobian(ft.link, ft.corners.subarray(3 * k, 3 * k + 3), this.Jc, true);
        for (let e = 0; e < EDGES; e++) {
          const ex = this.edge[3 * e], ey = this.edge[3 * e + 1], ez = this.edge[3 * e + 2];
          const bo = nLam * n;
          for (let i = 0; i < n; i++) this.Bc[bo + i] = this.Jc[i] * ex + this.Jc[n + i] * ey + this.Jc[2 * n + i] * ez;
          ctx.lamDir[3 * nLam] = ex; ctx.lamDir[3 * nLam + 1] = ey; ctx.lamDir[3 * nLam + 2] = ez;
          nLam++;
        }
      }
    }
    ctx.nLam = nLam;
    const nx = nq + nLam;
    ctx.nx = nx;
    // G = M^-1 [S^T, Bc^T], a0 = -M^-1 h.
    const { L, col, G, a0 } = this;
    const ld = this.nxMax;
    L.set(M);
    if (!cholesky(L, n)) throw new Error('whole-body controller: mass matrix is not positive definite');
    for (let j = 0; j < nx; j++) {
      if (j < nq) { col.fill(0); col[c0 + j] = 1; } else col.set(this.Bc.subarray((j - nq) * n, (j - nq + 1) * n));
      choleskySolve(L, n, col);
      for (let i = 0; i < n; i++) G[i * ld + j] = col[i];
    }
    for (let i = 0; i < n; i++) a0[i] = -h[i];
    choleskySolve(L, n, a0);
    // Normal equations.
    const { H, g, TJ, TA, Tb, Tw } = this;
    H.fill(0, 0, nx * nx);
    g.fill(0, 0, nx);
    for (const task of this.tasks) {
      const rows = task.update(ctx, task.direct ? TA : TJ, Tb, Tw);
      if (!rows) continue;
      if (!task.direct) {
        // A = J G, b -= J a0.
        for (let r = 0; r < rows; r++) {
          const jr = r * n, ar = r * nx;
          TA.fill(0, ar, ar + nx);
          let ja = 0;
          for (let i = 0; i < n; i++) {
            const v = TJ[jr + i];
            if (v === 0) continue;
            ja += v * a0[i];
            const gi = i * ld;
            for (let j = 0; j < nx; j++) TA[ar + j] += v * G[gi + j];
          }
          Tb[r] -= ja;
        }
      }
      for (let r = 0; r < rows; r++) {
        const ar = r * nx, w = Tw[r], br = Tb[r];
        for (let j = 0; j < nx; j++) {
          const a = TA[ar + j];
          if (a === 0) continue;
          const wa = w * a;
          g[j] += wa * br;
          const hj = j * nx;
          for (let k = j; k < nx; k++) H[hj + k] += wa * TA[ar + k];
        }
      }
    }
    // Solve in scaled variables y = x / scale (torques in units of their effort, contact weights in units of
    // the weight shared by the corners): the columns of M^-1 differ by orders of magnitude between the trunk
    // and light distal links, and the normal equations would not stay positive definite in double precision.
    const sc = this.scale;
    // Warm start (active set, and the relative regularisation's anchor) from the last step while the contact set is unchanged.
    const warm = nx === this.lastNx;
    this.lastNx = nx;
    const lamScale = (ctx.mass * ctx.gravity) / Math.max(1, nLam / EDGES);
    for (let j = nq; j < nx; j++) sc[j] = lamScale;
    for (let j = 0; j < nx; j++) {
      const sj = sc[j];
      g[j] *= sj;
      for (let k = j; k < nx; k++) H[j * nx + k] *= sj * sc[k];
      // Regularisation: absolute (prefer small torques and forces) and relative to the diagonal (keeps the
      // factorisation well conditioned when some direction is far weaker than the trunk's).
      const rel = H[j * nx + j] * ctx.gains.regRelative;
      H[j * nx + j] += rel + (j < nq ? ctx.gains.regTau : ctx.gains.regLambda);
      if (warm) g[j] += rel * this.x[j] / sj; // the relative term pulls toward the last solution, not toward 0
      for (let k = 0; k < j; k++) H[j * nx + k] = H[k * nx + j];
    }
    solveBoxed(H, g, this.lo, this.hi, nx, this.x, this.work, this.tmp, this.pinned, 16, warm);
    for (let j = 0; j < nx; j++) this.x[j] *= sc[j];
    if (this.debug) {
      // Achieved vs desired task values (diagnostics only).
      const out: string[] = [];
      for (const task of this.tasks) {
        const rows = task.update(ctx, task.direct ? TA : TJ, Tb, Tw);
        let e2 = 0, b2 = 0;
        for (let r = 0; r < rows; r++) {
          let v = 0;
          if (task.direct) for (let j = 0; j < nx; j++) v += TA[r * nx + j] * this.x[j];
          else for (let i = 0; i < n; i++) { let qi = a0[i]; for (let j = 0; j < nx; j++) qi += G[i * ld + j] * this.x[j]; v += TJ[r * n + i] * qi; }
          e2 += (v - Tb[r]) ** 2; b2 += Tb[r] ** 2;
        }
        out.push(`${task.name}:${Math.sqrt(e2).toFixed(1)}/${Math.sqrt(b2).toFixed(1)}`);
      }
      console.log('  tasks', out.join(' '), 'nLam', nLam);
    }
    let sat = 0;
    for (let d = 0; d < nq; d++) {
      const t = this.x[d];
      this.tau[d] = Number.isFinite(t) ? t : 0;
      if (Math.abs(t) >= 0.999 * this.effort[d]) sat++;
    }
    this.saturated = sat;
    let fz = 0;
    for (let j = 0; j < nLam; j++) fz += this.x[nq + j] * ctx.lamDir[3 * j + 2];
    this.normalForce = fz;
    for (let i = 0; i < n; i++) {
      let v = a0[i];
      for (let j = 0; j < nx; j++) v += G[i * ld + j] * this.x[j];
      this.qddPred[i] = v;
    }
    return this.tau;
  }
}
