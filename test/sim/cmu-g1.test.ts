/** A real retargeted CMU clip (hammering a nail) on G1: infeasible for ankle torque (the
 * kinematic reference asks more of the ankles than their effort limits), the report complete, every verdict explained. */
import { expect, it } from 'vitest';
import { importPose } from '../../src/pose/import.ts';
import { retarget } from '../../src/retarget/index.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { checkFeasibility } from '../../src/sim/index.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { expectAnkleTorqueInfeasible, expectCompleteReport } from './report-helpers.ts';

const URDF = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const CLIP = 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh';

describeShared('validate a retargeted CMU clip on G1', [URDF, CLIP], () => {
  it('hammering a nail, 2 s: infeasible for ankle torque, complete report, verdict explained by its reasons', async () => {
    const robot = loadUrdf(shared(URDF));
    const motion = retarget(importPose(shared(CLIP)), robot, { fps: 50, start: 1, duration: 2 });
    const r = await checkFeasibility(motion, robot, { mode: 'assisted' });
    console.log(`G1 hammering a nail: ${r.feasible ? 'feasible' : 'NOT feasible'}; ${r.reasons.map((x) => `${x.hard ? 'hard' : 'soft'} ${x.kind}: ${x.message}`).join(' | ')}`);
    expectCompleteReport(r, motion.timestamps.length, true);
    expect(r.metrics.base).toBe('floating');
    expectAnkleTorqueInfeasible(r, 1, 6, /ankle|hip|knee|waist/i);
    // The assisted run reports the residual beside its own assist figure.
    expect((r.metrics.assisted as { residual_force_mean_weight: number }).residual_force_mean_weight).toBe((r.metrics.residual as { force_mean_weight: number }).force_mean_weight);
  });
});
