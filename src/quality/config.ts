/**
 * Quality thresholds (configs/quality.yaml) and task scripts (configs/tasks/*.yaml): loading, validation,
 * and per-task overrides. Bad YAML or a bad value ends in one UserError naming the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readYaml } from '../io/text.ts';
import { UserError } from '../errors.ts';

export const CONFIG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');

export interface Level { flag: number; reject: number }

export interface QualityThresholds {
  min_joint_confidence: number;
  presence: { rate: Level; longest_gap_s: Level };
  confidence: { mean: Level };
  jitter: { noise_mm: Level; frame_mm: number };
  bones: { cv: Level; outlier: number };
  framing: { border_margin: number; cutoff_rate: Level; subject_size: Level; centre_drift: Level };
  timing: { dropped_rate: Level; gap_factor: number; interval_cv: Level; fps_mismatch: Level };
  duration: { slack: number };
  hands: { visible_rate: Level };
  motion: { flag_fraction: number };
  plausibility: {
    percentile: number; ratio: Level;
    upper_arm_rad_s: number; forearm_rad_s: number; thigh_rad_s: number; shank_rad_s: number; finger_rad_s: number;
    wrist_m_s: number; ankle_m_s: number; fall_g: number; min_swing_s: number; min_step_m: number;
  };
  spikes: { k: number; floor_mm: number; rate: Level };
  parts: { limb_visible_rate: Level };
}

/** Body parts a task can require. `hands` = both hands; `full_body` = every body part except the hands. */
export const BODY_PARTS = ['head', 'torso', 'left_arm', 'right_arm', 'left_leg', 'right_leg', 'left_hand', 'right_hand'] as const;
export type BodyPart = (typeof BODY_PARTS)[number];
const PART_ALIASES: Record<string, BodyPart[]> = {
  hands: ['left_hand', 'right_hand'],
  arms: ['left_arm', 'right_arm'],
  legs: ['left_leg', 'right_leg'],
  upper_body: ['head', 'torso', 'left_arm', 'right_arm'],
  full_body: ['head', 'torso', 'left_arm', 'right_arm', 'left_leg', 'right_leg'],
};

export type HandsActive = 'both' | 'any' | 'left' | 'right' | 'none';

export interface TaskScript {
  id: string;
  title: string;
  instructions: string;
  /** Body parts that must be visible throughout (aliases expanded). */
  visible: BodyPart[];
  duration_s: { min: number; max: number };
  camera: 'head-mounted' | 'fixed';
  motion: {
    /** Which hands must move. */
    hands: HandsActive;
    /** Minimum extent (metres) each active wrist must travel, relative to the body (or the camera). */
    wrist_travel_m: number;
    /** Minimum finger articulation (metres, fingertip-to-wrist distance range) where hand landmarks exist. */
    finger_motion_m: number;
  };
  /** Overrides of configs/quality.yaml, same keys. */
  thresholds: Partial<Record<string, unknown>>;
  /** File it came from (for messages). */
  file?: string;
}


function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isObj(over)) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

/** Check every leaf of `t` against the shape of `ref` (the defaults): same keys, numbers where numbers are. */
function checkThresholdShape(t: unknown, ref: unknown, where: string, file: string): void {
  if (!isObj(t)) throw new UserError(`${where || 'thresholds'} must be a mapping`, file);
  for (const [k, v] of Object.entries(t)) {
    const key = where ? `${where}.${k}` : k;
    if (!isObj(ref) || !(k in ref)) throw new UserError(`unknown threshold ${key}`, file);
    const r = (ref as Record<string, unknown>)[k];
    if (isObj(r)) checkThresholdShape(v, r, key, file);
    else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new UserError(`threshold ${key} must be a non-negative number, got ${JSON.stringify(v)}`, file);
  }
}

let defaultsCache: { file: string; t: QualityThresholds } | null = null;

/** Load thresholds from a YAML file (default: configs/quality.yaml). */
export function loadThresholds(file = path.join(CONFIG_DIR, 'quality.yaml')): QualityThresholds {
  if (defaultsCache && defaultsCache.file === file) return structuredClone(defaultsCache.t);
  const raw = readYaml(file);
  if (!isObj(raw)) throw new UserError('thresholds file must be a YAML mapping', file);
  const needed: Record<string, string[]> = {
    presence: ['rate', 'longest_gap_s'], confidence: ['mean'], jitter: ['noise_mm', 'frame_mm'], bones: ['cv', 'outlier'],
    framing: ['border_margin', 'cutoff_rate', 'subject_size', 'centre_drift'],
    timing: ['dropped_rate', 'gap_factor', 'interval_cv', 'fps_mismatch'], duration: ['slack'], hands: ['visible_rate'],
    motion: ['flag_fraction'],
    plausibility: ['percentile', 'ratio', 'upper_arm_rad_s', 'forearm_rad_s', 'thigh_rad_s', 'shank_rad_s', 'finger_rad_s', 'wrist_m_s', 'ankle_m_s', 'fall_g', 'min_swing_s', 'min_step_m'],
    spikes: ['k', 'floor_mm', 'rate'], parts: ['limb_visible_rate'],
  };
  if (typeof raw.min_joint_confidence !== 'number') throw new UserError('min_joint_confidence must be a number', file);
  for (const [sec, keys] of Object.entries(needed)) {
    const s = raw[sec];
    if (!isObj(s)) throw new UserError(`missing section ${sec}`, file);
    for (const k of keys) {
      const v = s[k];
      if (typeof v === 'number' && Number.isFinite(v)) continue;
      if (isObj(v) && typeof v.flag === 'number' && typeof v.reject === 'number') continue;
      throw new UserError(`${sec}.${k} must be a number or {flag, reject}`, file);
    }
  }
  const t = raw as unknown as QualityThresholds;
  defaultsCache = { file, t };
  return structuredClone(t);
}

/** Thresholds for a task: the defaults with the task's overrides merged in. */
export function thresholdsFor(task?: TaskScript | null, base?: QualityThresholds): QualityThresholds {
  const b = base ?? loadThresholds();
  return task ? deepMerge(b, task.thresholds) : b;
}

function expandParts(v: unknown, file: string): BodyPart[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const out = new Set<BodyPart>();
  for (const p of list) {
    if (typeof p !== 'string') throw new UserError(`visible: entries must be body part names, got ${JSON.stringify(p)}`, file);
    if (PART_ALIASES[p]) PART_ALIASES[p].forEach((x) => out.add(x));
    else if ((BODY_PARTS as readonly string[]).includes(p)) out.add(p as BodyPart);
    else throw new UserError(`unknown body part "${p}" in visible (known: ${[...BODY_PARTS, ...Object.keys(PART_ALIASES)].join(', ')})`, file);
  }
  return [...out];
}

/** Parse and validate a task script object read from `file`. */
export function parseTask(raw: unknown, file: string): TaskScript {
  if (!isObj(raw)) throw new UserError('task script must be a YAML mapping', file);
  const known = new Set(['id', 'title', 'instructions', 'visible', 'duration_s', 'camera', 'motion', 'thresholds']);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new UserError(`unknown key "${k}" in task script`, file);
  const id = raw.id;
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new UserError('id must be a lower-case name like "fold-laundry"', file);
  const instructions = raw.instructions;
  if (typeof instructions !== 'string' || !instructions.trim()) throw new UserError('instructions must be a non-empty string', file);
  const d = raw.duration_s;
  if (!isObj(d) || typeof d.min !== 'number' || typeof d.max !== 'number' || !(d.min >= 0) || !(d.max > d.min)) {
    throw new UserError('duration_s must be {min, max} seconds with 0 <= min < max', file);
  }
  const camera = raw.camera ?? 'fixed';
  if (camera !== 'head-mounted' && camera !== 'fixed') throw new UserError(`camera must be head-mounted or fixed, got ${JSON.stringify(camera)}`, file);
  const m = raw.motion ?? {};
  if (!isObj(m)) throw new UserError('motion must be a mapping', file);
  for (const k of Object.keys(m)) if (!['hands', 'wrist_travel_m', 'finger_motion_m'].includes(k)) throw new UserError(`unknown key "motion.${k}"`, file);
  const hands = m.hands ?? 'none';
  if (!['both', 'any', 'left', 'right', 'none'].includes(hands as string)) throw new UserError(`motion.hands must be both, any, left, right or none, got ${JSON.stringify(hands)}`, file);
  const num = (v: unknown, name: string): number => {
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !(v >= 0)) throw new UserError(`${name} must be a non-negative number`, file);
    return v;
  };
  const thresholds = raw.thresholds ?? {};
  checkThresholdShape(thresholds, loadThresholds(), '', file);
  return {
    id,
    title: typeof raw.title === 'string' ? raw.title : id,
    instructions: instructions.trim(),
    visible: expandParts(raw.visible, file),
    duration_s: { min: d.min, max: d.max },
    camera,
    motion: { hands: hands as HandsActive, wrist_travel_m: num(m.wrist_travel_m, 'motion.wrist_travel_m'), finger_motion_m: num(m.finger_motion_m, 'motion.finger_motion_m') },
    thresholds: thresholds as Record<string, unknown>,
    file,
  };
}

export function loadTaskFile(file: string): TaskScript {
  return parseTask(readYaml(file), file);
}

/** Directory of task scripts (REEL2REAL_TASKS_DIR overrides configs/tasks). */
export function tasksDir(): string {
  return process.env.REEL2REAL_TASKS_DIR ?? path.join(CONFIG_DIR, 'tasks');
}

export function listTasks(dir = tasksDir()): TaskScript[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => loadTaskFile(path.join(dir, f)));
}

/** A task by id (from configs/tasks) or by path to a YAML file. */
export function loadTask(idOrFile: string, dir = tasksDir()): TaskScript {
  if (/\.ya?ml$/.test(idOrFile) || idOrFile.includes('/')) return loadTaskFile(idOrFile);
  for (const ext of ['.yaml', '.yml']) {
    const f = path.join(dir, idOrFile + ext);
    if (fs.existsSync(f)) {
      const t = loadTaskFile(f);
      if (t.id !== idOrFile) throw new UserError(`file name says task "${idOrFile}" but its id is "${t.id}"`, f);
      return t;
    }
  }
  const known = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => f.replace(/\.ya?ml$/, '')) : [];
  throw new UserError(`unknown task "${idOrFile}" (known: ${known.join(', ') || 'none'})`, dir);
}
