/**
 * The Rapier plant (plant.ts): a multibody world (world.ts). Loaded only when the Rapier engine is asked for.
 *
 * The JS bindings give multibody joints no motors and no limits (opts.jointStops adds stops as torques, below), so every step the total joint torque
 * (feed-forward + PD on the measured joint state, capped at the URDF effort) is applied as an equal and
 * opposite torque pair (a force pair for prismatic joints) on the child and parent bodies: PD is explicit
 * here (keep dt <= 2 ms with stiff gains). A base wrench is a force at the root origin and a torque, applied
 * to the root body. Joint state is measured from the bodies' relative rotations (translations for
 * prismatic joints); mimic joints get their leader's target through the multiplier and offset.
 *
 * reset() rebuilds the world at the given pose (Rapier's multibody joints start at coordinate 0 in the pose
 * they are built in) and sets every body's velocity from the state's root and joint velocities.
 */
import RAPIER from '@dimforge/rapier3d-compat';
import type { RobotGeometry } from './geometry.ts';
import { buildWorld, type SimWorld } from './world.ts';
import { SelfCollisionWorld } from './selfcollision.ts';
import { ArticulatedBody } from './articulated.ts';
import { commandTorque, makePlantState, type Plant, type PlantCommand, type PlantOptions, type PlantState } from './plant.ts';
import { matToQuat } from '../robot/kinematics.ts';

export class RapierPlant implements Plant {
  readonly engine = 'rapier-multibody';
  readonly dt: number;
  readonly gravity: number;
  readonly nq: number;
  readonly fixedBase: boolean;
  readonly selfContacts: boolean;
  readonly pd = 'explicit' as const;
  saturated = 0;
  readonly appliedTau: Float64Array;
  private readonly geom: RobotGeometry;
  private readonly opts: PlantOptions;
  private readonly excluded: [number, number][];
  private sim: SimWorld | null = null;
  /** Velocity helper: per-body velocities of a state (reduced-coordinate kinematics). */
  private readonly helper: ArticulatedBody;
  private readonly nb: number;
  private readonly bq: Float64Array; // body rotations (w, x, y, z)
  private readonly bp: Float64Array; // body origins
  private readonly bw: Float64Array;
  private readonly bv: Float64Array; // body COM velocity
  private readonly q: Float64Array;
  private readonly qd: Float64Array;
  private readonly kpI: Float64Array;
  private readonly kdI: Float64Array;
  private readonly torque: Float64Array;
  private readonly force: Float64Array;
  private readonly comLocal: Float64Array; // body COM in the body frame
  /** Joint stops (opts.jointStops): natural frequency (rad/s; 0 = none) and each dof's own inertia M_ii at reset. */
  private readonly stopW: number;
  private readonly stopInertia: Float64Array;
  private readonly stopTau: Float64Array;
  get stopTorque(): Float64Array { return this.stopTau; }
  private readonly linkQuat0 = new Float64Array(4); // body -> root link rotation
  private readonly vec = { x: 0, y: 0, z: 0 };
  private readonly contactView = { count: 0, points: new Float64Array(0), impulses: new Float64Array(0) };

  static async create(geom: RobotGeometry, opts: PlantOptions): Promise<RapierPlant> {
    await RAPIER.init();
    let excluded = opts.excludedPairs;
    if (!excluded && opts.selfCollision !== false) {
      const sc = await SelfCollisionWorld.create(geom);
      excluded = sc.excluded;
      sc.free();
    }
    return new RapierPlant(geom, opts, excluded ?? []);
  }

  private constructor(geom: RobotGeometry, opts: PlantOptions, excluded: [number, number][]) {
    this.geom = geom;
    this.opts = opts;
    this.excluded = excluded;
    this.dt = opts.dt;
    this.gravity = opts.gravity;
    this.nq = geom.kin.nq;
    this.fixedBase = opts.fixedBase;
    this.selfContacts = opts.selfCollision !== false;
    const nb = (this.nb = geom.bodies.length), nq = this.nq;
    this.helper = new ArticulatedBody(geom, { dt: opts.dt, gravity: opts.gravity, friction: opts.friction, fixedBase: opts.fixedBase });
    this.bq = new Float64Array(4 * nb); this.bp = new Float64Array(3 * nb);
    this.bw = new Float64Array(3 * nb); this.bv = new Float64Array(3 * nb);
    this.q = new Float64Array(nq); this.qd = new Float64Array(nq);
    this.kpI = new Float64Array(nq); this.kdI = new Float64Array(nq);
    this.appliedTau = new Float64Array(nq);
    this.torque = new Float64Array(3 * nb); this.force = new Float64Array(3 * nb);
    this.comLocal = new Float64Array(3 * nb);
    this.stopW = opts.jointStops ? 2 * Math.PI * (opts.jointStopHz ?? 30) : 0;
    this.stopInertia = new Float64Array(nq);
    this.stopTau = new Float64Array(nq);
  }

  reset(s: PlantState): void {
    this.sim?.free();
    this.saturated = 0;
    this.appliedTau.fill(0);
    this.stopTau.fill(0);
    const geom = this.geom, o = this.opts, nb = this.nb;
    const sim = buildWorld(geom, s.q, { pos: s.rootPos, quat: s.rootQuat }, {
      dt: o.dt, solverIterations: o.solverIterations ?? 4, joints: 'multibody', fixedBase: o.fixedBase, friction: o.friction,
      selfCollision: this.selfContacts, gravity: o.gravity, excludedPairs: this.excluded,
    });
    this.sim = sim;
    for (let b = 0; b < nb; b++) {
      const spec = geom.bodies[b];
      const R = sim.bodyToLink.subarray(12 * b, 12 * b + 12);
      for (let r = 0; r < 3; r++) this.comLocal[3 * b + r] = R[3 * r] * spec.com[0] + R[3 * r + 1] * spec.com[1] + R[3 * r + 2] * spec.com[2];
    }
    matToQuat(sim.bodyToLink, 0, this.linkQuat0);
    // Body velocities from the state (the helper's forward pass): COM velocity v_o + w x (c - o).
    const h = this.helper;
    h.reset(s.q, { pos: s.rootPos, quat: s.rootQuat });
    if (!o.fixedBase) for (let k = 0; k < 3; k++) { h.u[k] = s.rootVel[k]; h.u[3 + k] = s.rootAngVel[k]; }
    for (let d = 0; d < this.nq; d++) h.u[h.c0 + d] = s.qd[d];
    h.prepare();
    if (this.stopW > 0) {
      const M = h.massMatrix(), n = h.n;
      for (let d = 0; d < this.nq; d++) this.stopInertia[d] = M[(h.c0 + d) * n + h.c0 + d];
    }
    const v = this.vec;
    for (let b = 0; b < nb; b++) {
      if (b === 0 && o.fixedBase) continue;
      const wx = h.w[3 * b], wy = h.w[3 * b + 1], wz = h.w[3 * b + 2];
      const rx = h.c[3 * b] - h.o[3 * b], ry = h.c[3 * b + 1] - h.o[3 * b + 1], rz = h.c[3 * b + 2] - h.o[3 * b + 2];
      v.x = h.v[3 * b] + wy * rz - wz * ry; v.y = h.v[3 * b + 1] + wz * rx - wx * rz; v.z = h.v[3 * b + 2] + wx * ry - wy * rx;
      sim.bodies[b].setLinvel(v, true);
      v.x = wx; v.y = wy; v.z = wz;
      sim.bodies[b].setAngvel(v, true);
    }
    this.readBodies();
  }

  private world(): SimWorld {
    if (!this.sim) throw new Error('rapier plant: reset() before step() or read()');
    return this.sim;
  }

  /** Body states from Rapier, and the joint coordinates measured from them. */
  private readBodies(): void {
    const sim = this.world();
    const { bq, bp, bw, bv } = this;
    for (let b = 0; b < this.nb; b++) {
      const body = sim.bodies[b];
      const r = body.rotation(), p = body.translation(), w = body.angvel(), v = body.linvel();
      bq[4 * b] = r.w; bq[4 * b + 1] = r.x; bq[4 * b + 2] = r.y; bq[4 * b + 3] = r.z;
      bp[3 * b] = p.x; bp[3 * b + 1] = p.y; bp[3 * b + 2] = p.z;
      bw[3 * b] = w.x; bw[3 * b + 1] = w.y; bw[3 * b + 2] = w.z;
      bv[3 * b] = v.x; bv[3 * b + 1] = v.y; bv[3 * b + 2] = v.z;
    }
    const seen = this.kpI; // scratch: 1 once a dof has been measured from its leader
    seen.fill(0);
    for (const j of sim.joints) {
      const d = j.dof;
      if (seen[d] && !(j.mult === 1 && j.offset === 0)) continue;
      const { pos, vel } = this.jointState(j);
      this.q[d] = (pos - j.offset) / j.mult;
      this.qd[d] = vel / j.mult;
      seen[d] = 1;
    }
  }

  private jointState(j: SimWorld['joints'][number]): { pos: number; vel: number } {
    const { bq, bp, bw, bv } = this;
    const a = j.parent, c = j.child;
    rotate(bq, a, j.axis[0], j.axis[1], j.axis[2]);
    const ax = rx, ay = ry, az = rz;
    if (j.prismatic) {
      rotate(bq, a, j.anchor1[0], j.anchor1[1], j.anchor1[2]);
      const dx = bp[3 * c] - bp[3 * a] - rx, dy = bp[3 * c + 1] - bp[3 * a + 1] - ry, dz = bp[3 * c + 2] - bp[3 * a + 2] - rz;
      return { pos: j.q0 + dx * ax + dy * ay + dz * az, vel: (bv[3 * c] - bv[3 * a]) * ax + (bv[3 * c + 1] - bv[3 * a + 1]) * ay + (bv[3 * c + 2] - bv[3 * a + 2]) * az };
    }
    // Relative rotation conj(qa) * qc, its twist about the (parent-frame) axis.
    const aw = bq[4 * a], axx = -bq[4 * a + 1], ayy = -bq[4 * a + 2], azz = -bq[4 * a + 3];
    const cw = bq[4 * c], cx = bq[4 * c + 1], cy = bq[4 * c + 2], cz = bq[4 * c + 3];
    const qw = aw * cw - axx * cx - ayy * cy - azz * cz;
    const qx = aw * cx + axx * cw + ayy * cz - azz * cy;
    const qy = aw * cy - axx * cz + ayy * cw + azz * cx;
    const qz = aw * cz + axx * cy - ayy * cx + azz * cw;
    const sn = qx * j.axis[0] + qy * j.axis[1] + qz * j.axis[2];
    let pos = j.q0 + 2 * Math.atan2(sn, qw);
    if (pos > Math.PI) pos -= 2 * Math.PI; else if (pos < -Math.PI) pos += 2 * Math.PI;
    return { pos, vel: (bw[3 * c] - bw[3 * a]) * ax + (bw[3 * c + 1] - bw[3 * a + 1]) * ay + (bw[3 * c + 2] - bw[3 * a + 2]) * az };
  }

  step(cmd: PlantCommand): void {
    const sim = this.world();
    this.readBodies();
    const kin = this.geom.kin;
    this.saturated = commandTorque(cmd, this.q, this.qd, kin.effortLimit, this.appliedTau, this.kpI, this.kdI);
    const { torque, force, bq } = this;
    torque.fill(0); force.fill(0);
    // Joint stops at the URDF limits (the bindings give multibody joints no limits): beyond a limit, or about to pass
    // it this step, a one-sided spring-damper on the joint's own inertia, as the articulated plant's (explicit here).
    const stop = this.stopTau;
    if (this.stopW > 0) {
      const w = this.stopW, lo = kin.lower, hi = kin.upper, dt = this.dt;
      for (let d = 0; d < this.nq; d++) {
        const q = this.q[d], qd = this.qd[d], qn = q + dt * qd;
        let t = 0;
        if (qn > hi[d] || qn < lo[d]) {
          const e = qn > hi[d] ? Math.max(0, q - hi[d]) : Math.min(0, q - lo[d]);
          const m = this.stopInertia[d];
          t = -m * w * w * e - 2 * m * w * qd;
        }
        stop[d] = t;
      }
    }
    const fixedRoot = this.fixedBase;
    for (const j of sim.joints) {
      // A mimic joint carries its leader's torque scaled by the multiplier (the same generalised force).
      const t = j.mult * (this.appliedTau[j.dof] + (this.stopW > 0 ? stop[j.dof] : 0));
      rotate(bq, j.parent, j.axis[0], j.axis[1], j.axis[2]);
      const arr = j.prismatic ? force : torque;
      arr[3 * j.child] += t * rx; arr[3 * j.child + 1] += t * ry; arr[3 * j.child + 2] += t * rz;
      if (!(j.parent === 0 && fixedRoot)) { arr[3 * j.parent] -= t * rx; arr[3 * j.parent + 1] -= t * ry; arr[3 * j.parent + 2] -= t * rz; }
    }
    const bf = cmd.bodyForces;
    if (bf) for (let k = 0; k < 3 * this.nb; k++) force[k] += bf[k]; // addForce acts at the centre of mass
    const W = cmd.baseWrench;
    if (W && !fixedRoot) {
      // Force at the root origin = the same force at the COM plus the moment (o - c) x f.
      rotate(bq, 0, this.comLocal[0], this.comLocal[1], this.comLocal[2]);
      const dx = -rx, dy = -ry, dz = -rz; // o - c
      force[0] += W[0]; force[1] += W[1]; force[2] += W[2];
      torque[0] += W[3] + dy * W[2] - dz * W[1];
      torque[1] += W[4] + dz * W[0] - dx * W[2];
      torque[2] += W[5] + dx * W[1] - dy * W[0];
    }
    const v = this.vec;
    for (let b = 0; b < this.nb; b++) {
      const body = sim.bodies[b];
      body.resetForces(false);
      body.resetTorques(false);
      v.x = torque[3 * b]; v.y = torque[3 * b + 1]; v.z = torque[3 * b + 2];
      body.addTorque(v, false);
      v.x = force[3 * b]; v.y = force[3 * b + 1]; v.z = force[3 * b + 2];
      body.addForce(v, false);
    }
    sim.world.step(undefined, sim.hooks);
    for (let k = 0; k < this.appliedTau.length; k++) if (!Number.isFinite(this.appliedTau[k])) throw new Error('rapier plant: non-finite joint torque');
  }

  read(out: PlantState): void {
    this.readBodies();
    const { bq, bp, bw, bv } = this;
    out.q.set(this.q); out.qd.set(this.qd);
    out.rootPos[0] = bp[0]; out.rootPos[1] = bp[1]; out.rootPos[2] = bp[2];
    // Root link orientation = body rotation * (body -> link).
    const L = this.linkQuat0;
    const w = bq[0], x = bq[1], y = bq[2], z = bq[3];
    out.rootQuat[0] = w * L[0] - x * L[1] - y * L[2] - z * L[3];
    out.rootQuat[1] = w * L[1] + x * L[0] + y * L[3] - z * L[2];
    out.rootQuat[2] = w * L[2] - x * L[3] + y * L[0] + z * L[1];
    out.rootQuat[3] = w * L[3] + x * L[2] - y * L[1] + z * L[0];
    if (this.fixedBase) { out.rootVel.fill(0); out.rootAngVel.fill(0); return; }
    // Root origin velocity = COM velocity + w x (o - c).
    rotate(bq, 0, this.comLocal[0], this.comLocal[1], this.comLocal[2]);
    const dx = -rx, dy = -ry, dz = -rz;
    const wx = bw[0], wy = bw[1], wz = bw[2];
    out.rootVel[0] = bv[0] + wy * dz - wz * dy; out.rootVel[1] = bv[1] + wz * dx - wx * dz; out.rootVel[2] = bv[2] + wx * dy - wy * dx;
    out.rootAngVel[0] = wx; out.rootAngVel[1] = wy; out.rootAngVel[2] = wz;
  }

  linkPoses(): Float64Array {
    const st = (this.poseState ??= makePlantState(this.nq));
    this.read(st);
    this.geom.kin.fk(st.q, { pos: st.rootPos, quat: st.rootQuat });
    return this.geom.kin.pose;
  }
  private poseState: PlantState | undefined;

  bodyComs(): Float64Array {
    this.readBodies();
    const c = (this.comW ??= new Float64Array(3 * this.nb));
    for (let b = 0; b < this.nb; b++) {
      rotate(this.bq, b, this.comLocal[3 * b], this.comLocal[3 * b + 1], this.comLocal[3 * b + 2]);
      c[3 * b] = rx + this.bp[3 * b]; c[3 * b + 1] = ry + this.bp[3 * b + 1]; c[3 * b + 2] = rz + this.bp[3 * b + 2];
    }
    return c;
  }
  private comW: Float64Array | undefined;

  jointDrift(): number {
    const sim = this.world();
    this.readBodies();
    const { bq, bp } = this;
    let drift = 0;
    for (const j of sim.joints) {
      if (j.prismatic) continue;
      rotate(bq, j.parent, j.anchor1[0], j.anchor1[1], j.anchor1[2]);
      const x1 = rx + bp[3 * j.parent], y1 = ry + bp[3 * j.parent + 1], z1 = rz + bp[3 * j.parent + 2];
      rotate(bq, j.child, j.anchor2[0], j.anchor2[1], j.anchor2[2]);
      const d = Math.hypot(x1 - rx - bp[3 * j.child], y1 - ry - bp[3 * j.child + 1], z1 - rz - bp[3 * j.child + 2]);
      if (d > drift) drift = d;
    }
    return drift;
  }

  contacts(): { count: number; points: Float64Array; impulses: Float64Array } {
    // Rapier's contact manifolds are not read back here (the validator reads contacts only from the articulated model).
    return this.contactView;
  }

  dispose(): void {
    this.sim?.free();
    this.sim = null;
  }
}

// rotate(): result in module scratch rx, ry, rz (no allocation).
let rx = 0, ry = 0, rz = 0;
function rotate(bq: Float64Array, b: number, x: number, y: number, z: number): void {
  const w = bq[4 * b], qx = bq[4 * b + 1], qy = bq[4 * b + 2], qz = bq[4 * b + 3];
  const cx = qy * z - qz * y, cy = qz * x - qx * z, cz = qx * y - qy * x;
  const ccx = qy * cz - qz * cy, ccy = qz * cx - qx * cz, ccz = qx * cy - qy * cx;
  rx = x + 2 * (w * cx + ccx);
  ry = y + 2 * (w * cy + ccy);
  rz = z + 2 * (w * cz + ccz);
}
