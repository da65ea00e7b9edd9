/**
 * Physical feasibility of a robot motion, per clip, with reasons:
 *
 *   const report = await checkFeasibility(motion, 'g1.urdf', { mode: 'both' });
 *   report.feasible; report.reasons; report.metrics; report.events; report.sim
 *
 * (Named checkFeasibility: `validateMotion` in src/robot/motion.ts is the schema check of a motion file.)
 *
 * Checks, each a number and a verdict (thresholds in configs/validation.yaml):
 * 1. kinematic — joint position and velocity limits, self-collision (depth, duration), ground penetration,
 *    floating and foot skating during stance;
 * 2. dynamic, from the reference — inverse-dynamics joint torques with the contacts the motion implies vs
 *    effort limits, ZMP vs support polygon, friction cone at the feet, unsupported flight;
 * 3. closed loop on a plant (plant.ts; configs/validation.yaml `sim.joints`): by default the project's own
 *    articulated dynamics (articulated.ts: exact joints, ground contacts, no self-contact), or Rapier's
 *    multibody world (`multibody`: self-contact simulated) — PD tracking unassisted (does it stay up, how far
 *    does it drift) and assisted (a virtual wrench holds the base on the reference; the wrench needed is the
 *    residual). report.sim says which engine ran and whether self-contact was simulated.
 * Fixed-base robots (hands): limits, self-collision, torques, and PD tracking with the base fixed.
 *
 * Each check is a small object (checks.ts) run on one shared context; this function builds the context and
 * loops over them.
 */
import type { RobotMotion } from '../robot/motion.ts';
import { loadUrdf, type UrdfRobot } from '../robot/urdf.ts';
import { UserError } from '../errors.ts';
import { robotGeometry, pdGains, bodySamplePoints, type RobotGeometry } from './geometry.ts';
import { buildReference, type Reference } from './reference.ts';
import { findFeet, trackContacts, type FootTrack } from './contacts.ts';
import { inverseDynamics, type DynamicsResult } from './dynamics.ts';
import { SelfCollisionWorld, type PairContact } from './selfcollision.ts';
import { trackMotion, type TrackResult } from './track.ts';
import { createPlant } from './plant.ts';
import { feetOfMotion, footContacts, stanceThresholds, type FootContacts as FootContacts2 } from '../robot/stance.ts';
import { CHECKS, runEntry, round, type CheckContext, type RunEntry } from './checks.ts';
import { loadValidationConfig, type ValidationConfig } from './config.ts';
import { hypot3 } from '../math/hypot.ts';
import { intervals } from '../math/runs.ts';

export type { ValidationConfig } from './config.ts';
export { loadValidationConfig, defaultValidationConfig, DEFAULT_CONFIG_FILE } from './config.ts';
export { robotGeometry, pdGains } from './geometry.ts';
// buildWorld (Rapier's multibody world, world.ts) is not re-exported: importing it here would load Rapier for
// every validation; import it from './world.ts'.
export { buildReference } from './reference.ts';
export { inverseDynamics } from './dynamics.ts';
export { trackMotion } from './track.ts';
export { createPlant, makePlantState, type Plant, type PlantState, type PlantCommand } from './plant.ts';
export { CHECKS, type Check, type CheckContext } from './checks.ts';
export { ArticulatedBody } from './articulated.ts';
export { SelfCollisionWorld } from './selfcollision.ts';

export type ValidationMode = 'assisted' | 'unassisted' | 'both';

export interface ValidationEvent {
  frame: number;
  kind: string;
  detail: string;
}

export interface ValidationReason {
  kind: string;
  /** Hard reasons make the motion infeasible; soft ones are warnings. */
  hard: boolean;
  message: string;
  /** [first, last] frame of each violating interval. */
  frames: [number, number][];
}

export interface ValidationReport {
  feasible: boolean;
  reasons: ValidationReason[];
  metrics: Record<string, unknown>;
  events: ValidationEvent[];
  sim: {
    dt: number;
    /** Simulation steps per motion frame. */
    substeps: number;
    /** The plant that ran the closed loop ('articulated' | 'rapier-multibody') and whether it simulated self-contact. */
    engine: string;
    self_contacts: boolean;
    /** Rapier's solver iterations, or the contact solver's sweeps for the articulated model. */
    solver_iterations: number;
    joints: string;
    steps: number;
    steps_per_second: number;
    realtime_factor: number;
    /** Largest separation at any joint anchor over every run (mm); 0 by construction for the articulated model. */
    joint_drift_mm: number;
  };
}

export interface CheckOptions {
  mode?: ValidationMode;
  /** YAML file overriding configs/validation.yaml. */
  config?: string | null;
  /** Overrides on top (same keys as the YAML). */
  overrides?: Record<string, unknown>;
  /** Force a fixed or floating base (default: floating when the robot has feet well below its root). */
  fixedBase?: boolean;
  /** Name of the motion file, for error messages. */
  file?: string;
  /** Cap on events listed (default 500); the count left off is in metrics.events_left_off. */
  maxEvents?: number;
}


export async function checkFeasibility(motion: RobotMotion, robotOrUrdf: UrdfRobot | string, opts: CheckOptions = {}): Promise<ValidationReport> {
  const robot = typeof robotOrUrdf === 'string' ? loadUrdf(robotOrUrdf) : robotOrUrdf;
  const cfg = loadValidationConfig(opts.config, opts.overrides);
  const mode = opts.mode ?? 'both';
  const g = cfg.geometry;
  const geom = await robotGeometry(robot, {
    defaultMass: g.default_mass, decimateCell: g.decimate_cell, hullVolumeRatio: g.hull_volume_ratio,
    maxHullsPerMesh: g.max_hulls_per_mesh, missingCollision: g.missing_collision,
    armaturePerEffort: g.armature_per_effort, armatureMax: g.armature_max,
  });
  const kin = geom.kin;
  const ref = buildReference(motion, kin, opts.file);
  const T = ref.T;
  const fps = ref.fps;
  const nq = kin.nq;
  const reasons: ValidationReason[] = [];
  const events: ValidationEvent[] = [];
  const metrics: Record<string, unknown> = {};
  metrics.frames = T;
  metrics.duration_s = round((T - 1) * ref.dt, 4);
  metrics.robot = robot.name;
  if (ref.undriven.length) metrics.undriven_joints = ref.undriven;
  metrics.defaulted_mass_links = geom.bodies.filter((b) => b.defaultedMass).map((b) => b.name);
  metrics.armature_kgm2 = Object.fromEntries(geom.bodies.filter((b) => b.armature > 0).map((b) => [kin.linkJoint[b.top]!.name, round(b.armature, 5)]));
  metrics.collision = { bodies: geom.bodies.length, bodies_without_collision: geom.bodies.filter((b) => !b.shapes.length).map((b) => b.name), mesh_hulls: geom.hullStats.hulls, hull_points: geom.hullStats.points };

  const feet = findFeet(geom, cfg.contacts.foot_tolerance);
  kin.fk(new Float64Array(nq));
  const rootToLowest = (() => {
    let low = 0;
    for (const f of feet) low = Math.min(low, kin.pose[12 * geom.bodies[f].top + 11]);
    return -low;
  })();
  const fixedBase = opts.fixedBase ?? !(feet.length >= 2 && rootToLowest > 0.3);
  metrics.base = fixedBase ? 'fixed' : 'floating';
  if (!fixedBase) metrics.feet = feet.map((f) => geom.bodies[f].name);

  const C = cfg.checks;
  const s = cfg.sim;

  // ---- the shared context: self-contact per frame, foot contacts, inverse dynamics, closed-loop runs -------
  const sc = await SelfCollisionWorld.create(geom);
  const selfContacts: (PairContact | null)[] = new Array(T).fill(null);
  try {
    // A frame where no body moved by more than 0.05 mm (any point of its collision shapes) since the last
    // frame queried has that frame's contacts (depths within 0.1 mm): Rapier is not asked again.
    const moved = posesMoved(geom, ref.pose, kin.nLinks);
    let last: PairContact | null = null;
    for (let t = 0, q = -1; t < T; t++) {
      if (q < 0 || moved(q, t) > 5e-5) {
        sc.place(ref.pose, t * kin.nLinks * 12);
        if (sc.needsQueries()) await sc.loadQueries();
        const cs = sc.contacts(0.0005);
        last = cs.length ? cs[0] : null;
        q = t;
      }
      selfContacts[t] = last;
    }
  } finally {
    sc.free();
  }
  const contacts: FootTrack | null = fixedBase ? null
    : trackContacts(ref, geom, feet, { contactHeight: cfg.contacts.contact_height, footTolerance: cfg.contacts.foot_tolerance });
  // Stance and skating by the project's one definition (src/robot/stance.ts): the feet and leg length the
  // retargeter measured with when the motion carries them, else the validator's feet (their lowest points).
  let skating: FootContacts2 | null = null;
  if (!fixedBase) {
    const own = feetOfMotion(motion.mapping, (name) => kin.linkIndex(name));
    const def = own ?? { feet: feet.map((b) => ({ name: geom.bodies[b].name, link: geom.bodies[b].top, points: solePoints(geom, b) })), legLength: rootToLowest };
    const L = kin.nLinks;
    const times = Float64Array.from({ length: T }, (_, t) => t * ref.dt);
    skating = footContacts(def.feet, T, times, (t) => ref.pose.subarray(t * L * 12, (t + 1) * L * 12), stanceThresholds(def.legLength));
    metrics.stance = { feet_from: own ? 'motion (retargeter)' : 'validator', leg_length_m: round(def.legLength, 3) };
  }
  // Frames whose ground-force split needs a joint over the torque check's limit are re-split for the least effort.
  const id: DynamicsResult = inverseDynamics(ref, geom, contacts, s.gravity, cfg.contacts.smoothing, { mu: Number(C.friction_cone.mu), leastEffortAbove: Number(C.torque.factor) });

  const q0 = ref.q.subarray(0, nq);
  const gains = pdGains(geom, q0, { saturationAngle: s.gains.saturation_angle, kdRatio: s.gains.kd_ratio, dt: s.dt, explicit: s.joints !== 'articulated' });
  const modes: ('assisted' | 'unassisted')[] = fixedBase ? ['unassisted'] : mode === 'both' ? ['unassisted', 'assisted'] : [mode];
  const runs: RunEntry[] = [];
  const plant = await createPlant(geom, {
    engine: s.joints === 'articulated' ? 'articulated' : 'rapier', dt: s.dt, fixedBase, friction: s.friction, gravity: s.gravity,
    contactIterations: s.contact_iterations, solverIterations: s.solver_iterations, excludedPairs: sc.excluded,
  });
  try {
    for (const m of modes) {
      const r = trackMotion(plant, geom, ref, {
        mode: m, kp: gains.kp, kd: gains.kd, feedforward: s.feedforward ? id.tau : null, baseFrequency: s.assist.frequency_hz,
        baseDamping: s.assist.damping, stopOnFall: true, fallHeightFraction: s.fall.height_fraction, fallTiltDeg: s.fall.tilt_deg,
      });
      const rm = fixedBase ? 'fixed_base' : m;
      runs.push({ mode: rm, r, entry: runEntry(rm, r, fixedBase) });
    }
  } finally {
    plant.dispose();
  }
  for (const { mode: m, entry } of runs) metrics[m === 'fixed_base' ? 'tracking' : m] = entry;

  // ---- the checks ------------------------------------------------------------------------------------------
  const ctx: CheckContext = { ref, geom, kin, cfg, T, fps, fixedBase, selfContacts, excludedPairs: sc.excluded, contacts, skating, id, runs };
  for (const check of CHECKS) {
    if (!check.applies(ctx)) continue;
    const lim = C[check.kind as keyof typeof C];
    for (const out of check.run(ctx)) {
      if (out.metrics) Object.assign(metrics, out.metrics);
      const frames = intervals(out.mask, Math.max(1, Math.round((lim.min_duration ?? 0) * fps)));
      if (!frames.length) continue;
      reasons.push({ kind: check.kind, hard: !!lim.hard, message: out.message(frames), frames });
      for (const [a, b] of frames) events.push({ frame: a, kind: check.kind, detail: `${out.detail(a)} (frames ${a}-${b}, ${round((b - a + 1) / fps, 3)} s)` });
    }
  }

  reasons.sort((a, b) => Number(b.hard) - Number(a.hard) || a.frames[0][0] - b.frames[0][0] || a.kind.localeCompare(b.kind));
  events.sort((a, b) => a.frame - b.frame || a.kind.localeCompare(b.kind));
  const maxEvents = opts.maxEvents ?? 500;
  if (events.length > maxEvents) metrics.events_left_off = events.length - maxEvents;
  let drift = 0, steps = 0, wall = 0, simSec = 0;
  for (const { r } of runs) {
    steps += r.steps; wall += r.wallSeconds; simSec += r.simSeconds;
    drift = Math.max(drift, ...Array.from(r.jointDrift).filter(Number.isFinite));
  }
  return {
    feasible: !reasons.some((r) => r.hard),
    reasons,
    metrics,
    events: events.slice(0, maxEvents),
    sim: {
      engine: plant.engine,
      self_contacts: plant.selfContacts,
      dt: s.dt,
      substeps: Math.max(1, Math.round(1 / fps / s.dt)),
      solver_iterations: s.joints === 'articulated' ? s.contact_iterations : s.solver_iterations,
      joints: s.joints,
      steps,
      steps_per_second: wall > 0 ? Math.round(steps / wall) : 0,
      realtime_factor: wall > 0 ? round(simSec / wall, 2) : 0,
      joint_drift_mm: round(drift * 1000, 4),
    },
  };
}

/**
 * moved(a, b): the largest displacement of any collision point of any body between frames a and b (m), bounded
 * by |translation of the top link origin| + |rotation angle| x (the body's largest point distance from it).
 */
function posesMoved(geom: RobotGeometry, pose: Float64Array, L: number): (a: number, b: number) => number {
  const radius = geom.bodies.map((b) => {
    const p = bodySamplePoints(b);
    let r = 0;
    for (let i = 0; i < p.length; i += 3) r = Math.max(r, hypot3(p[i], p[i + 1], p[i + 2]));
    // Sample points of spheres are its poles only: add the radius of every ball as a margin.
    for (const s of b.shapes) if (s.kind === 'ball' || s.kind === 'capsule' || s.kind === 'cylinder') r += s.radius;
    return r;
  });
  return (a, b) => {
    let worst = 0;
    geom.bodies.forEach((body, i) => {
      const oa = (a * L + body.top) * 12, ob = (b * L + body.top) * 12;
      const dt = hypot3(pose[ob + 9] - pose[oa + 9], pose[ob + 10] - pose[oa + 10], pose[ob + 11] - pose[oa + 11]);
      // Rotation angle between the two frames: trace of Ra^T Rb = 1 + 2 cos(angle).
      let tr = 0;
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) tr += pose[oa + 3 * r + c] * pose[ob + 3 * r + c];
      const ang = Math.acos(Math.max(-1, Math.min(1, (tr - 1) / 2)));
      worst = Math.max(worst, dt + ang * radius[i]);
    });
    return worst;
  };
}

/** A foot body's sole: its sample points (top-link frame) within 1 cm of its lowest in the zero pose. */
function solePoints(geom: RobotGeometry, b: number): Float64Array {
  const kin = geom.kin;
  kin.fk(new Float64Array(kin.nq));
  const p = bodySamplePoints(geom.bodies[b]), P = kin.pose, o = 12 * geom.bodies[b].top;
  const z = (i: number): number => P[o + 6] * p[i] + P[o + 7] * p[i + 1] + P[o + 8] * p[i + 2];
  let low = Infinity;
  for (let i = 0; i < p.length; i += 3) low = Math.min(low, z(i));
  const out: number[] = [];
  for (let i = 0; i < p.length; i += 3) if (z(i) <= low + 0.01) out.push(p[i], p[i + 1], p[i + 2]);
  return Float64Array.from(out);
}


/** Validate a motion file against a URDF file (the CLI's entry point). */
export async function checkFeasibilityFiles(motionFile: string, urdfFile: string, opts: CheckOptions = {}): Promise<ValidationReport> {
  const { loadMotion } = await import('../robot/motion.ts');
  const motion = loadMotion(motionFile);
  const robot = loadUrdf(urdfFile);
  // A motion records the URDF it was made for: validating it against another model says nothing about either.
  const made = motion.robot?.urdf_sha256;
  if (typeof made === 'string' && /^[0-9a-f]{64}$/.test(made) && made !== robot.sha256) {
    throw new UserError(`the motion was made for robot ${motion.robot.name} with a URDF of sha256 ${made.slice(0, 12)}…, not this URDF (${robot.name}, sha256 ${robot.sha256.slice(0, 12)}…): validate it against the URDF it was retargeted for`, motionFile);
  }
  return checkFeasibility(motion, robot, { ...opts, file: opts.file ?? motionFile });
}

export type { Reference, TrackResult, RobotGeometry };
