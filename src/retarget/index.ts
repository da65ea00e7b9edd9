/**
 * Retargeting of a human pose track onto any humanoid URDF, with no hand-written table:
 *
 *   const motion = retarget(track, 'g1.urdf');            // RobotMotion with motion.quality filled in
 *
 * Stages (each its own module): build the problem (problem.ts: discover the body from the tree, scale the
 * human per limb, detect stance and lock it, build the tasks in tasks/ and the solver) → solve the sequence
 * (sequence.ts: per-frame whole-body IK with a floating base, hard joint position and velocity limits,
 * self-collision and ground terms) → smooth the upper body (smooth.ts) → report (quality.ts, stance and
 * skating by src/robot/stance.ts).
 */
import type { UrdfRobot } from '../robot/urdf.ts';
import type { PoseTrack } from '../pose/track.ts';
import type { RetargetOptions } from './options.ts';
import type { RobotMotion } from '../robot/motion.ts';
import { nd } from '../io/npz.ts';
import { describeProxies } from './proxies.ts';
import { KEYPOINTS, type Targets } from './targets.ts';
import { legLength, qualityReport, type RetargetReport } from './quality.ts';
import { comOutsideSupport } from './balance.ts';
import { buildProblem, type RetargetProblem } from './problem.ts';
import { solveSequence, type SolvedSequence } from './sequence.ts';
import { smoothUpperBody } from './smooth.ts';

export { discoverBody, zeroPose } from './discover.ts';
export type { BodyMap, LimbMap, FootMap, LinkPoint } from './discover.ts';
export { buildProxies, capsuleDistance } from './proxies.ts';
export type { RetargetReport } from './quality.ts';
export { loadRobotConfig, parseRobotConfig, DEFAULT_WEIGHTS } from './config.ts';
export { BalanceTask, ComModel, ComTask, SupportRegion, comOutsideSupport, soleRectangle, supportFoot } from './balance.ts';
export type { SupportFoot } from './balance.ts';
export type { RobotConfig, Weights } from './config.ts';

export { decimateTrack, defaultSmoothing } from './options.ts';
export type { FingerSolver, RetargetOptions, RetargetContext } from './options.ts';

function stanceFlags(tg: Targets): Uint8Array {
  const out = new Uint8Array(2 * tg.T);
  for (let t = 0; t < tg.T; t++) { out[2 * t] = tg.stance.left[t]; out[2 * t + 1] = tg.stance.right[t]; }
  return out;
}

/**
 * Body retargeting as a composition of named stages: build the problem (robot, mapping, targets, tasks),
 * solve the sequence, smooth, report.
 */
export function retarget(track: PoseTrack, robotIn: UrdfRobot | string, opts: RetargetOptions = {}): RobotMotion {
  const problem = buildProblem(track, robotIn, opts);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const solved = solveSequence(problem, opts);
  smoothUpperBody(problem, solved, opts.postSmoothing ?? 0.03);
  const cpu = process.cpuUsage(cpu0);
  return toMotion(problem, track, solved, (performance.now() - t0) / 1000, (cpu.user + cpu.system) / 1e6);
}

/** Stage 4: the quality report, the mapping and the RobotMotion. */
function toMotion(p: RetargetProblem, track: PoseTrack, out: SolvedSequence, solveSeconds: number, cpuSeconds: number): RobotMotion {
  const { robot, kin, cfg, W, map, targets, proxies, useCollision, T, keyPoint, comModel, balanceFeet, balance, useBalance } = p;
  const iterSum = out.iterSum;
  const keyLinks = KEYPOINTS.map((k) => { const kp = keyPoint[k]; return kp ? { link: kp.link, local: Float64Array.from(kp.local) } : null; });
  const quality: RetargetReport = qualityReport(kin, map, proxies, targets, keyLinks, out, solveSeconds, iterSum / T, cpuSeconds);
  const com = comOutsideSupport(kin, comModel, balanceFeet, targets.stance, out);
  quality.com_outside_support_max_m = com.com_outside_support_max_m;
  quality.com_outside_support_frames = com.com_outside_support_frames;
  quality.com_outside_support_mean_m = com.com_outside_support_mean_m;
  quality.balance = useBalance ? { weight: W.balance, margin_m: Math.round(balance!.margin * 1e4) / 1e4, lookahead_s: W.balance_lookahead, smoothing_s: W.balance_smoothing } : false;

  const mapping: Record<string, unknown> = {
    method: 'tree discovery (no table)',
    pelvis: map.pelvis, torso: map.torso, head: map.head?.link ?? null,
    keypoints: Object.fromEntries(KEYPOINTS.filter((k) => keyPoint[k]).map((k) => [k, { link: kin.linkNames[keyPoint[k]!.link], local: keyPoint[k]!.local }])),
    feet: { left: map.feet.left.link, right: map.feet.right.link },
    // The feet and scale stance and skating are measured with (src/robot/stance.ts: feetOfMotion), so
    // validate and the viewer measure the same feet the same way.
    soles: Object.fromEntries((['left', 'right'] as const).map((sd) => [sd, { link: map.feet[sd].link, points: map.feet[sd].sole }])),
    leg_length_m: Math.round(legLength(map) * 1e6) / 1e6,
    found_by: map.how,
    scales: targets.scales,
    human_lengths_m: targets.humanLengths,
    robot_lengths_m: targets.robotLengths,
    self_collision: useCollision ? describeProxies(kin, proxies) : false,
    config: cfg.file ?? null,
  };
  return {
    q: out.q,
    rootPos: out.rootPos,
    rootQuat: out.rootQuat,
    timestamps: out.timestamps,
    fps: targets.fps,
    jointNames: kin.dofNames,
    rootLink: robot.rootLink,
    robot: { name: robot.name, urdf_sha256: robot.sha256 },
    mapping,
    source: { ...track.source },
    quality: quality as unknown as Record<string, unknown>,
    // Per-frame stance flags (left, right) as an array member `stance` [T, 2] of the .npz.
    extras: { stance: nd(stanceFlags(targets), [T, 2], 'u1') },
  };}
