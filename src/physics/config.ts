/** Settings of the physics stage: configs/physics.yaml, overridable by a YAML file and/or an object (same keys). */
import * as path from 'node:path';
import { readYaml as readYamlFile } from '../io/text.ts';
import { UserError } from '../errors.ts';
import { CONFIG_DIR, deepMerge } from '../quality/config.ts';
import type { ControllerGains, Pd } from './controller.ts';

type PdYaml = { kp: number; kd: number; weight: number };

export interface PhysicsConfig {
  sim: { max_dt: number; control_every: number; friction: number; gravity: number; joint_stops: boolean; joint_stop_hz: number };
  controller: {
    mu: number; cop_margin: number; anchor_tau: number; zmp_clamp: boolean; angular_momentum: { kd: number; weight: number }; contact_height: number; corner_height: number; drift: boolean; reg_tau: number; effort_use: number; reg_lambda: number; reg_qdd: number; limit_weight: number; limit_horizon: number; limit_brake: number;
    posture: PdYaml & { feedforward: number; leg_factor: number }; base: PdYaml; stance_foot: PdYaml; swing_foot: PdYaml; hand: PdYaml; com_xy: PdYaml; com_z: PdYaml;
    step_adjust: { gain: number; max: number };
    liftoff_gate: { margin: number; max_delay: number };
  };
  com: { zmp_margin: number; smoothing: number; ankle_reach: boolean; reach_effort: number; reach_double_share: number };
  rebalance: { enabled: boolean; presmooth: number; rounds: number; ik_period: number; ik_iters: number; margin: number; smoothing: number; weights: { foot: number; com: number; hand: number; root: number; posture: number; smooth: number } };
  contacts: { contact_height: number; foot_tolerance: number; hover: { height: number; speed: number; min_duration: number }; min_swing: number; swing_clearance: number; swing_hold: number };
  retry: { rounds: number; effort_share: number; reach_factor: number; widen: number };
  verdict: {
    feasible_change: number; stance_foot_max: number; hand_mean: number; heading_max_deg: number; root_path_mean: number;
    fall_height_fraction: number; fall_tilt_deg: number; saturation_max: number; start_height_error: number; joint_limit_tolerance: number;
  };
}

export const PHYSICS_CONFIG_FILE = path.join(CONFIG_DIR, 'physics.yaml');

function readYaml(file: string): unknown {
  return readYamlFile(file) ?? {};
}

/** Every leaf of `over` must exist in `ref` with the same type. */
function checkShape(over: unknown, ref: unknown, where: string, file: string): void {
  if (!over || typeof over !== 'object' || Array.isArray(over)) throw new UserError(`${where || 'settings'} must be a mapping`, file);
  for (const [k, v] of Object.entries(over)) {
    const key = where ? `${where}.${k}` : k;
    const r = (ref as Record<string, unknown>)[k];
    if (r === undefined) throw new UserError(`unknown setting "${key}"`, file);
    if (r && typeof r === 'object') checkShape(v, r, key, file);
    else if (typeof v !== typeof r || (typeof v === 'number' && !Number.isFinite(v))) throw new UserError(`"${key}" must be a ${typeof r}, got ${JSON.stringify(v)}`, file);
  }
}

let defaults: PhysicsConfig | null = null;

export function loadPhysicsConfig(file?: string | null, overrides?: Record<string, unknown>): PhysicsConfig {
  if (!defaults) defaults = readYaml(PHYSICS_CONFIG_FILE) as PhysicsConfig;
  let cfg = structuredClone(defaults);
  if (file) { const o = readYaml(file); checkShape(o, cfg, '', file); cfg = deepMerge(cfg, o); }
  if (overrides) { checkShape(overrides, cfg, '', 'options'); cfg = deepMerge(cfg, overrides); }
  if (!(cfg.sim.max_dt > 0 && cfg.sim.max_dt <= 0.02)) throw new UserError(`sim.max_dt must be in (0, 0.02], got ${cfg.sim.max_dt}`, file ?? 'options');
  if (!(Number.isInteger(cfg.sim.control_every) && cfg.sim.control_every >= 1)) throw new UserError(`sim.control_every must be a whole number >= 1`, file ?? 'options');
  return cfg;
}

export function controllerGains(c: PhysicsConfig['controller']): ControllerGains {
  const pd = (p: PdYaml): Pd => ({ kp: p.kp, kd: p.kd, weight: p.weight });
  return {
    posture: { ...pd(c.posture), feedforward: c.posture.feedforward }, base: pd(c.base), stanceFoot: pd(c.stance_foot),
    swingFoot: pd(c.swing_foot), hand: pd(c.hand), comXY: pd(c.com_xy), comZ: pd(c.com_z),
    regTau: c.reg_tau, effortUse: c.effort_use, regLambda: c.reg_lambda, regQdd: c.reg_qdd, legPostureFactor: c.posture.leg_factor, limitWeight: c.limit_weight, limitHorizon: c.limit_horizon, limitBrake: c.limit_brake, mu: c.mu, contactHeight: c.contact_height, cornerHeight: c.corner_height, drift: c.drift,
    stepGain: c.step_adjust.gain, stepMax: c.step_adjust.max, liftoffGate: { margin: c.liftoff_gate.margin, maxDelay: c.liftoff_gate.max_delay }, copMargin: c.cop_margin, anchorTau: c.anchor_tau, zmpClamp: c.zmp_clamp, angularMomentum: { ...c.angular_momentum },
  };
}
