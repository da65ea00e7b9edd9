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
