/**
 * One interface over the simulators a controller or the validator can drive (the "plant"): reset to a state,
 * step with joint torques (+ optional implicit PD targets) and an optional wrench on the base, read the state.
 *
 * Engines:
 * - 'articulated' (default, fast): the project's reduced-coordinate dynamics (articulated.ts). Exact joints,
 *   ground contacts with Coulomb friction, PD integrated implicitly (stable at large dt), no self-contact.
 * - 'rapier': Rapier's multibody world (world.ts, plant-rapier.ts), loaded only when asked for. The JS
 *   bindings give multibody joints no motors, so the total joint torque (feed-forward + PD, capped at the URDF
 *   effort) is applied as an equal and opposite torque (force, for prismatic joints) pair on the child and
 *   parent bodies, and the PD part is explicit (keep dt <= 2 ms). Self-contacts are simulated (pairs that
 *   already overlap in the neutral pose excluded).
 *
 * Joint order: the robot model's actuated joints (Kinematics dof order, nq). Mimic joints follow their leader.
 * Every step caps the total joint torque tau + kp (qRef - q) + kd (qdRef - qd) at the URDF effort limit; a
 * capped dof's PD is not integrated implicitly (its derivative is 0 at the cap).
 */
import type { RobotGeometry } from './geometry.ts';
import { ArticulatedBody } from './articulated.ts';

export interface PlantState {
  /** 3, world, Z up (floating base; unused for a fixed base). */
  rootPos: Float64Array;
  /** 4, w, x, y, z. */
  rootQuat: Float64Array;
  /** 3, root origin linear velocity, world. */
  rootVel: Float64Array;
  /** 3, world. */
  rootAngVel: Float64Array;
  /** nq actuated joint positions, in the robot model's actuated-joint order. */
  q: Float64Array;
  qd: Float64Array;
}

export interface PlantCommand {
  /** nq feed-forward joint torques (N m / N). */
  tau: Float64Array;
  /** Optional PD targets, integrated implicitly by the plant where it can (stable at large dt). */
  qRef?: Float64Array | null;
  qdRef?: Float64Array | null;
  kp?: Float64Array | null;
  kd?: Float64Array | null;
  /** 6: force (3) + torque about the root origin (3), world; null = none. */
  baseWrench?: Float64Array | null;
  /** External forces at every body's centre of mass (3 per body of geom.bodies, world); null = none. */
  bodyForces?: Float64Array | null;
}

export interface Plant {
  /** 'articulated' | 'rapier-multibody'. */
  readonly engine: string;
  readonly dt: number;
  /** Gravity (m/s^2, along -Z). */
  readonly gravity: number;
  readonly nq: number;
  readonly fixedBase: boolean;
  /** Whether self-contact is simulated. */
  readonly selfContacts: boolean;
  /** How the PD part of a command is integrated: 'implicit' (articulated) or 'explicit' (Rapier). */
  readonly pd: 'implicit' | 'explicit';
  /** Dofs whose total torque hit the effort cap in the last step, and the torques applied (nq). */
  readonly saturated: number;
  readonly appliedTau: Float64Array;
  /**
   * The generalised force the joint stops (PlantOptions.jointStops) added to each dof in the last step (nq, N m;
   * all 0 without stops). It acts on top of appliedTau: a joint driven into its stop, or held against it, gets more
   * than its actuator's effort (T1 hammering, issue 14: 108 N m on a 30 N m hip roll for one step).
   */
  readonly stopTorque: Float64Array;
  reset(state: PlantState): void;
  /** Total joint torque (tau + PD) is clamped to the URDF effort limits. */
  step(cmd: PlantCommand): void;
  read(out: PlantState): void;
  /**
   * World poses of every kinematics link (3x4 row-major, 12 per link, Kinematics.pose layout) of the current
   * state. The returned array is the model's own scratch (valid until the next call that moves the model).
   */
  linkPoses(): Float64Array;
  /** World centre of mass of every body of geom.bodies (3 per body) in the current state (model scratch). */
  bodyComs(): Float64Array;
  /** Largest separation at any joint anchor now (m): 0 by construction for reduced coordinates. */
  jointDrift(): number;
  /** Ground contacts of the last step: count, world points (3 each), normal impulses (N s). */
  contacts(): { count: number; points: Float64Array; impulses: Float64Array };
  dispose(): void;
}

export interface PlantOptions {
  engine: 'articulated' | 'rapier';
  dt: number;
  fixedBase: boolean;
  friction: number;
  gravity: number;
  /** Articulated: projected Gauss-Seidel sweeps over the ground contacts (at most; default 30). */
  contactIterations?: number;
  /** Articulated: a sweep changing no contact impulse by more than this (N s) ends the solve (default 1e-6 m g dt). */
  contactTolerance?: number;
  /** Joint stops at the URDF position limits (default off; see ArticulatedOptions.jointStops; the Rapier plant adds
   *  the same one-sided spring-damper explicitly, on each joint's inertia at reset). */
  jointStops?: boolean;
  /** Natural frequency of the joint stops (Hz; default 30). */
  jointStopHz?: number;
  /** Rapier: solver iterations (default 4). */
  solverIterations?: number;
  /** Rapier: simulate self-contact (default true). */
  selfCollision?: boolean;
  /** Rapier: body pairs never to collide (default: those overlapping in the neutral pose). */
  excludedPairs?: [number, number][];
}

export function makePlantState(nq: number): PlantState {
  return {
    rootPos: new Float64Array(3), rootQuat: Float64Array.of(1, 0, 0, 0), rootVel: new Float64Array(3),
    rootAngVel: new Float64Array(3), q: new Float64Array(nq), qd: new Float64Array(nq),
  };
}

export function copyPlantState(from: PlantState, to: PlantState): void {
  to.rootPos.set(from.rootPos); to.rootQuat.set(from.rootQuat); to.rootVel.set(from.rootVel);
  to.rootAngVel.set(from.rootAngVel); to.q.set(from.q); to.qd.set(from.qd);
}

export async function createPlant(geom: RobotGeometry, opts: PlantOptions): Promise<Plant> {
  if (!(opts.dt > 0)) throw new Error(`plant: dt must be > 0, got ${opts.dt}`);
  if (opts.engine === 'articulated') return new ArticulatedPlant(geom, opts);
  if (opts.engine === 'rapier') {
    const { RapierPlant } = await import('./plant-rapier.ts');
    return RapierPlant.create(geom, opts);
  }
  throw new Error(`plant: unknown engine '${String((opts as { engine: unknown }).engine)}' (articulated | rapier)`);
}

/**
 * Total joint torque of a command, capped at the effort limits: out[d] = clamp(tau + kp (qRef - q) +
 * kd (qdRef - qd)); kpI/kdI get the gains still acting (0 where capped). Returns the number of capped dofs.
 */
export function commandTorque(cmd: PlantCommand, q: ArrayLike<number>, qd: ArrayLike<number>, effort: Float64Array,
  out: Float64Array, kpI: Float64Array, kdI: Float64Array): number {
  const { tau, qRef, qdRef, kp, kd } = cmd;
  let sat = 0;
  for (let d = 0; d < out.length; d++) {
    let t = 0;
    let p = 0, v = 0;
    if (qRef && kp) { p = kp[d]; t = p * (qRef[d] - q[d]); }
    if (kd) { v = kd[d]; t += v * ((qdRef ? qdRef[d] : 0) - qd[d]); }
    t += tau[d];
    const e = effort[d];
    if (t > e || t < -e) { t = t > 0 ? e : -e; sat++; p = 0; v = 0; }
    out[d] = t; kpI[d] = p; kdI[d] = v;
  }
  return sat;
}

class ArticulatedPlant implements Plant {
  readonly engine = 'articulated';
  readonly dt: number;
  readonly gravity: number;
  readonly nq: number;
  readonly fixedBase: boolean;
  readonly selfContacts = false;
  readonly pd = 'implicit' as const;
  saturated = 0;
  readonly appliedTau: Float64Array;
  readonly body: ArticulatedBody;
  get stopTorque(): Float64Array { return this.body.stopTorque; }
  private readonly kpI: Float64Array;
  private readonly kdI: Float64Array;
  private readonly qdNow: Float64Array;
  private readonly contactView: { count: number; points: Float64Array; impulses: Float64Array };

  constructor(geom: RobotGeometry, o: PlantOptions) {
    this.body = new ArticulatedBody(geom, { dt: o.dt, gravity: o.gravity, friction: o.friction, fixedBase: o.fixedBase, iterations: o.contactIterations, tolerance: o.contactTolerance, jointStops: o.jointStops, stopHz: o.jointStopHz });
    this.dt = o.dt;
    this.gravity = o.gravity;
    this.nq = this.body.nq;
    this.fixedBase = o.fixedBase;
    this.appliedTau = new Float64Array(this.nq);
    this.kpI = new Float64Array(this.nq);
    this.kdI = new Float64Array(this.nq);
    this.qdNow = new Float64Array(this.nq);
    this.contactView = { count: 0, points: this.body.contactPoint, impulses: this.body.contactImpulse };
  }

  reset(s: PlantState): void {
    const b = this.body;
    b.reset(s.q, { pos: s.rootPos, quat: s.rootQuat });
    if (!this.fixedBase) for (let k = 0; k < 3; k++) { b.u[k] = s.rootVel[k]; b.u[3 + k] = s.rootAngVel[k]; }
    for (let d = 0; d < this.nq; d++) b.u[b.c0 + d] = s.qd[d];
    b.nContacts = 0;
    this.saturated = 0;
    this.appliedTau.fill(0);
    b.prepare();
  }

  step(cmd: PlantCommand): void {
    const b = this.body;
    for (let d = 0; d < this.nq; d++) this.qdNow[d] = b.u[b.c0 + d];
    this.saturated = commandTorque(cmd, b.q, this.qdNow, b.kin.effortLimit, this.appliedTau, this.kpI, this.kdI);
    b.step(this.appliedTau, this.kpI, this.kdI, cmd.bodyForces ?? null, cmd.baseWrench ?? null);
  }

  read(out: PlantState): void {
    const b = this.body;
    out.rootPos.set(b.basePos); out.rootQuat.set(b.baseQuat);
    if (this.fixedBase) { out.rootVel.fill(0); out.rootAngVel.fill(0); }
    else for (let k = 0; k < 3; k++) { out.rootVel[k] = b.u[k]; out.rootAngVel[k] = b.u[3 + k]; }
    out.q.set(b.q);
    for (let d = 0; d < this.nq; d++) out.qd[d] = b.u[b.c0 + d];
  }

  linkPoses(): Float64Array {
    this.body.prepare();
    return this.body.kin.pose;
  }

  bodyComs(): Float64Array {
    this.body.prepare();
    return this.body.c;
  }

  jointDrift(): number { return 0; }

  contacts(): { count: number; points: Float64Array; impulses: Float64Array } {
    this.contactView.count = this.body.nContacts;
    return this.contactView;
  }

  dispose(): void {}
}
