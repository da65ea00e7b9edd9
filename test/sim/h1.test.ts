/**
 * Motions with known answers on Unitree H1 (primitive collision shapes). Clips are short (1-3 s) to keep
 * the simulation time modest; every case runs the full report (kinematic, dynamic and closed-loop checks).
 */
import { expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { checkFeasibility, type ValidationReport } from '../../src/sim/index.ts';
import { liftRoot, setJoints, speedUp, squatMotion, standingMotion } from '../../src/sim/synthetic.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const kinds = (r: ValidationReport, hard = true): string[] => r.reasons.filter((x) => x.hard === hard).map((x) => x.kind).sort();

describeShared('validate on H1', [H1], () => {
  it('standing still in the neutral pose is feasible in both modes, stays up, small residual, exact joints', async () => {
    const robot = loadUrdf(shared(H1));
    const r = await checkFeasibility(await standingMotion(robot, 1.5, 50), robot, { mode: 'both' });
    expect(r.reasons, JSON.stringify(r.reasons)).toEqual([]);
    expect(r.feasible).toBe(true);
    const un = r.metrics.unassisted as Record<string, number | boolean>;
    const as = r.metrics.assisted as Record<string, number>;
    expect(un.fell).toBe(false);
    expect(un.tilt_max_deg).toBeLessThan(5);
    expect(un.body_error_mean_m).toBeLessThan(0.03);
    expect(as.residual_force_mean_weight).toBeLessThan(0.05);
    expect(r.sim.joint_drift_mm).toBeLessThan(1);
    expect(r.sim.steps).toBe(2 * 300); // two runs of 1.5 s at dt 0.005
    expect(r.sim.substeps).toBe(4);
    expect(r.sim.joints).toBe('articulated');
    expect(r.metrics.feet).toEqual(['left_ankle_link', 'right_ankle_link']);
  });

  it('the Rapier multibody world (sim.joints: multibody, dt 2 ms) gives the same verdict on standing, with measured drift', async () => {
    const robot = loadUrdf(shared(H1));
    const r = await checkFeasibility(await standingMotion(robot, 1.5, 50), robot, { mode: 'both', overrides: { sim: { joints: 'multibody', dt: 0.002 } } });
    expect(r.reasons, JSON.stringify(r.reasons)).toEqual([]);
    expect(r.sim.joints).toBe('multibody');
    expect(r.sim.steps).toBe(2 * 750);
    expect(r.sim.joint_drift_mm).toBeGreaterThan(0); // measured anchor separation, not a constant
    expect(r.sim.joint_drift_mm).toBeLessThan(1);
    expect((r.metrics.unassisted as Record<string, boolean>).fell).toBe(false);
  });

  it('a slow squat (down and up in 2 s) is feasible', async () => {
    const robot = loadUrdf(shared(H1));
    const r = await checkFeasibility(await squatMotion(robot, 2, 50, 0.5, 1), robot, { mode: 'both' });
    expect(r.reasons.filter((x) => x.hard), JSON.stringify(r.reasons)).toEqual([]);
    expect(r.feasible).toBe(true);
    expect((r.metrics.unassisted as Record<string, unknown>).fell).toBe(false);
    expect((r.metrics.torque as { max_ratio_to_effort: number }).max_ratio_to_effort).toBeLessThan(1);
  });

  it('the same squat played 10x too fast is infeasible: joint velocity and torque', async () => {
    const robot = loadUrdf(shared(H1));
    const m = speedUp(await squatMotion(robot, 3, 50, 0.6, 2), 10);
    const r = await checkFeasibility(m, robot, { mode: 'assisted' });
    expect(r.feasible).toBe(false);
    expect(kinds(r)).toEqual(expect.arrayContaining(['joint_velocity', 'torque']));
    const v = r.reasons.find((x) => x.kind === 'joint_velocity')!;
    expect(v.frames.length).toBeGreaterThan(0);
    expect(r.events.some((e) => e.kind === 'torque' && /effort/.test(e.detail))).toBe(true);
  });

  it('a root lifted 1 m in 0.2 s is infeasible: residual force (and unsupported flight)', async () => {
    const robot = loadUrdf(shared(H1));
    const m = liftRoot(await standingMotion(robot, 1.2, 50), 1, 0.5, 0.2);
    const r = await checkFeasibility(m, robot, { mode: 'assisted' });
    expect(r.feasible).toBe(false);
    expect(kinds(r)).toEqual(expect.arrayContaining(['residual', 'flight']));
    const as = r.metrics.assisted as Record<string, number>;
    // Hovering 1 m up takes the whole weight from the assist; the lift itself more.
    expect(as.residual_force_max_weight).toBeGreaterThan(1);
    const res = r.reasons.find((x) => x.kind === 'residual')!;
    expect(res.frames[0][0]).toBeGreaterThanOrEqual(20); // not before the lift starts (frame 25), give or take the window
  });

  it('an arm through the torso is infeasible: self-collision, with the pair and the frames', async () => {
    const robot = loadUrdf(shared(H1));
    const m = setJoints(await standingMotion(robot, 1, 50), { left_shoulder_roll_joint: -0.34, left_shoulder_yaw_joint: 4.45, left_elbow_joint: -0.285 }, 0.2, 0.4);
    const r = await checkFeasibility(m, robot, { mode: 'assisted' });
    expect(r.feasible).toBe(false);
    expect(kinds(r)).toContain('self_collision');
    const sc = r.metrics.self_collision as { max_depth_m: number; pair: string };
    expect(sc.pair).toMatch(/torso_link/);
    expect(sc.pair).toMatch(/left_elbow_link/);
    expect(sc.max_depth_m).toBeGreaterThan(0.02);
    const reason = r.reasons.find((x) => x.kind === 'self_collision')!;
    expect(reason.frames[0][0]).toBeGreaterThan(10); // the arm starts moving at frame 10
    expect(reason.frames[0][1]).toBe(50);
  });

  it('is deterministic: the same inputs give the same report (timings aside)', async () => {
    const robot = loadUrdf(shared(H1));
    const m = await squatMotion(robot, 1, 50, 0.4, 1);
    const a = await checkFeasibility(m, robot, { mode: 'unassisted' });
    const b = await checkFeasibility(m, robot, { mode: 'unassisted' });
    const strip = (r: ValidationReport) => ({ ...r, sim: { ...r.sim, steps_per_second: 0, realtime_factor: 0 } });
    expect(JSON.stringify(strip(a))).toBe(JSON.stringify(strip(b)));
  });
});
