/** Direction task: a link-fixed direction along a world direction (or its heading). */
import type { IkState, Task } from '../solver.ts';

const res3 = new Float64Array(3);

/**
 * Align a direction fixed in a link with a world direction (unit vectors). With `heading`, only the
 * direction's bearing about the world z axis is matched (one row: the z component of v x target), so a
 * pitched foot can still follow a horizontal heading.
 */
export class DirectionTask implements Task {
  readonly target = new Float64Array(3);
  readonly local: Float64Array;
  weight: number;
  heading = false;
  private readonly row = new Float64Array(1);
  constructor(readonly name: string, readonly link: number, local: ArrayLike<number>, weight: number) {
    const n = Math.hypot(local[0], local[1], local[2]);
    this.local = Float64Array.from([local[0] / n, local[1] / n, local[2] / n]);
    this.weight = weight;
  }
  accumulate(s: IkState): number {
    if (this.weight <= 0) return 0;
    const P = s.kin.pose, o = 12 * this.link, d = this.local, u = this.target;
    const vx = P[o] * d[0] + P[o + 1] * d[1] + P[o + 2] * d[2];
    const vy = P[o + 3] * d[0] + P[o + 4] * d[1] + P[o + 5] * d[2];
    const vz = P[o + 6] * d[0] + P[o + 7] * d[1] + P[o + 8] * d[2];
    if (s.costOnly) {
      if (this.heading) { const r = vx * u[1] - vy * u[0]; return this.weight * r * r; }
      return this.weight * ((vx - u[0]) ** 2 + (vy - u[1]) ** 2 + (vz - u[2]) ** 2);
    }
    const J = s.kin.jacobian(this.link, null, s.J, true);
    const nv = s.nv;
    const cols = s.cols[this.link];
    if (this.heading) {
      // r = (v x u).z, dv = w x v.
      this.row[0] = vx * u[1] - vy * u[0];
      for (let k = 0; k < cols.length; k++) {
        const c = cols[k];
        const wx = J[3 * nv + c], wy = J[4 * nv + c], wz = J[5 * nv + c];
        const dvx = wy * vz - wz * vy, dvy = wz * vx - wx * vz;
        J[c] = dvx * u[1] - dvy * u[0];
      }
      return s.addRows(J, 0, 1, this.row, this.weight, cols);
    }
    res3[0] = vx - u[0]; res3[1] = vy - u[1]; res3[2] = vz - u[2];
    // dv = w x v: rows 0..2 of J become the direction's Jacobian.
    for (let k = 0; k < cols.length; k++) {
      const c = cols[k];
      const wx = J[3 * nv + c], wy = J[4 * nv + c], wz = J[5 * nv + c];
      J[c] = wy * vz - wz * vy;
      J[nv + c] = wz * vx - wx * vz;
      J[2 * nv + c] = wx * vy - wy * vx;
    }
    return s.addRows(J, 0, 3, res3, this.weight, cols);
  }
}
