/**
 * The plant the controller drives, in the shape of the project's plant interface (src/sim/plant.ts): reset,
 * step with joint torques (and optional implicitly integrated PD targets), read the state. Until that module
 * is on main this file holds the same interface and one engine, the project's articulated dynamics
 * (src/sim/articulated.ts), behind it.
 */
import type { RobotGeometry } from '../sim/geometry.ts';
import { ArticulatedBody } from '../sim/articulated.ts';

export interface PlantState {
  rootPos: Float64Array;
  rootQuat: Float64Array;
  rootVel: Float64Array;
  rootAngVel: Float64Array;
  q: Float64Array;
  qd: Float64Array;
}

export interface PlantCommand {
  tau: Float64Array;
  qRef?: Float64Array | null;
  qdRef?: Float64Array | null;
  kp?: Float64Array | null;
  kd?: Float64Array | null;
  baseWrench?: Float64Array | null;
}

export interface Plant {
  readonly engine: string;
  readonly dt: number;
  readonly nq: number;
  readonly fixedBase: boolean;
  readonly selfContacts: boolean;
  reset(state: PlantState): void;
  step(cmd: PlantCommand): void;
  read(out: PlantState): void;
  dispose(): void;
}

export function makePlantState(nq: number): PlantState {
  return {
    rootPos: new Float64Array(3), rootQuat: new Float64Array([1, 0, 0, 0]), rootVel: new Float64Array(3),
    rootAngVel: new Float64Array(3), q: new Float64Array(nq), qd: new Float64Array(nq),
  };
}

/** The articulated dynamics as a plant (ground contacts with friction, no self-contact, no base wrench). */
export class ArticulatedPlant implements Plant {
  readonly engine = 'articulated';
  readonly dt: number;
  readonly nq: number;
  readonly fixedBase: boolean;
  readonly selfContacts = false;
  readonly body: ArticulatedBody;
  private readonly tau: Float64Array;
  private readonly kp: Float64Array;
  private readonly kd: Float64Array;
  private readonly effort: Float64Array;

  constructor(geom: RobotGeometry, o: { dt: number; fixedBase: boolean; friction: number; gravity: number }) {
    this.body = new ArticulatedBody(geom, o);
    this.dt = o.dt;
    this.nq = geom.kin.nq;
    this.fixedBase = o.fixedBase;
    this.tau = new Float64Array(this.nq);
    this.kp = new Float64Array(this.nq);
    this.kd = new Float64Array(this.nq);
    this.effort = geom.kin.effortLimit;
  }

  reset(s: PlantState): void {
    const b = this.body;
    b.reset(s.q, { pos: s.rootPos, quat: s.rootQuat });
    if (!this.fixedBase) { b.u.set(s.rootVel, 0); b.u.set(s.rootAngVel, 3); }
    b.u.set(s.qd, b.c0);
    b.prepare();
  }

  step(cmd: PlantCommand): void {
    const b = this.body, { tau, kp, kd, effort } = this;
    for (let d = 0; d < this.nq; d++) {
      let t = cmd.tau[d];
      const p = cmd.kp && cmd.qRef ? cmd.kp[d] : 0, v = cmd.kd ? cmd.kd[d] : 0;
      if (p) t += p * (cmd.qRef![d] - b.q[d]);
      if (v) t += v * ((cmd.qdRef ? cmd.qdRef[d] : 0) - b.u[b.c0 + d]);
      kp[d] = p; kd[d] = v;
      const e = effort[d];
      if (t > e || t < -e) { t = t > 0 ? e : -e; kp[d] = 0; kd[d] = 0; }
      tau[d] = t;
    }
    b.step(tau, kp, kd, null);
  }

  read(out: PlantState): void {
    const b = this.body;
    out.rootPos.set(b.basePos); out.rootQuat.set(b.baseQuat);
    if (this.fixedBase) { out.rootVel.fill(0); out.rootAngVel.fill(0); } else { out.rootVel.set(b.u.subarray(0, 3)); out.rootAngVel.set(b.u.subarray(3, 6)); }
    out.q.set(b.q); out.qd.set(b.u.subarray(b.c0));
  }

  dispose(): void {}
}
