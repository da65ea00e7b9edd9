import { intervals } from '../math/runs.ts';

/**
 * Torque saturation per joint. `sat` [T, nq] holds the seconds of each frame in which a joint's torque was at its
 * effort limit (the controller's steps at the limit; a whole frame is `dt`). A run is a stretch of consecutive
 * frames with time at the limit; its length is the time at the limit in it, so a clip at 5 fps does not count a
 * single saturated control step as the frame's whole 0.2 s. A joint is saturated when a run exceeds `limit`. Different
 * joints touching their limits in turn (as at touch-downs) is the controller using the robot's strength, not a
 * joint that cannot do what the motion asks, so runs are per joint, never pooled across joints.
 */
export function jointSaturation(sat: Float64Array, T: number, nq: number, limit: number):
  { longest: number; joints: { joint: number; seconds: number; runs: [number, number][] }[] } {
  let longest = 0;
  const joints: { joint: number; seconds: number; runs: [number, number][] }[] = [];
  const mask = new Uint8Array(T);
  for (let d = 0; d < nq; d++) {
    for (let t = 0; t < T; t++) mask[t] = sat[t * nq + d] > 0 ? 1 : 0;
    const runs = intervals(mask);
    const time = ([b, e]: [number, number]): number => { let s = 0; for (let t = b; t <= e; t++) s += sat[t * nq + d]; return s; };
    const s = runs.reduce((a, r) => Math.max(a, time(r)), 0);
    longest = Math.max(longest, s);
    if (s > limit) joints.push({ joint: d, seconds: s, runs: runs.filter((r) => time(r) > limit) });
  }
  joints.sort((a, b) => b.seconds - a.seconds);
  return { longest, joints };
}
