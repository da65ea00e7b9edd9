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
import { cholesky, choleskySolve } from '../math/linalg.ts';
import { BoxQP } from '../math/boxqp.ts';
import { clampIntoPolygon } from './com.ts';
import { convexHull2dInto } from '../math/hull2d.ts';
import type { PlantState } from '../sim/plant.ts';

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
  /** Posture weight factor of the leg joints (root to feet). */
  legPostureFactor: number;
  /** Regularisation of joint accelerations ((rad/s^2)^-2). */
  regQdd: number;
  /** Fraction of each joint's URDF effort the controller may use (headroom for what it does not model). */
  effortUse: number;
  /** Per-joint factor (by joint name) on top of effortUse: less of that joint's effort (the stage's retry after
   *  validate found the joint's torque above its effort). */
  effortScale?: Readonly<Record<string, number>>;
  /** Weight of the rows that hold a torque beyond its effort at the limit. */
  limitWeight: number;
  /** Horizon (s) over which a joint's position must stay inside its URDF range (bounds its acceleration). */
  limitHorizon: number;
  /** Deceleration (rad/s^2) a joint is assumed to brake with near a limit: its speed towards the limit is kept below
   *  sqrt(2 limitBrake distance), so it is not driven into the stop faster than its actuator can stop it. 0 = off. */
  limitBrake: number;
  /** Friction coefficient of the pyramid edges the controller plans with (inner approximation of the plant's). */
  mu: number;
  /** A reference-stance foot counts as in contact when its lowest sole corner is below this (m). */
  contactHeight: number;
  /** A contact foot's corner carries force only within this height of its lowest corner (m; 0 = all four). */
  cornerHeight: number;
  /** Include the velocity-product term J-dot u in the foot and hand tasks (J qdd = a - J-dot u). */
  drift: boolean;
  /** Capture-point step adjustment: a swing foot's target moves horizontally by gain x the capture-point error
   *  (measured minus planned, xi = c + v / omega), clamped to max (m); gain 0 = the reference's footholds. */
  stepGain: number;
  stepMax: number;
  /** Lift-off gate: a foot the reference lifts stays down (up to maxDelay s) while the capture point lies outside the
   *  other stance foot's sole by more than margin (m), on the lifting foot's side: the robot has not yet moved its
   *  weight over the foot it will stand on. maxDelay 0 = off. */
  liftoffGate: { margin: number; maxDelay: number };
  /** The contact forces are planned at the sole corners moved this far (m) toward the sole's centre: the centre of
   *  pressure keeps a margin from the foot's edge, where a real (and the simulated) foot starts to roll. */
  copMargin: number;
  /** Time constant (s) of the anchor: the reference's horizontal positions (CoM, swing feet, hands) follow where the
   *  stance feet actually stand (mean offset of the held feet from the reference's), low-passed; 0 = off. */
  anchorTau: number;
  /** The CoM task's horizontal acceleration is limited to what a ZMP inside the current support can give (linear
   *  inverted pendulum): an unreachable demand is otherwise met by spinning the upper body. */
  zmpClamp: boolean;
  /** Centroidal angular momentum (tipping axes x, y) damped towards zero: desired rate -kd k, written on the
   *  contact forces (the rate is the moment of the contact forces about the CoM). weight 0 = off. */
  angularMomentum: { kd: number; weight: number };
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
  /** Active contact columns: count, force direction (3 per column), world point of application (3 per column). */
  nLam: number;
  lamDir: Float64Array;
  lamPos: Float64Array;
  /** Support polygon of the contact feet this step (ccw x, y pairs; views by vertex count), vertex count. */
  supportViews: Float64Array[];
  nSupport: number;
  /** Centroidal angular momentum (world, about the CoM). */
  angMom: Float64Array;
  clamped: Float64Array;
  /** Mean height of the support points (the ground). */
  supportZ: number;
  /** Per foot: in contact this step (controller's decision). */
  contact: Uint8Array;
  /** Per foot: seconds its lift-off has been delayed by the gate. */
  liftDelay: Float64Array;
  holdPos: Float64Array; holdQuat: Float64Array;
  /** Horizontal offset of the swing feet's targets this step (capture-point step adjustment). */
  stepOffset: Float64Array;
  /** Horizontal offset of the reference to where the stance feet stand (gains.anchorTau). */
  anchor: Float64Array;
  scratch6: Float64Array; // 6 x n Jacobian scratch
  err: Float64Array; quat: Float64Array;
  /** J-dot u of a link's origin (linear 3, angular 3) at the current state, into `bias` (when gains.drift). */
  drift(link: number): void;
  bias: Float64Array;
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
  /** Per-dof weight factor (legs: gains.legPostureFactor; the stance feet constrain them already). */
  readonly factor: Float64Array;
  constructor(nq: number) { this.maxRows = nq; this.factor = new Float64Array(nq).fill(1); }
  update(c: ControlContext, J: Float64Array, b: Float64Array, w: Float64Array): number {
    const { n, nq, c0, state, target: t } = c;
    const g = c.gains.posture;
    J.fill(0, 0, nq * n);
    for (let d = 0; d < nq; d++) {
      J[d * n + c0 + d] = 1;
      b[d] = g.feedforward * t.qddRef[d] + g.kp * (t.qRef[d] - state.q[d]) + g.kd * (t.qdRef[d] - state.qd[d]);
      w[d] = g.weight * this.factor[d];
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
    c.drift(this.link);
    for (let r = 0; r < 6; r++) {
      let v = 0;
      const jr = r * n;
      for (let i = 0; i < n; i++) v += J[jr + i] * u[i];
      const vRef = stance || r >= 3 ? 0 : t.footVel[3 * f + r];
      const e = r < 3 ? tp[3 * f + r] + (!stance && r < 2 ? c.stepOffset[r] + c.anchor[r] : 0) - P[o + 9 + r] : c.err[r - 3];
      // J qdd = desired acceleration - J-dot u.
      b[r] = g.kp * e + g.kd * (vRef - v) - c.bias[r];
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
    c.drift(this.link);
    for (let r = 0; r < 3; r++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += J[r * n + i] * u[i];
      b[r] = g.kp * (t.handPos[3 * this.hand + r] + (r < 2 ? c.anchor[r] : 0) - kin.pose[o + 9 + r]) + g.kd * (t.handVel[3 * this.hand + r] - v) - c.bias[r];
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
      b[r] = t.comAcc[r] + g.kp * (t.com[r] + (r < 2 ? c.anchor[r] : 0) - c.com[r]) + g.kd * (t.comVel[r] - c.comVel[r]) + (r === 2 ? c.gravity : 0);
      w[r] = g.weight;
    }
    if (c.gains.zmpClamp && c.nSupport >= 1) {
      // Linear inverted pendulum: the horizontal acceleration a puts the ZMP at c - a z / (g + az). Keep that ZMP in
      // the support polygon: the acceleration asked for is one the feet can give without spinning the body.
      const s = (c.com[2] - c.supportZ) / Math.max(1, b[2]);
      const px = c.com[0] - b[0] * s, py = c.com[1] - b[1] * s;
      clampIntoPolygon(c.supportViews[c.nSupport], px, py, 0, c.clamped);
      b[0] = (c.com[0] - c.clamped[0]) / s; b[1] = (c.com[1] - c.clamped[1]) / s;
    }
    return 3;
  }
}

/** Centroidal angular momentum about the tipping axes damped towards zero: its rate is the moment of the contact
 *  forces about the CoM, sum (p_j - c) x d_j lambda_j (gravity acts at the CoM), so the rows are written on x. */
export class AngularMomentumTask implements Task {
  readonly name = 'angular-momentum';
  readonly direct = true;
  readonly maxRows = 2;
  update(c: ControlContext, A: Float64Array, b: Float64Array, w: Float64Array): number {
    const g = c.gains.angularMomentum;
    if (!c.nLam || !(g.weight > 0)) return 0;
    const { nx, nq } = c;
    A.fill(0, 0, 2 * nx);
    for (let j = 0; j < c.nLam; j++) {
      const rx = c.lamPos[3 * j] - c.com[0], ry = c.lamPos[3 * j + 1] - c.com[1], rz = c.lamPos[3 * j + 2] - c.com[2];
      const dx = c.lamDir[3 * j], dy = c.lamDir[3 * j + 1], dz = c.lamDir[3 * j + 2];
      A[nq + j] = ry * dz - rz * dy;
      A[nx + nq + j] = rz * dx - rx * dz;
    }
    for (let r = 0; r < 2; r++) { b[r] = -g.kd * c.angMom[r]; w[r] = g.weight; }
    return 2;
  }
}

const EDGES = 4;

/** Sole corners (4 x 3, a rectangle in the link frame) moved `margin` toward their centre along each side. */
function shrinkCorners(c: Float64Array, margin: number): Float64Array {
  const out = Float64Array.from(c);
  if (!(margin > 0)) return out;
  let cx = 0, cy = 0;
  for (let k = 0; k < 4; k++) { cx += c[3 * k]; cy += c[3 * k + 1]; }
  cx /= 4; cy /= 4;
  for (let k = 0; k < 4; k++) {
    const dx = c[3 * k] - cx, dy = c[3 * k + 1] - cy;
    out[3 * k] = cx + Math.sign(dx) * Math.max(0, Math.abs(dx) - margin);
    out[3 * k + 1] = cy + Math.sign(dy) * Math.max(0, Math.abs(dy) - margin);
  }
  return out;
}

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
  /** Control period (s): the horizon of the velocity-limit bound. */
  controlDt = 0.01;
  /** Touch-down holds the target's foot height and orientation (set when the targets are a balanced reference with
   *  flat stance feet) instead of the pose the foot landed in. */
  holdTarget = false;
  /** Print achieved vs desired task values after each solve (diagnostics). */
  debug = false;
  private lastNx = -1;
  saturated = 0;
  private readonly model: ArticulatedBody;
  private readonly kin: Kinematics;
  private readonly ctx: ControlContext;
  private readonly nxMax: number;
  private readonly P: Float64Array; // 6 x nxMax: base acceleration per variable
  private readonly p0: Float64Array;
  private readonly T: Float64Array; // nq x nxMax: joint torque per variable
  private readonly t0: Float64Array;
  private readonly Lb: Float64Array;
  private readonly col: Float64Array;
  private readonly y: Float64Array;
  private readonly Bc: Float64Array; // contact columns, nLamMax x n
  private readonly H: Float64Array;
  private readonly g: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly x: Float64Array;
  private readonly qp: BoxQP;
  private readonly TJ: Float64Array; // task rows (J or A)
  private readonly TA: Float64Array; // task rows on x
  private readonly Tb: Float64Array;
  private readonly Tw: Float64Array;
  private readonly Jc: Float64Array; // 6 x n
  private readonly edge: Float64Array;
  private readonly scale: Float64Array;
  private readonly effort: Float64Array;
  /** Per foot: the sole's extent in the foot link's frame, [xmin, xmax, ymin, ymax] (the lift-off gate's test). */
  private readonly soleBox: Float64Array;
  private readonly support: Float64Array;
  private readonly supportPts: Float64Array;
  private readonly hullOrder: Int32Array;

  constructor(geom: RobotGeometry, o: { fixedBase: boolean; gravity: number; feet: FootSpec[]; hands: { link: number; name: string }[]; footNames: string[]; gains: ControllerGains }) {
    this.kin = geom.kin;
    this.fixedBase = o.fixedBase;
    this.model = new ArticulatedBody(geom, { dt: 0.01, gravity: o.gravity, friction: o.gains.mu, fixedBase: o.fixedBase });
    this.nq = this.model.nq;
    this.n = this.model.n;
    this.c0 = this.model.c0;
    this.feet = o.fixedBase ? [] : o.feet.map((f) => ({ link: f.link, corners: shrinkCorners(f.corners, o.gains.copMargin) }));
    this.soleBox = new Float64Array(4 * this.feet.length);
    this.feet.forEach((ft, f) => {
      const c = ft.corners, b = this.soleBox;
      b[4 * f] = Math.min(c[0], c[3], c[6], c[9]); b[4 * f + 1] = Math.max(c[0], c[3], c[6], c[9]);
      b[4 * f + 2] = Math.min(c[1], c[4], c[7], c[10]); b[4 * f + 3] = Math.max(c[1], c[4], c[7], c[10]);
    });
    const nF = this.feet.length;
    const nLamMax = nF * 4 * EDGES;
    const nx = this.nq + nLamMax;
    this.nxMax = nx;
    const n = this.n;
    this.P = new Float64Array(6 * nx);
    this.p0 = new Float64Array(6);
    this.T = new Float64Array(this.nq * nx);
    this.t0 = new Float64Array(this.nq);
    this.Lb = new Float64Array(36);
    this.col = new Float64Array(Math.max(6, n));
    this.y = new Float64Array(nx);
    this.Bc = new Float64Array(Math.max(1, nLamMax) * n);
    this.H = new Float64Array(nx * nx);
    this.g = new Float64Array(nx);
    this.lo = new Float64Array(nx);
    this.hi = new Float64Array(nx);
    this.x = new Float64Array(nx);
    this.qp = new BoxQP(nx);
    this.scale = new Float64Array(nx);
    this.effort = new Float64Array(this.nq);
    this.tau = new Float64Array(this.nq);
    const posture = new PostureTask(this.nq);
    this.tasks = [posture];
    // Leg joints: those between the root and a foot.
    for (let l = 0; l < this.kin.nLinks; l++) {
      const d = this.kin.linkDof(l);
      if (d < 0) continue;
      if (this.feet.some((f) => this.kin.isAncestor(l, f.link))) posture.factor[d] = o.gains.legPostureFactor;
    }
    if (!o.fixedBase) {
      this.tasks.push(new BaseOrientationTask());
      this.feet.forEach((f, i) => this.tasks.push(new FootTask(i, f.link, `foot:${o.footNames[i]}`)));
      this.tasks.push(new ComTask());
      this.tasks.push(new AngularMomentumTask());
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
    this.support = new Float64Array(2 * (4 * nF + 2));
    this.supportPts = new Float64Array(2 * 4 * Math.max(1, nF));
    this.hullOrder = new Int32Array(4 * Math.max(1, nF));
    this.ctx = {
      kin: this.kin, n, nq: this.nq, c0: this.c0, nx, u: this.model.u, state: null as unknown as PlantState,
      target: null as unknown as ControlTarget, gains: o.gains, mass, gravity: o.gravity,
      com: new Float64Array(3), comVel: new Float64Array(3), nLam: 0, lamDir: new Float64Array(3 * Math.max(1, nLamMax)),
      lamPos: new Float64Array(3 * Math.max(1, nLamMax)), supportViews: Array.from({ length: 4 * nF + 2 }, (_, k) => this.support.subarray(0, 2 * k)), nSupport: 0,
      angMom: new Float64Array(3), clamped: new Float64Array(2), supportZ: 0,
      contact: new Uint8Array(nF), liftDelay: new Float64Array(nF), holdPos: new Float64Array(3 * nF), holdQuat: new Float64Array(4 * nF), stepOffset: new Float64Array(2), anchor: new Float64Array(2),
      scratch6: new Float64Array(6 * n), err: new Float64Array(3), quat: new Float64Array(4),
      bias: new Float64Array(6),
      drift: (link: number): void => {
        const bias = this.ctx.bias;
        if (!o.gains.drift) { bias.fill(0); return; }
        const P = this.kin.pose, k = 12 * link;
        this.model.biasAcceleration(geom.bodyOfLink[link], P[k + 9], P[k + 10], P[k + 11], bias);
      },
    };
    const eff = this.kin.effortLimit;
    for (let d = 0; d < this.nq; d++) {
      this.effort[d] = (Number.isFinite(eff[d]) && eff[d] > 0 ? eff[d] : 1e3) * o.gains.effortUse * (o.gains.effortScale?.[this.kin.dofNames[d]] ?? 1);
      this.lo[d] = -Infinity; this.hi[d] = Infinity;
    }
    for (let j = this.nq; j < nx; j++) { this.lo[j] = 0; this.hi[j] = Infinity; }
  }

  /** Total mass of the model (kg). */
  get mass(): number { return this.ctx.mass; }

  /** Centre of mass and its velocity in the last step (world). */
  get com(): Float64Array { return this.ctx.com; }
  get comVel(): Float64Array { return this.ctx.comVel; }

  /** Whether joint d's torque in the last solve is at the limit the controller may use. */
  atLimit(d: number): boolean { return Math.abs(this.tau[d]) >= 0.999 * this.effort[d]; }

  /** Whether foot f was treated as in contact in the last step. */
  inContact(f: number): boolean { return this.ctx.contact[f] === 1; }

  /**
   * The lift-off gate for foot f (in contact, the reference lifting it): true (and the delay counted) while the
   * capture point xi = c + v / omega lies outside the sole of another foot in contact by more than the margin, on
   * foot f's side of it, for at most maxDelay seconds.
   */
  private liftoffHeld(f: number): boolean {
    const g = this.ctx.gains.liftoffGate, ctx = this.ctx;
    if (!(g.maxDelay > 0) || this.fixedBase || ctx.liftDelay[f] >= g.maxDelay) return false;
    const pose = this.kin.pose;
    const omega = Math.sqrt(ctx.gravity / Math.max(0.3, ctx.com[2]));
    const xi0 = ctx.com[0] + ctx.comVel[0] / omega, xi1 = ctx.com[1] + ctx.comVel[1] / omega;
    let held = false;
    for (let o = 0; o < this.feet.length && !held; o++) {
      if (o === f || !ctx.contact[o] || ctx.target!.stance[o] !== 1) continue;
      const ft = this.feet[o], lo = 12 * ft.link, lf = 12 * this.feet[f].link;
      // Capture point and foot f's origin in the stance foot's frame (horizontal: the sole is flat on the ground).
      const dx = xi0 - pose[lo + 9], dy = xi1 - pose[lo + 10];
      const px = pose[lo] * dx + pose[lo + 3] * dy, py = pose[lo + 1] * dx + pose[lo + 4] * dy;
      const fx = pose[lf + 9] - pose[lo + 9], fy = pose[lf + 10] - pose[lo + 10];
      const qx = pose[lo] * fx + pose[lo + 3] * fy, qy = pose[lo + 1] * fx + pose[lo + 4] * fy;
      const b = this.soleBox, x0 = b[4 * o], x1 = b[4 * o + 1], y0 = b[4 * o + 2], y1 = b[4 * o + 3];
      const ex = px < x0 ? px - x0 : px > x1 ? px - x1 : 0, ey = py < y0 ? py - y0 : py > y1 ? py - y1 : 0;
      // Outside by more than the margin, towards foot f (the side the robot would fall to once f is lifted).
      if (Math.hypot(ex, ey) > g.margin && ex * qx + ey * qy > 0) held = true;
    }
    if (held) ctx.liftDelay[f] += this.controlDt;
    return held;
  }

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
    const pose = kin.pose;
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
      // Angular momentum about the root origin (rows 3..5 of M u), moved to the CoM: k = L_o - (c - o) x p.
      {
        const L0 = ctx.angMom;
        for (let r = 0; r < 3; r++) { let v = 0; for (let i = 0; i < n; i++) v += M[(3 + r) * n + i] * u[i]; L0[r] = v; }
        const dx = ctx.com[0] - o[0], dy = ctx.com[1] - o[1], dz = ctx.com[2] - o[2];
        const px = m * ctx.comVel[0], py = m * ctx.comVel[1], pz = m * ctx.comVel[2];
        L0[0] -= dy * pz - dz * py; L0[1] -= dz * px - dx * pz; L0[2] -= dx * py - dy * px;
      }
      // Capture-point error (linear inverted pendulum, omega = sqrt(g / z)): where the robot would have to step,
      // relative to where the plan would, to come to rest. The swing foot's landing moves by it (clamped).
      const gain = ctx.gains.stepGain, lim = ctx.gains.stepMax;
      const omega = Math.sqrt(ctx.gravity / Math.max(0.3, ctx.com[2]));
      let ox = 0, oy = 0;
      if (gain > 0) {
        ox = gain * (ctx.com[0] - target.com[0] - ctx.anchor[0] + (ctx.comVel[0] - target.comVel[0]) / omega);
        oy = gain * (ctx.com[1] - target.com[1] - ctx.anchor[1] + (ctx.comVel[1] - target.comVel[1]) / omega);
        const l = Math.hypot(ox, oy);
        if (l > lim) { ox *= lim / l; oy *= lim / l; }
      }
      ctx.stepOffset[0] = ox; ctx.stepOffset[1] = oy;
    }
    // Contacts: which feet, and their force columns B = Jc^T E.
    let nLam = 0, nPts = 0, zSum = 0;
    for (let f = 0; f < this.feet.length; f++) {
      const ft = this.feet[f], lo = 12 * ft.link;
      let low = Infinity;
      for (let k = 0; k < 4; k++) {
        const x = ft.corners[3 * k], y = ft.corners[3 * k + 1], z = ft.corners[3 * k + 2];
        low = Math.min(low, pose[lo + 6] * x + pose[lo + 7] * y + pose[lo + 8] * z + pose[lo + 11]);
      }
      let contact = target.stance[f] === 1 && low < ctx.gains.contactHeight ? 1 : 0;
      if (!contact && ctx.contact[f] && target.stance[f] === 0 && this.liftoffHeld(f)) contact = 1;
      else if (contact || !ctx.contact[f]) ctx.liftDelay[f] = 0;
      if (contact && !ctx.contact[f]) {
        // Touch-down: hold the foot where it landed (horizontally), at the target's height and orientation (with the
        // balanced reference: flat on the ground), so a foot that lands tilted is laid flat rather than held tilted.
        for (let r = 0; r < 2; r++) ctx.holdPos[3 * f + r] = pose[lo + 9 + r];
        if (this.holdTarget) {
          ctx.holdPos[3 * f + 2] = target.footPos[3 * f + 2];
          for (let r = 0; r < 4; r++) ctx.holdQuat[4 * f + r] = target.footQuat[4 * f + r];
        } else {
          ctx.holdPos[3 * f + 2] = pose[lo + 11] - Math.max(0, low);
          kin.linkQuat(ft.link, ctx.holdQuat, 4 * f);
        }
      }
      ctx.contact[f] = contact;
      if (!contact) continue;
      for (let k = 0; k < 4; k++) {
        // Only corners on the ground carry force: a tilted foot bears on its lowest edge, and the plan must know it.
        if (ctx.gains.cornerHeight > 0) {
          const x = ft.corners[3 * k], y = ft.corners[3 * k + 1], z = ft.corners[3 * k + 2];
          if (pose[lo + 6] * x + pose[lo + 7] * y + pose[lo + 8] * z + pose[lo + 11] > low + ctx.gains.cornerHeight) continue;
        }
        kin.jacobian(ft.link, ft.corners.subarray(3 * k, 3 * k + 3), this.Jc, true);
        {
          const x = ft.corners[3 * k], y = ft.corners[3 * k + 1], z = ft.corners[3 * k + 2];
          const wx = pose[lo] * x + pose[lo + 1] * y + pose[lo + 2] * z + pose[lo + 9];
          const wy = pose[lo + 3] * x + pose[lo + 4] * y + pose[lo + 5] * z + pose[lo + 10];
          const wz = pose[lo + 6] * x + pose[lo + 7] * y + pose[lo + 8] * z + pose[lo + 11];
          for (let e = 0; e < EDGES; e++) { const j = nLam + e; ctx.lamPos[3 * j] = wx; ctx.lamPos[3 * j + 1] = wy; ctx.lamPos[3 * j + 2] = wz; }
          this.supportPts[2 * nPts] = wx; this.supportPts[2 * nPts + 1] = wy; nPts++; zSum += wz;
        }
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
    // Anchor: the mean horizontal offset of the held feet from the reference's feet, low-passed.
    if (ctx.gains.anchorTau > 0) {
      let ax = 0, ay = 0, na = 0;
      for (let f = 0; f < this.feet.length; f++) {
        if (!ctx.contact[f]) continue;
        ax += ctx.holdPos[3 * f] - target.footPos[3 * f]; ay += ctx.holdPos[3 * f + 1] - target.footPos[3 * f + 1]; na++;
      }
      if (na) {
        const k = Math.min(1, this.controlDt / ctx.gains.anchorTau);
        ctx.anchor[0] += (ax / na - ctx.anchor[0]) * k; ctx.anchor[1] += (ay / na - ctx.anchor[1]) * k;
      }
    }
    ctx.nSupport = nPts ? convexHull2dInto(this.supportPts, nPts, this.support, this.hullOrder) : 0;
    ctx.supportZ = nPts ? zSum / nPts : 0;
    const nx = nq + nLam;
    ctx.nx = nx;
    // Variables z = [qdd of the joints (nq); lambda]. The base rows of the equations of motion give the base
    // acceleration, a_b = Mbb^-1 (Bc_b lambda - h_b - Mba qdd_j) = P z + p0, and the joint rows the torques,
    // tau = Mab a_b + Maa qdd_j + h_j - Bc_j lambda = T z + t0. Every task is then well scaled in z (a joint
    // acceleration task is a row of the identity), unlike torques as variables (M^-1 spans orders of magnitude).
    const { P, p0, T, t0, Lb } = this;
    const ld = this.nxMax;
    if (c0) {
      for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) Lb[6 * a + b] = M[a * n + b];
      if (!cholesky(Lb, 6)) throw new Error('whole-body controller: base inertia is not positive definite');
      const col = this.col;
      for (let j = 0; j < nx; j++) {
        for (let a = 0; a < 6; a++) col[a] = j < nq ? -M[a * n + c0 + j] : this.Bc[(j - nq) * n + a];
        choleskySolve(Lb, 6, col);
        for (let a = 0; a < 6; a++) P[a * ld + j] = col[a];
      }
      for (let a = 0; a < 6; a++) col[a] = -h[a];
      choleskySolve(Lb, 6, col);
      for (let a = 0; a < 6; a++) p0[a] = col[a];
    }
    for (let d = 0; d < nq; d++) {
      const row = (c0 + d) * n, tr = d * ld;
      let v = h[c0 + d];
      for (let a = 0; a < c0; a++) v += M[row + a] * p0[a];
      t0[d] = v;
      for (let j = 0; j < nx; j++) {
        let s = 0;
        for (let a = 0; a < c0; a++) s += M[row + a] * P[a * ld + j];
        if (j < nq) s += M[row + c0 + j];
        else s -= this.Bc[(j - nq) * n + c0 + d];
        T[tr + j] = s;
      }
    }
    // Normal equations.
    const { H, g, TJ, TA, Tb, Tw } = this;
    H.fill(0, 0, nx * nx);
    g.fill(0, 0, nx);
    for (const task of this.tasks) {
      const rows = task.update(ctx, task.direct ? TA : TJ, Tb, Tw);
      if (!rows) continue;
      if (!task.direct) {
        // A = J_b P + [J_j, 0], b -= J_b p0.
        for (let r = 0; r < rows; r++) {
          const jr = r * n, ar = r * nx;
          TA.fill(0, ar, ar + nx);
          let jp = 0;
          for (let a = 0; a < c0; a++) {
            const v = TJ[jr + a];
            if (v === 0) continue;
            jp += v * p0[a];
            const pa = a * ld;
            for (let j = 0; j < nx; j++) TA[ar + j] += v * P[pa + j];
          }
          for (let d = 0; d < nq; d++) TA[ar + d] += TJ[jr + c0 + d];
          Tb[r] -= jp;
        }
      }
      this.accumulate(TA, Tb, Tw, rows, nx);
    }
    // Small torques: rows tau / effort -> 0 (reg_tau 0: none).
    const eff = this.effort;
    for (let d = 0; d < nq && ctx.gains.regTau > 0; d++) {
      const ar = 0;
      for (let j = 0; j < nx; j++) TA[ar + j] = T[d * ld + j] / eff[d];
      Tb[0] = -t0[d] / eff[d];
      Tw[0] = ctx.gains.regTau;
      this.accumulate(TA, Tb, Tw, 1, nx);
    }
    // Scaled variables: contact weights in units of the weight shared by the corners.
    const sc = this.scale;
    const warm = nx === this.lastNx;
    this.lastNx = nx;
    const lamScale = (ctx.mass * ctx.gravity) / Math.max(1, nLam / EDGES);
    for (let j = 0; j < nx; j++) sc[j] = j < nq ? 1 : lamScale;
    for (let j = 0; j < nx; j++) {
      const sj = sc[j];
      g[j] *= sj;
      for (let k = j; k < nx; k++) H[j * nx + k] *= sj * sc[k];
      H[j * nx + j] += j < nq ? ctx.gains.regQdd : ctx.gains.regLambda;
      for (let k = 0; k < j; k++) H[j * nx + k] = H[k * nx + j];
    }
    // Joint limits as bounds on the joint accelerations: over the horizon `limitHorizon` the position stays inside
    // its URDF range (q + qd h + qdd h^2 / 2), and over one control step the velocity inside its URDF limit.
    {
      const hp = ctx.gains.limitHorizon, hv = Math.max(this.controlDt, 1e-3);
      const lower = kin.lower, upper = kin.upper, vel = kin.velocityLimit;
      for (let d = 0; d < nq; d++) {
        const qv = state.q[d], qdv = state.qd[d];
        let lo = -Infinity, hi = Infinity;
        if (Number.isFinite(upper[d])) hi = (2 * (upper[d] - qv - qdv * hp)) / (hp * hp);
        if (Number.isFinite(lower[d])) lo = (2 * (lower[d] - qv - qdv * hp)) / (hp * hp);
        const vl = vel[d];
        if (Number.isFinite(vl) && vl > 0) { hi = Math.min(hi, (vl - qdv) / hv); lo = Math.max(lo, (-vl - qdv) / hv); }
        // Braking: the speed towards a limit stays what a deceleration of limitBrake can stop before it.
        const ab = ctx.gains.limitBrake;
        if (ab > 0) {
          if (Number.isFinite(upper[d])) hi = Math.min(hi, (Math.sqrt(2 * ab * Math.max(0, upper[d] - qv)) - qdv) / hv);
          if (Number.isFinite(lower[d])) lo = Math.max(lo, (-Math.sqrt(2 * ab * Math.max(0, qv - lower[d])) - qdv) / hv);
        }
        if (lo > hi) { const mid = 0.5 * (lo + hi); lo = mid; hi = mid; }
        this.lo[d] = lo; this.hi[d] = hi;
      }
    }
    const y = this.y;
    // Torque limits: solve, then pull the torques that exceed their effort onto it with heavy rows, and again.
    for (let pass = 0; pass < 3; pass++) {
      this.qp.solve(H, g, this.lo, this.hi, nx, y, warm || pass > 0);
      let over = 0;
      for (let d = 0; d < nq; d++) {
        let t = t0[d];
        for (let j = 0; j < nx; j++) t += T[d * ld + j] * sc[j] * y[j];
        this.tau[d] = t;
        if (Math.abs(t) > eff[d] * 1.001 && pass < 2) {
          over++;
          const target = t > 0 ? eff[d] : -eff[d];
          const w = ctx.gains.limitWeight;
          for (let j = 0; j < nx; j++) {
            const aj = (T[d * ld + j] * sc[j]) / eff[d];
            if (aj === 0) continue;
            g[j] += w * aj * ((target - t0[d]) / eff[d]);
            for (let k = 0; k < nx; k++) H[j * nx + k] += w * aj * (T[d * ld + k] * sc[k]) / eff[d];
          }
        }
      }
      if (!over) break;
    }
    const x = this.x;
    for (let j = 0; j < nx; j++) x[j] = sc[j] * y[j];
    if (this.debug) {
      // Achieved vs desired task values (diagnostics only).
      const out: string[] = [];
      for (const task of this.tasks) {
        const rows = task.update(ctx, task.direct ? TA : TJ, Tb, Tw);
        let e2 = 0, b2 = 0;
        for (let r = 0; r < rows; r++) {
          let v = 0;
          if (task.direct) for (let j = 0; j < nx; j++) v += TA[r * nx + j] * x[j];
          else for (let i = 0; i < n; i++) {
            let qi = 0;
            if (i < c0) { qi = p0[i]; for (let j = 0; j < nx; j++) qi += P[i * ld + j] * x[j]; } else qi = x[i - c0];
            v += TJ[r * n + i] * qi;
          }
          e2 += (v - Tb[r]) ** 2; b2 += Tb[r] ** 2;
        }
        out.push(`${task.name}:${Math.sqrt(e2).toFixed(1)}/${Math.sqrt(b2).toFixed(1)}`);
      }
      // KKT check of the box QP on the scaled problem.
      let kkt = 0, nFree = 0;
      for (let i = 0; i < nx; i++) {
        let r = g[i];
        for (let j = 0; j < nx; j++) r -= H[i * nx + j] * y[j];
        const st = this.qp.state[i];
        if (!st) { nFree++; kkt = Math.max(kkt, Math.abs(r)); } else kkt = Math.max(kkt, st < 0 ? r : -r);
      }
      console.log('  tasks', out.join(' '), 'nLam', nLam, 'kkt', kkt.toExponential(2), 'free', nFree, 'iters', this.qp.iterations);
    }
    let sat = 0;
    for (let d = 0; d < nq; d++) {
      let t = this.tau[d];
      if (!Number.isFinite(t)) t = 0;
      if (t > eff[d]) t = eff[d]; else if (t < -eff[d]) t = -eff[d];
      this.tau[d] = t;
      if (Math.abs(t) >= 0.999 * eff[d]) sat++;
    }
    this.saturated = sat;
    let fz = 0;
    for (let j = 0; j < nLam; j++) fz += x[nq + j] * ctx.lamDir[3 * j + 2];
    this.normalForce = fz;
    return this.tau;
  }

  /** H += A^T W A, g += A^T W b over `rows` rows of A (rows x nx). */
  private accumulate(A: Float64Array, b: Float64Array, w: Float64Array, rows: number, nx: number): void {
    const { H, g } = this;
    for (let r = 0; r < rows; r++) {
      const ar = r * nx, wr = w[r], br = b[r];
      for (let j = 0; j < nx; j++) {
        const a = A[ar + j];
        if (a === 0) continue;
        const wa = wr * a;
        g[j] += wa * br;
        const hj = j * nx;
        for (let k = j; k < nx; k++) H[hj + k] += wa * A[ar + k];
      }
    }
  }
}
