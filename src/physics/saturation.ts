import { intervals } from '../math/runs.ts';

/**
 * Torque saturation per joint. `sat` [T, nq] marks the frames in which a joint's torque reached its effort limit.
 * A joint is saturated when it stays at its limit for more than `limit` seconds in one run of frames. Different
 * joints touching their limits in turn (as at touch-downs) is the controller using the robot's strength, not a
 * joint that cannot do what the motion asks, so runs are per joint, never pooled across joints.
 */
export function jointSaturation(sat: Uint8Array, T: number, nq: number, dt: number, limit: number):
  { longest: number; joints: { joint: number; seconds: number; runs: [number, number][] }[] } {
  let longest = 0;
  const joints: { joint: number; seconds: number; runs: [number, number][] }[] = [];
  const mask = new Uint8Array(T);
  for (let d = 0; d < nq; d++) {
    for (let t = 0; t < T; t++) mask[t] = sat[t * nq + d];
    const runs = intervals(mask);
    const s = runs.reduce((a, [b, e]) => Math.max(a, (e - b + 1) * dt), 0);
    longest = Math.max(longest, s);
    if (s > limit) joints.push({ joint: d, seconds: s, runs: runs.filter(([b, e]) => (e - b + 1) * dt > limit) });
  }
  joints.sort((a, b) => b.seconds - a.seconds);
  return { longest, joints };
}
