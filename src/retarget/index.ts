/**
 * Retargeting of a human pose track onto any humanoid URDF, with no hand-written table:
 *
 *   const motion = retarget(track, 'g1.urdf');            // RobotMotion with motion.quality filled in
 *
 * Pipeline: discover the body from the tree (discover.ts) → scale the human per limb and detect stance
 * (targets.ts) → per-frame whole-body IK with a floating base, hard joint position and velocity limits,
 * self-collision and ground terms, stance feet locked (solver.ts) → quality report (quality.ts).
 */
import { loadUrdf, type UrdfRobot } from '../robot/urdf.ts';
import { Kinematics } from '../robot/kinematics.ts';
import { selectFrames, type PoseTrack } from '../pose/track.ts';
import { UserError } from '../errors.ts';
import type { RobotMotion } from '../robot/motion.ts';
import { nd } from '../io/npz.ts';
import { discoverBody, zeroPose, type BodyMap, type Side } from './discover.ts';
import { buildProxies, describeProxies, withoutPairsWithin, type ProxySet } from './proxies.ts';
import { buildTargets, gaussianSmooth, KEYPOINTS, type Keypoint, type Targets } from './targets.ts';
import {
  DampingTask, DirectionTask, GroundTask, IkSolver, PositionTask, PostureTask, SelfCollisionTask, type LandingCone, type Task,
} from './solver.ts';
import { DEFAULT_WEIGHTS, defaultConfigFile, loadRobotConfig, type RobotConfig, type Weights } from './config.ts';
import { legLength, qualityReport, type RetargetReport } from './quality.ts';
import { BalanceTask, ComModel, ComTask, comOutsideSupport, soleRectangle, supportFoot } from './balance.ts';

export { discoverBody, zeroPose } from './discover.ts';
export type { BodyMap, LimbMap, FootMap, LinkPoint } from './discover.ts';
export { buildProxies, capsuleDistance } from './proxies.ts';
export type { RetargetReport } from './quality.ts';
export { loadRobotConfig, parseRobotConfig, DEFAULT_WEIGHTS } from './config.ts';
export { BalanceTask, ComModel, ComTask, SupportRegion, comOutsideSupport, soleRectangle, supportFoot } from './balance.ts';
export type { SupportFoot } from './balance.ts';
export type { RobotConfig, Weights } from './config.ts';

/** Finger solver for one hand: called per frame after the body solve with the wrist pose known. */
export interface FingerSolver {
  /** Dof indices (in the robot's q) this solver writes. */
  dofs: number[];
  /** Write the finger joints of frame t into q (the body's q of this frame, after fk). */
  solveFrame(t: number, q: Float64Array): void;
}

export interface RetargetOptions {
  /** A robot config object or YAML file; default: configs/robots/<robot name>.yaml if present, else none. */
  config?: RobotConfig | string | null;
  /** Output frame rate: frames are taken from the track at this rate (default: the track's). */
  fps?: number;
  /** Only this time window of the track, seconds. */
  start?: number;
  duration?: number;
  /**
   * Gaussian smoothing of the human input (sigma, seconds). Default: 0.012 s for mocap sources (BVH, TRC,
   * DeepMimic, synthetic), 0.05 s for keypoints estimated from video (noisier).
   */
  smoothing?: number;
  /** Zero-phase smoothing of the upper-body joints after the solve (sigma, seconds; default 0.03; 0 = none). */
  postSmoothing?: number;
  /** Self-collision avoidance (default true). */
  selfCollision?: boolean;
  /**
   * Centre of mass kept over the support feet (BalanceTask, weight `weights.balance`). Default: on only
   * when the config sets weights.balance > 0.
   */
  balance?: boolean;
  /** Hard joint acceleration bound, rad/s^2 (default 0 = none; the damping task's acceleration term keeps motion smooth). */
  accelerationLimit?: number;
  /** Gauss-Newton iterations per frame (default 4) and on the first frame per start (default 60). */
  iterations?: number;
  /** Build per-hand finger solvers once the body map is known (used for robots with dexterous hands). */
  fingers?: (kin: Kinematics, map: BodyMap, track: PoseTrack) => FingerSolver[];
  /** Name of the input for errors. */
  file?: string;
}

export interface RetargetContext {
  kin: Kinematics;
  map: BodyMap;
  proxies: ProxySet;
  targets: Targets;
}

/**
 * Keep existing frames of a track at a lower rate and/or in a time window (no interpolation; compare
 * pose/resample.ts resampleTrack, which interpolates onto a new time grid).
 */
export function decimateTrack(track: PoseTrack, opts: { fps?: number; start?: number; duration?: number }): PoseTrack {
  const T = track.timestamps.length;
  const t0 = track.timestamps[0] + (opts.start ?? 0);
  const t1 = opts.duration !== undefined ? t0 + opts.duration : Infinity;
  const step = opts.fps && opts.fps < track.fps ? track.fps / opts.fps : 1;
  const keep: number[] = [];
  let next = 0;
  for (let i = 0; i < T; i++) {
    const ts = track.timestamps[i];
    if (ts < t0 - 1e-9 || ts > t1 + 1e-9) continue;
    if (keep.length === 0) next = i;
    if (i + 1e-9 >= next) { keep.push(i); next += step; }
  }
  if (!keep.length) throw new UserError('no frames in the requested time window', track.source.file);
  if (keep.length === T) return track;
  // Extras are not carried through a resample (so not sliced either).
  return { ...selectFrames({ ...track, extras: undefined }, keep), fps: track.fps / step };
}

const MOCAP_FORMATS = new Set(['bvh', 'trc', 'deepmimic', 'synthetic']);

/** Input smoothing for a track: light for mocap, stronger for keypoints estimated from video. */
export function defaultSmoothing(track: PoseTrack): number {
  return MOCAP_FORMATS.has(String(track.source.format)) ? 0.012 : 0.05;
}

function stanceFlags(tg: Targets): Uint8Array {
  const out = new Uint8Array(2 * tg.T);
  for (let t = 0; t < tg.T; t++) { out[2 * t] = tg.stance.left[t]; out[2 * t + 1] = tg.stance.right[t]; }
  return out;
}

function copy3(dst: Float64Array, src: Float64Array, t: number): void {
  dst[0] = src[3 * t]; dst[1] = src[3 * t + 1]; dst[2] = src[3 * t + 2];
}

function resolveConfig(robot: UrdfRobot, c: RetargetOptions['config']): RobotConfig {
  if (c === null) return {};
  if (typeof c === 'string') return loadRobotConfig(c);
  if (c) return c;
  const f = defaultConfigFile(robot.name);
  return f ? loadRobotConfig(f) : {};
}

function restInLink(kin: Kinematics, link: number, v: [number, number, number]): [number, number, number] {
  // A world direction at the zero pose, expressed in the link frame.
  const P = kin.pose, o = 12 * link;
  return [P[o] * v[0] + P[o + 3] * v[1] + P[o + 6] * v[2], P[o + 1] * v[0] + P[o + 4] * v[1] + P[o + 7] * v[2], P[o + 2] * v[0] + P[o + 5] * v[1] + P[o + 8] * v[2]];
}

export function retarget(track: PoseTrack, robotIn: UrdfRobot | string, opts: RetargetOptions = {}): RobotMotion {
  const robot = typeof robotIn === 'string' ? loadUrdf(robotIn) : robotIn;
  const kin = new Kinematics(robot);
  const cfg = resolveConfig(robot, opts.config);
  const W: Weights = { ...DEFAULT_WEIGHTS, ...(cfg.weights ?? {}) };
  let map: BodyMap;
  try {
    map = discoverBody(kin, cfg.mapping ?? {});
  } catch (err) {
    throw new UserError((err as Error).message, robot.file ?? robot.name);
  }
  const tr = decimateTrack(track, opts);
  const st = cfg.stance ?? {};
  const targets = buildTargets(tr, map, {
    file: opts.file ?? track.source.file,
    limbScale: cfg.limb_scale,
    smoothing: opts.smoothing ?? defaultSmoothing(track),
    stance: {
      ...(st.enter_height !== undefined ? { enterHeight: st.enter_height } : {}),
      ...(st.exit_height !== undefined ? { exitHeight: st.exit_height } : {}),
      ...(st.enter_speed !== undefined ? { enterSpeed: st.enter_speed } : {}),
      ...(st.exit_speed !== undefined ? { exitSpeed: st.exit_speed } : {}),
      ...(st.min_duration !== undefined ? { minDuration: st.min_duration } : {}),
      ...(st.max_heel_lift !== undefined ? { maxHeelLift: st.max_heel_lift } : {}),
    },
  });
  const useCollision = opts.selfCollision ?? cfg.self_collision ?? true;
  // Self-collision proxies; contacts inside one hand (fingers, palm) are the hand retargeter's business.
  const handGroups = (['left', 'right'] as const).filter((sd) => map.fingers[sd].length).map((sd) => {
    let h = kin.linkIndex(map.arms[sd].end.link);
    while (h > 0 && kin.linkDof(h) < 0) h = kin.linkParent[h];
    const g = new Set<number>();
    for (let l = 0; l < kin.nLinks; l++) if (kin.isAncestor(h, l)) g.add(l);
    return g;
  });
  const proxies = withoutPairsWithin(buildProxies(kin), handGroups);
  const T = targets.T;
  const nq = kin.nq;

  // ---- tasks
  kin.fk(zeroPose(kin));
  const L = (name: string) => kin.linkIndex(name);
  const keyPoint: Record<string, { link: number; local: number[] } | null> = {};
  for (const side of ['left', 'right'] as const) {
    keyPoint[`${side}_hip`] = { link: L(map.legs[side].root.link), local: map.legs[side].root.local };
    keyPoint[`${side}_knee`] = { link: L(map.legs[side].mid.link), local: map.legs[side].mid.local };
    keyPoint[`${side}_ankle`] = { link: L(map.legs[side].end.link), local: map.legs[side].end.local };
    keyPoint[`${side}_shoulder`] = { link: L(map.arms[side].root.link), local: map.arms[side].root.local };
    keyPoint[`${side}_elbow`] = { link: L(map.arms[side].mid.link), local: map.arms[side].mid.local };
    keyPoint[`${side}_wrist`] = { link: L(map.arms[side].end.link), local: map.arms[side].end.local };
  }
  keyPoint.head = targets.useHead && map.head ? { link: L(map.head.link), local: map.head.local } : null;
  for (const [k, off] of Object.entries(cfg.offsets ?? {})) {
    const kp = keyPoint[k];
    if (kp) keyPoint[k] = { link: kp.link, local: [kp.local[0] + off[0], kp.local[1] + off[1], kp.local[2] + off[2]] };
  }
  const weightOf = (k: Keypoint): number => {
    const part = k.replace(/^(left|right)_/, '') as 'hip' | 'knee' | 'ankle' | 'shoulder' | 'elbow' | 'wrist' | 'head';
    return W[part];
  };
  const posTasks = KEYPOINTS.map((k) => {
    const kp = keyPoint[k];
    return kp ? new PositionTask(k, kp.link, kp.local, weightOf(k)) : null;
  });
  const r = map.rest;
  const pelvis = L(map.pelvis), torso = L(map.torso);
  const vsub = (a: number[], b: number[]): [number, number, number] => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const mid = (a: number[], b: number[]) => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2];
  const pelvisLeft = new DirectionTask('pelvis_left', pelvis, restInLink(kin, pelvis, vsub(r.left_hip, r.right_hip)), W.pelvis_orientation);
  const torsoLeft = new DirectionTask('torso_left', torso, restInLink(kin, torso, vsub(r.left_shoulder, r.right_shoulder)), W.torso_orientation);
  const torsoUp = new DirectionTask('torso_up', torso, restInLink(kin, torso, vsub(mid(r.left_shoulder, r.right_shoulder), mid(r.left_hip, r.right_hip))), W.torso_orientation);
  const footFwd = {} as Record<Side, DirectionTask>;
  const footUp = {} as Record<Side, DirectionTask>;
  for (const side of ['left', 'right'] as const) {
    const f = map.feet[side];
    footFwd[side] = new DirectionTask(`${side}_foot_forward`, L(f.link), f.forward, W.foot_orientation);
    footUp[side] = new DirectionTask(`${side}_foot_up`, L(f.link), f.up, W.foot_orientation);
    footUp[side].target.set([0, 0, 1]);
  }
  const home = zeroPose(kin);
  for (const [name, v] of Object.entries(cfg.home ?? {})) {
    let d: number;
    try { d = kin.dofIndex(name); } catch { throw new UserError(`home names joint "${name}", which ${robot.name} does not have`, cfg.file); }
    home[d] = Math.min(kin.upper[d], Math.max(kin.lower[d], v));
  }
  const fingerSolvers = opts.fingers ? opts.fingers(kin, map, tr) : [];
  // Finger dofs are not the body solve's business: held fixed there (at home, or where the finger solver puts them).
  const fingerDof = new Uint8Array(nq);
  for (const side of ['left', 'right'] as const) for (const l of map.fingers[side]) { const d = kin.linkDof(L(l)); if (d >= 0) fingerDof[d] = 1; }
  for (const fs of fingerSolvers) for (const d of fs.dofs) fingerDof[d] = 1;
  const postureW = new Float64Array(nq).fill(W.posture);
  const posture = new PostureTask(home, postureW);
  const damping = new DampingTask(nq, W.damping, W.damping, W.acceleration);
  const tasks: Task[] = [...posTasks.filter((t): t is PositionTask => !!t), pelvisLeft, torsoLeft, torsoUp, footFwd.left, footFwd.right, footUp.left, footUp.right, posture, damping];
  // Swing soles keep above their landing cone (targets.ts: a foot lands on its lock from above).
  const cones = {} as Record<Side, LandingCone>;
  for (const sd of ['left', 'right'] as const) {
    cones[sd] = { link: L(map.legs[sd].end.link), local: Float64Array.from(map.legs[sd].end.local), anchor: new Float64Array([NaN, NaN]), slope: targets.landing.slope, cap: targets.landing.cap };
  }
  const solePoints = (['left', 'right'] as const).flatMap((sd) => map.feet[sd].sole.map((p) => ({ link: L(map.feet[sd].link), local: Float64Array.from(p), cone: cones[sd] })));
  // Leg capsules stay above the ground too (a knee may touch it, not sink): the capsule end nearer the
  // link's joint (the knee end of a shin; the other end sits by the ankle, close to the ground), clear by
  // the radius.
  const feetLinks = new Set([L(map.feet.left.link), L(map.feet.right.link)]);
  const legLinks = new Set([...map.legs.left.chain, ...map.legs.right.chain].map(L));
  const legPoints = proxies.capsules
    .filter((c) => legLinks.has(c.link) && !feetLinks.has(c.link))
    .map((c) => ({ link: c.link, local: Float64Array.from(Math.hypot(...c.a) <= Math.hypot(...c.b) ? c.a : c.b), clearance: c.radius }));
  tasks.push(new GroundTask([...solePoints, ...legPoints], W.ground));
  const collision = useCollision && proxies.pairs.length ? new SelfCollisionTask(proxies, W.self_collision, 0.01, 0.05, nq + 6) : null;
  if (collision) {
    collision.passive = new Uint8Array(kin.nLinks);
    for (const name of [...map.legs.left.chain, ...map.legs.right.chain]) collision.passive[L(name)] = 1;
    tasks.push(collision);
  }
  // Balance: the CoM's ground projection over the support feet (stance flags, with a lookahead so the CoM
  // shifts onto the remaining foot before the other one lifts). Off unless asked for (`balance: true`, or a
  // config giving weights.balance > 0). Measured by the validator (benchmarks/retarget/RESULTS.md, "Balance"):
  // it lowered the peak torque on all 9 clips and made the built-in pick-and-place feasible on r2r_humanoid
  // (what the demo runs); the CMU clips on H1 and G1 stayed infeasible.
  const comModel = new ComModel(kin);
  const balanceFeet = {
    left: supportFoot(L(map.feet.left.link), soleRectangle(map.feet.left)),
    right: supportFoot(L(map.feet.right.link), soleRectangle(map.feet.right)),
  };
  const halfWidth = Math.min(...(['left', 'right'] as const).map((sd) => {
    const c = balanceFeet[sd].corners;
    return Math.hypot(c[0] - c[9], c[1] - c[10], c[2] - c[11]) / 2;
  }));
  const useBalance = (opts.balance ?? (cfg.weights?.balance ?? 0) > 0) && W.balance > 0 && comModel.totalMass > 0;
  const balance = useBalance ? new BalanceTask(comModel, balanceFeet, W.balance, Math.min(W.balance_margin, 0.8 * halfWidth), nq + 6) : null;
  // Support weight per foot and frame: 1 in single stance; in double stance a foot's weight ramps over
  // `balance_lookahead` seconds down to its lift-off and up from its touch-down (the other foot then
  // carries, weight 1), so the support region, and the CoM with it, move continuously.
  const supportW = { left: new Float32Array(T), right: new Float32Array(T) };
  {
    const la = Math.max(1, Math.round(W.balance_lookahead * targets.fps));
    const ramp = (sd: Side, t: number) => {
      const st = targets.stance[sd];
      let a = la, b = la;
      for (let k = 1; k <= la; k++) if (t + k < T && !st[t + k]) { a = k - 1; break; }
      for (let k = 1; k <= la; k++) if (t - k >= 0 && !st[t - k]) { b = k - 1; break; }
      return Math.min(a, b) / la;
    };
    for (let t = 0; t < T; t++) {
      const l = targets.stance.left[t], rr = targets.stance.right[t];
      if (l && rr) {
        let wl = ramp('left', t), wr = ramp('right', t);
        const mx = Math.max(wl, wr);
        if (mx > 0) { wl /= mx; wr /= mx; } else { wl = wr = 1; }
        supportW.left[t] = wl; supportW.right[t] = wr;
      } else {
        supportW.left[t] = l; supportW.right[t] = rr;
      }
    }
  }
  // balance_smoothing > 0: the smoothed two-pass variant (ComTask) instead of the per-frame one-sided task.
  const balanceMargin = Math.min(W.balance_margin, 0.8 * halfWidth);
  const comTask = balance && W.balance_smoothing > 0 ? new ComTask(comModel, 0, nq + 6) : null;
  const comTarget: { x: Float64Array; y: Float64Array } = { x: new Float64Array(0), y: new Float64Array(0) };
  if (comTask) tasks.push(comTask);
  else if (balance) tasks.push(balance);
  const solver = new IkSolver(kin, tasks);
  const s = solver.s;
  // Finger dofs are not the body's business: pin them at home in the body solve (bounds), fingers solve later.

  const K = KEYPOINTS.length;
  const setFrame = (t: number) => {
    for (let k = 0; k < K; k++) {
      const pt = posTasks[k];
      if (!pt) continue;
      const o = 3 * (t * K + k);
      pt.target[0] = targets.pos[o]; pt.target[1] = targets.pos[o + 1]; pt.target[2] = targets.pos[o + 2];
    }
    for (const side of ['left', 'right'] as const) {
      // Weights ramp between swing and stance values around each stance run (no snapping at contact).
      const a = targets.stanceWeight[side][t] ** 3;
      const lerp = (x: number, y: number) => x + (y - x) * a;
      posTasks[KEYPOINTS.indexOf(`${side}_ankle`)]!.weight = lerp(W.ankle, W.stance_foot);
      footFwd[side].weight = lerp(W.foot_orientation, W.stance_foot_orientation);
      footFwd[side].heading = a < 0.5;
      footUp[side].weight = lerp(W.foot_orientation * 0.2, W.stance_foot_orientation);
      copy3(footFwd[side].target, targets.footForward[side], t);
      cones[side].anchor[0] = targets.footLock[side][2 * t]; cones[side].anchor[1] = targets.footLock[side][2 * t + 1];
    }
    if (comTask && comTarget.x.length) { comTask.target[0] = comTarget.x[t]; comTask.target[1] = comTarget.y[t]; comTask.stale = true; }
    if (balance) {
      balance.support.left = supportW.left[t]; balance.support.right = supportW.right[t];
      // Faded in over the first half second: the first frame's multi-start solve and the per-frame steps
      // find different balanced poses, and a full-weight start makes frame 1 jump.
      balance.weight = W.balance * Math.min(1, t / Math.max(1, 0.5 * targets.fps));
    }
    copy3(pelvisLeft.target, targets.pelvisLeft, t);
    copy3(torsoLeft.target, targets.torsoLeft, t);
    copy3(torsoUp.target, targets.torsoUp, t);
  };
  const pinFingers = () => {
    for (let i = 0; i < nq; i++) if (fingerDof[i]) { solver.lo[i] = solver.hi[i] = s.q[i]; }
  };

  const out = {
    q: new Float32Array(T * nq),
    rootPos: new Float32Array(T * 3),
    rootQuat: new Float32Array(T * 4),
    timestamps: Float64Array.from(targets.timestamps),
  };

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // ---- first frame: heading from the human, several starts, keep the best
  setFrame(0);
  const pl = targets.pelvisLeft;
  const heading = Math.atan2(-pl[0], pl[1]); // forward = left x up = (l.y, -l.x)
  const hipC = [0, 1, 2].map((k) => (targets.pos[k + 3 * KEYPOINTS.indexOf('left_hip')] + targets.pos[k + 3 * KEYPOINTS.indexOf('right_hip')]) / 2);
  const rHipC = mid(r.left_hip, r.right_hip);
  const starts: { yaw: number; q: Float64Array }[] = [];
  for (const dy of [0, Math.PI / 2, -Math.PI / 2, Math.PI]) starts.push({ yaw: heading + dy, q: home });
  starts.push({ yaw: heading, q: zeroPose(kin).map((v, i) => (kin.lower[i] + kin.upper[i]) / 2 * 0.3 + v * 0.7 || 0) });
  let best = { cost: Infinity, q: new Float64Array(nq), pos: new Float64Array(3), quat: new Float64Array(4) };
  const firstIters = opts.iterations ? opts.iterations * 15 : 60;
  solver.setBounds(null, 0);
  for (const st0 of starts) {
    s.q.set(st0.q);
    for (let i = 0; i < nq; i++) if (!Number.isFinite(s.q[i])) s.q[i] = home[i];
    const c = Math.cos(st0.yaw), sn = Math.sin(st0.yaw);
    s.baseQuat.set([Math.cos(st0.yaw / 2), 0, 0, Math.sin(st0.yaw / 2)]);
    s.basePos.set([hipC[0] - (c * rHipC[0] - sn * rHipC[1]), hipC[1] - (sn * rHipC[0] + c * rHipC[1]), hipC[2] - rHipC[2]]);
    solver.setBounds(null, 0);
    pinFingers();
    solver.solve({ maxIters: Math.ceil(firstIters / 4), lambda: 1e-3, tol: 1e-6 });
    const cost = solver.cost();
    if (cost < best.cost) best = { cost, q: Float64Array.from(s.q), pos: Float64Array.from(s.basePos), quat: Float64Array.from(s.baseQuat) };
  }
  s.q.set(best.q); s.basePos.set(best.pos); s.baseQuat.set(best.quat);
  for (let i = 0; i < nq; i++) if (fingerDof[i]) s.q[i] = home[i];

  // ---- all frames
  const iters = opts.iterations ?? 4;
  let iterSum = 0;
  const qPrev = new Float64Array(nq);
  const qPrev2 = new Float64Array(nq);
  const frameOpts = { maxIters: iters, lambda: 1e-4, tol: 1e-5, trustStep: 0.01 };
  const accel = opts.accelerationLimit ?? 0;
  const start = { q: Float64Array.from(s.q), pos: Float64Array.from(s.basePos), quat: Float64Array.from(s.baseQuat) };
  // `draft`: the smoothed balance's first pass, which only needs the CoM path: fewer iterations.
  const solveFrames = (draft = false) => {
    for (let t = 0; t < T; t++) {
      setFrame(t);
      if (t > 0) {
        const dt = targets.timestamps[t] - targets.timestamps[t - 1];
        if (t > 1) qPrev2.set(qPrev);
        qPrev.set(s.q);
        solver.setBounds(qPrev, dt, t > 1 ? qPrev2 : null, accel);
        damping.push(s.q, s.basePos);
        solver.basePrev.set(s.basePos);
        solver.baseDt = dt;
      } else {
        solver.setBounds(null, 0);
      }
      pinFingers();
      if (collision) { s.fk(); collision.beginFrame(kin.pose, t > 0 ? 0.1 + 3 * (targets.timestamps[t] - targets.timestamps[t - 1]) : 0.2); }
      frameOpts.maxIters = t === 0 ? firstIters : draft ? Math.min(2, iters) : iters;
      solver.solve(frameOpts);
      iterSum += solver.lastIters;
      if (fingerSolvers.length) {
        s.fk();
        for (const fsv of fingerSolvers) fsv.solveFrame(t, s.q);
        // Finger solvers must respect the same boxes.
        for (let i = 0; i < nq; i++) if (fingerDof[i] && t > 0) {
          const v = kin.velocityLimit[i] * (targets.timestamps[t] - targets.timestamps[t - 1]) * (1 - 1e-3);
          s.q[i] = Math.min(kin.upper[i], Math.max(kin.lower[i], Math.min(qPrev[i] + v, Math.max(qPrev[i] - v, s.q[i]))));
        }
        if (collision) {
          // New finger poses may touch the body: let the arms (and the rest) respond, fingers held.
          pinFingers();
          solver.solve({ maxIters: 2, lambda: 1e-4, tol: 1e-5 });
          iterSum += solver.lastIters;
        }
      }
      for (let i = 0; i < nq; i++) out.q[t * nq + i] = s.q[i];
      out.rootPos.set(s.basePos, 3 * t);
      out.rootQuat.set(s.baseQuat, 4 * t);
    }
  };
  solveFrames(!!comTask);
  if (comTask) {
    // Smoothed balance, second pass: the first pass's CoM moved into the support (with the margin) at each
    // stance frame, low-passed over time (so it does not jump from foot to foot in a quick step), is
    // tracked by a CoM task from the same start.
    const sig = W.balance_smoothing * targets.fps;
    const cx = new Float64Array(T), cy = new Float64Array(T);
    const qf = new Float64Array(nq), bf = { pos: new Float64Array(3), quat: new Float64Array(4) };
    const probe = new BalanceTask(comModel, balanceFeet, 0, balanceMargin);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < nq; i++) qf[i] = out.q[t * nq + i];
      for (let k = 0; k < 3; k++) bf.pos[k] = out.rootPos[3 * t + k];
      for (let k = 0; k < 4; k++) bf.quat[k] = out.rootQuat[4 * t + k];
      kin.fk(qf, bf);
      probe.support.left = supportW.left[t]; probe.support.right = supportW.right[t];
      const d = probe.evaluate(kin) + balanceMargin;
      if (probe.support.left <= 0 && probe.support.right <= 0) comModel.com(kin, probe.com);
      const m = Number.isFinite(d) && d > 0 ? d : 0;
      cx[t] = probe.com[0] - m * probe.region.dir[0];
      cy[t] = probe.com[1] - m * probe.region.dir[1];
    }
    const sx = gaussianSmooth(cx, T, 1, sig), sy = gaussianSmooth(cy, T, 1, sig);
    comTarget.x = sx; comTarget.y = sy;
    comTask.weight = W.balance;
    s.q.set(start.q); s.basePos.set(start.pos); s.baseQuat.set(start.quat);
    damping.history = 0;
    solver.baseDt = 0;
    iterSum = 0;
    solveFrames();
  }
  // Light zero-phase smoothing of the upper-body joints (not those between root and feet, not fingers:
  // contacts stay exact).
  // A Gaussian with positive weights and replicated edges keeps every frame inside the joint limits and
  // every step inside the velocity limits (each output is a convex combination of inputs and of steps).
  const postSigma = (opts.postSmoothing ?? 0.03) * targets.fps;
  if (postSigma > 0.3 && T > 2) {
    // Every joint between the root link and a foot (legs, and a waist when the root is the trunk, as on T1).
    const legDofs = new Set<number>();
    for (const f of [L(map.feet.left.link), L(map.feet.right.link)]) for (let k = f; k >= 0; k = kin.linkParent[k]) if (kin.linkDof(k) >= 0) legDofs.add(kin.linkDof(k));
    const col = new Float64Array(T);
    for (let i = 0; i < nq; i++) {
      if (legDofs.has(i) || fingerDof[i]) continue;
      for (let t = 0; t < T; t++) col[t] = out.q[t * nq + i];
      const sm = gaussianSmooth(col, T, 1, postSigma);
      for (let t = 0; t < T; t++) out.q[t * nq + i] = sm[t];
    }
  }
  const solveSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;

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
  };
}
