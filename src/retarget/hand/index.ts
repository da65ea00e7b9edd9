/**
 * Dexterous hand retargeting onto any hand URDF (Allegro, Inspire, LEAP, Shadow, Dex3 in a G1, or one
 * never seen), with fingers found from the kinematic tree.
 *
 * FOR THE BODY RETARGETER (src/retarget/, `retarget` CLI):
 * - Hand-only track + hand URDF: call `retargetHand(track, robot, opts): RobotMotion` (fixed base:
 *   root_pos zeros, root_quat identity; quality report in `motion.quality`). `isHandOnlyTrack(track)` and
 *   `isHandRobot(robot)` tell when to dispatch here.
 * - Body with hands (G1 + Dex3): after the body solve gives the wrist, call once per hand
 *   `const hr = createHandRetargeter(kin, { side: 'right', dofs: handDofNames })` (or `rootLink:
 *   'right_hand_palm_link'`), `hr.calibrate(measureHumanHand(frames, T))` optionally, then per frame
 *   `hr.solveFrame(landmarks63, q, dt)`: it overwrites only the hand dofs of the full configuration `q`
 *   (Kinematics order); targets are palm-relative so the arm pose does not matter. `handLandmarks(track,
 *   side)` extracts the [T*63] landmark array from a canonical-skeleton track.
 * - Or simply pass `fingers: (kin, map, track) => fingerSolvers(kin, map.fingers, track)` to `retarget()`:
 *   `fingerSolvers` returns objects matching src/retarget's `FingerSolver` ({dofs, solveFrame(t, q)}).
 */
import { Kinematics } from '../../robot/kinematics.ts';
import { loadUrdf, type UrdfRobot } from '../../robot/urdf.ts';
import { UserError } from '../../errors.ts';
import { HAND_LANDMARKS, type Side } from '../../pose/skeleton.ts';
import type { PoseTrack } from '../../pose/track.ts';
import type { RobotMotion } from '../../robot/motion.ts';
import { discoverHand } from './discover.ts';
import { measureHumanHand } from './human.ts';
import { defaultHandConfigFile, handOptionsFromConfig, loadHandConfig, type HandConfig } from './config.ts';
import { createHandRetargeter, type HandFrameStats, type HandRetargeter, type HandRetargeterOptions } from './retargeter.ts';
import { planVelocities } from './plan.ts';

export { discoverHand, FINGER_LANDMARKS, HUMAN_FINGERS } from './discover.ts';
export type { HandModel, RobotFinger, HumanFinger, HandFrame, DiscoverOptions } from './discover.ts';
export { createHandRetargeter, DEFAULT_HAND_WEIGHTS } from './retargeter.ts';
export type { HandRetargeter, HandRetargeterOptions, HandWeights, HandFrameStats, DefaultHandObjectives, SolveFrameOptions } from './retargeter.ts';
export { measureHumanHand, humanPalmCoords, DEFAULT_HUMAN_HAND } from './human.ts';
export type { HumanHandSize } from './human.ts';
export { parseHandConfig, loadHandConfig, defaultHandConfigFile, handOptionsFromConfig } from './config.ts';
export type { HandConfig } from './config.ts';
export {
  HandState, WristTipObjective, FingerShapeObjective, ThumbPinchObjective, SmoothnessObjective, PenetrationObjective, FollowObjective, addBlock,
} from './objectives.ts';
export type { HandObjective, FingerCapsules, PinchOptions } from './objectives.ts';
export { VectorTask, VectorTask as VectorObjective } from '../tasks/vector.ts';
export type { HandVectors } from '../tasks/vector.ts';

/** [T*63] landmarks of one hand from a track using the canonical names (`<side>_hand_<landmark>`); NaN where missing. */
export function handLandmarks(track: PoseTrack, side: Side): Float32Array | null {
  const J = track.jointNames.length;
  const idx = HAND_LANDMARKS.map((l) => track.jointNames.indexOf(`${side}_hand_${l}`));
  if (idx.some((i) => i < 0)) return null;
  const T = track.timestamps.length;
  const out = new Float32Array(T * 63);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < 21; j++) {
      const k = t * J + idx[j];
      const ok = track.confidence[k] > 0;
      for (let c = 0; c < 3; c++) out[t * 63 + 3 * j + c] = ok ? track.positions[3 * k + c] : NaN;
    }
  }
  return out;
}

/**
 * Frames before the first one with the hand (no previous pose to hold) take the first solved pose, so that the
 * motion does not jump from the reference pose to it in one frame (the first solved frame has no previous frame,
 * so no velocity box limits that step) and a velocity plan does not spread such a jump into the solved frames.
 */
function holdFirstPose(Q: Float32Array, nq: number, firstSolved: number): void {
  for (let t = 0; t < firstSolved; t++) Q.copyWithin(t * nq, firstSolved * nq, (firstSolved + 1) * nq);
}

/** Frames (count) where all 21 landmarks of the side are present. */
function validFrames(lm: Float32Array): number {
  let n = 0;
  for (let t = 0; t < lm.length / 63; t++) {
    let ok = true;
    for (let k = 0; k < 63 && ok; k++) ok = lm[63 * t + k] === lm[63 * t + k];
    if (ok) n++;
  }
  return n;
}

/** True when the track has hand landmarks but no body joints with data. */
export function isHandOnlyTrack(track: PoseTrack): boolean {
  const hasHand = (['left', 'right'] as const).some((s) => handLandmarks(track, s) !== null);
  const J = track.jointNames.length;
  const body = new Set(['pelvis', 'spine', 'chest', 'neck', 'head', 'left_shoulder', 'right_shoulder', 'left_hip', 'right_hip']);
  let bodyData = false;
  for (let j = 0; j < J && !bodyData; j++) {
    if (!body.has(track.jointNames[j])) continue;
    for (let t = 0; t < track.timestamps.length; t++) if (track.confidence[t * J + j] > 0) { bodyData = true; break; }
  }
  return hasHand && !bodyData;
}

/** True when the robot is a bare hand: exactly one palm with 3+ finger chains, and no legs/arms around it. */
export function isHandRobot(robot: UrdfRobot | Kinematics): boolean {
  const kin = robot instanceof Kinematics ? robot : new Kinematics(robot);
  try {
    const model = discoverHand(kin);
    const handDofs = new Set(model.dofs);
    // Dofs outside the fingers (e.g. Shadow's two wrist joints) must be few.
    return kin.nq - handDofs.size <= 2;
  } catch {
    return false;
  }
}

export interface RetargetHandOptions extends HandRetargeterOptions {
  /** Which human hand of the track to follow; default the robot's side, else the hand with more data. */
  humanSide?: Side;
  /**
   * Overrides (YAML file or object, see config.ts); default `configs/hands/<robot name>.yaml` when it
   * exists; null for none. Explicit options win over the config.
   */
  config?: string | HandConfig | null;
}

/**
 * Retarget a hand track onto a hand URDF: one solve per frame, warm started; frames without the hand
 * hold the previous pose (before the hand first appears: the first solved pose). With `velocityPlan`, the clip is
 * planned within the velocity limits and solved again following the plan. Fixed base: root_pos zeros, root_quat
 * identity.
 */
export function retargetHand(track: PoseTrack, robotIn: UrdfRobot | string, opts: RetargetHandOptions = {}): RobotMotion {
  const robot = typeof robotIn === 'string' ? loadUrdf(robotIn) : robotIn;
  const kin = new Kinematics(robot);
  const cfgIn = opts.config === undefined ? defaultHandConfigFile(robot.name) : opts.config;
  const cfg = typeof cfgIn === 'string' ? loadHandConfig(cfgIn) : cfgIn;
  const { config: _c, humanSide: _h, ...rest } = opts;
  const ropts = cfg ? handOptionsFromConfig(cfg, rest) : rest;
  // A velocity plan solves without the per-frame velocity box, plans the clip within the limits, then solves
  // every frame again following the plan with the box and the collision limit hard.
  const plan = !!ropts.velocityPlan && (ropts.velocityLimits ?? true);
  const hr = createHandRetargeter(kin, ropts);
  const side: Side = opts.humanSide ?? pickSide(track, hr.model.side);
  const lm = handLandmarks(track, side);
  if (!lm) throw new UserError(`the track has no ${side} hand landmarks (${side}_hand_wrist ... ${side}_hand_pinky_tip)`, track.source.file ?? 'track');
  const T = track.timestamps.length;
  if (validFrames(lm) === 0) throw new UserError(`the ${side} hand is missing in every frame`, track.source.file ?? 'track');
  if (side !== hr.model.side) {
    // A left human hand on a right robot hand (or the reverse): mirror the landmarks.
    for (let k = 0; k < lm.length; k += 3) lm[k] = -lm[k];
  }
  hr.calibrate(measureHumanHand(validOnly(lm), validFrames(lm)));

  const nq = kin.nq, nf = hr.fingers.length;
  const q = new Float64Array(hr.model.qRef);
  const Q = new Float32Array(T * nq);
  const acc = newAccumulator(nf);
  const t0 = performance.now();
  let solved = 0;
  const pinchEnter = ropts.pinchEnter ?? 0.03;
  // The plan's weight of each frame and dof: `planPinchWeight` for the thumb's and a finger's dofs in the
  // frames where the person's thumb and that finger's tips are closer than the pinch threshold.
  const planWeights = plan && (ropts.planPinchWeight ?? 1) > 1 ? new Float64Array(T * nq).fill(1) : null;
  let firstSolved = -1;
  for (let t = 0; t < T; t++) {
    // The frame step, also after frames without the hand (held), so the output itself stays within the
    // velocity limits when the hand reappears elsewhere.
    const dt = t > 0 ? track.timestamps[t] - track.timestamps[t - 1] : 0;
    const ok = hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q, dt, plan ? { velocityBox: false } : undefined);
    if (ok) { solved++; accumulate(acc, hr.stats, pinchEnter); if (firstSolved < 0) firstSolved = t; }
    if (ok && planWeights) {
      for (let i = 1; i < nf; i++) {
        if (!(hr.stats.humanPinchDist[i] < pinchEnter)) continue;
        for (const f of [0, i]) for (const d of hr.fingers[f].dofs) planWeights[t * nq + d] = ropts.planPinchWeight!;
      }
    }
    for (let d = 0; d < nq; d++) Q[t * nq + d] = q[d];
  }
  holdFirstPose(Q, nq, firstSolved);
  if (plan) {
    planVelocities(Q, T, nq, hr.dofs, track.timestamps, kin.velocityLimit, kin.lower, kin.upper, undefined, planWeights ?? undefined);
    // Refinement rounds (planRefine): every frame solved again without the box, pulled weakly towards the
    // plan, then planned within the limits again.
    const ref = new Float64Array(nq);
    for (let r = 0; r < (ropts.planRefine?.rounds ?? 0); r++) {
      hr.reset();
      q.set(hr.model.qRef);
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < nq; d++) ref[d] = Q[t * nq + d];
        const dt = t > 0 ? track.timestamps[t] - track.timestamps[t - 1] : 0;
        hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q, dt, { velocityBox: false, follow: ref, followWeight: ropts.planRefine!.pull });
        for (let d = 0; d < nq; d++) Q[t * nq + d] = q[d];
      }
      holdFirstPose(Q, nq, firstSolved);
      planVelocities(Q, T, nq, hr.dofs, track.timestamps, kin.velocityLimit, kin.lower, kin.upper, undefined, planWeights ?? undefined);
    }
    // Second pass: each frame solved again, pulled towards the plan, within the velocity box around the
    // previous output frame and the collision limit; the report's figures are this pass's (iterations: both).
    const iterations = acc.iterations;
    Object.assign(acc, newAccumulator(nf), { iterations });
    solved = 0;
    hr.reset();
    // From the plan's first frame: frames before the hand appears hold it, and the first solved frame starts there.
    for (let d = 0; d < nq; d++) q[d] = Q[d];
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < nq; d++) ref[d] = Q[t * nq + d];
      const dt = t > 0 ? track.timestamps[t] - track.timestamps[t - 1] : 0;
      if (hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q, dt, { follow: ref })) { solved++; accumulate(acc, hr.stats, pinchEnter); }
      // Before the hand first appears the frames take the plan's (within the limits, as the plan is); later
      // frames without the hand hold the last pose.
      else if (t < firstSolved) q.set(ref);
      for (let d = 0; d < nq; d++) Q[t * nq + d] = q[d];
    }
  }
  const seconds = (performance.now() - t0) / 1000;

  const quality = handQualityReport(kin, hr.fingers.map((f) => f.name), hr.fingers.map((f) => f.dofs), Q, T, track.fps, acc, {
    frames: T, solved, seconds, pinchEnter,
  });
  quality.lag = fingerLag(kin, hr.fingers, lm, Q, T, track.fps);
  const m: RobotMotion = {
    q: Q,
    rootPos: new Float32Array(T * 3),
    rootQuat: rootIdentity(T),
    timestamps: Float64Array.from(track.timestamps),
    fps: track.fps,
    jointNames: kin.dofNames.slice(),
    rootLink: robot.rootLink,
    robot: { name: robot.name, urdf_sha256: robot.sha256, ...(robot.file ? { urdf: robot.file.split(/[\\/]/).pop()! } : {}) },
    mapping: {
      kind: 'hand',
      palm_link: hr.model.palmLink,
      side: hr.model.side,
      human_side: side,
      scale: hr.scale.hand,
      fingers: Object.fromEntries(hr.fingers.map((f, i) => [f.name, {
        links: f.links, joints: f.joints, dofs: f.dofs.map((d) => kin.dofNames[d]), tip_link: f.tipLink,
        tip_local: f.tipLocal, tip_source: f.tipSource, scale: hr.scale.finger[i],
      }])),
      fixed_dofs: kin.dofNames.filter((_, d) => !hr.dofs.includes(d)),
      objectives: hr.objectives.map((o) => o.name),
      ...(cfg?.file ? { config: cfg.file.split(/[\\/]/).pop() } : {}),
    },
    source: { ...track.source },
    quality,
  };
  return m;
}

function pickSide(track: PoseTrack, robotSide: Side): Side {
  const mine = handLandmarks(track, robotSide);
  if (mine && validFrames(mine) > 0) return robotSide;
  const other: Side = robotSide === 'left' ? 'right' : 'left';
  const theirs = handLandmarks(track, other);
  if (theirs && validFrames(theirs) > 0) return other;
  return robotSide;
}

function validOnly(lm: Float32Array): Float32Array {
  const out: number[] = [];
  for (let t = 0; t < lm.length / 63; t++) {
    const f = lm.subarray(63 * t, 63 * t + 63);
    if (f.every((v) => v === v)) out.push(...f);
  }
  return Float32Array.from(out);
}

function rootIdentity(T: number): Float32Array {
  const r = new Float32Array(T * 4);
  for (let t = 0; t < T; t++) r[4 * t] = 1;
  return r;
}

interface Accumulator {
  n: number;
  tipErrSum: Float64Array; tipErrMax: Float64Array;
  dirErrSum: Float64Array; dirErrMax: Float64Array;
  humanPinchFrames: Float64Array; robotPinchDistSum: Float64Array; robotPinchDistMax: Float64Array; robotGapSum: Float64Array; pinchErrSum: Float64Array;
  pinchStateFrames: Float64Array;
  penetrationFrames: number; penetrationMax: number;
  collisionFrames: number; collisionMax: number;
  iterations: number;
}

function newAccumulator(nf: number): Accumulator {
  const z = () => new Float64Array(nf);
  return {
    n: 0, tipErrSum: z(), tipErrMax: z(), dirErrSum: z(), dirErrMax: z(),
    humanPinchFrames: z(), robotPinchDistSum: z(), robotPinchDistMax: z(), robotGapSum: z(), pinchErrSum: z(), pinchStateFrames: z(),
    penetrationFrames: 0, penetrationMax: 0, collisionFrames: 0, collisionMax: 0, iterations: 0,
  };
}

function accumulate(a: Accumulator, s: HandFrameStats, pinchEnter: number): void {
  a.n++;
  a.iterations += s.iterations;
  for (let i = 0; i < s.tipError.length; i++) {
    a.tipErrSum[i] += s.tipError[i];
    a.tipErrMax[i] = Math.max(a.tipErrMax[i], s.tipError[i]);
    a.dirErrSum[i] += s.tipDirError[i];
    a.dirErrMax[i] = Math.max(a.dirErrMax[i], s.tipDirError[i]);
    if (i > 0 && s.humanPinchDist[i] < pinchEnter) {
      a.humanPinchFrames[i]++;
      a.robotPinchDistSum[i] += s.robotPinchDist[i];
      a.robotGapSum[i] += s.robotPinchGap[i];
      a.pinchErrSum[i] += Math.abs(s.robotPinchDist[i] - s.pinchTargetDist[i]);
      a.robotPinchDistMax[i] = Math.max(a.robotPinchDistMax[i], s.robotPinchDist[i]);
    }
    if (s.pinching[i]) a.pinchStateFrames[i]++;
  }
  if (s.penetration > 1e-4) a.penetrationFrames++;
  a.penetrationMax = Math.max(a.penetrationMax, s.penetration);
  if (s.collisionDepth >= 5e-4) a.collisionFrames++;
  a.collisionMax = Math.max(a.collisionMax, s.collisionDepth);
}

/** The quality report stored in the motion's meta (see docs/retarget-hands.md for each field). */
function handQualityReport(
  kin: Kinematics, names: string[], fingerDofs: number[][], Q: Float32Array, T: number, fps: number, a: Accumulator,
  run: { frames: number; solved: number; seconds: number; pinchEnter: number },
): Record<string, unknown> & { lag?: unknown } {
  const nq = kin.nq;
  let limitViolations = 0, velocityViolations = 0, maxJump = 0, jerkSum = 0, jerkN = 0;
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) {
      const v = Q[t * nq + d];
      // float32 storage: allow its rounding.
      const tol = 1e-6 * Math.max(1, Math.abs(v));
      if (v < kin.lower[d] - tol || v > kin.upper[d] + tol) limitViolations++;
      if (t > 0) {
        const dv = Math.abs(v - Q[(t - 1) * nq + d]);
        maxJump = Math.max(maxJump, dv);
        if (dv * fps > kin.velocityLimit[d] * (1 + 1e-4) + 1e-6) velocityViolations++;
      }
      if (t >= 3) {
        const j = Q[t * nq + d] - 3 * Q[(t - 1) * nq + d] + 3 * Q[(t - 2) * nq + d] - Q[(t - 3) * nq + d];
        jerkSum += Math.abs(j) * fps * fps * fps;
        jerkN++;
      }
    }
  }
  const n = Math.max(1, a.n);
  const per = (arr: Float64Array, f: (v: number, i: number) => number) => Object.fromEntries(names.map((nm, i) => [nm, f(arr[i], i)]));
  const round = (v: number, k = 5) => Number(v.toFixed(k));
  const deg = 180 / Math.PI;
  void fingerDofs;
  return {
    kind: 'hand',
    frames: run.frames,
    fps,
    solved_frames: run.solved,
    missing_frames: run.frames - run.solved,
    // The mapped keypoints of a hand are its fingertips (same fields as the body report).
    keypoint_error_mean_m: round(a.tipErrSum.reduce((s, v) => s + v, 0) / (n * names.length)),
    keypoint_error_max_m: round(Math.max(...a.tipErrMax)),
    fingertip_error_mean_m: round(a.tipErrSum.reduce((s, v) => s + v, 0) / (n * names.length)),
    fingertip_error_max_m: round(Math.max(...a.tipErrMax)),
    fingertip_error_mean_m_per_finger: per(a.tipErrSum, (v) => round(v / n)),
    fingertip_direction_error_mean_deg: round((a.dirErrSum.reduce((s, v) => s + v, 0) / (n * names.length)) * deg, 3),
    fingertip_direction_error_max_deg: round(Math.max(...a.dirErrMax) * deg, 3),
    fingertip_direction_error_mean_deg_per_finger: per(a.dirErrSum, (v) => round((v / n) * deg, 3)),
    pinch: {
      human_threshold_m: run.pinchEnter,
      human_pinch_frames: per(a.humanPinchFrames, (v, i) => (i === 0 ? 0 : v)),
      robot_distance_mean_m: per(a.robotPinchDistSum, (v, i) => (i === 0 || !a.humanPinchFrames[i] ? null as unknown as number : round(v / a.humanPinchFrames[i]))),
      distance_error_mean_m: per(a.pinchErrSum, (v, i) => (i === 0 || !a.humanPinchFrames[i] ? null as unknown as number : round(v / a.humanPinchFrames[i]))),
      robot_gap_mean_m: per(a.robotGapSum, (v, i) => (i === 0 || !a.humanPinchFrames[i] ? null as unknown as number : round(v / a.humanPinchFrames[i]))),
      robot_distance_max_m: per(a.robotPinchDistMax, (v, i) => (i === 0 || !a.humanPinchFrames[i] ? null as unknown as number : round(v))),
      pinch_state_frames: per(a.pinchStateFrames, (v, i) => (i === 0 ? 0 : v)),
    },
    joint_limit_violations: limitViolations,
    velocity_limit_violations: velocityViolations,
    penetration_frames: a.penetrationFrames,
    penetration_max_depth_m: round(a.penetrationMax),
    collision_frames: a.collisionFrames,
    collision_max_depth_m: round(a.collisionMax),
    max_joint_jump_rad: round(maxJump),
    mean_jerk_rad_s3: round(jerkN ? jerkSum / jerkN : 0, 2),
    mean_iterations: round(a.iterations / n, 2),
    frames_per_second: round(run.solved / Math.max(run.seconds, 1e-9), 1),
  };
}

const TIP_LANDMARK: Record<string, number> = { thumb: 4, index: 8, middle: 12, ring: 16, pinky: 20 };

/**
 * How far the robot's fingers lag the person's (frames and seconds): per finger, the shift k (0 to 1 s)
 * that best lines up the robot's fingertip-to-palm-origin distance at frame t with the person's
 * fingertip-to-wrist distance at frame t - k (largest correlation of the two series, each centred);
 * `frames_at_velocity_limit`: frames where some finger joint moved at its URDF velocity limit (the usual
 * cause of lag: e.g. the Inspire hand's 0.5 rad/s). Null per finger when either series does not move.
 */
function fingerLag(
  kin: Kinematics, fingers: { name: string; tipLinkIndex: number; tipLocal: number[]; dofs: number[] }[], lm: Float32Array,
  Q: Float32Array, T: number, fps: number,
): Record<string, unknown> {
  const nq = kin.nq, q = new Float64Array(nq), w = new Float64Array(3);
  const rob = fingers.map(() => new Float64Array(T)), hum = fingers.map(() => new Float64Array(T));
  let atLimit = 0;
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) q[d] = Q[t * nq + d];
    kin.fk(q);
    fingers.forEach((f, i) => {
      kin.pointWorld(f.tipLinkIndex, f.tipLocal, w);
      const P = kin.pose; // root link at the origin: palm origin = root's
      rob[i][t] = Math.hypot(w[0] - P[9], w[1] - P[10], w[2] - P[11]);
      const k = TIP_LANDMARK[f.name] ?? 8, o = 63 * t;
      hum[i][t] = Math.hypot(lm[o + 3 * k] - lm[o], lm[o + 3 * k + 1] - lm[o + 1], lm[o + 3 * k + 2] - lm[o + 2]);
    });
    if (t > 0) {
      let lim = false;
      for (const f of fingers) for (const d of f.dofs) if (Math.abs(Q[t * nq + d] - Q[(t - 1) * nq + d]) * fps >= kin.velocityLimit[d] * 0.98) lim = true;
      if (lim) atLimit++;
    }
  }
  const maxK = Math.max(1, Math.min(Math.round(fps), T >> 2));
  const per: Record<string, number | null> = {};
  const lags: number[] = [];
  fingers.forEach((f, i) => {
    const r = rob[i], h = hum[i];
    let best = -Infinity, bestK = -1;
    for (let k = 0; k <= maxK; k++) {
      let n = 0, mr = 0, mh = 0;
      for (let t = k; t < T; t++) { if (Number.isNaN(h[t - k])) continue; mr += r[t]; mh += h[t - k]; n++; }
      if (n < 10) continue;
      mr /= n; mh /= n;
      let sxy = 0, sxx = 0, syy = 0;
      for (let t = k; t < T; t++) {
        if (Number.isNaN(h[t - k])) continue;
        const a = r[t] - mr, b = h[t - k] - mh;
        sxy += a * b; sxx += a * a; syy += b * b;
      }
      if (!(sxx > 1e-12 && syy > 1e-12)) continue;
      const c = Math.abs(sxy) / Math.sqrt(sxx * syy);
      if (c > best + 1e-9) { best = c; bestK = k; }
    }
    per[f.name] = bestK >= 0 ? bestK : null;
    if (bestK >= 0) lags.push(bestK);
  });
  lags.sort((a, b) => a - b);
  const med = lags.length ? lags[lags.length >> 1] : null;
  return {
    median_frames: med, median_s: med === null ? null : Math.round((med / fps) * 1e4) / 1e4,
    max_frames: lags.length ? lags[lags.length - 1] : null, frames_per_finger: per, frames_at_velocity_limit: atLimit,
  };
}

/** Structural twin of src/retarget's FingerSolver (kept here to avoid an import cycle). */
export interface HandFingerSolver {
  dofs: number[];
  solveFrame(t: number, q: Float64Array): void;
}

/**
 * For the body retargeter's `fingers` hook: one finger solver per side whose hand has finger chains in
 * the robot (`fingerLinks[side]`, the links below the hand link) and landmarks in the track. Each solves
 * the frame's finger dofs after the body solve (q = the body's q of the frame; finger dofs read as the
 * previous frame's and overwritten).
 */
export function fingerSolvers(
  kin: Kinematics,
  fingerLinks: Record<Side, string[]>,
  track: PoseTrack,
  opts: HandRetargeterOptions = {},
): HandFingerSolver[] {
  const out: HandFingerSolver[] = [];
  for (const side of ['left', 'right'] as Side[]) {
    const links = fingerLinks[side] ?? [];
    const dofs = [...new Set(links.filter((l) => kin.hasLink(l)).map((l) => kin.linkDof(kin.linkIndex(l))).filter((d) => d >= 0))];
    if (dofs.length < 2) continue;
    const lm = handLandmarks(track, side);
    if (!lm || validFrames(lm) === 0) continue;
    let hr: HandRetargeter;
    try {
      hr = createHandRetargeter(kin, { ...opts, side, dofs });
    } catch (err) {
      if (err instanceof UserError) continue; // no finger chains there (e.g. a rubber hand with 1 dof)
      throw err;
    }
    hr.calibrate(measureHumanHand(validOnly(lm), validFrames(lm)));
    let lastT = -1;
    // The finger dofs of the previous frame are kept here: the caller's q may hold anything there.
    const prev = Float64Array.from(hr.dofs, (d) => hr.model.qRef[d]);
    out.push({
      dofs: hr.dofs.slice(),
      solveFrame(t: number, q: Float64Array) {
        if (t !== lastT + 1) hr.reset();
        hr.dofs.forEach((d, i) => { q[d] = prev[i]; });
        const dt = t > 0 ? track.timestamps[t] - track.timestamps[t - 1] : 0;
        hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q, dt);
        hr.dofs.forEach((d, i) => { prev[i] = q[d]; });
        lastT = t;
      },
    });
  }
  return out;
}
