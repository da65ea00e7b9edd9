/** Damping task: temporal smoothness against the previous frames. */
import type { IkState, Task } from '../solver.ts';

/**
 * Temporal smoothness: stay close to the previous frame (weight) and to the constant-velocity prediction
 * 2 q[t-1] - q[t-2] (accelWeight: an acceleration penalty); the base position likewise.
 */
export class DampingTask implements Task {
  readonly name = 'damping';
  readonly qPrev: Float64Array;
  readonly qPrev2: Float64Array;
  readonly basePrev = new Float64Array(3);
  readonly basePrev2 = new Float64Array(3);
  /** 0: off, 1: previous frame only, 2: previous two frames. */
  history = 0;
  constructor(nq: number, public weight: number, public baseWeight: number, public accelWeight = 0) {
    this.qPrev = new Float64Array(nq);
    this.qPrev2 = new Float64Array(nq);
  }
  /** Shift the history: the state just solved becomes the previous frame. */
  push(q: Float64Array, basePos: Float64Array): void {
    this.qPrev2.set(this.qPrev);
    this.basePrev2.set(this.basePrev);
    this.qPrev.set(q);
    this.basePrev.set(basePos);
    this.history = Math.min(2, this.history + 1);
  }
  accumulate(s: IkState): number {
    if (!this.history) return 0;
    let cost = 0;
    const nv = s.nv;
    const wa = this.history >= 2 ? this.accelWeight : 0;
    for (let i = 0; i < s.nq; i++) {
      const e = s.q[i] - this.qPrev[i];
      const a = wa ? s.q[i] - 2 * this.qPrev[i] + this.qPrev2[i] : 0;
      cost += this.weight * e * e + wa * a * a;
      if (s.costOnly) continue;
      s.H[(6 + i) * nv + 6 + i] += this.weight + wa;
      s.g[6 + i] -= this.weight * e + wa * a;
    }
    for (let k = 0; k < 3; k++) {
      const e = s.basePos[k] - this.basePrev[k];
      const a = wa ? s.basePos[k] - 2 * this.basePrev[k] + this.basePrev2[k] : 0;
      const wb = this.baseWeight, wab = wa ? this.baseWeight * (this.accelWeight / Math.max(this.weight, 1e-12)) : 0;
      cost += wb * e * e + wab * a * a;
      if (s.costOnly) continue;
      s.H[k * nv + k] += wb + wab;
      s.g[k] -= wb * e + wab * a;
    }
    return cost;
  }
}
