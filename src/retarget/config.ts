/**
 * Optional per-robot overrides, `configs/robots/<robot name>.yaml`. Never required: discovery finds
 * everything from the tree. Any field may be given:
 *
 *   mapping:            # link names for any part (pelvis, torso, head, left_hip, left_knee, left_foot,
 *     left_knee: my_knee_link       #  left_shoulder, left_elbow, left_hand, and the right_ ones)
 *   weights:            # task weights (see DEFAULT_WEIGHTS)
 *     wrist: 3
 *   limb_scale: { legs: 1.0, arms: 0.9, trunk: 1.0 }
 *   home: { left_knee_joint: 0.3 }   # joint values of the posture reference (radians)
 *   offsets: { left_wrist: [0.05, 0, 0] }   # move a keypoint's robot point, metres in its link's frame
 *   self_collision: true
 *   stance: { enter_height: 0.04, exit_height: 0.07, enter_speed: 0.3, exit_speed: 0.6 }
 */
import { UserError } from '../errors.ts';
import { parseYamlMapping, projectConfigFile, readText } from '../io/text.ts';
import type { DiscoverOverrides } from './discover.ts';

export interface Weights {
  hip: number; knee: number; ankle: number; stance_foot: number;
  shoulder: number; elbow: number; wrist: number; head: number;
  pelvis_orientation: number; torso_orientation: number;
  foot_orientation: number; stance_foot_orientation: number;
  posture: number; damping: number; acceleration: number; self_collision: number; ground: number;
  /** Centre of mass over the support (BalanceTask); used when retarget's `balance` option is on, or set > 0 in a config (which turns it on). */
  balance: number;
  /** Inner margin (m) the CoM keeps from the support's edge (capped at 0.8 x the sole's half-width). */
  balance_margin: number;
  /** Seconds: a foot that lifts within this is already left out of the support (the CoM shifts early). */
  balance_lookahead: number;
  /**
   * Seconds (Gaussian sigma): > 0 = two-pass smoothed balance (the CoM of a first solve, moved into the
   * support and low-passed, tracked in a second solve); 0 = the per-frame one-sided task.
   */
  balance_smoothing: number;
}

export const DEFAULT_WEIGHTS: Weights = {
  hip: 3, knee: 1, ankle: 2, stance_foot: 60,
  shoulder: 1.5, elbow: 1, wrist: 2, head: 0.5,
  pelvis_orientation: 0.3, torso_orientation: 0.3,
  foot_orientation: 0.05, stance_foot_orientation: 3,
  posture: 2e-3, damping: 0.2, acceleration: 0, self_collision: 40, ground: 100,
  balance: 30, balance_margin: 0.02, balance_lookahead: 0.3, balance_smoothing: 0.35,
};

export interface RobotConfig {
  mapping?: DiscoverOverrides;
  weights?: Partial<Weights>;
  limb_scale?: Partial<Record<'legs' | 'arms' | 'trunk', number>>;
  home?: Record<string, number>;
  /** Keypoint → offset of its robot point in the link frame (metres). */
  offsets?: Record<string, [number, number, number]>;
  self_collision?: boolean;
  stance?: { enter_height?: number; exit_height?: number; enter_speed?: number; exit_speed?: number; min_duration?: number; max_heel_lift?: number };
  /** File it came from. */
  file?: string;
}

const TOP = new Set(['mapping', 'weights', 'limb_scale', 'home', 'offsets', 'self_collision', 'stance']);
const KEYPOINT_NAMES = new Set(['head', ...['left', 'right'].flatMap((s) => ['hip', 'knee', 'ankle', 'shoulder', 'elbow', 'wrist'].map((p) => `${s}_${p}`))]);
const MAP_KEYS = new Set(['pelvis', 'torso', 'head', ...['left', 'right'].flatMap((s) => ['hip', 'knee', 'foot', 'shoulder', 'elbow', 'hand'].map((p) => `${s}_${p}`))]);

export function parseRobotConfig(text: string, file?: string): RobotConfig {
  const c = parseYamlMapping(text, file, 'robot config', [...TOP]);
  if (!c) return { file };
  const numMap = (v: unknown, what: string, keys?: Set<string>): Record<string, number> => {
    if (v === undefined) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError(`${what} must be a mapping`, file);
    const out: Record<string, number> = {};
    for (const [k, x] of Object.entries(v)) {
      if (keys && !keys.has(k)) throw new UserError(`unknown ${what} key "${k}" (known: ${[...keys].join(', ')})`, file);
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new UserError(`${what}.${k} must be a number`, file);
      out[k] = x;
    }
    return out;
  };
  const mapping: Record<string, string> = {};
  if (c.mapping !== undefined) {
    if (typeof c.mapping !== 'object' || c.mapping === null) throw new UserError('mapping must be a mapping', file);
    for (const [k, v] of Object.entries(c.mapping)) {
      if (!MAP_KEYS.has(k)) throw new UserError(`unknown mapping key "${k}" (known: ${[...MAP_KEYS].join(', ')})`, file);
      if (typeof v !== 'string') throw new UserError(`mapping.${k} must be a link name`, file);
      mapping[k] = v;
    }
  }
  const offsets: Record<string, [number, number, number]> = {};
  if (c.offsets !== undefined) {
    if (typeof c.offsets !== 'object' || c.offsets === null || Array.isArray(c.offsets)) throw new UserError('offsets must be a mapping', file);
    for (const [k, v] of Object.entries(c.offsets)) {
      if (!KEYPOINT_NAMES.has(k)) throw new UserError(`unknown offsets key "${k}" (known: ${[...KEYPOINT_NAMES].join(', ')})`, file);
      if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new UserError(`offsets.${k} must be [x, y, z] in metres`, file);
      offsets[k] = v as [number, number, number];
    }
  }
  if (c.self_collision !== undefined && typeof c.self_collision !== 'boolean') throw new UserError('self_collision must be true or false', file);
  const st = numMap(c.stance, 'stance', new Set(['enter_height', 'exit_height', 'enter_speed', 'exit_speed', 'min_duration', 'max_heel_lift']));
  return {
    file,
    mapping: mapping as DiscoverOverrides,
    weights: numMap(c.weights, 'weights', new Set(Object.keys(DEFAULT_WEIGHTS))) as Partial<Weights>,
    limb_scale: numMap(c.limb_scale, 'limb_scale', new Set(['legs', 'arms', 'trunk'])),
    home: numMap(c.home, 'home'),
    offsets,
    self_collision: c.self_collision as boolean | undefined,
    stance: st,
  };
}

export function loadRobotConfig(file: string): RobotConfig {
  return parseRobotConfig(readText(file), file);
}

/** The project's own `configs/robots/<name>.yaml` for a robot, if there is one. */
export function defaultConfigFile(robotName: string): string | null {
  return projectConfigFile('robots', robotName);
}
