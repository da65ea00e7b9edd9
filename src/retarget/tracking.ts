/**
 * How closely the robot follows the person's hands and feet, on the measure GMR's comparison used (issue
 * 15): per frame and end point (both wrists, both ankles), the robot's pelvis→end vector against the
 * person's pelvis→end vector scaled by that limb's ratio (robot arm or leg length / human arm or leg
 * length), the difference's length divided by the robot's leg length; the mean over frames and end
 * points. Pelvis = midpoint of the hips (robot: the hip keypoints of the body map; person: the track's
 * left_hip/right_hip), in the world frame. Also per end point, and the constant part (the length of the
 * mean difference vector in the pelvis heading frame), which is what a per-limb offset costs.
 */
import type { Kinematics } from '../robot/kinematics.ts';
import type { PoseTrack } from '../pose/track.ts';
import type { MotionArrays } from './quality.ts';

export const TRACKED_ENDS = ['left_wrist', 'right_wrist', 'left_ankle', 'right_ankle'] as const;
export type TrackedEnd = (typeof TRACKED_ENDS)[number];

export interface LimbVectorError {
  /** Mean over frames and end points, in robot leg lengths. */
  mean: number;
  by_end: Record<TrackedEnd, number>;
  /** Per end point: length of the mean error vector (pelvis heading frame), in leg lengths: the constant offset. */
  offset_by_end: Record<TrackedEnd, number>;
  /** Per end point: mean error vector in the pelvis heading frame (forward, left, up), leg lengths. */
  offset_vector_by_end: Record<TrackedEnd, [number, number, number]>;
  /** The mean once each end point's constant offset is removed, and per end point. */
  mean_without_offsets: number;
  without_offsets_by_end: Record<TrackedEnd, number>;
  frames: number;
}

export interface RobotPoints {
  /** Link and local point of each robot keypoint used: left/right hip, shoulder, elbow, wrist, knee, ankle. */
  point: (name: string) => { link: number; local: ArrayLike<number> };
  /** Robot arm (shoulder→elbow→wrist) and leg (hip→knee→ankle) lengths, metres. */
  arm: number; leg: number;
}

/**
 * The limb-vector error of a motion against the track it was retargeted from. `track` frames are matched
 * to the motion's by timestamp (the motion may be a resampled subset).
 */
export function limbVectorError(kin: Kinematics, m: MotionArrays, track: PoseTrack, robot: RobotPoints): LimbVectorError {
  const J = track.jointNames.length, P = track.positions;
  const jx = (n: string) => { const i = track.jointNames.indexOf(n); if (i < 0) throw new Error(`track lacks ${n}`); return i; };
  const H = { lh: jx('left_hip'), rh: jx('right_hip') };
  const hj: Record<TrackedEnd, number> = { left_wrist: jx('left_wrist'), right_wrist: jx('right_wrist'), left_ankle: jx('left_ankle'), right_ankle: jx('right_ankle') };
  const at = (t: number, j: number, k: number) => P[3 * (t * J + j) + k];
  const dist = (t: number, a: number, b: number) => Math.hypot(at(t, a, 0) - at(t, b, 0), at(t, a, 1) - at(t, b, 1), at(t, a, 2) - at(t, b, 2));
  const med = (f: (t: number) => number) => {
    const v: number[] = [];
    for (let t = 0; t < track.timestamps.length; t++) { const x = f(t); if (Number.isFinite(x)) v.push(x); }
    v.sort((a, b) => a - b);
    return v[v.length >> 1];
  };
  const limb = (a: string, b: string, c: string) => med((t) => dist(t, jx(a), jx(b)) + dist(t, jx(b), jx(c)));
  const hArm = (limb('left_shoulder', 'left_elbow', 'left_wrist') + limb('right_shoulder', 'right_elbow', 'right_wrist')) / 2;
  const hLeg = (limb('left_hip', 'left_knee', 'left_ankle') + limb('right_hip', 'right_knee', 'right_ankle')) / 2;
  const scale: Record<TrackedEnd, number> = { left_wrist: robot.arm / hArm, right_wrist: robot.arm / hArm, left_ankle: robot.leg / hLeg, right_ankle: robot.leg / hLeg };
  const T = m.timestamps.length, nq = kin.nq;
  const q = new Float64Array(nq), base = { pos: new Float64Array(3), quat: new Float64Array(4) };
  const pl = robot.point('left_hip'), pr = robot.point('right_hip');
  const ends = TRACKED_ENDS.map((e) => robot.point(e));
  const a = new Float64Array(3), b = new Float64Array(3), w = new Float64Array(3);
  const sum: Record<string, number> = {}, vec: Record<string, [number, number, number]> = {};
  for (const e of TRACKED_ENDS) { sum[e] = 0; vec[e] = [0, 0, 0]; }
  const errs: Float64Array[] = TRACKED_ENDS.map(() => new Float64Array(3 * T));
  let n = 0, k = 0;
  for (let t = 0; t < T; t++) {
    while (k < track.timestamps.length - 1 && track.timestamps[k] < m.timestamps[t] - 1e-6) k++;
    for (let i = 0; i < nq; i++) q[i] = m.q[t * nq + i];
    for (let c = 0; c < 3; c++) base.pos[c] = m.rootPos[3 * t + c];
    for (let c = 0; c < 4; c++) base.quat[c] = m.rootQuat[4 * t + c];
    kin.fk(q, base);
    kin.pointWorld(pl.link, pl.local, a); kin.pointWorld(pr.link, pr.local, b);
    const rp = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2];
    const hp = [0, 1, 2].map((c) => (at(k, H.lh, c) + at(k, H.rh, c)) / 2);
    // Pelvis heading frame (the person's): left = hips' left vector flattened, up = z, forward = left x up.
    let lx = at(k, H.lh, 0) - at(k, H.rh, 0), ly = at(k, H.lh, 1) - at(k, H.rh, 1);
    const ln = Math.hypot(lx, ly) || 1; lx /= ln; ly /= ln;
    if (TRACKED_ENDS.some((e) => Number.isNaN(at(k, hj[e], 0))) || Number.isNaN(hp[0])) continue;
    TRACKED_ENDS.forEach((e, i) => {
      kin.pointWorld(ends[i].link, ends[i].local, w);
      const s = scale[e];
      const d = [0, 1, 2].map((c) => (w[c] - rp[c]) - s * (at(k, hj[e], c) - hp[c]));
      sum[e] += Math.hypot(d[0], d[1], d[2]) / robot.leg;
      const fwd = (d[0] * ly - d[1] * lx) / robot.leg, left = (d[0] * lx + d[1] * ly) / robot.leg, up = d[2] / robot.leg;
      errs[i][3 * n] = fwd; errs[i][3 * n + 1] = left; errs[i][3 * n + 2] = up;
      vec[e][0] += fwd; vec[e][1] += left; vec[e][2] += up;
    });
    n++;
  }
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const by: Record<string, number> = {}, off: Record<string, number> = {}, offV: Record<string, [number, number, number]> = {};
  const varBy: Record<string, number> = {};
  let tot = 0, totNo = 0;
  TRACKED_ENDS.forEach((e, i) => {
    const mv = vec[e].map((x) => x / Math.max(1, n)) as [number, number, number];
    by[e] = r4(sum[e] / Math.max(1, n)); tot += sum[e];
    off[e] = r4(Math.hypot(...mv)); offV[e] = mv.map(r4) as [number, number, number];
    let v = 0;
    for (let t = 0; t < n; t++) v += Math.hypot(errs[i][3 * t] - mv[0], errs[i][3 * t + 1] - mv[1], errs[i][3 * t + 2] - mv[2]);
    varBy[e] = r4(v / Math.max(1, n)); totNo += v;
  });
  const N = Math.max(1, n * TRACKED_ENDS.length);
  return {
    mean: r4(tot / N), by_end: by as LimbVectorError['by_end'], offset_by_end: off as LimbVectorError['offset_by_end'],
    offset_vector_by_end: offV as LimbVectorError['offset_vector_by_end'], mean_without_offsets: r4(totNo / N), without_offsets_by_end: varBy as LimbVectorError['by_end'], frames: n,
  };
}
