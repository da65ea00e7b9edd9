/**
 * Reduced-coordinate rigid-body dynamics of a URDF tree on flat typed arrays: the robot's own articulated
 * model (the bodies of geometry.ts: links merged across fixed joints, URDF masses and inertias), stepped
 * with contacts against the ground plane. Joints are exact by construction (the state is the joint
 * coordinates), so there is no anchor drift to report.
 *
 * Generalised velocity u = [v_root (3), w_root (3), qdot (nq)] for a floating base (the root link origin's
 * velocity and angular velocity, both in the world frame: the base columns of Kinematics.jacobian), or
 * u = qdot for a fixed base. Mimic joints follow their leader: their motion enters the leader's column
 * scaled by the multiplier, so the tree keeps nq joint coordinates.
 *
 * Per step (semi-implicit Euler):
 * - mass matrix M by composite rigid bodies (all quantities about the root origin, in world axes);
 * - bias forces C(q, u) (Coriolis, centrifugal, gravity, minus external forces) by recursive Newton-Euler;
 * - joint PD springs and dampers integrated implicitly: (M + dt Kd + dt^2 Kp) du = dt (tau - C) - dt^2 Kp u,
 *   so stiff gains stay stable at large steps (a dof at its effort cap is explicit: its derivative is 0);
 * - ground contacts: points of each body's collision shapes (box corners, cylinder rims, sphere poles,
 *   hull vertices) below a small margin, at most 4 per body (the extremes of its footprint), solved as
 *   velocity-level impulses with Coulomb friction by projected Gauss-Seidel on the contact-space inverse
 *   inertia J M~^-1 J^T, with Baumgarte stabilisation of penetration;
 * - positions from the new velocities (root orientation by the exponential map).
 * Nothing is allocated per step.
 */
import type { Kinematics, BasePose } from '../robot/kinematics.ts';
import type { RobotGeometry } from './geometry.ts';
import { bodySamplePoints } from './geometry.ts';
import { cholesky, choleskySolve } from '../math/linalg.ts';
import { hypot2, hypot3, hypot4 } from '../math/hypot.ts';

export interface ArticulatedOptions {
  dt: number;
  gravity: number;
  friction: number;
  fixedBase: boolean;
  /** Points closer to the ground than this (m) are contact candidates (speculative above 0). */
  contactMargin?: number;
  /** Fraction of the penetration removed per step, and the penetration left alone (m). */
  baumgarte?: number;
  slop?: number;
  /** Projected Gauss-Seidel sweeps (at most). */
  iterations?: number;
  /** Stop sweeping when no impulse changed by more than this in a sweep (N s; default 1e-6 m g dt). */
  tolerance?: number;
  /**
   * Joint stops at the URDF position limits (default off): a joint beyond its range meets a stiff one-sided
   * spring-damper (natural frequency `stopHz`, critically damped on the joint's own inertia), integrated
   * implicitly like the PD gains. Real robots have mechanical stops; without them a weak actuator lets the ground
   * roll a joint far past its range.
   */
  jointStops?: boolean;
  stopHz?: number;
}

const MAX_PER_BODY = 4;

export class ArticulatedBody {
  readonly geom: RobotGeometry;
  readonly kin: Kinematics;
  readonly nb: number;
  readonly nq: number;
  /** Number of generalised velocities (nq, + 6 for a floating base). */
  readonly n: number;
  /** Column of the first joint in u (6 floating, 0 fixed). */
  readonly c0: number;
  readonly dt: number;
  readonly gravity: number;
  readonly friction: number;
  readonly fixedBase: boolean;
  /** Joint stops: natural frequency (rad/s) of the stop spring, 0 = no stops. */
  readonly stopW: number;
  /** State: joint positions, generalised velocity, root pose. */
  readonly q: Float64Array;
  readonly u: Float64Array;
  readonly basePos = new Float64Array(3);
  readonly baseQuat = new Float64Array([1, 0, 0, 0]);
  readonly base: BasePose;
  /** Contacts of the last step: count, world points [3K], normal impulses [K] (N s). */
  nContacts = 0;
  readonly contactPoint: Float64Array;
  readonly contactImpulse: Float64Array;
  /**
   * Per dof, the generalised force the joint stop applied in the last step (N m; 0 where no stop engaged): the
   * implicit spring-damper evaluated at the step's final velocity. It acts on top of the `tau` given
   * to step(), so a joint driven into its stop receives more than its actuator's torque (issue 14: on T1's
   * hammering the right hip roll hit its 0.2 rad stop at 3.2 rad/s with the motor at its 30 N m effort).
   */
  readonly stopTorque: Float64Array;
  private readonly stopK: Float64Array;
  private readonly stopE: Float64Array;
  private readonly stopD: Float64Array;

  // Per body constants.
  private readonly parent: Int32Array;
  private readonly top: Int32Array;
  private readonly dof: Int32Array;
  private readonly mult: Float64Array;
  private readonly prismatic: Uint8Array;
  private readonly axisLocal: Float64Array; // 3 per body, in the top link frame
  private readonly mass: Float64Array;
  private readonly comLocal: Float64Array; // 3 per body
  private readonly inertiaLocal: Float64Array; // 9 per body
  private readonly pts: Float32Array[]; // contact sample points per body (top link frame)
  // Per body, per step.
  /** World COM of every body (3 per body), after prepare(). */
  readonly c: Float64Array;
  private readonly Iw: Float64Array; // inertia about COM, world axes (9)
  private readonly s: Float64Array; // joint axis, world (3)
  /** Angular velocity and origin velocity of every body (3 per body, world), after prepare(). */
  readonly w: Float64Array;
  readonly v: Float64Array;
  /** Origin of every body's top link (3 per body, world), after prepare(). */
  readonly o: Float64Array;
  private readonly al: Float64Array; // angular acceleration bias (3)
  private readonly ac: Float64Array; // origin acceleration bias (3)
  private readonly F: Float64Array; // subtree force (3)
  private readonly N: Float64Array; // subtree moment about own origin (3)
  private readonly cm: Float64Array; // composite mass
  private readonly ch: Float64Array; // composite first moment about the root origin (3)
  private readonly cI: Float64Array; // composite inertia about the root origin (9)
  private readonly Sw: Float64Array; // joint motion: angular part (3)
  private readonly Sv: Float64Array; // joint motion: velocity of the point at the root origin (3)
  // Dense algebra.
  readonly M: Float64Array;
  readonly C: Float64Array;
  private readonly L: Float64Array;
  private readonly rhs: Float64Array;
  private readonly du: Float64Array;
  // Contacts.
  private readonly maxK: number;
  private readonly cBody: Int32Array;
  private readonly cDepth: Float64Array;
  private readonly J: Float64Array; // 3K x n (rows: normal z, tangent x, tangent y per contact)
  private readonly Y: Float64Array; // 3K x n  ((L^-1 J^T)^T)
  private readonly W: Float64Array; // 3K x 3K
  private readonly vRow: Float64Array;
  private readonly target: Float64Array;
  private readonly lam: Float64Array;
  private readonly pick = new Int32Array(MAX_PER_BODY);
  /** Contact identity (body * 65536 + sample point) and impulses of the last step, to warm-start the next. */
  private readonly cKey: Int32Array;
  private readonly prevKey: Int32Array;
  private readonly prevLam: Float64Array;
  private prevK = 0;
  /** Per body: radius of its sample points about the top link origin (skip bodies that cannot touch). */
  private readonly ptRadius: Float64Array;
  private readonly tol: number;
  /** Projected Gauss-Seidel sweeps done, summed over steps with contacts, and those steps. */
  sweepsDone = 0;
  solves = 0;
  private readonly skew = new Float64Array(9);
  private readonly margin: number;
  private readonly beta: number;
  private readonly slop: number;
  private readonly iters: number;

  constructor(geom: RobotGeometry, opts: ArticulatedOptions) {
    this.geom = geom;
    this.kin = geom.kin;
    const kin = geom.kin;
    const nb = geom.bodies.length;
    this.nb = nb;
    this.nq = kin.nq;
    this.fixedBase = opts.fixedBase;
    this.c0 = opts.fixedBase ? 0 : 6;
    this.n = this.nq + this.c0;
    this.dt = opts.dt;
    this.gravity = opts.gravity;
    this.friction = opts.friction;
    this.margin = opts.contactMargin ?? 0.002;
    this.beta = opts.baumgarte ?? 0.2;
    this.slop = opts.slop ?? 0.0005;
    this.iters = opts.iterations ?? 30;
    this.stopW = opts.jointStops ? 2 * Math.PI * (opts.stopHz ?? 30) : 0;
    this.q = new Float64Array(this.nq);
    this.u = new Float64Array(this.n);
    this.base = { pos: this.basePos, quat: this.baseQuat };
    this.parent = new Int32Array(nb);
    this.top = new Int32Array(nb);
    this.dof = new Int32Array(nb).fill(-1);
    this.mult = new Float64Array(nb);
    this.prismatic = new Uint8Array(nb);
    this.axisLocal = new Float64Array(3 * nb);
    this.mass = new Float64Array(nb);
    this.comLocal = new Float64Array(3 * nb);
    this.inertiaLocal = new Float64Array(9 * nb);
    this.pts = [];
    const unit = new Float64Array(kin.nq);
    geom.bodies.forEach((b, i) => {
      this.parent[i] = b.parent;
      this.top[i] = b.top;
      this.mass[i] = b.mass;
      this.comLocal.set(b.com, 3 * i);
      this.inertiaLocal.set(b.inertia, 9 * i);
      this.pts.push(bodySamplePoints(b));
      if (b.parent < 0) return;
      const j = kin.linkJoint[b.top]!;
      const d = kin.linkDof(b.top);
      this.dof[i] = d;
      unit.fill(0);
      const off = kin.jointValue(unit, b.top);
      unit[d] = 1;
      this.mult[i] = kin.jointValue(unit, b.top) - off;
      this.prismatic[i] = j.type === 'prismatic' ? 1 : 0;
      this.axisLocal.set(j.axis, 3 * i);
    });
    const v3 = () => new Float64Array(3 * nb);
    this.o = v3(); this.c = v3(); this.s = v3(); this.w = v3(); this.v = v3(); this.al = v3(); this.ac = v3();
    this.F = v3(); this.N = v3(); this.ch = v3(); this.Sw = v3(); this.Sv = v3();
    this.Iw = new Float64Array(9 * nb);
    this.cI = new Float64Array(9 * nb);
    this.cm = new Float64Array(nb);
    const n = this.n;
    this.M = new Float64Array(n * n);
    this.L = new Float64Array(n * n);
    this.C = new Float64Array(n);
    this.rhs = new Float64Array(n);
    this.du = new Float64Array(n);
    this.maxK = MAX_PER_BODY * nb;
    const R = 3 * this.maxK;
    this.cBody = new Int32Array(this.maxK);
    this.cDepth = new Float64Array(this.maxK);
    this.contactPoint = new Float64Array(3 * this.maxK);
    this.contactImpulse = new Float64Array(this.maxK);
    this.stopTorque = new Float64Array(this.nq);
    this.stopK = new Float64Array(this.nq);
    this.stopE = new Float64Array(this.nq);
    this.stopD = new Float64Array(this.nq);
    this.J = new Float64Array(R * n);
    this.Y = new Float64Array(n * R);
    this.W = new Float64Array(R * R);
    this.vRow = new Float64Array(R);
    this.target = new Float64Array(R);
    this.lam = new Float64Array(R);
    this.cKey = new Int32Array(this.maxK);
    this.prevKey = new Int32Array(this.maxK);
    this.prevLam = new Float64Array(R);
    this.ptRadius = new Float64Array(nb);
    this.pts.forEach((p, b) => {
      let r = 0;
      for (let i = 0; i < p.length; i += 3) r = Math.max(r, hypot3(p[i], p[i + 1], p[i + 2]));
      this.ptRadius[b] = r;
    });
    // A sweep that changes no impulse by more than this (N s; 1e-6 of the robot's weight over a step) ends the solve.
    const mass = geom.bodies.reduce((a, b) => a + b.mass, 0);
    this.tol = opts.tolerance ?? 1e-6 * mass * Math.max(opts.gravity, 1) * opts.dt;
  }

  /** Set the state: joint positions (kinematics dof order), root pose, zero velocity. */
  reset(q0: ArrayLike<number>, base0: BasePose): void {
    for (let d = 0; d < this.nq; d++) this.q[d] = q0[d];
    for (let k = 0; k < 3; k++) this.basePos[k] = base0.pos[k];
    for (let k = 0; k < 4; k++) this.baseQuat[k] = base0.quat[k];
    this.u.fill(0);
    this.prevK = 0;
    this.stopTorque.fill(0);
    this.prepare();
  }

  /** Forward kinematics and per-body world quantities of the current state (link poses in kin.pose). */
  prepare(): void {
    const kin = this.kin;
    kin.fk(this.q, this.base);
    const P = kin.pose;
    const { nb, o, c, Iw, s, w, v, parent, top, u, c0 } = this;
    for (let b = 0; b < nb; b++) {
      const p = 12 * top[b];
      o[3 * b] = P[p + 9]; o[3 * b + 1] = P[p + 10]; o[3 * b + 2] = P[p + 11];
      const lx = this.comLocal[3 * b], ly = this.comLocal[3 * b + 1], lz = this.comLocal[3 * b + 2];
      c[3 * b] = P[p] * lx + P[p + 1] * ly + P[p + 2] * lz + P[p + 9];
      c[3 * b + 1] = P[p + 3] * lx + P[p + 4] * ly + P[p + 5] * lz + P[p + 10];
      c[3 * b + 2] = P[p + 6] * lx + P[p + 7] * ly + P[p + 8] * lz + P[p + 11];
      // Iw = R I R^T
      const I = this.inertiaLocal, io = 9 * b;
      for (let r = 0; r < 3; r++) {
        const r0 = P[p + 3 * r], r1 = P[p + 3 * r + 1], r2 = P[p + 3 * r + 2];
        const t0 = r0 * I[io] + r1 * I[io + 3] + r2 * I[io + 6];
        const t1 = r0 * I[io + 1] + r1 * I[io + 4] + r2 * I[io + 7];
        const t2 = r0 * I[io + 2] + r1 * I[io + 5] + r2 * I[io + 8];
        for (let k = 0; k < 3; k++) Iw[io + 3 * r + k] = t0 * P[p + 3 * k] + t1 * P[p + 3 * k + 1] + t2 * P[p + 3 * k + 2];
      }
      if (b > 0) {
        const ax = this.axisLocal[3 * b], ay = this.axisLocal[3 * b + 1], az = this.axisLocal[3 * b + 2];
        s[3 * b] = P[p] * ax + P[p + 1] * ay + P[p + 2] * az;
        s[3 * b + 1] = P[p + 3] * ax + P[p + 4] * ay + P[p + 5] * az;
        s[3 * b + 2] = P[p + 6] * ax + P[p + 7] * ay + P[p + 8] * az;
      }
    }
    // Velocities (forward pass).
    if (this.fixedBase) {
      w[0] = w[1] = w[2] = 0; v[0] = v[1] = v[2] = 0;
    } else {
      v[0] = u[0]; v[1] = u[1]; v[2] = u[2];
      w[0] = u[3]; w[1] = u[4]; w[2] = u[5];
    }
    for (let b = 1; b < nb; b++) {
      const a = parent[b];
      const qd = this.mult[b] * u[c0 + this.dof[b]];
      const rx = o[3 * b] - o[3 * a], ry = o[3 * b + 1] - o[3 * a + 1], rz = o[3 * b + 2] - o[3 * a + 2];
      const wx = w[3 * a], wy = w[3 * a + 1], wz = w[3 * a + 2];
      v[3 * b] = v[3 * a] + wy * rz - wz * ry;
      v[3 * b + 1] = v[3 * a + 1] + wz * rx - wx * rz;
      v[3 * b + 2] = v[3 * a + 2] + wx * ry - wy * rx;
      if (this.prismatic[b]) {
        w[3 * b] = wx; w[3 * b + 1] = wy; w[3 * b + 2] = wz;
        v[3 * b] += s[3 * b] * qd; v[3 * b + 1] += s[3 * b + 1] * qd; v[3 * b + 2] += s[3 * b + 2] * qd;
      } else {
        w[3 * b] = wx + s[3 * b] * qd; w[3 * b + 1] = wy + s[3 * b + 1] * qd; w[3 * b + 2] = wz + s[3 * b + 2] * qd;
      }
    }
  }

  /**
   * Bias forces C(q, u) into this.C: the generalised force that gives zero generalised acceleration
   * (gravity, velocity products), minus the generalised force of external forces fext (3 per body,
   * applied at its COM; null for none). After prepare().
   */
  bias(fext: Float64Array | null): Float64Array {
    const { nb, o, c, Iw, s, w, al, ac, F, N, parent, C, c0 } = this;
    const u = this.u;
    al[0] = al[1] = al[2] = 0;
    ac[0] = 0; ac[1] = 0; ac[2] = this.gravity; // gravity as an upward acceleration of the base
    for (let b = 1; b < nb; b++) {
      const a = parent[b];
      const qd = this.mult[b] * u[c0 + this.dof[b]];
      const rx = o[3 * b] - o[3 * a], ry = o[3 * b + 1] - o[3 * a + 1], rz = o[3 * b + 2] - o[3 * a + 2];
      const wx = w[3 * a], wy = w[3 * a + 1], wz = w[3 * a + 2];
      const ax = al[3 * a], ay = al[3 * a + 1], az = al[3 * a + 2];
      // a_b = a_a + al_a x r + w_a x (w_a x r)
      const wrx = wy * rz - wz * ry, wry = wz * rx - wx * rz, wrz = wx * ry - wy * rx;
      let bx = ac[3 * a] + ay * rz - az * ry + wy * wrz - wz * wry;
      let by = ac[3 * a + 1] + az * rx - ax * rz + wz * wrx - wx * wrz;
      let bz = ac[3 * a + 2] + ax * ry - ay * rx + wx * wry - wy * wrx;
      const sx = s[3 * b] * qd, sy = s[3 * b + 1] * qd, sz = s[3 * b + 2] * qd;
      // w_a x (s qd)
      const cx = wy * sz - wz * sy, cy = wz * sx - wx * sz, cz = wx * sy - wy * sx;
      if (this.prismatic[b]) {
        bx += 2 * cx; by += 2 * cy; bz += 2 * cz;
        al[3 * b] = ax; al[3 * b + 1] = ay; al[3 * b + 2] = az;
      } else {
        al[3 * b] = ax + cx; al[3 * b + 1] = ay + cy; al[3 * b + 2] = az + cz;
      }
      ac[3 * b] = bx; ac[3 * b + 1] = by; ac[3 * b + 2] = bz;
    }
    // Body wrenches (about each body's origin), then accumulate up the tree.
    for (let b = 0; b < nb; b++) {
      const m = this.mass[b];
      const rx = c[3 * b] - o[3 * b], ry = c[3 * b + 1] - o[3 * b + 1], rz = c[3 * b + 2] - o[3 * b + 2];
      const wx = w[3 * b], wy = w[3 * b + 1], wz = w[3 * b + 2];
      const ax = al[3 * b], ay = al[3 * b + 1], az = al[3 * b + 2];
      // COM acceleration bias: a_o + al x r + w x (w x r)
      const wrx = wy * rz - wz * ry, wry = wz * rx - wx * rz, wrz = wx * ry - wy * rx;
      let fx = m * (ac[3 * b] + ay * rz - az * ry + wy * wrz - wz * wry);
      let fy = m * (ac[3 * b + 1] + az * rx - ax * rz + wz * wrx - wx * wrz);
      let fz = m * (ac[3 * b + 2] + ax * ry - ay * rx + wx * wry - wy * wrx);
      if (fext) { fx -= fext[3 * b]; fy -= fext[3 * b + 1]; fz -= fext[3 * b + 2]; }
      const io = 9 * b;
      const Ix = Iw[io] * wx + Iw[io + 1] * wy + Iw[io + 2] * wz;
      const Iy = Iw[io + 3] * wx + Iw[io + 4] * wy + Iw[io + 5] * wz;
      const Iz = Iw[io + 6] * wx + Iw[io + 7] * wy + Iw[io + 8] * wz;
      const nx = Iw[io] * ax + Iw[io + 1] * ay + Iw[io + 2] * az + wy * Iz - wz * Iy + ry * fz - rz * fy;
      const ny = Iw[io + 3] * ax + Iw[io + 4] * ay + Iw[io + 5] * az + wz * Ix - wx * Iz + rz * fx - rx * fz;
      const nz = Iw[io + 6] * ax + Iw[io + 7] * ay + Iw[io + 8] * az + wx * Iy - wy * Ix + rx * fy - ry * fx;
      F[3 * b] = fx; F[3 * b + 1] = fy; F[3 * b + 2] = fz;
      N[3 * b] = nx; N[3 * b + 1] = ny; N[3 * b + 2] = nz;
    }
    C.fill(0);
    for (let b = nb - 1; b >= 1; b--) {
      const a = parent[b];
      const d = c0 + this.dof[b];
      const fx = F[3 * b], fy = F[3 * b + 1], fz = F[3 * b + 2];
      const nx = N[3 * b], ny = N[3 * b + 1], nz = N[3 * b + 2];
      C[d] += this.mult[b] * (this.prismatic[b]
        ? s[3 * b] * fx + s[3 * b + 1] * fy + s[3 * b + 2] * fz
        : s[3 * b] * nx + s[3 * b + 1] * ny + s[3 * b + 2] * nz);
      const rx = o[3 * b] - o[3 * a], ry = o[3 * b + 1] - o[3 * a + 1], rz = o[3 * b + 2] - o[3 * a + 2];
      F[3 * a] += fx; F[3 * a + 1] += fy; F[3 * a + 2] += fz;
      N[3 * a] += nx + ry * fz - rz * fy;
      N[3 * a + 1] += ny + rz * fx - rx * fz;
      N[3 * a + 2] += nz + rx * fy - ry * fx;
    }
    if (!this.fixedBase) {
      C[0] = F[0]; C[1] = F[1]; C[2] = F[2];
      C[3] = N[0]; C[4] = N[1]; C[5] = N[2];
    }
    return C;
  }

  /** Joint-space mass matrix into this.M (n x n, row-major) by composite rigid bodies. After prepare(). */
  massMatrix(): Float64Array {
    const { nb, n, o, c, Iw, s, parent, M, cm, ch, cI, Sw, Sv, c0 } = this;
    const px = o[0], py = o[1], pz = o[2];
    for (let b = 0; b < nb; b++) {
      const m = this.mass[b];
      const rx = c[3 * b] - px, ry = c[3 * b + 1] - py, rz = c[3 * b + 2] - pz;
      cm[b] = m;
      ch[3 * b] = m * rx; ch[3 * b + 1] = m * ry; ch[3 * b + 2] = m * rz;
      const rr = rx * rx + ry * ry + rz * rz;
      const io = 9 * b;
      cI[io] = Iw[io] + m * (rr - rx * rx); cI[io + 1] = Iw[io + 1] - m * rx * ry; cI[io + 2] = Iw[io + 2] - m * rx * rz;
      cI[io + 3] = Iw[io + 3] - m * ry * rx; cI[io + 4] = Iw[io + 4] + m * (rr - ry * ry); cI[io + 5] = Iw[io + 5] - m * ry * rz;
      cI[io + 6] = Iw[io + 6] - m * rz * rx; cI[io + 7] = Iw[io + 7] - m * rz * ry; cI[io + 8] = Iw[io + 8] + m * (rr - rz * rz);
      if (b > 0) {
        // Joint motion: angular s (revolute) and the velocity of the body point at the root origin.
        const sx = s[3 * b], sy = s[3 * b + 1], sz = s[3 * b + 2];
        if (this.prismatic[b]) {
          Sw[3 * b] = 0; Sw[3 * b + 1] = 0; Sw[3 * b + 2] = 0;
          Sv[3 * b] = sx; Sv[3 * b + 1] = sy; Sv[3 * b + 2] = sz;
        } else {
          const dx = px - o[3 * b], dy = py - o[3 * b + 1], dz = pz - o[3 * b + 2];
          Sw[3 * b] = sx; Sw[3 * b + 1] = sy; Sw[3 * b + 2] = sz;
          Sv[3 * b] = sy * dz - sz * dy; Sv[3 * b + 1] = sz * dx - sx * dz; Sv[3 * b + 2] = sx * dy - sy * dx;
        }
      }
    }
    for (let b = nb - 1; b >= 1; b--) {
      const a = parent[b];
      cm[a] += cm[b];
      ch[3 * a] += ch[3 * b]; ch[3 * a + 1] += ch[3 * b + 1]; ch[3 * a + 2] += ch[3 * b + 2];
      for (let k = 0; k < 9; k++) cI[9 * a + k] += cI[9 * b + k];
    }
    M.fill(0);
    for (let j = 1; j < nb; j++) {
      // Momentum of subtree j moving with joint j's unit motion: P = m v + w x h, L = I w + h x v.
      const m = cm[j], hx = ch[3 * j], hy = ch[3 * j + 1], hz = ch[3 * j + 2], io = 9 * j;
      const wx = Sw[3 * j], wy = Sw[3 * j + 1], wz = Sw[3 * j + 2];
      const vx = Sv[3 * j], vy = Sv[3 * j + 1], vz = Sv[3 * j + 2];
      const mj = this.mult[j];
      const Px = mj * (m * vx + wy * hz - wz * hy), Py = mj * (m * vy + wz * hx - wx * hz), Pz = mj * (m * vz + wx * hy - wy * hx);
      const Lx = mj * (cI[io] * wx + cI[io + 1] * wy + cI[io + 2] * wz + hy * vz - hz * vy);
      const Ly = mj * (cI[io + 3] * wx + cI[io + 4] * wy + cI[io + 5] * wz + hz * vx - hx * vz);
      const Lz = mj * (cI[io + 6] * wx + cI[io + 7] * wy + cI[io + 8] * wz + hx * vy - hy * vx);
      const dj = c0 + this.dof[j];
      for (let i = j; i >= 1; i = parent[i]) {
        const di = c0 + this.dof[i];
        const val = this.mult[i] * (Sw[3 * i] * Lx + Sw[3 * i + 1] * Ly + Sw[3 * i + 2] * Lz + Sv[3 * i] * Px + Sv[3 * i + 1] * Py + Sv[3 * i + 2] * Pz);
        M[di * n + dj] += val;
        if (i !== j) M[dj * n + di] += val;
      }
      if (!this.fixedBase) {
        M[dj] += Px; M[n + dj] += Py; M[2 * n + dj] += Pz;
        M[3 * n + dj] += Lx; M[4 * n + dj] += Ly; M[5 * n + dj] += Lz;
        M[dj * n] += Px; M[dj * n + 1] += Py; M[dj * n + 2] += Pz;
        M[dj * n + 3] += Lx; M[dj * n + 4] += Ly; M[dj * n + 5] += Lz;
      }
    }
    if (!this.fixedBase) {
      const m = cm[0], hx = ch[0], hy = ch[1], hz = ch[2];
      M[0] = m; M[n + 1] = m; M[2 * n + 2] = m;
      // M[ang a][lin b] = (h x e_b)_a ; M[lin b][ang a] the same.
      const H = this.skew; // (h x e_b)_a = H[3a + b]: skew(h)
      H[0] = 0; H[1] = -hz; H[2] = hy; H[3] = hz; H[4] = 0; H[5] = -hx; H[6] = -hy; H[7] = hx; H[8] = 0;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
        M[(3 + a) * n + b] = H[3 * a + b];
        M[b * n + 3 + a] = H[3 * a + b];
        M[(3 + a) * n + 3 + b] = cI[3 * a + b];
      }
    }
    return M;
  }

  /**
   * Velocity-product acceleration (J-dot u) of a point fixed in body b, at world position (px, py, pz): its
   * acceleration when every generalised acceleration is zero. Valid after bias(): linear (3) then the body's
   * angular (3) into out. The base's own velocity terms are included; gravity is not.
   */
  biasAcceleration(b: number, px: number, py: number, pz: number, out: Float64Array): void {
    const { o, w, al, ac } = this;
    const rx = px - o[3 * b], ry = py - o[3 * b + 1], rz = pz - o[3 * b + 2];
    const wx = w[3 * b], wy = w[3 * b + 1], wz = w[3 * b + 2];
    const ax = al[3 * b], ay = al[3 * b + 1], az = al[3 * b + 2];
    const wrx = wy * rz - wz * ry, wry = wz * rx - wx * rz, wrz = wx * ry - wy * rx;
    out[0] = ac[3 * b] + ay * rz - az * ry + wy * wrz - wz * wry;
    out[1] = ac[3 * b + 1] + az * rx - ax * rz + wz * wrx - wx * wrz;
    out[2] = ac[3 * b + 2] + ax * ry - ay * rx + wx * wry - wy * wrx - this.gravity;
    out[3] = ax; out[4] = ay; out[5] = az;
  }

  /**
   * One time step. tau: joint generalised forces (nq) already capped; kp, kd: the stiffness and damping
   * of tau's PD part per dof, integrated implicitly (0 for a dof at its cap); fext: external forces per
   * body at its COM (3 per body) or null; baseWrench: force (3, at the root origin) and torque (3) on the
   * root body, world, or null (ignored for a fixed base).
   */
  step(tau: Float64Array, kp: Float64Array, kd: Float64Array, fext: Float64Array | null, baseWrench: Float64Array | null = null): void {
    const { n, c0, dt, M, L, rhs, du, u } = this;
    this.prepare();
    this.bias(fext);
    this.massMatrix();
    for (let i = 0; i < n; i++) rhs[i] = -dt * this.C[i];
    // A wrench on the root body (force at the root origin, torque; world): its generalised force is the
    // wrench itself on the base columns (they are the root origin's velocity and the world angular velocity).
    if (baseWrench && !this.fixedBase) for (let i = 0; i < 6; i++) rhs[i] += dt * baseWrench[i];
    for (let d = 0; d < this.nq; d++) {
      const i = c0 + d;
      if (this.stopW > 0) {
        // Joint stop: beyond (or about to pass) a limit, a one-sided spring-damper towards it on the joint's own
        // inertia M_ii, implicit: (M_ii + dt D + dt^2 K) du = dt (-K e - D u) - dt^2 K u.
        const qd = this.q[d], lo = this.kin.lower[d], hi = this.kin.upper[d], qn = qd + dt * u[i];
        // e: how far past the limit the joint is now (0 when inside but about to pass it this step).
        const e = qn > hi ? Math.max(0, qd - hi) : qn < lo ? Math.min(0, qd - lo) : 0;
        this.stopK[d] = 0;
        if (qn > hi || qn < lo) {
          const mi = M[i * n + i], w = this.stopW;
          const K = mi * w * w, D = 2 * mi * w;
          this.stopK[d] = K; this.stopD[d] = D; this.stopE[d] = e;
          M[i * n + i] += dt * D + dt * dt * K;
          rhs[i] += dt * (-K * e - D * u[i]) - dt * dt * K * u[i];
        }
      }
      M[i * n + i] += dt * kd[d] + dt * dt * kp[d];
      rhs[i] += dt * tau[d] - dt * dt * kp[d] * u[i];
    }
    L.set(M);
    if (!cholesky(L, n)) throw new Error(`articulated dynamics: mass matrix of ${this.kin.robot.name} is not positive definite`);
    du.set(rhs);
    choleskySolve(L, n, du);
    for (let i = 0; i < n; i++) u[i] += du[i];
    this.contacts();
    // The stop's force, -K (e + dt u') - D u', at the step's final velocity u' (the contact solve works with the
    // same implicit inertia, so the stop takes up part of the contact impulses too).
    for (let d = 0; d < this.nq; d++) {
      const K = this.stopW > 0 ? this.stopK[d] : 0, ui = u[c0 + d];
      this.stopTorque[d] = K > 0 ? -K * (this.stopE[d] + dt * ui) - this.stopD[d] * ui : 0;
    }
    this.integrate();
    for (let i = 0; i < n; i++) if (!Number.isFinite(u[i])) throw new Error(`articulated dynamics of ${this.kin.robot.name} diverged (non-finite velocity)`);
  }

  private contacts(): void {
    // A fixed-base robot (a hand on an arm) stands on no floor: its links have no ground to touch. (Its
    // root sits at the world origin, so a ground plane would cut through the fingers and blow the contact
    // solve up.)
    if (this.fixedBase) { this.nContacts = 0; return; }
    const { n, nb, kin, J, Y, W, L, lam, vRow, target, u, o, s, parent, c0 } = this;
    const P = kin.pose;
    let K = 0;
    for (let b = 0; b < nb; b++) {
      const pts = this.pts[b];
      if (!pts.length) continue;
      const p = 12 * this.top[b];
      if (P[p + 11] - this.ptRadius[b] >= this.margin) continue; // no point of this body can be that low
      // Extremes of the footprint among points below the margin: +-(x+y), +-(x-y).
      let best0 = -Infinity, best1 = -Infinity, best2 = -Infinity, best3 = -Infinity;
      const pk = this.pick;
      pk.fill(-1);
      for (let i = 0; i < pts.length; i += 3) {
        const x = pts[i], y = pts[i + 1], z = pts[i + 2];
        const wz = P[p + 6] * x + P[p + 7] * y + P[p + 8] * z + P[p + 11];
        if (wz >= this.margin) continue;
        const wx = P[p] * x + P[p + 1] * y + P[p + 2] * z + P[p + 9];
        const wy = P[p + 3] * x + P[p + 4] * y + P[p + 5] * z + P[p + 10];
        // Prefer deeper points on ties (a flat sole): small weight on depth.
        const e = -wz * 1e-3;
        if (wx + wy + e > best0) { best0 = wx + wy + e; pk[0] = i; }
        if (-wx - wy + e > best1) { best1 = -wx - wy + e; pk[1] = i; }
        if (wx - wy + e > best2) { best2 = wx - wy + e; pk[2] = i; }
        if (-wx + wy + e > best3) { best3 = -wx + wy + e; pk[3] = i; }
      }
      for (let k = 0; k < MAX_PER_BODY; k++) {
        const i = pk[k];
        if (i < 0) continue;
        let dup = false;
        for (let k2 = 0; k2 < k; k2++) if (pk[k2] === i) dup = true;
        if (dup || K >= this.maxK) continue;
        const x = pts[i], y = pts[i + 1], z = pts[i + 2];
        this.contactPoint[3 * K] = P[p] * x + P[p + 1] * y + P[p + 2] * z + P[p + 9];
        this.contactPoint[3 * K + 1] = P[p + 3] * x + P[p + 4] * y + P[p + 5] * z + P[p + 10];
        this.contactPoint[3 * K + 2] = P[p + 6] * x + P[p + 7] * y + P[p + 8] * z + P[p + 11];
        this.cBody[K] = b;
        this.cKey[K] = b * 65536 + i;
        K++;
      }
    }
    this.nContacts = K;
    if (!K) { this.prevK = 0; return; }
    const R = 3 * K;
    // Jacobian rows (linear velocity of each contact point): normal z, tangents x, y.
    J.fill(0, 0, R * n);
    for (let k = 0; k < K; k++) {
      const px = this.contactPoint[3 * k], py = this.contactPoint[3 * k + 1], pz = this.contactPoint[3 * k + 2];
      const rz = 3 * k * n, rx = rz + n, ry = rx + n;
      if (!this.fixedBase) {
        // v = v0 + w x (p - o0)
        const dx = px - o[0], dy = py - o[1], dz = pz - o[2];
        J[rx] = 1; J[ry + 1] = 1; J[rz + 2] = 1;
        // (e_a x d): a=0 -> (0, -dz, dy); a=1 -> (dz, 0, -dx); a=2 -> (-dy, dx, 0)
        J[rx + 4] = dz; J[rx + 5] = -dy;
        J[ry + 3] = -dz; J[ry + 5] = dx;
        J[rz + 3] = dy; J[rz + 4] = -dx;
      }
      for (let b = this.cBody[k]; b >= 1; b = parent[b]) {
        const col = c0 + this.dof[b], m = this.mult[b];
        const sx = s[3 * b], sy = s[3 * b + 1], sz = s[3 * b + 2];
        if (this.prismatic[b]) {
          J[rx + col] += m * sx; J[ry + col] += m * sy; J[rz + col] += m * sz;
        } else {
          const dx = px - o[3 * b], dy = py - o[3 * b + 1], dz = pz - o[3 * b + 2];
          J[rx + col] += m * (sy * dz - sz * dy);
          J[ry + col] += m * (sz * dx - sx * dz);
          J[rz + col] += m * (sx * dy - sy * dx);
        }
      }
    }
    // Y = L^-1 J^T, stored transposed (row r of Y = forward substitution of row r of J, contiguous), and
    // W = Y^T Y = J M~^-1 J^T: most of a step's arithmetic, in small functions of their own so they are
    // optimised after a few steps rather than with the whole solve.
    forwardRows3(L, n, J, Y, R);
    gram3(Y, n, R, W);
    // Row velocities now and targets.
    const dt = this.dt;
    for (let r = 0; r < R; r++) {
      let sum = 0;
      const jr = r * n;
      for (let i = 0; i < n; i++) sum += J[jr + i] * u[i];
      vRow[r] = sum;
      lam[r] = 0;
      target[r] = 0;
    }
    // Warm start: a contact at the same sample point of the same body as last step starts from its impulses.
    const mu0 = this.friction;
    for (let k = 0; k < K; k++) {
      const key = this.cKey[k];
      for (let k2 = 0; k2 < this.prevK; k2++) {
        if (this.prevKey[k2] !== key) continue;
        const ln = Math.max(0, this.prevLam[3 * k2]);
        let t1 = this.prevLam[3 * k2 + 1], t2 = this.prevLam[3 * k2 + 2];
        const mag = hypot2(t1, t2), lim = mu0 * ln;
        if (mag > lim) { const f = mag > 0 ? lim / mag : 0; t1 *= f; t2 *= f; }
        lam[3 * k] = ln; lam[3 * k + 1] = t1; lam[3 * k + 2] = t2;
        break;
      }
    }
    // (W is symmetric: its column c is read as row c, contiguous.)
    for (let c = 0; c < R; c++) {
      const l = lam[c];
      if (l !== 0) for (let r = 0, wc = c * R; r < R; r++) vRow[r] += W[wc + r] * l;
    }
    for (let k = 0; k < K; k++) {
      const z = this.contactPoint[3 * k + 2];
      target[3 * k] = z >= 0 ? -z / dt : (this.beta * Math.max(0, -z - this.slop)) / dt;
    }
    const mu = this.friction;
    let it = 0;
    while (it < this.iters) {
      it++;
      let change = 0;
      for (let k = 0; k < K; k++) {
        const rn = 3 * k;
        // Normal.
        if (!(W[rn * R + rn] > 1e-12)) continue; // a point nothing can move (e.g. on a body held by the mount)
        const old = lam[rn];
        let nl = old + (target[rn] - vRow[rn]) / W[rn * R + rn];
        if (nl < 0) nl = 0;
        let dl = nl - old;
        if (dl !== 0) { lam[rn] = nl; for (let r = 0, wc = rn * R; r < R; r++) vRow[r] += W[wc + r] * dl; const ad = dl < 0 ? -dl : dl; if (ad > change) change = ad; }
        // Friction (tangents x, y), clamped to the cone mu * lambda_n.
        const r1 = rn + 1, r2 = rn + 2;
        const o1 = lam[r1], o2 = lam[r2];
        const w1 = W[r1 * R + r1], w2 = W[r2 * R + r2];
        let t1 = w1 > 1e-12 ? o1 - vRow[r1] / w1 : 0;
        let t2 = w2 > 1e-12 ? o2 - vRow[r2] / w2 : 0;
        const lim = mu * lam[rn];
        const mag = hypot2(t1, t2);
        if (mag > lim) { const f = mag > 0 ? lim / mag : 0; t1 *= f; t2 *= f; }
        dl = t1 - o1;
        if (dl !== 0) { lam[r1] = t1; for (let r = 0, wc = r1 * R; r < R; r++) vRow[r] += W[wc + r] * dl; const ad = dl < 0 ? -dl : dl; if (ad > change) change = ad; }
        dl = t2 - o2;
        if (dl !== 0) { lam[r2] = t2; for (let r = 0, wc = r2 * R; r < R; r++) vRow[r] += W[wc + r] * dl; const ad = dl < 0 ? -dl : dl; if (ad > change) change = ad; }
      }
      if (change <= this.tol) break;
    }
    this.sweepsDone += it;
    this.solves++;
    this.prevK = K;
    for (let k = 0; k < K; k++) this.prevKey[k] = this.cKey[k];
    for (let r = 0; r < R; r++) this.prevLam[r] = lam[r];
    // du = L^-T (Y lam)
    const z = this.rhs;
    z.fill(0);
    for (let r = 0; r < R; r++) {
      const l = lam[r];
      if (l === 0) continue;
      const yr = r * n;
      for (let i = 0; i < n; i++) z[i] += Y[yr + i] * l;
    }
    backSubT(L, n, z, this.du);
    for (let i = 0; i < n; i++) u[i] += this.du[i];
    for (let k = 0; k < K; k++) this.contactImpulse[k] = lam[3 * k];
  }

  private integrate(): void {
    const { u, q, dt, c0 } = this;
    for (let d = 0; d < this.nq; d++) q[d] += dt * u[c0 + d];
    if (this.fixedBase) return;
    this.basePos[0] += dt * u[0]; this.basePos[1] += dt * u[1]; this.basePos[2] += dt * u[2];
    // q <- exp(w dt) * q  (world-frame angular velocity)
    const wx = u[3] * dt, wy = u[4] * dt, wz = u[5] * dt;
    const th = hypot3(wx, wy, wz);
    const h = 0.5 * th;
    const sc = th > 1e-12 ? Math.sin(h) / th : 0.5;
    const dw = Math.cos(h), dx = wx * sc, dy = wy * sc, dz = wz * sc;
    const Q = this.baseQuat;
    const qw = Q[0], qx = Q[1], qy = Q[2], qz = Q[3];
    let nw = dw * qw - dx * qx - dy * qy - dz * qz;
    let nx = dw * qx + dx * qw + dy * qz - dz * qy;
    let ny = dw * qy - dx * qz + dy * qw + dz * qx;
    let nz = dw * qz + dx * qy - dy * qx + dz * qw;
    const nrm = hypot4(nw, nx, ny, nz);
    nw /= nrm; nx /= nrm; ny /= nrm; nz /= nrm;
    Q[0] = nw; Q[1] = nx; Q[2] = ny; Q[3] = nz;
  }

  /** Kinetic energy 1/2 u^T M u (after massMatrix()). */
  kineticEnergy(): number {
    const { n, M, u } = this;
    let e = 0;
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let k = 0; k < n; k++) r += M[i * n + k] * u[k];
      e += u[i] * r;
    }
    return 0.5 * e;
  }
}

/** Solve L^T x = z. */
function backSubT(L: Float64Array, n: number, z: Float64Array, x: Float64Array): void {
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i];
    for (let k = i + 1; k < n; k++) sum -= L[k * n + i] * x[k];
    x[i] = sum / L[i * n + i];
  }
}

/**
 * Y = L^-1 J^T by forward substitution, one row of Y per row of J (R x n, row-major; R a multiple of 3). The
 * three rows of a contact run at once (each element of L loaded once for three sums); every sum still adds the
 * same products in the same order as one row at a time, so the results are the same to the bit.
 */
function forwardRows3(L: Float64Array, n: number, J: Float64Array, Y: Float64Array, R: number): void {
  for (let r = 0; r < R; r += 3) {
    const j0 = r * n, j1 = j0 + n, j2 = j1 + n;
    for (let i = 0; i < n; i++) {
      let s0 = J[j0 + i], s1 = J[j1 + i], s2 = J[j2 + i];
      const li = i * n;
      for (let k = 0; k < i; k++) {
        const l = L[li + k];
        s0 -= l * Y[j0 + k]; s1 -= l * Y[j1 + k]; s2 -= l * Y[j2 + k];
      }
      const d = L[li + i];
      Y[j0 + i] = s0 / d; Y[j1 + i] = s1 / d; Y[j2 + i] = s2 / d;
    }
  }
}

/**
 * W = Y Y^T (R x R, symmetric) for Y of R rows of n (R a multiple of 3), by 3 x 3 blocks of rows
 * (a0..a0+2) x (b0..b0+2), b0 >= a0, each written to both triangles (x * y = y * x exactly); each entry adds
 * the products in the same order as a plain dot product.
 */
function gram3(Y: Float64Array, n: number, R: number, W: Float64Array): void {
  for (let a0 = 0; a0 < R; a0 += 3) {
    const ya0 = a0 * n, ya1 = ya0 + n, ya2 = ya1 + n;
    for (let b0 = a0; b0 < R; b0 += 3) {
      const yb0 = b0 * n, yb1 = yb0 + n, yb2 = yb1 + n;
      let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0, s20 = 0, s21 = 0, s22 = 0;
      for (let i = 0; i < n; i++) {
        const x0 = Y[ya0 + i], x1 = Y[ya1 + i], x2 = Y[ya2 + i];
        const z0 = Y[yb0 + i], z1 = Y[yb1 + i], z2 = Y[yb2 + i];
        s00 += x0 * z0; s01 += x0 * z1; s02 += x0 * z2;
        s10 += x1 * z0; s11 += x1 * z1; s12 += x1 * z2;
        s20 += x2 * z0; s21 += x2 * z1; s22 += x2 * z2;
      }
      const wa0 = a0 * R + b0, wa1 = wa0 + R, wa2 = wa1 + R;
      W[wa0] = s00; W[wa0 + 1] = s01; W[wa0 + 2] = s02;
      W[wa1] = s10; W[wa1 + 1] = s11; W[wa1 + 2] = s12;
      W[wa2] = s20; W[wa2 + 1] = s21; W[wa2 + 2] = s22;
      const wb0 = b0 * R + a0, wb1 = wb0 + R, wb2 = wb1 + R;
      W[wb0] = s00; W[wb0 + 1] = s10; W[wb0 + 2] = s20;
      W[wb1] = s01; W[wb1 + 1] = s11; W[wb1 + 2] = s21;
      W[wb2] = s02; W[wb2 + 1] = s12; W[wb2 + 2] = s22;
    }
  }
}
