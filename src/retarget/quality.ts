/**
 * The retargeting quality report, measured on the motion as saved (float32): keypoint errors against the
 * scaled targets, joint-limit and velocity-limit violations, self-collision (capsule proxies), ground
 * penetration, foot skate and floating during stance, joint jumps and jerk.
 */
import type { Kinematics } from '../robot/kinematics.ts';
import type { BodyMap, Side } from './discover.ts';
import { capsuleBottom, capsuleDistanceInto, type ProxySet } from './proxies.ts';
import { KEYPOINTS, type Targets } from './targets.ts';
import { footContacts, skateSummary, stanceThresholds, type Foot, type SkateSummary } from '../robot/stance.ts';

/** The retargeting quality report (keypoint errors, limits, contacts, smoothness) — not the quality gate's QualityReport (src/quality). */
export interface RetargetReport {
  frames: number;
  fps: number;
  keypoint_error_mean_m: number;
  keypoint_error_max_m: number;
  /** Mean error per mapped keypoint, metres. */
  keypoint_error_by_name_m: Record<string, number>;
  joint_limit_violations: number;
  velocity_limit_violations: number;
  self_collision_frames: number;
  self_collision_max_depth_m: number;
  ground_penetration_max_m: number;
  /**
   * Stance and skating by the project's one definition (src/robot/stance.ts), measured on the robot's
   * feet as saved — the same figures `validate` and the viewer compute: frames in stance per foot, mean and
   * max contact-point speed over stance frames (cm/s), frames where a stance foot skates (faster than
   * `stance_definition.skateSpeed`), the worst such frame.
   */
  stance_frames: Record<Side, number>;
  stance_skate_mean_cm_s: number;
  stance_skate_max_cm_s: number;
  skate_frames: number;
  skate_worst: SkateSummary['worst'];
  stance_definition: SkateSummary['thresholds'];
  /** Planned stance (from the human source, the solver's foot locks): lowest sole point above the ground, cm. */
  stance_float_mean_cm: number;
  stance_float_max_cm: number;
  max_joint_jump_rad: number;
  mean_jerk_rad_s3: number;
  root_travel_m: number;
  target_root_travel_m: number;
  /** Frames per wall-clock second of the solve (includes the first frame's multi-start). */
  frames_per_second: number;
  /** Frames per second of CPU time used by the solve (the one-core figure on a loaded machine). */
  frames_per_cpu_second: number;
  solve_seconds: number;
  solve_cpu_seconds: number;
  mean_iterations: number;
  /**
   * Centre of mass (ground projection) outside the support polygon of the stance feet (sole rectangles;
   * their hull in double stance): worst distance (m), frames beyond 1 mm, mean over stance frames (m).
   * Filled by retarget() (balance.ts).
   */
  com_outside_support_max_m?: number;
  com_outside_support_frames?: number;
  com_outside_support_mean_m?: number;
  /** The balance task's settings, or false when it was off. */
  balance?: { weight: number; margin_m: number; lookahead_s: number; smoothing_s: number } | false;
}

export interface MotionArrays {
  q: Float32Array; rootPos: Float32Array; rootQuat: Float32Array; timestamps: Float64Array;
}

export function qualityReport(
  kin: Kinematics, map: BodyMap, proxies: ProxySet, tg: Targets, keyLinks: ({ link: number; local: Float64Array } | null)[],
  m: MotionArrays, solveSeconds: number, meanIters: number, cpuSeconds = solveSeconds,
): RetargetReport {
  const T = m.timestamps.length, nq = kin.nq;
  const q = new Float64Array(nq);
  const base = { pos: new Float64Array(3), quat: new Float64Array(4) };
  const w = new Float64Array(3);
  const pts = new Float64Array(7);
  let errSum = 0, errN = 0, errMax = 0;
  const perSum = new Float64Array(KEYPOINTS.length), perN = new Float64Array(KEYPOINTS.length);
  let limitViol = 0, velViol = 0, jump = 0;
  let colFrames = 0, colDepth = 0, groundPen = 0;
  const K = KEYPOINTS.length;
  const feet = (['left', 'right'] as const).map((s) => ({ side: s, link: kin.linkIndex(map.feet[s].link), sole: map.feet[s].sole }));
  const footLinks = new Set(feet.map((f) => f.link));
  let floatSum = 0, floatN = 0, floatMax = 0;
  const stanceFeet: Foot[] = feet.map((f) => ({ name: f.side, link: f.link, points: Float64Array.from(f.sole.flat()) }));
  const poses = new Float64Array(T * 12 * kin.nLinks);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < nq; i++) q[i] = m.q[t * nq + i];
    for (let k = 0; k < 3; k++) base.pos[k] = m.rootPos[3 * t + k];
    for (let k = 0; k < 4; k++) base.quat[k] = m.rootQuat[4 * t + k];
    kin.fk(q, base);
    poses.set(kin.pose, t * 12 * kin.nLinks);
    for (let i = 0; i < nq; i++) {
      if (q[i] < kin.lower[i] - 1e-5 || q[i] > kin.upper[i] + 1e-5) limitViol++;
      if (t > 0) {
        const d = Math.abs(q[i] - m.q[(t - 1) * nq + i]);
        jump = Math.max(jump, d);
        const dt = m.timestamps[t] - m.timestamps[t - 1];
        if (d > kin.velocityLimit[i] * dt * (1 + 1e-4) + 1e-5) velViol++;
      }
    }
    for (let k = 0; k < K; k++) {
      const kl = keyLinks[k];
      const o = 3 * (t * K + k);
      if (!kl || Number.isNaN(tg.pos[o])) continue;
      kin.pointWorld(kl.link, kl.local, w);
      const ex = w[0] - tg.pos[o], ey = w[1] - tg.pos[o + 1], ez = w[2] - tg.pos[o + 2];
      const e = Math.sqrt(ex * ex + ey * ey + ez * ez);
      errSum += e; errN++; errMax = Math.max(errMax, e);
      perSum[k] += e; perN[k]++;
    }
    let deepest = 0;
    for (let p = 0; p < proxies.pairs.length; p += 2) {
      capsuleDistanceInto(kin.pose, proxies.capsules[proxies.pairs[p]], proxies.capsules[proxies.pairs[p + 1]], pts);
      if (pts[6] < deepest) deepest = pts[6];
    }
    if (deepest < 0) { colFrames++; colDepth = Math.max(colDepth, -deepest); }
    // Feet are measured at their soles (below); a capsule around a flat foot bulges under it.
    for (const c of proxies.capsules) if (!footLinks.has(c.link)) groundPen = Math.max(groundPen, -capsuleBottom(kin.pose, c));
    for (const f of feet) {
      let zmin = Infinity;
      for (const s of f.sole) { kin.pointWorld(f.link, s, w); zmin = Math.min(zmin, w[2]); }
      groundPen = Math.max(groundPen, -zmin);
      if (tg.stance[f.side][t]) { floatSum += Math.max(0, zmin); floatN++; floatMax = Math.max(floatMax, Math.max(0, zmin)); }
    }
  }
  const L = kin.nLinks;
  const contacts = footContacts(stanceFeet, T, m.timestamps, (t) => poses.subarray(t * 12 * L, (t + 1) * 12 * L), stanceThresholds(legLength(map)));
  const skate = skateSummary(contacts);
  // Jerk: third differences of q.
  let jerkSum = 0, jerkN = 0;
  for (let t = 3; t < T; t++) {
    const dt = (m.timestamps[t] - m.timestamps[t - 3]) / 3;
    for (let i = 0; i < nq; i++) {
      const j3 = m.q[t * nq + i] - 3 * m.q[(t - 1) * nq + i] + 3 * m.q[(t - 2) * nq + i] - m.q[(t - 3) * nq + i];
      jerkSum += Math.abs(j3) / (dt * dt * dt); jerkN++;
    }
  }
  const travel = (a: ArrayLike<number>, s: number, o: number) => T > 1 ? Math.hypot(a[(T - 1) * s + o] - a[o], a[(T - 1) * s + o + 1] - a[o + 1]) : 0;
  // Target root travel: the hip centre of the targets.
  const K0 = KEYPOINTS.indexOf('left_hip'), K1 = KEYPOINTS.indexOf('right_hip');
  const hipC = new Float64Array(3 * T);
  for (let t = 0; t < T; t++) for (let k = 0; k < 3; k++) hipC[3 * t + k] = (tg.pos[3 * (t * K + K0) + k] + tg.pos[3 * (t * K + K1) + k]) / 2;
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    frames: T,
    fps: tg.fps,
    keypoint_error_mean_m: r6(errN ? errSum / errN : 0),
    keypoint_error_max_m: r6(errMax),
    keypoint_error_by_name_m: Object.fromEntries(KEYPOINTS.map((k, i) => [k, perN[i] ? r6(perSum[i] / perN[i]) : null]).filter(([, v]) => v !== null)),
    joint_limit_violations: limitViol,
    velocity_limit_violations: velViol,
    self_collision_frames: colFrames,
    self_collision_max_depth_m: r6(colDepth),
    ground_penetration_max_m: r6(Math.max(0, groundPen)),
    stance_frames: { left: skate.stance_frames.left, right: skate.stance_frames.right },
    stance_skate_mean_cm_s: r6(100 * skate.skate_mean_m_s),
    stance_skate_max_cm_s: r6(100 * skate.skate_max_m_s),
    skate_frames: skate.skate_frames,
    skate_worst: skate.worst && { ...skate.worst, speed_m_s: r6(skate.worst.speed_m_s), height_m: r6(skate.worst.height_m) },
    stance_definition: Object.fromEntries(Object.entries(skate.thresholds).map(([k, v]) => [k, r6(v)])) as unknown as SkateSummary['thresholds'],
    stance_float_mean_cm: r6(floatN ? (100 * floatSum) / floatN : 0),
    stance_float_max_cm: r6(100 * floatMax),
    max_joint_jump_rad: r6(jump),
    mean_jerk_rad_s3: r6(jerkN ? jerkSum / jerkN : 0),
    root_travel_m: r6(travel(m.rootPos, 3, 0)),
    target_root_travel_m: r6(travel(hipC, 3, 0)),
    frames_per_second: Math.round(T / Math.max(solveSeconds, 1e-9)),
    frames_per_cpu_second: Math.round(T / Math.max(cpuSeconds, 1e-9)),
    solve_seconds: r6(solveSeconds),
    solve_cpu_seconds: r6(cpuSeconds),
    mean_iterations: Math.round(meanIters * 100) / 100,
  };
}

/** The robot's leg length (hip to knee to ankle at the rest pose, mean of both legs), metres. */
export function legLength(map: BodyMap): number {
  const r = map.rest;
  const d = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
  return (d(r.left_hip, r.left_knee) + d(r.left_knee, r.left_ankle) + d(r.right_hip, r.right_knee) + d(r.right_knee, r.right_ankle)) / 2;
}
