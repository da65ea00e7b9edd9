/**
 * Known answers on Unitree G1: the same code as H1, but every collision shape is a convex hull (or a few)
 * of the 219k-triangle STL meshes. Feasible cases here; infeasible ones in g1-infeasible.test.ts (the two
 * files run in parallel).
 */
import { expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { checkFeasibility } from '../../src/sim/index.ts';
import { squatMotion, standingMotion } from '../../src/sim/synthetic.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';

describeShared('validate on G1 (mesh collisions): feasible motions', [G1], () => {
  it('standing still is feasible in both modes; meshes became hulls; joints exact', async () => {
    const robot = loadUrdf(shared(G1));
    const r = await checkFeasibility(await standingMotion(robot, 1.5, 50), robot, { mode: 'both' });
    expect(r.reasons, JSON.stringify(r.reasons)).toEqual([]);
    expect(r.feasible).toBe(true);
    const col = r.metrics.collision as { mesh_hulls: number; bodies: number };
    expect(col.mesh_hulls).toBeGreaterThanOrEqual(24); // one or more hulls per collision mesh
    expect(col.bodies).toBe(30); // 29 joints + pelvis; fixed links merged
    expect((r.metrics.unassisted as { fell: boolean }).fell).toBe(false);
    expect((r.metrics.assisted as { residual_force_mean_weight: number }).residual_force_mean_weight).toBeLessThan(0.05);
    expect(r.sim.joint_drift_mm).toBeLessThan(1);
  });

  it('a slow squat is feasible', async () => {
    const robot = loadUrdf(shared(G1));
    const r = await checkFeasibility(await squatMotion(robot, 2, 50, 0.5, 1), robot, { mode: 'both' });
    expect(r.reasons.filter((x) => x.hard), JSON.stringify(r.reasons)).toEqual([]);
    expect(r.feasible).toBe(true);
    expect((r.metrics.unassisted as { fell: boolean }).fell).toBe(false);
  });
});
