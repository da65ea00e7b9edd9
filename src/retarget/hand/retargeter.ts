/**
 * Per-frame hand retargeting: the project's IK solver (src/retarget/solver.ts: Levenberg–Marquardt on
 * Tasks, with Limits) over the hand's dofs, the joint position limits (and, with a time step, the velocity
 * limits) as its hard box, warm started from the previous frame. Allocation-free per frame.
 */
import type { Kinematics } from '../../robot/kinematics.ts';
import { discoverHand, type DiscoverOptions, type HandModel, type RobotFinger } from './discover.ts';
import { DEFAULT_HUMAN_HAND, humanPalmCoords, OneEuroFilter, type HumanHandSize, type HumanLateral } from './human.ts';
import {
  capsuleGap, FingerShapeObjective, FollowObjective, HandState, PenetrationObjective, SmoothnessObjective, ThumbPinchObjective, WristTipObjective,
  type FingerCapsules, type HandObjective,
} from './objectives.ts';
import { VectorTask, type HandVectors } from '../tasks/vector.ts';
import { buildCollisionProxies, HandCollisionLimit } from './collision.ts';
import { IkSolver, type Limit } from '../solver.ts';
import { fitRadius } from './shapes.ts';
import { cross, median, norm, reject, segmentClosest, sub, unit, type V3 } from './vec.ts';
import { UserError } from '../../errors.ts';

export interface HandWeights {
  /** Virtual wrist → fingertip vectors. */
  wristTip: number;
  /** Finger base → fingertip vectors (per-finger scale), and the thumb's factor on it. */
  fingerShape: number;
  thumbShape: number;
  /** Thumb → fingertip vectors when not pinching, and while pinching. */
  thumbFree: number;
  pinch: number;
  /** Capsule penetration (per metre² of depth). */
  penetration: number;
  /** ||q − q_prev||² (per rad²). */
  smoothness: number;
  /** Configured origin → task link vectors (`vectors` option), Huber loss. */
  vectors: number;
  /** ||q − planned q||² (per rad²) in a velocity plan's second pass (see SolveFrameOptions.follow). */
  follow: number;
}

const FIRST_STARTS = [0, 0.25, 0.5];

export const DEFAULT_HAND_WEIGHTS: HandWeights = {
  wristTip: 1,
  fingerShape: 1,
  thumbShape: 0.1,
  thumbFree: 1,
  pinch: 10,
  penetration: 1000,
  smoothness: 3e-3,
  vectors: 1,
  follow: 10,
};

/** The default objective objects of a retargeter, for composing a custom list. */
export interface DefaultHandObjectives {
  wristTip: WristTipObjective;
  fingerShape: FingerShapeObjective;
  pinch: ThumbPinchObjective;
  penetration: PenetrationObjective;
  smoothness: SmoothnessObjective;
  /** Present when the `vectors` option is given. */
  vectors?: VectorTask;
}

export interface HandRetargeterOptions extends DiscoverOptions {
  weights?: Partial<HandWeights>;
  /** Human thumb–finger distances (m) that start and end a pinch (hysteresis). Default 0.03 / 0.05. */
  pinchEnter?: number;
  pinchExit?: number;
  /** Pinch target tip distance as a fraction of the sum of the two distal capsule radii. Default 0.5. */
  pinchGap?: number;
  /** Extra clearance kept between finger capsules (m). Default 0.002. */
  penetrationMargin?: number;
  /**
   * Hard non-penetration of the URDF's own collision geometry (HandCollisionLimit: proxies fitted to each
   * collision element, a Limit of the solve). `margin`: clearance kept (m, default 0.001); `activation`:
   * pairs nearer than this get a constraint row (m, default 0.01). Default on for a bare hand, off for a
   * hand inside a larger robot (`dofs` a subset, e.g. G1 + Dex3); when off, the proxies' overlap is only
   * measured (stats.collisionDepth).
   */
  collision?: { margin?: number; activation?: number } | false;
  /** Capsule radius override (m) for every finger link; default from the collision geometry. */
  capsuleRadius?: number;
  /** Human hand size; default a typical adult hand, or `calibrate()` from a clip. */
  human?: HumanHandSize;
  /**
   * Compose your own objective list from the default objects (and your own HandObjective implementations),
   * e.g. `({ wristTip, pinch, smoothness }) => [wristTip, pinch, smoothness, myTerm]`. Default: all five.
   */
  objectives?: (defaults: DefaultHandObjectives, model: HandModel, state: HandState) => HandObjective[];
  /** Iteration caps per frame (warm started) and for the first frame. Default 12 and 60. */
  maxIterations?: number;
  firstFrameIterations?: number;
  /**
   * One-euro low-pass of the human landmarks (in the palm frame) before solving, when `dt` is given:
   * `{ minCutoff (Hz, default 1.5), beta (default 20) }`. Off by default: it halves the jerk but adds lag
   * (see docs/retarget-hands.md); use it for noisy tracks.
   */
  filter?: { minCutoff?: number; beta?: number } | false;
  /** Stop iterating when no joint moves more than this (rad). Default 2e-3. */
  stepTolerance?: number;
  /** Enforce velocity limits from the URDF as a per-frame box when solveFrame gets dt. Default true. */
  velocityLimits?: boolean;
  /**
   * For retargetHand (a whole clip): solve every frame without the velocity box, replace each joint's
   * trajectory by its nearest one within the URDF velocity limits (plan.ts), then solve every frame again
   * pulled towards that plan (`weights.follow`) with the velocity box and the collision limit hard; the
   * per-frame retargeter ignores it. Default false.
   */
  velocityPlan?: boolean;
  /**
   * With `velocityPlan`: the weight (≥ 1) in the plan's least squares of the thumb's and a finger's joints in
   * the frames where the person pinches them (human tip distance < `pinchEnter`), against 1 elsewhere: the
   * plan holds the pinch the first pass solved and moves its velocity-limited error to the frames around it
   * (closing before the pinch, opening after). Default 1 (all frames alike).
   */
  planPinchWeight?: number;
  /**
   * With `velocityPlan`: rounds of refining the plan before the frames follow it. Each round solves every
   * frame again without the velocity box, pulled towards the plan by `pull` (‖q − planned q‖², per rad²; weak,
   * so the objectives move the frames), and plans the result within the limits again: the plan moves towards
   * a trajectory within the limits whose frames the objectives like better than the nearest one in joint space
   * to the unconstrained solve. Default none (rounds 0).
   */
  planRefine?: { rounds: number; pull: number };
  /**
   * Solve every frame first without the penetration term, then with it from that result (as the first
   * frame always is): fingers may pass each other on the way to the target instead of stopping where
   * the previous frame's contact held them. About twice the iterations. Default false.
   */
  freeFirstPass?: boolean;
  /**
   * Origin → task link vectors that follow scaled human landmark vectors (VectorObjective, weight
   * `weights.vectors`). Their `scale` is then also the hand scale of the wrist → tip and thumb → tip terms.
   */
  vectors?: HandVectors;
  /** Thumb-side axis of the human palm frame (see humanPalmCoords): 'pinky' (default) or 'middle'. */
  humanLateral?: HumanLateral;
  /**
   * Robot palm axes the human palm frame (forward, normal) maps onto, given in `link`'s frame at the
   * reference pose; thumb side = forward × normal (right hand) or normal × forward (left). Default: the
   * axes discovered from the tree.
   */
  palmAxes?: { link: string; forward: V3; normal: V3 };
}

/** What the last solveFrame saw and reached. Arrays are per finger, model order (thumb first). */
export interface HandFrameStats {
  valid: boolean;
  iterations: number;
  cost: number;
  /**
   * |robot tip − target tip| with targets from the scaled human wrist → tip vectors (m); for a finger whose
   * tip ends a configured vector (`vectors`), that vector's error.
   */
  tipError: Float64Array;
  /** Angle between the robot's and the human's wrist → tip vectors, or the configured vector's (rad). */
  tipDirError: Float64Array;
  /** Human thumb–finger tip distance (m), robot's, and whether the pinch state is on (index 0 unused). */
  humanPinchDist: Float64Array;
  robotPinchDist: Float64Array;
  /** Surface gap between the thumb's and the finger's distal capsules (m; negative = overlap). */
  robotPinchGap: Float64Array;
  /** The pinch objective's target tip distance for the frame (m). */
  pinchTargetDist: Float64Array;
  pinching: Uint8Array;
  /** Deepest capsule penetration between fingers (m), 0 when none. */
  penetration: number;
  /** Deepest overlap of the collision proxies of the URDF geometry (m), 0 when none (also with the limit off). */
  collisionDepth: number;
}

/** Per-frame switches of solveFrame (a whole-clip velocity plan uses them). */
export interface SolveFrameOptions {
  /** Apply the velocity-limit box (when the retargeter has velocity limits on and dt is given). Default true. */
  velocityBox?: boolean;
  /**
   * A planned configuration (full, Kinematics order) the solve is pulled towards (FollowObjective, weight
   * `weights.follow`), on top of the objectives; the box and the collision limit stay hard. A first frame with
   * `follow` starts from the q given (no multi-start) and, given dt, keeps within the velocity box around it.
   */
  follow?: ArrayLike<number>;
  /** The weight of `follow` for this frame instead of `weights.follow`. */
  followWeight?: number;
}

export interface HandRetargeter {
  readonly model: HandModel;
  readonly fingers: RobotFinger[];
  /** Solved dofs (Kinematics indices). */
  readonly dofs: number[];
  readonly objectives: HandObjective[];
  readonly capsules: FingerCapsules;
  /** The URDF collision-geometry limit (its proxies and pairs), also when switched off (then only measured). */
  readonly collision: HandCollisionLimit;
  readonly stats: HandFrameStats;
  /** Robot/human hand scale and per-finger scales after calibration. */
  readonly scale: { hand: number; finger: number[] };
  /**
   * Solve the finger dofs of one frame. `landmarks`: 21 MediaPipe hand landmarks × xyz (63 values) in any
   * frame and at any origin (the palm frame is built from them). `q`: the full configuration in
   * Kinematics order; the hand dofs are read as the warm start / previous frame and overwritten, the
   * others are left alone (they place the palm, which does not matter: targets are palm-relative). `dt`
   * (s) enables the velocity-limit box. Returns false (q untouched) when needed landmarks are missing.
   */
  solveFrame(landmarks: ArrayLike<number>, q: Float64Array, dt?: number, opts?: SolveFrameOptions): boolean;
  /** The frame's figures (stats) at a given configuration `q` without solving (e.g. after a velocity plan). */
  measureFrame(landmarks: ArrayLike<number>, q: Float64Array): boolean;
  /** Set the human hand size (e.g. measured from a clip with measureHumanHand). */
  calibrate(size: HumanHandSize): void;
  /** Forget the previous frame (pinch states, smoothing): the next frame is solved as a first frame. */
  reset(): void;
}

export function createHandRetargeter(kin: Kinematics, opts: HandRetargeterOptions = {}): HandRetargeter {
  const model = discoverHand(kin, opts);
  const w: HandWeights = { ...DEFAULT_HAND_WEIGHTS, ...(opts.weights ?? {}) };
  const dofs = model.dofs;
  const nd = dofs.length;
  const state = new HandState(kin, model, dofs);
  const fingers = model.fingers;
  const nf = fingers.length;
  const { forward: F, normal: N, thumbSide: TS } = opts.palmAxes ? palmAxesIn(kin, model, state, opts.palmAxes) : model.frame;

  const capsules = buildCapsules(kin, model, state, opts.capsuleRadius);
  // Pinch target distance between the tip points: a fraction of the two distal capsule radii. Tips
  // rarely meet side by side, so the full sum leaves the pads apart; asking for less and letting the
  // penetration term stop the fingers at contact closes the pinch without interpenetration.
  const distalRadius = (f: number) => {
    let r = 0;
    for (let k = 0; k < capsules.link.length; k++) if (capsules.finger[k] === f) r = capsules.radius[k];
    return r;
  };
  // Index of each finger's distal capsule.
  const distal = fingers.map((_, f) => { let k = -1; for (let c = 0; c < capsules.link.length; c++) if (capsules.finger[c] === f) k = c; return k; });
  const gapFactor = opts.pinchGap ?? 0.5;
  const gap = fingers.map((_, i) => (i === 0 ? 0 : gapFactor * (distalRadius(0) + distalRadius(i))));
  const pinch = new ThumbPinchObjective({ enter: opts.pinchEnter ?? 0.03, exit: opts.pinchExit ?? 0.05, gap, weight: w.pinch, weightFree: w.thumbFree }, nf);
  const penetration = new PenetrationObjective(capsules, w.penetration, opts.penetrationMargin ?? 0.002);
  const smooth = new SmoothnessObjective(w.smoothness);
  const defaults: DefaultHandObjectives = {
    wristTip: new WristTipObjective(w.wristTip),
    // The thumb's first robot joint rarely sits where the human CMC does: its shape term is weaker.
    fingerShape: new FingerShapeObjective(fingers.map((_, i) => (i === 0 ? w.thumbShape : 1) * w.fingerShape)),
    pinch, penetration, smoothness: smooth,
    ...(opts.vectors ? { vectors: new VectorTask(state, opts.vectors, w.vectors) } : {}),
  };
  const objectives: HandObjective[] = opts.objectives
    ? opts.objectives(defaults, model, state)
    : [...(defaults.vectors ? [defaults.vectors] : []), defaults.wristTip, defaults.fingerShape, pinch, penetration, smooth];
  // A finger whose tip ends a configured vector is measured on that vector (else on wrist → tip).
  const vecObj = defaults.vectors && objectives.includes(defaults.vectors) ? defaults.vectors : null;
  const vecTip = fingers.map((_, i) => (vecObj ? vecObj.taskTip.indexOf(i) : -1));
  // The report needs pinch distances and penetration depth even when those terms are left out.
  const pinchIn = objectives.includes(pinch), penIn = objectives.includes(penetration);

  const scaleInfo = { hand: 1, finger: fingers.map(() => 1) };
  const calibrate = (size: HumanHandSize) => {
    const rest = fingers.slice(1);
    const s = opts.vectors ? opts.vectors.scale : median(rest.map((f) => f.length / size.finger[f.name]));
    state.scale = s;
    fingers.forEach((f, i) => { state.fingerScale[i] = f.length / size.finger[f.name]; });
    // Virtual wrist: behind the mean non-thumb finger base by the scaled human palm length.
    const mean: V3 = [0, 0, 0];
    for (const f of rest) for (let k = 0; k < 3; k++) mean[k] += f.base[k] / rest.length;
    for (let k = 0; k < 3; k++) state.wrist[k] = mean[k] - F[k] * s * size.palm;
    scaleInfo.hand = s;
    scaleInfo.finger = Array.from(state.fingerScale);
  };
  calibrate(opts.human ?? DEFAULT_HUMAN_HAND);

  const stats: HandFrameStats = {
    valid: false, iterations: 0, cost: 0,
    tipError: new Float64Array(nf), tipDirError: new Float64Array(nf),
    humanPinchDist: new Float64Array(nf), robotPinchDist: new Float64Array(nf), robotPinchGap: new Float64Array(nf), pinchTargetDist: new Float64Array(nf), pinching: new Uint8Array(nf),
    penetration: 0, collisionDepth: 0,
  };

  // Scratch.
  const hc = new Float64Array(63);
  const hmRaw = new Float64Array(63);
  let first = true;
  const qStart = new Float64Array(kin.nq);
  const stepTol = opts.stepTolerance ?? 2e-3;
  const maxIt = opts.maxIterations ?? 12;
  const firstIt = opts.firstFrameIterations ?? 60;
  const useVel = opts.velocityLimits ?? true;
  const freeFirst = opts.freeFirstPass ?? false;
  const filter = opts.filter ? new OneEuroFilter(63, opts.filter.minCutoff, opts.filter.beta) : null;

  // Collision geometry: every link for a bare hand, else the palm and the links below it.
  const bare = kin.nq - dofs.length <= 2;
  const handLinks = bare ? undefined : new Set(Array.from({ length: kin.nLinks }, (_, l) => l).filter((l) => kin.isAncestor(model.palmLinkIndex, l)));
  const neutral = Float64Array.from({ length: kin.nq }, (_, d) => Math.min(Math.max(0, kin.lower[d]), kin.upper[d]));
  const colOpts = opts.collision === false ? {} : (opts.collision ?? {});
  const collisionMargin = colOpts.margin ?? 0.001;
  const collision = new HandCollisionLimit(kin, buildCollisionProxies(kin, kin.robot, dofs, [neutral, model.qRef], handLinks, collisionMargin), collisionMargin, colOpts.activation ?? 0.01);
  const limits: Limit[] = opts.collision === false || (opts.collision === undefined && !bare) ? [] : [collision];
  const follow = new FollowObjective(kin.nq, 0);
  const solver = new IkSolver(kin, [...objectives, follow], { state, limits });
  const solveOpts = { maxIters: maxIt, lambda: 1e-3, tol: stepTol, relTol: 1e-3 };
  /** Levenberg–Marquardt (the IK solver) from state.q within the solver's box; returns the cost. */
  const lm = (cap: number): number => {
    solveOpts.maxIters = cap;
    return solver.solve(solveOpts);
  };
  /** Cost at state.q, and the tasks' figures (fingertips, vector errors) evaluated there. */
  const evaluate = (): number => solver.cost(false);
  /** One task's cost at the current evaluation (for the report, when it is left out of the solve). */
  const measure = (o: HandObjective): number => { state.costOnly = true; const c = o.accumulate(state); state.costOnly = false; return c; };

  /** The frame's landmarks along the robot palm axes: as given (hmRaw) and filtered (state.human). False when missing. */
  const setHuman = (landmarks: ArrayLike<number>, dt: number | undefined, filtered: boolean): boolean => {
    if (!humanPalmCoords(landmarks, model.side, hc, opts.humanLateral)) {
      stats.valid = false;
      return false;
    }
    // The report measures against the landmarks as given; the solver sees them filtered.
    const hr = hmRaw;
    for (let j = 0; j < 21; j++) {
      const a = hc[3 * j], b = hc[3 * j + 1], c = hc[3 * j + 2];
      hr[3 * j] = F[0] * a + N[0] * b + TS[0] * c;
      hr[3 * j + 1] = F[1] * a + N[1] * b + TS[1] * c;
      hr[3 * j + 2] = F[2] * a + N[2] * b + TS[2] * c;
    }
    if (filter && filtered) {
      if (first) filter.reset();
      filter.apply(hc, dt ?? 0);
    }
    const hm = state.human;
    for (let j = 0; j < 21; j++) {
      const a = hc[3 * j], b = hc[3 * j + 1], c = hc[3 * j + 2];
      hm[3 * j] = F[0] * a + N[0] * b + TS[0] * c;
      hm[3 * j + 1] = F[1] * a + N[1] * b + TS[1] * c;
      hm[3 * j + 2] = F[2] * a + N[2] * b + TS[2] * c;
    }
    return true;
  };

  const solveFrame = (landmarks: ArrayLike<number>, q: Float64Array, dt?: number, fo?: SolveFrameOptions): boolean => {
    if (!setHuman(landmarks, dt, true)) return false;
    const velBox = useVel && (fo?.velocityBox ?? true);
    if (fo?.follow) { follow.ref.set(fo.follow); follow.weight = fo.followWeight ?? w.follow; } else follow.weight = 0;
    // Box: position limits, and velocity limits around the previous frame.
    for (let a = 0; a < nd; a++) {
      const d = dofs[a];
      let l = kin.lower[d], h = kin.upper[d];
      if ((!first || fo?.follow) && velBox && dt && dt > 0 && Number.isFinite(kin.velocityLimit[d])) {
        const v = kin.velocityLimit[d] * dt;
        const p = Math.min(Math.max(q[d], l), h);
        l = Math.max(l, p - v);
        h = Math.min(h, p + v);
      }
      solver.lo[d] = l; solver.hi[d] = h;
    }
    state.q.set(q);
    state.qPrev.set(q);
    for (let a = 0; a < nd; a++) {
      const d = dofs[a];
      state.q[d] = Math.min(Math.max(state.q[d], solver.lo[d]), solver.hi[d]);
    }
    // No previous frame to stay close to on a first frame.
    const smoothWeight = smooth.weight;
    if (first) smooth.weight = 0;
    if (first) pinch.reset();
    for (const o of objectives) o.prepare?.(state);
    if (!pinchIn) pinch.prepare(state);

    let its = 0;
    // A first frame that follows a plan starts from the configuration given (the caller's q: the plan's frame).
    if (first && !fo?.follow) {
      // Several starts (the reference pose, and a quarter / half of the way to the far end of each joint
      // range): a bad first frame would otherwise be carried by the warm start. A result clear of the collision
      // limit wins over one with a lower cost that leaves parts overlapping.
      let best = Infinity, bestClear = false;
      for (let k = 0; k < FIRST_STARTS.length; k++) {
        for (let a = 0; a < nd; a++) {
          const d = dofs[a];
          // Start k: the reference pose moved a fraction of the way to the far end of each joint range.
          const lo = solver.lo[d], hi = solver.hi[d];
          const l = Math.max(lo, -Math.PI), h = Math.min(hi, Math.PI), r = model.qRef[d];
          const far = h - r >= r - l ? h : l;
          const v = r + FIRST_STARTS[k] * (far - r);
          state.q[d] = Math.min(Math.max(v, lo), hi);
        }
        // Reach the basin without the penetration barrier (it blocks fingers from passing each other on
        // the way from the start), then resolve contacts from there.
        const penWeight = penetration.weight;
        penetration.weight = 0;
        lm(firstIt);
        its += solver.lastIters;
        penetration.weight = penWeight;
        const c = lm(firstIt);
        its += solver.lastIters;
        let clear = true;
        if (limits.length) { evaluate(); clear = collision.evaluate() < 0.25 * collisionMargin; }
        if ((clear && !bestClear) || (clear === bestClear && c < best)) { best = c; bestClear = clear; qStart.set(state.q); }
      }
      state.q.set(qStart);
    } else {
      if (freeFirst) {
        // Track first without the penetration barrier (a warm start pressed against it stays stuck on
        // it), then resolve the contacts from there; iterations of both passes are counted.
        const penWeight = penetration.weight;
        penetration.weight = 0;
        lm(maxIt);
        its += solver.lastIters;
        penetration.weight = penWeight;
      }
      lm(maxIt);
      its += solver.lastIters;
    }
    // A pair that came from beyond the limit's activation distance within one step can end up overlapping:
    // solve again from there (steps out of an overlap are taken even when the tasks' cost rises).
    if (limits.length) {
      for (let k = 0; k < 2; k++) {
        evaluate();
        if (collision.evaluate() < 0.25 * collisionMargin) break;
        lm(maxIt);
        its += solver.lastIters;
      }
    }
    // The state at the solution (a rejected last step leaves the evaluation elsewhere).
    const cost = evaluate();
    smooth.weight = smoothWeight;
    follow.weight = 0;
    const it = its;
    for (let a = 0; a < nd; a++) q[dofs[a]] = state.q[dofs[a]];
    first = false;

    frameStats(cost, it);
    return true;
  };

  /** The report's figures of the frame at state.q (evaluated; human landmarks set). */
  const frameStats = (cost: number, it: number): void => {
    if (!penIn) measure(penetration);
    stats.valid = true;
    stats.iterations = it;
    stats.cost = cost;
    stats.penetration = penetration.deepest;
    stats.collisionDepth = collision.evaluate();
    const tp = state.tipPos, s = state.scale;
    if (vecObj) {
      // The configured vectors measured against the landmarks as given (state is at the solution).
      state.human.set(hmRaw);
      measure(vecObj);
    }
    for (let i = 0; i < nf; i++) {
      const t = 3 * state.tipLm[i];
      let ex = 0, dotv = 0, nr = 0, nh = 0;
      for (let k = 0; k < 3; k++) {
        const r = tp[3 * i + k] - state.wrist[k], h = s * hmRaw[t + k];
        ex += (r - h) * (r - h); dotv += r * h; nr += r * r; nh += h * h;
      }
      stats.tipError[i] = Math.sqrt(ex);
      stats.tipDirError[i] = Math.acos(Math.max(-1, Math.min(1, dotv / (Math.sqrt(nr * nh) + 1e-15))));
      const v = vecTip[i];
      if (v >= 0) { stats.tipError[i] = vecObj!.error[v]; stats.tipDirError[i] = vecObj!.angle[v]; }
      if (i > 0) {
        const t0 = 3 * state.tipLm[0];
        stats.humanPinchDist[i] = Math.hypot(hmRaw[t] - hmRaw[t0], hmRaw[t + 1] - hmRaw[t0 + 1], hmRaw[t + 2] - hmRaw[t0 + 2]);
        stats.robotPinchDist[i] = Math.hypot(tp[3 * i] - tp[0], tp[3 * i + 1] - tp[1], tp[3 * i + 2] - tp[2]);
        stats.robotPinchGap[i] = capsuleGap(penetration, distal[0], distal[i]);
        stats.pinching[i] = pinch.pinching[i];
        stats.pinchTargetDist[i] = pinch.targetDist[i];
      }
    }
  };

  const measureFrame = (landmarks: ArrayLike<number>, q: Float64Array): boolean => {
    if (!setHuman(landmarks, undefined, false)) return false;
    state.q.set(q);
    state.qPrev.set(q);
    pinch.prepare(state);
    for (const o of objectives) if (o !== pinch) o.prepare?.(state);
    frameStats(evaluate(), 0);
    return true;
  };

  return {
    model,
    fingers,
    dofs,
    objectives,
    capsules,
    collision,
    stats,
    scale: scaleInfo,
    solveFrame,
    measureFrame,
    calibrate,
    reset: () => { first = true; pinch.reset(); },
  };
}

/**
 * Capsule proxies: one per finger segment (moving link → next moving link, the last one → the tip pulled
 * back by its radius), attached to the segment's link. Radius fitted to the link's geometry (median
 * distance of its mesh vertices or primitive points from the segment, middle 70 %), else its primitive
 * collision shapes (box: half its smallest side; cylinder/capsule/sphere: radius), else 10% of the median
 * finger length; always capped at 45% of the narrowest spacing between neighbouring finger bases so that the
 * open hand is collision-free. Pairs on different fingers that already touch at the reference pose are
 * left out (structural contact the solver cannot change).
 */
function buildCapsules(kin: Kinematics, model: HandModel, state: HandState, radiusOverride?: number): FingerCapsules {
  const fingers = model.fingers;
  const rest = fingers.slice(1);
  const Lmed = median(rest.map((f) => f.length));
  let spacing = Infinity;
  const sorted = rest.map((f) => f.base);
  for (let i = 1; i < sorted.length; i++) spacing = Math.min(spacing, norm(sub(sorted[i], sorted[i - 1])));
  const cap = Number.isFinite(spacing) ? 0.45 * spacing : 0.2 * Lmed;
  const linkOf = new Map(kin.robot.links.map((l) => [l.name, l]));
  /** Radius of the capsule a→b (link frame) on a link: fitted to its geometry, else its primitives, else a default. */
  const radiusFor = (linkName: string, la: V3, lb: V3): number => {
    if (radiusOverride) return radiusOverride;
    const link = linkOf.get(linkName);
    let r = (link && fitRadius(link, la, lb)) || 0;
    if (!(r > 0)) {
      for (const c of link?.collisions ?? []) {
        const g = c.geometry;
        if (g.kind === 'box') r = Math.max(r, Math.min(...g.size) / 2);
        else if (g.kind === 'cylinder' || g.kind === 'capsule' || g.kind === 'sphere') r = Math.max(r, g.radius);
      }
    }
    if (!(r > 0)) r = 0.1 * Lmed;
    return Math.min(r, cap);
  };

  kin.fk(model.qRef);
  const P = kin.pose;
  const toLocal = (link: number, palmPt: V3): V3 => {
    // palm → world → link
    const po = 12 * model.palmLinkIndex;
    const wx = P[po] * palmPt[0] + P[po + 1] * palmPt[1] + P[po + 2] * palmPt[2] + P[po + 9];
    const wy = P[po + 3] * palmPt[0] + P[po + 4] * palmPt[1] + P[po + 5] * palmPt[2] + P[po + 10];
    const wz = P[po + 6] * palmPt[0] + P[po + 7] * palmPt[1] + P[po + 8] * palmPt[2] + P[po + 11];
    const o = 12 * link;
    const x = wx - P[o + 9], y = wy - P[o + 10], z = wz - P[o + 11];
    return [P[o] * x + P[o + 3] * y + P[o + 6] * z, P[o + 1] * x + P[o + 4] * y + P[o + 7] * z, P[o + 2] * x + P[o + 5] * y + P[o + 8] * z];
  };
  const palmPos = (link: number): V3 => {
    const out = new Float64Array(3);
    state.pointPalm(link, [0, 0, 0], 0, out, 0);
    return [out[0], out[1], out[2]];
  };
  const links: number[] = [], fing: number[] = [], a: number[] = [], b: number[] = [], rad: number[] = [];
  fingers.forEach((f, fi) => {
    const pts = f.linkIndices.map(palmPos);
    for (let k = 0; k < f.linkIndices.length; k++) {
      const link = f.linkIndices[k];
      const start = pts[k];
      const r = radiusFor(f.links[k], toLocal(link, start), toLocal(link, k + 1 < pts.length ? pts[k + 1] : f.tip));
      let end: V3;
      if (k + 1 < pts.length) {
        end = pts[k + 1];
      } else {
        const d = sub(f.tip, start);
        const L = norm(d);
        const back = Math.min(r, 0.5 * L);
        end = L > 1e-9 ? [f.tip[0] - (d[0] / L) * back, f.tip[1] - (d[1] / L) * back, f.tip[2] - (d[2] / L) * back] : f.tip;
      }
      if (norm(sub(end, start)) < 1e-6 && k + 1 < pts.length) continue; // coincident joints: the next link carries it
      links.push(link); fing.push(fi); rad.push(r);
      a.push(...toLocal(link, start)); b.push(...toLocal(link, end));
    }
  });
  const S = links.length;
  const caps: FingerCapsules = {
    link: Int32Array.from(links), finger: Int32Array.from(fing), a: Float64Array.from(a), b: Float64Array.from(b),
    radius: Float64Array.from(rad), pairs: new Int32Array(0),
    half: Float64Array.from(links.map((_, k) => 0.5 * Math.hypot(a[3 * k] - b[3 * k], a[3 * k + 1] - b[3 * k + 1], a[3 * k + 2] - b[3 * k + 2]))),
  };
  // Pairs on different fingers, minus those already in contact at the reference pose.
  const pa = new Float64Array(3 * S), pb = new Float64Array(3 * S);
  for (let k = 0; k < S; k++) {
    state.pointPalm(links[k], caps.a, 3 * k, pa, 3 * k);
    state.pointPalm(links[k], caps.b, 3 * k, pb, 3 * k);
  }
  const pairs: number[] = [];
  for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) {
    if (fing[i] === fing[j]) continue;
    const d = segDist(pa, pb, i, j);
    if (d > rad[i] + rad[j]) pairs.push(i, j);
  }
  caps.pairs = Int32Array.from(pairs);
  return caps;
}

function segDist(pa: Float64Array, pb: Float64Array, i: number, j: number): number {
  const seg = Float64Array.of(pa[3 * i], pa[3 * i + 1], pa[3 * i + 2], pb[3 * i], pb[3 * i + 1], pb[3 * i + 2],
    pa[3 * j], pa[3 * j + 1], pa[3 * j + 2], pb[3 * j], pb[3 * j + 1], pb[3 * j + 2]);
  return Math.sqrt(segmentClosest(seg, 0, 3, seg, 6, 9, new Float64Array(2)));
}

/** Palm axes given in a link's frame at the reference pose, in palm coordinates (see `palmAxes`). */
function palmAxesIn(kin: Kinematics, model: HandModel, state: HandState, ax: { link: string; forward: V3; normal: V3 }): { forward: V3; normal: V3; thumbSide: V3 } {
  const where = kin.robot.file ?? kin.robot.name;
  if (!kin.hasLink(ax.link)) throw new UserError(`palm_axes.link "${ax.link}" is not a link of ${kin.robot.name}`, where);
  const l = kin.linkIndex(ax.link);
  kin.fk(model.qRef);
  const o = new Float64Array(3), p = new Float64Array(3);
  state.pointPalm(l, [0, 0, 0], 0, o, 0);
  const inPalm = (v: V3): V3 => { state.pointPalm(l, v, 0, p, 0); return [p[0] - o[0], p[1] - o[1], p[2] - o[2]]; };
  const forward = unit(inPalm(ax.forward));
  const normal = unit(reject(inPalm(ax.normal), forward));
  if (!(norm(forward) > 0.5 && norm(normal) > 0.5)) throw new UserError('palm_axes: forward and normal must be non-zero and not parallel', where);
  const thumbSide = model.side === 'right' ? cross(forward, normal) : cross(normal, forward);
  return { forward, normal, thumbSide };
}
