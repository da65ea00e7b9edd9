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
 * reference needs more ankle torque than the URDF's effort limit allows — an independent simulator found the
 * same for the CMU walk on H1) and a hard residual (the assisted base needs a large external wrench).
 */
export function expectAnkleTorqueInfeasible(r: ValidationReport, minRatio: number): void {
  expect(r.feasible).toBe(false);
  const torque = r.reasons.find((x) => x.kind === 'torque');
  expect(torque?.hard, 'a hard torque reason').toBe(true);
  const m = /(\S*ankle\S*) needs ([\d.]+)x its effort/i.exec(torque!.message);
  expect(m, torque!.message).not.toBeNull();
  expect(Number(m![2])).toBeGreaterThan(minRatio);
  expect(r.reasons.find((x) => x.kind === 'residual')?.hard, 'a hard residual reason').toBe(true);
}
