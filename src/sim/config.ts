/**
 * Validation thresholds: configs/validation.yaml, overridable by a user file with any subset of the keys.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readYaml as readYamlFile } from '../io/text.ts';
import { UserError } from '../errors.ts';

export interface CheckLimit { hard: boolean; min_duration?: number; [k: string]: number | boolean | undefined }

export interface ValidationConfig {
  sim: {
    dt: number; solver_iterations: number; contact_iterations: number; joints: 'articulated' | 'multibody'; friction: number; gravity: number;
    gains: { saturation_angle: number; kd_ratio: number };
    feedforward: boolean;
    assist: { frequency_hz: number; damping: number };
    fall: { height_fraction: number; tilt_deg: number };
  };
  geometry: { default_mass: number; decimate_cell: number; hull_volume_ratio: number; max_hulls_per_mesh: number; missing_collision: 'none' | 'visual'; armature_per_effort: number; armature_max: number };
  contacts: { contact_height: number; foot_tolerance: number; float_height: number; slow_speed: number; smoothing: number };
  checks: Record<'joint_position' | 'joint_velocity' | 'self_collision' | 'ground_penetration' | 'floating' | 'foot_skating' | 'torque'
    | 'zmp' | 'friction_cone' | 'flight' | 'residual' | 'fall' | 'tracking', CheckLimit>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CONFIG_FILE = path.resolve(here, '..', '..', 'configs', 'validation.yaml');

function readYaml(file: string): Record<string, unknown> {
  const v = readYamlFile(file);
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new UserError('expected a mapping of settings', file);
  return v as Record<string, unknown>;
}

/** Merge b into a: keys must exist in a (typos are errors), leaf types must match. */
function merge(a: Record<string, unknown>, b: Record<string, unknown>, file: string, where = ''): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const key = where ? `${where}.${k}` : k;
    if (!(k in a)) throw new UserError(`unknown setting "${key}"`, file);
    const av = a[k];
    if (av && typeof av === 'object' && !Array.isArray(av)) {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`"${key}" must be a mapping`, file);
      out[k] = merge(av as Record<string, unknown>, v as Record<string, unknown>, file, key);
    } else {
      if (typeof v !== typeof av) throw new UserError(`"${key}" must be a ${typeof av}, got ${JSON.stringify(v)}`, file);
      if (typeof v === 'number' && !Number.isFinite(v)) throw new UserError(`"${key}" must be finite`, file);
      out[k] = v;
    }
  }
  return out;
}

let defaults: ValidationConfig | null = null;

export function defaultValidationConfig(): ValidationConfig {
  if (!defaults) defaults = readYaml(DEFAULT_CONFIG_FILE) as unknown as ValidationConfig;
  return structuredClone(defaults);
}

/** The defaults, overridden by a YAML file and/or an object (same keys). */
export function loadValidationConfig(file?: string | null, overrides?: Record<string, unknown>): ValidationConfig {
  let cfg = defaultValidationConfig() as unknown as Record<string, unknown>;
  if (file) cfg = merge(cfg, readYaml(file), file);
  if (overrides) cfg = merge(cfg, overrides, 'options');
  const c = cfg as unknown as ValidationConfig;
  if (!(c.sim.dt > 0 && c.sim.dt <= 0.05)) throw new UserError(`sim.dt must be in (0, 0.05], got ${c.sim.dt}`, file ?? 'options');
  if (!['articulated', 'multibody'].includes(c.sim.joints)) throw new UserError(`sim.joints must be articulated or multibody, got ${c.sim.joints}${String(c.sim.joints) === 'impulse' ? ' (Rapier impulse joints were dropped: their anchors separated by up to metres on G1 and T1, benchmarks/validate/RESULTS.md)' : ''}`, file ?? 'options');
  return c;
}
