/**
 * Stage 1 of retarget(): the problem, from the robot and the mapping — body discovery, targets (scaled
 * human, stance locks, landing cones), self-collision proxies, the IK tasks and the solver, and
 * `setFrame(t)` which points every task at frame t's targets.
 */
import { loadUrdf, type UrdfRobot } from '../robot/urdf.ts';
import { Kinematics } from '../robot/kinematics.ts';
import type { PoseTrack } from '../pose/track.ts';
import { UserError } from '../errors.ts';
import { discoverBody, zeroPose, type BodyMap, type Side } from './discover.ts';
import { buildProxies, withoutPairsWithin, type ProxySet } from './proxies.ts';
import { buildTargets, KEYPOINTS, type Keypoint, type Targets } from './targets.ts';
import { IkSolver, type Task } from './solver.ts';
import { PositionTask } from './tasks/position.ts';
import { DirectionTask } from './tasks/direction.ts';
import { PostureTask } from './tasks/posture.ts';
import { DampingTask } from './tasks/damping.ts';
import { SelfCollisionTask } from './tasks/self-collision.ts';
import { GroundTask } from './tasks/ground.ts';
import { DEFAULT_WEIGHTS, defaultConfigFile, loadRobotConfig, type RobotConfig, type Weights } from './config.ts';
import { BalanceTask, ComModel, ComTask, soleRectangle, supportFoot, type SupportFoot } from './balance.ts';
import { decimateTrack, defaultSmoothing, type FingerSolver, type RetargetOptions } from './options.ts';

export interface RetargetProblem {
  robot: UrdfRobot; kin: Kinematics; cfg: RobotConfig; W: Weights; map: BodyMap; targets: Targets;
  proxies: ProxySet; useCollision: boolean; T: number; nq: number;
  keyPoint: Record<string, { link: number; local: number[] } | null>;
  home: Float64Array; fingerDof: Uint8Array; fingerSolvers: FingerSolver[];
  damping: DampingTask; collision: SelfCollisionTask | null;
  comModel: ComModel; balanceFeet: Record<Side, SupportFoot>; balance: BalanceTask | null; balanceMargin: number;
  comTask: ComTask | null; comTarget: { x: Float64Array; y: Float64Array }; supportW: Record<Side, Float32Array>; useBalance: boolean;
  solver: IkSolver;
  /** Point every task at frame t's targets (and stance weights). */
  setFrame(t: number): void;
  /** Hold the finger dofs at their current values (their boxes collapse). */
  pinFingers(): void;
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

export function buildProblem(track: PoseTrack, robotIn: UrdfRobot | string, opts: RetargetOptions = {}): RetargetProblem {
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
  // Swing soles keep above their landing cone (targets.ts: a foot lands on its lock from above); the
  // clearance is set per frame (setFrame) from the targets, so within a frame it is a plain one-sided bound.
  const soleOf = {} as Record<Side, { link: number; local: Float64Array; clearance: number }[]>;
  for (const sd of ['left', 'right'] as const) soleOf[sd] = map.feet[sd].sole.map((p) => ({ link: L(map.feet[sd].link), local: Float64Array.from(p), clearance: 0 }));
  const solePoints = [...soleOf.left, ...soleOf.right];
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
      for (const sp of soleOf[side]) sp.clearance = targets.footClearance[side][t];
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

  return {
    robot, kin, cfg, W, map, targets, proxies, useCollision, T, nq, keyPoint, home, fingerDof, fingerSolvers,
    damping, collision, comModel, balanceFeet, balance, balanceMargin, comTask, comTarget, supportW, useBalance,
    solver, setFrame, pinFingers,
  };
}
