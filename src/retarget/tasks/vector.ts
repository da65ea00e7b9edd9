/** Vector task (hands): origin-link → task-link vectors follow scaled human landmark vectors, Huber loss. */
import { UserError } from '../../errors.ts';
import { addBlock, type HandObjective, type HandState } from '../hand/objectives.ts';

/** Link-to-link vectors of a hand and the human landmark pairs they follow (a dex-retargeting style vector config). */
export interface HandVectors {
  /** Per vector: origin and task link names (the vector runs origin → task). */
  origin: string[];
  task: string[];
  /** Per vector: the human landmarks [j0, j1] (MediaPipe indices) whose j0 → j1 vector it follows. */
  human: [number, number][];
  /** Robot length per human length: the target is scale × (human j1 − j0). */
  scale: number;
  /**
   * Huber threshold (m) on each vector's error: quadratic below it, linear above (one outlying landmark or
   * an unreachable target pulls with bounded force). 0 for plain least squares. Default 0.02.
   */
  huber?: number;
}

const ZERO3 = new Float64Array(3);
const res = new Float64Array(3);

/**
 * Each robot origin-link → task-link vector (palm coordinates) follows `scale` × the human's j0 → j1
 * landmark vector (expressed along the robot palm axes), with a Huber loss on each vector's error. Cost
 * per vector: e² when e ≤ δ, 2δe − δ² beyond (same slope at δ); Gauss–Newton terms by iteratively
 * reweighted least squares (weight δ/e beyond δ).
 */
export class VectorTask implements HandObjective {
  readonly name = 'vectors';
  /** Error of each vector (m) at the last evaluation, and the angle between robot and target vectors (rad, cost-only evaluations). */
  readonly error: Float64Array;
  readonly angle: Float64Array;
  /** Per vector: index of the finger whose tip is the task point (reuses its Jacobian), else −1. */
  readonly taskTip: Int32Array;
  readonly huber: number;
  private readonly n: number;
  private readonly origin: Int32Array;
  private readonly task: Int32Array;
  /** Per vector: 1 when the origin link moves with a solved dof. */
  private readonly originMoves: Uint8Array;
  private readonly j0: Int32Array;
  private readonly j1: Int32Array;
  private readonly po = new Float64Array(3);
  private readonly pt = new Float64Array(3);
  private readonly jo: Float64Array;
  private readonly jt: Float64Array;
  private readonly jv: Float64Array;

  constructor(s: HandState, public readonly vectors: HandVectors, public weight = 1) {
    const kin = s.kin, nd = s.nd;
    this.n = vectors.task.length;
    const link = (nm: string, what: string) => {
      if (!kin.hasLink(nm)) throw new UserError(`vectors: ${what} link "${nm}" is not a link of ${kin.robot.name}`, kin.robot.file ?? kin.robot.name);
      return kin.linkIndex(nm);
    };
    this.origin = Int32Array.from(vectors.origin, (nm) => link(nm, 'origin'));
    this.task = Int32Array.from(vectors.task, (nm) => link(nm, 'task'));
    this.originMoves = Uint8Array.from(this.origin, (l) => (s.cols[l].length ? 1 : 0));
    this.taskTip = Int32Array.from(this.task, (l) => s.model.fingers.findIndex((f) => f.tipLinkIndex === l && f.tipLocal.every((v) => v === 0)));
    this.j0 = Int32Array.from(vectors.human, (p) => p[0]);
    this.j1 = Int32Array.from(vectors.human, (p) => p[1]);
    this.error = new Float64Array(this.n);
    this.angle = new Float64Array(this.n);
    this.jo = new Float64Array(3 * nd);
    this.jt = new Float64Array(3 * nd);
    this.jv = new Float64Array(3 * nd);
    this.huber = vectors.huber ?? 0.02;
  }

  accumulate(s: HandState): number {
    const w = this.weight;
    if (!w) return 0;
    const h = s.human, nd = s.nd, sc = this.vectors.scale, delta = this.huber;
    let cost = 0;
    for (let v = 0; v < this.n; v++) {
      const tip = this.taskTip[v];
      s.pointPalm(this.origin[v], ZERO3, 0, this.po, 0);
      const T = tip >= 0 ? s.tipPos : this.pt, to = tip >= 0 ? 3 * tip : 0;
      if (tip < 0) s.pointPalm(this.task[v], ZERO3, 0, this.pt, 0);
      const a = 3 * this.j0[v], b = 3 * this.j1[v];
      let dp = 0, nr = 0, nh = 0;
      for (let k = 0; k < 3; k++) {
        const rv = T[to + k] - this.po[k], hv = sc * (h[b + k] - h[a + k]);
        res[k] = rv - hv; dp += rv * hv; nr += rv * rv; nh += hv * hv;
      }
      const e = Math.hypot(res[0], res[1], res[2]);
      this.error[v] = e;
      if (s.costOnly) this.angle[v] = Math.acos(Math.max(-1, Math.min(1, dp / (Math.sqrt(nr * nh) + 1e-15))));
      const far = delta > 0 && e > delta;
      cost += far ? w * (2 * delta * e - delta * delta) : w * e * e;
      if (s.costOnly) continue;
      // Jacobian of the vector: the task point's minus the origin point's (solved dofs only).
      let J: Float64Array, r0 = 0;
      if (tip >= 0 && !this.originMoves[v]) { J = s.tipJac; r0 = 3 * tip; } else {
        if (tip >= 0) this.jt.set(s.tipJac.subarray(3 * tip * nd, 3 * (tip + 1) * nd));
        else s.pointJacPalm(this.task[v], ZERO3, 0, this.jt, 0);
        if (this.originMoves[v]) {
          s.pointJacPalm(this.origin[v], ZERO3, 0, this.jo, 0);
          for (let k = 0; k < 3 * nd; k++) this.jv[k] = this.jt[k] - this.jo[k];
          J = this.jv;
        } else J = this.jt;
      }
      addBlock(s, J, r0, 3, res, far ? (w * delta) / e : w);
    }
    return cost;
  }
}
