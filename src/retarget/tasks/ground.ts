/** Ground task: points above the ground plane (each with its own clearance, e.g. a swing sole's landing cone). */
import type { IkState, Task } from '../solver.ts';

/** Points of links stay above the ground plane: z >= clearance per point (one-sided). */
export class GroundTask implements Task {
  readonly name = 'ground';
  private readonly w3 = new Float64Array(3);
  private readonly row = new Float64Array(1);
  constructor(readonly points: { link: number; local: Float64Array; clearance?: number }[], public weight: number) {}
  accumulate(s: IkState): number {
    let cost = 0;
    for (const p of this.points) {
      const c = p.clearance ?? 0;
      s.kin.pointWorld(p.link, p.local, this.w3);
      const z = this.w3[2];
      if (z >= c) continue;
      if (s.costOnly) { cost += this.weight * (z - c) * (z - c); continue; }
      s.kin.jacobian(p.link, p.local, s.J, true);
      // Use the z row (row 2) as row 0.
      const nv = s.nv, cols = s.cols[p.link];
      for (let k = 0; k < cols.length; k++) s.J[cols[k]] = s.J[2 * nv + cols[k]];
      this.row[0] = z - c;
      cost += s.addRows(s.J, 0, 1, this.row, this.weight, cols);
    }
    return cost;
  }
}
