/**
 * Optional per-hand overrides, `configs/hands/<robot name>.yaml` (or any file given). Never required:
 * discovery finds everything from the tree. Any field may be given:
 *
 *   palm_link: hand_base_link         # the palm (default: found from the tree)
 *   side: right                       # left | right (default: from link names, else right)
 *   thumb: thumb_proximal_base        # a link or joint of the thumb chain, if the thumb score picks wrong
 *   fingers: { index: link_0.0 }      # a link or joint of the chain that follows each named human finger
 *   weights: { pinch: 10, smoothness: 0.003 }   # see DEFAULT_HAND_WEIGHTS (wrist_tip, finger_shape,
 *                                     #   thumb_shape, thumb_free, pinch, penetration, smoothness, vectors, follow)
 *   pinch: { enter: 0.03, exit: 0.05, gap: 0.5 } # human thumb–finger distances (m), hysteresis; gap: the robot tip
 *                                     #   distance a pinch drives to, as a fraction of the two distal capsule radii
 *   capsule_radius: 0.009             # finger capsule radius (m) instead of the geometry's
 *   penetration_margin: 0.002
 *   velocity_limits: true
 *   velocity_plan: false              # plan the clip within the velocity limits, then follow the plan (retargetHand)
 *   plan_pinch_weight: 1              # the plan's weight (≥ 1) of the frames where the person pinches (velocity_plan)
 *   plan_refine: { rounds: 2, pull: 0.01 }    # rounds refining the plan: frames solved again without the velocity
 *                                     #   box, pulled to the plan by `pull` (per rad²), then planned again (velocity_plan)
 *   free_first_pass: false            # each frame solved without the penetration term first, then with it
 *   filter: { min_cutoff: 1.5, beta: 20 }     # one-euro low-pass of the landmarks (off when absent)
 *   vectors:                          # origin link → task link vectors that follow scale × human j0 → j1
 *     scale: 1.6                      #   robot length per human length
 *     huber: 0.02                     #   Huber threshold (m) of each vector's error (0: least squares)
 *     origin: [wrist, wrist]          #   one link for all, or one per vector
 *     task: [link_3.0_tip, link_7.0_tip]
 *     human: [[0, 8], [0, 12]]        #   MediaPipe landmark pairs [j0, j1]
 *   human_lateral: middle             # the human palm frame's thumb side: pinky (default) or middle
 *   palm_axes: { link: base_link, forward: [0, 0, 1], normal: [1, 0, 0] }   # robot palm axes (default: discovered)
 */
import { UserError } from '../../errors.ts';
import { parseYamlMapping, projectConfigFile, readText } from '../../io/text.ts';
import { HUMAN_FINGERS, type HumanFinger } from './discover.ts';
import type { HandRetargeterOptions, HandWeights } from './retargeter.ts';
import type { HandVectors } from '../tasks/vector.ts';
import type { HumanLateral } from './human.ts';
import type { V3 } from './vec.ts';

export interface HandConfig {
  palm_link?: string;
  side?: 'left' | 'right';
  thumb?: string;
  fingers?: Partial<Record<HumanFinger, string>>;
  weights?: Partial<Record<string, number>>;
  pinch?: { enter?: number; exit?: number; gap?: number };
  capsule_radius?: number;
  penetration_margin?: number;
  velocity_limits?: boolean;
  velocity_plan?: boolean;
  plan_pinch_weight?: number;
  plan_refine?: { rounds: number; pull: number };
  free_first_pass?: boolean;
  filter?: { min_cutoff?: number; beta?: number };
  vectors?: HandVectors;
  human_lateral?: HumanLateral;
  palm_axes?: { link: string; forward: V3; normal: V3 };
  file?: string;
}

const TOP = ['palm_link', 'side', 'thumb', 'fingers', 'weights', 'pinch', 'capsule_radius', 'penetration_margin', 'velocity_limits', 'velocity_plan', 'plan_pinch_weight', 'plan_refine', 'free_first_pass', 'filter', 'vectors', 'human_lateral', 'palm_axes'];
const WEIGHT_KEYS: Record<string, keyof HandWeights> = {
  wrist_tip: 'wristTip', finger_shape: 'fingerShape', thumb_shape: 'thumbShape', thumb_free: 'thumbFree',
  pinch: 'pinch', penetration: 'penetration', smoothness: 'smoothness', vectors: 'vectors', follow: 'follow',
};

export function parseHandConfig(text: string, file?: string): HandConfig {
  const c = parseYamlMapping(text, file, 'hand config', TOP);
  if (!c) return { file };
  const str = (k: string) => {
    if (c[k] === undefined) return undefined;
    if (typeof c[k] !== 'string' || !(c[k] as string).length) throw new UserError(`${k} must be a name`, file);
    return c[k] as string;
  };
  const pos = (v: unknown, what: string) => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new UserError(`${what} must be a non-negative number`, file);
    return v;
  };
  const out: HandConfig = { file, palm_link: str('palm_link'), thumb: str('thumb') };
  if (c.side !== undefined) {
    if (c.side !== 'left' && c.side !== 'right') throw new UserError('side must be left or right', file);
    out.side = c.side;
  }
  if (c.fingers !== undefined) {
    if (typeof c.fingers !== 'object' || c.fingers === null || Array.isArray(c.fingers)) throw new UserError('fingers must be a mapping', file);
    out.fingers = {};
    for (const [k, v] of Object.entries(c.fingers)) {
      if (!HUMAN_FINGERS.includes(k as HumanFinger)) throw new UserError(`unknown finger "${k}" (known: ${HUMAN_FINGERS.join(', ')})`, file);
      if (typeof v !== 'string') throw new UserError(`fingers.${k} must be a link or joint name`, file);
      out.fingers[k as HumanFinger] = v;
    }
  }
  if (c.weights !== undefined) {
    if (typeof c.weights !== 'object' || c.weights === null || Array.isArray(c.weights)) throw new UserError('weights must be a mapping', file);
    out.weights = {};
    for (const [k, v] of Object.entries(c.weights)) {
      if (!(k in WEIGHT_KEYS)) throw new UserError(`unknown weight "${k}" (known: ${Object.keys(WEIGHT_KEYS).join(', ')})`, file);
      out.weights[k] = pos(v, `weights.${k}`);
    }
  }
  if (c.pinch !== undefined) {
    if (typeof c.pinch !== 'object' || c.pinch === null) throw new UserError('pinch must be a mapping with enter, exit and/or gap', file);
    const p = c.pinch as Record<string, unknown>;
    for (const k of Object.keys(p)) if (k !== 'enter' && k !== 'exit' && k !== 'gap') throw new UserError(`unknown pinch key "${k}" (known: enter, exit, gap)`, file);
    out.pinch = { enter: pos(p.enter, 'pinch.enter'), exit: pos(p.exit, 'pinch.exit'), gap: pos(p.gap, 'pinch.gap') };
    const e = out.pinch.enter ?? 0.03, x = out.pinch.exit ?? 0.05;
    if (!(x > e)) throw new UserError(`pinch.exit (${x}) must be larger than pinch.enter (${e})`, file);
  }
  out.capsule_radius = pos(c.capsule_radius, 'capsule_radius');
  out.penetration_margin = pos(c.penetration_margin, 'penetration_margin');
  if (c.velocity_limits !== undefined) {
    if (typeof c.velocity_limits !== 'boolean') throw new UserError('velocity_limits must be true or false', file);
    out.velocity_limits = c.velocity_limits;
  }
  if (c.velocity_plan !== undefined) {
    if (typeof c.velocity_plan !== 'boolean') throw new UserError('velocity_plan must be true or false', file);
    out.velocity_plan = c.velocity_plan;
  }
  if (c.plan_pinch_weight !== undefined) {
    const v = c.plan_pinch_weight;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) throw new UserError('plan_pinch_weight must be a number ≥ 1', file);
    out.plan_pinch_weight = v;
  }
  if (c.plan_refine !== undefined) {
    const p = c.plan_refine as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new UserError('plan_refine must be a mapping with rounds and pull', file);
    for (const k of Object.keys(p)) if (k !== 'rounds' && k !== 'pull') throw new UserError(`unknown plan_refine key "${k}" (known: rounds, pull)`, file);
    if (!Number.isInteger(p.rounds) || (p.rounds as number) < 0) throw new UserError('plan_refine.rounds must be a non-negative integer', file);
    if (typeof p.pull !== 'number' || !Number.isFinite(p.pull) || !(p.pull > 0)) throw new UserError('plan_refine.pull must be a positive number', file);
    out.plan_refine = { rounds: p.rounds as number, pull: p.pull };
  }
  if (c.free_first_pass !== undefined) {
    if (typeof c.free_first_pass !== 'boolean') throw new UserError('free_first_pass must be true or false', file);
    out.free_first_pass = c.free_first_pass;
  }
  if (c.filter !== undefined) {
    if (typeof c.filter !== 'object' || c.filter === null || Array.isArray(c.filter)) throw new UserError('filter must be a mapping with min_cutoff and/or beta', file);
    const f = c.filter as Record<string, unknown>;
    for (const k of Object.keys(f)) if (k !== 'min_cutoff' && k !== 'beta') throw new UserError(`unknown filter key "${k}" (known: min_cutoff, beta)`, file);
    out.filter = { min_cutoff: pos(f.min_cutoff, 'filter.min_cutoff'), beta: pos(f.beta, 'filter.beta') };
    if (out.filter.min_cutoff === 0) throw new UserError('filter.min_cutoff must be positive', file);
  }
  if (c.vectors !== undefined) out.vectors = parseVectors(c.vectors, file);
  if (c.human_lateral !== undefined) {
    if (c.human_lateral !== 'pinky' && c.human_lateral !== 'middle') throw new UserError('human_lateral must be pinky or middle', file);
    out.human_lateral = c.human_lateral;
  }
  if (c.palm_axes !== undefined) {
    const a = c.palm_axes as Record<string, unknown>;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new UserError('palm_axes must be a mapping with link, forward and normal', file);
    for (const k of Object.keys(a)) if (!['link', 'forward', 'normal'].includes(k)) throw new UserError(`unknown palm_axes key "${k}" (known: link, forward, normal)`, file);
    if (typeof a.link !== 'string' || !a.link) throw new UserError('palm_axes.link must be a link name', file);
    out.palm_axes = { link: a.link, forward: vec3(a.forward, 'palm_axes.forward', file), normal: vec3(a.normal, 'palm_axes.normal', file) };
  }
  return out;
}

export function loadHandConfig(file: string): HandConfig {
  return parseHandConfig(readText(file), file);
}

/** The project's own `configs/hands/<name>.yaml` for a robot, if there is one. */
export function defaultHandConfigFile(robotName: string): string | null {
  return projectConfigFile('hands', robotName);
}

/** Retargeter options from a config (explicit options win). */
export function handOptionsFromConfig(cfg: HandConfig, opts: HandRetargeterOptions = {}): HandRetargeterOptions {
  const weights: Partial<HandWeights> = {};
  for (const [k, v] of Object.entries(cfg.weights ?? {})) if (v !== undefined) weights[WEIGHT_KEYS[k]] = v;
  return {
    rootLink: cfg.palm_link,
    side: cfg.side,
    thumb: cfg.thumb,
    fingerMap: cfg.fingers,
    pinchEnter: cfg.pinch?.enter,
    pinchExit: cfg.pinch?.exit,
    pinchGap: cfg.pinch?.gap,
    capsuleRadius: cfg.capsule_radius,
    penetrationMargin: cfg.penetration_margin,
    velocityLimits: cfg.velocity_limits,
    velocityPlan: cfg.velocity_plan,
    planPinchWeight: cfg.plan_pinch_weight,
    planRefine: cfg.plan_refine,
    freeFirstPass: cfg.free_first_pass,
    filter: cfg.filter ? { minCutoff: cfg.filter.min_cutoff, beta: cfg.filter.beta } : undefined,
    vectors: cfg.vectors,
    humanLateral: cfg.human_lateral,
    palmAxes: cfg.palm_axes,
    ...dropUndefined(opts),
    weights: { ...weights, ...(opts.weights ?? {}) },
  };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function vec3(v: unknown, what: string, file?: string): V3 {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new UserError(`${what} must be a list of 3 numbers`, file);
  if (!(Math.hypot(v[0], v[1], v[2]) > 0)) throw new UserError(`${what} must not be zero`, file);
  return [v[0], v[1], v[2]];
}

function parseVectors(v: unknown, file?: string): HandVectors {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError('vectors must be a mapping with scale, origin, task and human', file);
  const c = v as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!['scale', 'huber', 'origin', 'task', 'human'].includes(k)) throw new UserError(`unknown vectors key "${k}" (known: scale, huber, origin, task, human)`, file);
  if (typeof c.scale !== 'number' || !(c.scale > 0) || !Number.isFinite(c.scale)) throw new UserError('vectors.scale must be a positive number', file);
  if (c.huber !== undefined && (typeof c.huber !== 'number' || !(c.huber >= 0) || !Number.isFinite(c.huber))) throw new UserError('vectors.huber must be a non-negative number', file);
  const names = (x: unknown, what: string) => {
    if (!Array.isArray(x) || !x.length || !x.every((n) => typeof n === 'string' && n.length)) throw new UserError(`${what} must be a list of link names`, file);
    return x as string[];
  };
  const task = names(c.task, 'vectors.task');
  const origin = typeof c.origin === 'string' && c.origin ? task.map(() => c.origin as string) : names(c.origin, 'vectors.origin');
  if (origin.length !== task.length) throw new UserError(`vectors.origin has ${origin.length} links and vectors.task ${task.length}`, file);
  if (!Array.isArray(c.human) || c.human.length !== task.length) throw new UserError(`vectors.human must have one [j0, j1] pair per task link (${task.length})`, file);
  const human = c.human.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((j) => Number.isInteger(j) && j >= 0 && j <= 20)) throw new UserError(`vectors.human[${i}] must be a pair of landmark indices 0..20`, file);
    return [p[0], p[1]] as [number, number];
  });
  return { scale: c.scale, ...(c.huber !== undefined ? { huber: c.huber as number } : {}), origin, task, human };
}
