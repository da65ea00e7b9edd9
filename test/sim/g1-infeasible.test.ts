/** Known infeasible motions on Unitree G1 (mesh collisions). */
import { expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { checkFeasibility, type ValidationReport } from '../../src/sim/index.ts';
import { liftRoot, setJoints, speedUp, squatMotion, standingMotion } from '../../src/sim/synthetic.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const kinds = (r: ValidationReport): string[] => r.reasons.filter((x) => x.hard).map((x) => x.kind);

describeShared('validate on G1 (mesh collisions): infeasible motions', [G1], () => {
  it('a squat played 10x too fast: joint velocity and torque', async () => {
    const robot = loadUrdf(shared(G1));
    const r = await checkFeasibility(speedUp(await squatMotion(robot, 3, 50, 0.6, 2), 10), robot, { mode: 'assisted' });
    expect(r.feasible).toBe(false);
    expect(kinds(r)).toEqual(expect.arrayContaining(['joint_velocity', 'torque']));
  });

  it('a root lifted 1 m in 0.2 s: residual force', async () => {
    const robot = loadUrdf(shared(G1));
    const r = await checkFeasibility(liftRoot(await standingMotion(robot, 1, 50), 1, 0.3, 0.2), robot, { mode: 'assisted' });
    expect(r.feasible).toBe(false);
    expect(kinds(r)).toContain('residual');
    expect((r.metrics.assisted as { residual_force_max_weight: number }).residual_force_max_weight).toBeGreaterThan(1);
  });

  it('an arm through the torso: self-collision between hulls of the meshes', async () => {
    const robot = loadUrdf(shared(G1));
    const m = setJoints(await standingMotion(robot, 1, 50), { left_shoulder_pitch_joint: -1.6493, left_shoulder_roll_joint: -1.5882, left_shoulder_yaw_joint: 2.618, left_elbow_joint: -1.0472 }, 0.2, 0.4);
    const r = await checkFeasibility(m, robot, { mode: 'assisted' });
    expect(r.feasible).toBe(false);
    expect(kinds(r)).toContain('self_collision');
    expect((r.metrics.self_collision as { pair: string }).pair).toMatch(/torso_link/);
    expect(r.events.some((e) => e.kind === 'self_collision' && /mm deep/.test(e.detail))).toBe(true);
  });
});
