/** Ground task: points above the ground plane, swing soles above their landing cone. */
import type { IkState, Task } from '../solver.ts';

/**
 * A swing foot's landing cone: its sole points keep min(slope * d, cap) above the ground, d being the
 * horizontal distance of the foot's reference point (the ankle) from `anchor` (its nearer stance lock;
 * NaN = no cone), so the foot comes down onto the lock from above instead of sliding into it.
 */
export interface LandingCone { link: number; local: Float64Array; anchor: Float64Array; slope: number; cap: number }

/** Points of links stay above the ground plane: z >= clearance per point (one-sided), or above their cone. */
export class GroundTask implements Task {
  readonly name = 'ground';
  private readonly w3 = new Float64Array(3);
  private readonly row = new Float64Array(1);
  constructor(readonly points: { link: number; local: Float64Array; clearance?: number; cone?: LandingCone }[], public weight: number) {}
  accumulate(s: IkState): number {
    let cost = 0;
    let lastCone: LandingCone | undefined, coneC = 0;
    for (const p of this.points) {
      let c = p.clearance ?? 0;
      const cone = p.cone;
      if (cone && !Number.isNaN(cone.anchor[0])) {
        if (cone !== lastCone) {
          s.kin.pointWorld(cone.link, cone.local, this.w3);
          coneC = Math.min(cone.slope * Math.hypot(this.w3[0] - cone.anchor[0], this.w3[1] - cone.anchor[1]), cone.cap);
          lastCone = cone;
        }
        c = Math.max(c, coneC);
      }
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
