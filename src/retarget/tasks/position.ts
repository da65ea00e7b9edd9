/** Position task: a point of a link at a world target. */
import type { IkState, Task } from '../solver.ts';

const res3 = new Float64Array(3);

/** Keep a point of a link at a world target. */
export class PositionTask implements Task {
  readonly target = new Float64Array(3);
  readonly local: Float64Array;
  weight: number;
  constructor(readonly name: string, readonly link: number, local: ArrayLike<number>, weight: number) {
    this.local = Float64Array.from(local);
    this.weight = weight;
  }
  error(s: IkState, out: Float64Array): number {
    s.kin.pointWorld(this.link, this.local, out);
    out[0] -= this.target[0]; out[1] -= this.target[1]; out[2] -= this.target[2];
    return Math.sqrt(out[0] * out[0] + out[1] * out[1] + out[2] * out[2]);
  }
  accumulate(s: IkState): number {
    if (this.weight <= 0) return 0;
    this.error(s, res3);
    if (s.costOnly) return this.weight * (res3[0] * res3[0] + res3[1] * res3[1] + res3[2] * res3[2]);
    s.kin.jacobian(this.link, this.local, s.J, true);
    return s.addRows(s.J, 0, 3, res3, this.weight, s.cols[this.link]);
  }
}
