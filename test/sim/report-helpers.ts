import { expect } from 'vitest';
import type { ValidationReport } from '../../src/sim/index.ts';

/** A report is complete and its verdict is explained: every check reported a number, every reason has frames and events. */
export function expectCompleteReport(r: ValidationReport, frames: number, floating: boolean): void {
  expect(r.feasible).toBe(!r.reasons.some((x) => x.hard));
  const keys = ['joint_position', 'joint_velocity', 'self_collision', 'torque', ...(floating ? ['ground', 'floating', 'foot_skating', 'zmp', 'friction', 'flight'] : [])];
  for (const k of keys) expect(r.metrics, k).toHaveProperty(k);
  expect(r.metrics.frames).toBe(frames);
  for (const reason of r.reasons) {
    expect(reason.message.length, reason.kind).toBeGreaterThan(10);
    expect(reason.frames.length, reason.kind).toBeGreaterThan(0);
    for (const [a, b] of reason.frames) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(b).toBeGreaterThanOrEqual(a);
      expect(b).toBeLessThan(frames);
      expect(r.events.some((e) => e.kind === reason.kind && e.frame === a), `${reason.kind} event at ${a}`).toBe(true);
    }
  }
  for (let i = 1; i < r.events.length; i++) expect(r.events[i].frame).toBeGreaterThanOrEqual(r.events[i - 1].frame);
  expect(Number.isFinite(r.sim.joint_drift_mm)).toBe(true);
  expect(r.sim.joint_drift_mm).toBeLessThan(1);
  expect(r.sim.steps).toBeGreaterThan(0);
}

/**
 * The verdict of a kinematic CMU clip on a real humanoid: infeasible, with a hard ankle-torque reason (the
 * reference needs more ankle torque than the URDF's effort limit allows even with the centre of pressure
 * anywhere inside the feet — an independent simulator, MuJoCo, found 2.6-3.1x for the CMU walk on H1), the
 * ratio bounded because the ground forces stay inside the feet (the old per-joint charge gave 7-17x), and the
 * residual (least external base wrench) reported as a number.
 */
export function expectAnkleTorqueInfeasible(r: ValidationReport, minRatio: number, maxRatio: number, joint = /ankle/i): void {
  expect(r.feasible).toBe(false);
  const torque = r.reasons.find((x) => x.kind === 'torque');
  expect(torque?.hard, 'a hard torque reason').toBe(true);
  const m = /(\S+) needs ([\d.]+)x its effort/i.exec(torque!.message);
  expect(m, torque!.message).not.toBeNull();
  expect(m![1], torque!.message).toMatch(joint);
  expect(Number(m![2])).toBeGreaterThan(minRatio);
  expect(Number(m![2])).toBeLessThan(maxRatio);
  const res = r.metrics.residual as { force_mean_weight: number; force_max_weight: number };
  expect(res.force_mean_weight).toBeGreaterThanOrEqual(0);
  expect(res.force_max_weight).toBeGreaterThanOrEqual(res.force_mean_weight);
}
