/** Posture task: joints pulled towards a reference configuration. */
import type { IkState, Task } from '../solver.ts';

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
