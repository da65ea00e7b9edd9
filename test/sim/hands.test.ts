/** Hands (fixed base): limits, finger self-collision, torque within effort, PD tracking. */
import { expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { checkFeasibility } from '../../src/sim/index.ts';
import { setJoints, standingMotion } from '../../src/sim/synthetic.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const ALLEGRO = 'hands/allegro_right/allegro_hand_right.urdf';

describeShared('validate on the Allegro hand (fixed base)', [ALLEGRO], () => {
  it('curling two fingers within their limits is feasible; the base is fixed; torques far below effort', async () => {
    const robot = loadUrdf(shared(ALLEGRO));
    const m = setJoints(await standingMotion(robot, 1.5, 50), { 'joint_1.0': 1.2, 'joint_2.0': 1.2, 'joint_5.0': 1.2, 'joint_6.0': 1.2 }, 0.2, 0.8);
    const r = await checkFeasibility(m, robot, {});
    expect(r.reasons, JSON.stringify(r.reasons)).toEqual([]);
    expect(r.feasible).toBe(true);
    expect(r.metrics.base).toBe('fixed');
    expect((r.metrics.torque as { max_ratio_to_effort: number }).max_ratio_to_effort).toBeLessThan(0.1);
    const tr = r.metrics.tracking as { joint_error_max_rad: number; body_error_max_m: number };
    expect(tr.body_error_max_m).toBeLessThan(0.01);
    expect(r.sim.joint_drift_mm).toBeLessThan(1);
  });

  it('bending a finger beyond its joint limit is infeasible: joint position, with the joint and frames', async () => {
    const robot = loadUrdf(shared(ALLEGRO));
    const m = setJoints(await standingMotion(robot, 1.5, 50), { 'joint_1.0': 2.2 }, 0.2, 1.0);
    const r = await checkFeasibility(m, robot, {});
    expect(r.feasible).toBe(false);
    const jp = r.reasons.find((x) => x.kind === 'joint_position')!;
    expect(jp.hard).toBe(true);
    expect(jp.message).toMatch(/joint_1\.0/);
    // joint_1.0's upper limit is 1.61 (+0.02 tolerance): crossed at 0.2 + 1.0 * 1.63 / 2.2 s ~ frame 47.
    expect(jp.frames[0][0]).toBeGreaterThanOrEqual(45);
    expect(jp.frames[0][0]).toBeLessThanOrEqual(49);
    expect(jp.frames[0][1]).toBe(75);
    expect(r.reasons.some((x) => x.kind === 'joint_velocity')).toBe(false);
  });

  it('the thumb pressed through the index finger is infeasible: finger self-collision', async () => {
    const robot = loadUrdf(shared(ALLEGRO));
    const m = setJoints(await standingMotion(robot, 1, 50), { 'joint_12.0': 1.396, 'joint_13.0': -0.105, 'joint_14.0': 1.186, 'joint_1.0': 1.61 }, 0.1, 0.6);
    const r = await checkFeasibility(m, robot, {});
    expect(r.feasible).toBe(false);
    const sc = r.reasons.find((x) => x.kind === 'self_collision')!;
    expect(sc.hard).toBe(true);
    expect(sc.message).toMatch(/link_15\.0/); // the thumb tip
    expect(sc.message).toMatch(/link_[0-3]\.0/); // an index finger link
    expect(sc.frames[0][1]).toBe(50);
    expect(r.reasons.some((x) => x.kind === 'joint_position')).toBe(false);
  });

  it('a hand held fingers-down at the origin touches no floor: tracked like any other (a fixed base has no ground)', async () => {
    const robot = loadUrdf(shared(ALLEGRO));
    const m = setJoints(await standingMotion(robot, 1.5, 50), { 'joint_1.0': 1.2, 'joint_2.0': 1.2, 'joint_5.0': 1.2, 'joint_6.0': 1.2 }, 0.2, 0.8);
    // Upside down (180 degrees about x): the fingers reach below z = 0 all the time.
    for (let f = 0; f < m.rootQuat.length / 4; f++) m.rootQuat.set([0, 1, 0, 0], 4 * f);
    const r = await checkFeasibility(m, robot, {});
    expect(r.reasons, JSON.stringify(r.reasons)).toEqual([]);
    expect(r.feasible).toBe(true);
    const tr = r.metrics.tracking as { body_error_max_m: number };
    expect(tr.body_error_max_m).toBeLessThan(0.01);
  });
});
