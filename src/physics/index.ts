/**
 * The physics-consistent stage: a whole-body tracking controller (controller.ts) drives the robot's dynamics
 * (plant.ts) to follow the kinematic retarget, with a centre-of-mass reference made feasible from the
 * reference's own footsteps (com.ts). The simulated trajectory, sampled at the motion's frames, is the output
 * motion; the kinematic retarget is kept beside it as `reference_*`. A graded verdict says whether the reference
 * was already feasible, was corrected (with its deviations), or cannot be followed (with frames and joints).
 *
 *   const { motion, report } = await physicsCorrect(kinematicMotion, robot);
 *   report.status; report.reasons; report.deviation
 */
import type { RobotMotion } from '../robot/motion.ts';
import { loadUrdf, type UrdfRobot } from '../robot/urdf.ts';
import { matToQuat, type Kinematics } from '../robot/kinematics.ts';
import { robotGeometry, type RobotGeometry } from '../sim/geometry.ts';
import { buildReference, differentiate, sampleReference, type Reference } from '../sim/reference.ts';
import { findFeet, trackContacts, type FootTrack } from '../sim/contacts.ts';
import { bodySamplePoints } from '../sim/geometry.ts';
import { convexHull2d } from '../math/hull2d.ts';
import { loadValidationConfig } from '../sim/config.ts';
import { rotationError } from '../sim/math.ts';
import { nd } from '../io/npz.ts';
import { discoverBody } from '../retarget/discover.ts';
import { isHandRobot } from '../retarget/hand/index.ts';
import { WholeBodyController, makeControlTarget, type FootSpec } from './controller.ts';
import { createPlant, makePlantState, type Plant } from '../sim/plant.ts';
import { planCom, secondDiff, type ComPlan } from './com.ts';
import { lengthenSwings, shapeSwings } from './swing.ts';
import { jointSaturation } from './saturation.ts';
import { rebalance, smoothReference, type Rebalanced } from './rebalance.ts';
import { controllerGains, loadPhysicsConfig, type PhysicsConfig } from './config.ts';
import { deepMerge } from '../quality/config.ts';
import { intervals } from '../math/runs.ts';
import type { CheckOptions, ValidationMode, ValidationReport } from '../sim/index.ts';

export { loadPhysicsConfig, PHYSICS_CONFIG_FILE } from './config.ts';
export type { PhysicsConfig } from './config.ts';
export { WholeBodyController } from './controller.ts';
export { planCom } from './com.ts';

export type PhysicsStatus = 'feasible' | 'corrected' | 'infeasible';

export interface PhysicsReason {
  kind: string;
  message: string;
  /** [first, last] frame intervals. */
  frames: [number, number][];
  joints?: string[];
}

export interface KeypointDeviation { mean_m: number; max_m: number }

export interface PhysicsDeviation {
  /** Largest position change of any body (m), over all frames. */
  max_change_m: number;
  keypoints: Record<string, KeypointDeviation>;
  stance_foot: { stances: number; mean_m: number; max_m: number; worst_frames: [number, number] | null };
  root_path: { mean_m: number; max_m: number };
  heading: { mean_deg: number; max_deg: number };
  /** Fraction of frames (over feet) where the simulated foot's contact differs from the reference's stance. */
  timing: { contact_mismatch: number };
  /** The CoM plan's ZMP shift; with the balanced reference, the multibody ZMP's largest distance outside the pinned
   *  support (max, and fraction of supported frames more than 1 cm outside) before and after balancing. */
  com: { zmp_shift_max_m: number; zmp_shifted_frames: number; zmp_outside_before_m?: number; zmp_outside_after_m?: number; zmp_outside_fraction_before?: number; zmp_outside_fraction_after?: number };
}

export interface PhysicsReport {
  status: PhysicsStatus;
  /** What the output motion's q/root_pos/root_quat hold: the simulated motion, or (infeasible) the kinematic reference. */
  output: 'simulated' | 'reference';
  reasons: PhysicsReason[];
  deviation: PhysicsDeviation | null;
  engine: string;
  self_contacts: boolean;
  base: 'fixed' | 'floating';
  /** When the kinematic reference was validated (for `feasible`, or after the controller failed): its verdict. */
  reference_feasible?: boolean;
  /** The controller's reasons when it could not follow a reference the validator passes (kept, status feasible). */
  notes?: PhysicsReason[];
  /** With crossCheck: the same controller on the second engine, and whether the two agree. */
  engines?: { engine: string; status: PhysicsStatus; reasons: string[]; max_change_m: number | null; stance_foot_max_m: number | null; agree: boolean; disagreement: string[] };
  fell_at_frame?: number;
  torque_saturation: { longest_s: number; joints: string[] };
  /** The headroom this run had (set by the stage's own reruns; see PhysicsOptions.headroom). */
  headroom?: Headroom;
  /** This run failed on strength alone and the stage reran it with more headroom, `rounds` times, still infeasible:
   *  the last rerun's headroom and reasons. */
  headroom_retry?: { rounds: number; headroom: Headroom; reasons: string[] };
  sim: { dt: number; control_dt: number; steps: number; cpu_s: number; wall_s: number; realtime_factor: number };
}

export interface PhysicsOptions {
  /** YAML overriding configs/physics.yaml. */
  config?: string | null;
  overrides?: Record<string, unknown>;
  /** Validate the reference with checkFeasibility when the correction barely changed it or the controller could not
   *  follow it (default true; false never grades `feasible`). */
  validateReference?: boolean;
  /** Validate a motion the controller followed (checkFeasibility) and grade it `infeasible`, with
   *  validate's hard reasons, when the validator rejects it (default true). */
  validateOutput?: boolean;
  /** Mode of that validation (default 'assisted': validate's hard checks never come from its closed-loop runs, so
   *  every mode gives the same verdict). A caller that stores the validator's report of the output in its own mode
   *  (src/pipeline/run.ts) passes that mode and reuses the report from `validations` instead of validating again. */
  validateMode?: ValidationMode;
  /** Plant the controller drives (default the articulated dynamics; 'rapier' for the second engine). */
  engine?: 'articulated' | 'rapier';
  /** Run the controller again on Rapier's multibody world (2 ms steps) for a motion it followed, and report
   *  whether the engines agree (report.engines). Slow (Rapier runs below real time here); off by default. */
  crossCheck?: boolean;
  file?: string;
  /** More headroom than the defaults (the stage sets it itself when it reruns a clip that failed on strength alone,
   *  the `retry` settings). */
  headroom?: Headroom;
}

/**
 * Headroom for a rerun. joints: factor (joint name -> factor) on the effort the controller may use of that joint;
 * reach: factor on the ankle effort the planned ZMP's reach is drawn with (com.reach_effort); widen: metres added to
 * the margins the planned ZMP and the balanced reference keep inside the support (com.zmp_margin, rebalance.margin).
 */
export interface Headroom { joints?: Record<string, number>; reach?: number; widen?: number }

const r4 = (v: number, d = 4): number => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

/** Robot geometry with the same options the validator uses (one cache for both stages). */
async function geometryFor(robot: UrdfRobot): Promise<RobotGeometry> {
  const g = loadValidationConfig().geometry;
  return robotGeometry(robot, {
    defaultMass: g.default_mass, decimateCell: g.decimate_cell, hullVolumeRatio: g.hull_volume_ratio,
    maxHullsPerMesh: g.max_hulls_per_mesh, missingCollision: g.missing_collision,
    armaturePerEffort: g.armature_per_effort, armatureMax: g.armature_max,
  });
}

/** Sole corners of a foot body in its top-link frame: the footprint rectangle of its lowest sample points at the zero pose. */
function soleCorners(geom: RobotGeometry, body: number): Float64Array {
  const kin = geom.kin, b = geom.bodies[body];
  kin.fk(new Float64Array(kin.nq));
  const P = kin.pose, o = 12 * b.top;
  const pts = bodySamplePoints(b);
  let zmin = Infinity;
  const w: number[] = [];
  for (let i = 0; i < pts.length; i += 3) {
    const x = pts[i], y = pts[i + 1], z = pts[i + 2];
    const wx = P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9], wy = P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10];
    const wz = P[o + 6] * x + P[o + 7] * y + P[o + 8] * z + P[o + 11];
    w.push(wx, wy, wz);
    zmin = Math.min(zmin, wz);
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < w.length; i += 3) {
    if (w[i + 2] > zmin + 0.01) continue;
    x0 = Math.min(x0, w[i]); x1 = Math.max(x1, w[i]); y0 = Math.min(y0, w[i + 1]); y1 = Math.max(y1, w[i + 1]);
  }
  const out = new Float64Array(12);
  [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].forEach(([x, y], k) => {
    // world -> top link frame: R^T (p - t)
    const dx = x - P[o + 9], dy = y - P[o + 10], dz = zmin - P[o + 11];
    out[3 * k] = P[o] * dx + P[o + 3] * dy + P[o + 6] * dz;
    out[3 * k + 1] = P[o + 1] * dx + P[o + 4] * dy + P[o + 7] * dz;
    out[3 * k + 2] = P[o + 2] * dx + P[o + 5] * dy + P[o + 8] * dz;
  });
  return out;
}

/** CoM of every frame of the reference ([T,3]). */
function referenceCom(ref: Reference, geom: RobotGeometry): Float64Array {
  const L = geom.kin.nLinks, out = new Float64Array(3 * ref.T);
  const M = geom.bodies.reduce((a, b) => a + b.mass, 0);
  for (let t = 0; t < ref.T; t++) {
    let cx = 0, cy = 0, cz = 0;
    for (const b of geom.bodies) {
      const o = (t * L + b.top) * 12, P = ref.pose, [x, y, z] = b.com;
      cx += b.mass * (P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9]);
      cy += b.mass * (P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10]);
      cz += b.mass * (P[o + 6] * x + P[o + 7] * y + P[o + 8] * z + P[o + 11]);
    }
    out[3 * t] = cx / M; out[3 * t + 1] = cy / M; out[3 * t + 2] = cz / M;
  }
  return out;
}

/**
 * A foot's sole corners clipped to where its ankle's effort can hold the centre of pressure: with the foot carrying
 * `share` of the weight m g, the CoP is at most effort / (share m g) from the ankle pitch axis (forward, backward) and
 * from the ankle roll axis (sideways; no roll joint: no clip). Axes found from the foot link up at the zero pose.
 */
export function ankleReachCorners(kin: Kinematics, foot: FootSpec, weight: number, share: number): Float64Array {
  kin.fk(new Float64Array(kin.nq));
  const P = kin.pose, fo = 12 * foot.link;
  let pitch: { x: number; eff: number } | null = null, roll: { y: number; eff: number } | null = null;
  for (let l = foot.link, depth = 0; l > 0 && depth < 4; l = kin.linkParent[l], depth++) {
    const d = kin.linkDof(l), j = kin.linkJoint[l];
    if (d < 0 || !j) continue;
    const o = 12 * l, a = j.axis;
    const ax = P[o] * a[0] + P[o + 1] * a[1] + P[o + 2] * a[2], ay = P[o + 3] * a[0] + P[o + 4] * a[1] + P[o + 5] * a[2];
    // Joint position in the foot frame: R_f^T (p - o_f).
    const dx = P[o + 9] - P[fo + 9], dy = P[o + 10] - P[fo + 10], dz = P[o + 11] - P[fo + 11];
    const fx = P[fo] * dx + P[fo + 3] * dy + P[fo + 6] * dz, fy = P[fo + 1] * dx + P[fo + 4] * dy + P[fo + 7] * dz;
    const eff = kin.effortLimit[d];
    if (!(eff > 0) || !Number.isFinite(eff)) continue;
    if (!pitch && Math.abs(ay) > 0.7) pitch = { x: fx, eff };
    else if (!roll && Math.abs(ax) > 0.7) roll = { y: fy, eff };
  }
  const out = Float64Array.from(foot.corners);
  for (let k = 0; k < 4; k++) {
    if (pitch) { const r = pitch.eff / (share * weight); out[3 * k] = Math.min(pitch.x + r, Math.max(pitch.x - r, out[3 * k])); }
    if (roll) { const r = roll.eff / (share * weight); out[3 * k + 1] = Math.min(roll.y + r, Math.max(roll.y - r, out[3 * k + 1])); }
  }
  return out;
}

/** Per frame the convex hull (x, y, ccw) of the stance feet's sole corners in the reference's pose; empty in flight.
 *  `two`: the corners to use when two feet are in stance (default the same). */
function stancePolygons(ref: Reference, kin: Kinematics, feet: FootSpec[], stance: Uint8Array, two: FootSpec[] = feet): Float64Array[] {
  const L = kin.nLinks, nF = feet.length, out: Float64Array[] = [];
  for (let t = 0; t < ref.T; t++) {
    const pts: number[] = [];
    let k = 0;
    for (let f = 0; f < nF; f++) k += stance[t * nF + f];
    for (let f = 0; f < nF; f++) {
      if (!stance[t * nF + f]) continue;
      const o = (t * L + feet[f].link) * 12, P = ref.pose, c = (k >= 2 ? two : feet)[f].corners;
      for (let k = 0; k < 4; k++) {
        const x = c[3 * k], y = c[3 * k + 1], z = c[3 * k + 2];
        pts.push(P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9], P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10]);
      }
    }
    out.push(pts.length ? convexHull2d(pts) : new Float64Array(0));
  }
  return out;
}

/** Link origin positions, velocities and orientations of one link over the reference. */
function linkTrack(ref: Reference, kin: Kinematics, link: number): { pos: Float64Array; vel: Float64Array; quat: Float64Array } {
  const T = ref.T, L = kin.nLinks;
  const pos = new Float64Array(3 * T), vel = new Float64Array(3 * T), quat = new Float64Array(4 * T);
  for (let t = 0; t < T; t++) {
    const o = (t * L + link) * 12;
    for (let k = 0; k < 3; k++) pos[3 * t + k] = ref.pose[o + 9 + k];
    matToQuat(ref.pose, o, quat, 4 * t);
  }
  differentiate(pos, T, 3, ref.dt, vel);
  return { pos, vel, quat };
}


function yaw(q: ArrayLike<number>, o: number): number {
  const w = q[o], x = q[o + 1], y = q[o + 2], z = q[o + 3];
  return Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}


/** Pass-through result: the reference unchanged, with the reason the controller could not start. */
function cannotStart(motion: RobotMotion, message: string, base: 'fixed' | 'floating'): PhysicsResult {
  const report: PhysicsReport = {
    status: 'infeasible', output: 'reference', reasons: [{ kind: 'start', message, frames: [[0, 0]] }], deviation: null, engine: 'articulated',
    self_contacts: false, base, torque_saturation: { longest_s: 0, joints: [] },
    sim: { dt: 0, control_dt: 0, steps: 0, cpu_s: 0, wall_s: 0, realtime_factor: 0 },
  };
  return { motion: withPhysics(motion, motion, report), report };
}

/** The output motion: `sim` in q/root_pos/root_quat, the kinematic reference as extras, the report in meta.physics. */
function withPhysics(reference: RobotMotion, sim: RobotMotion, report: PhysicsReport): RobotMotion {
  const T = reference.timestamps.length, n = reference.jointNames.length;
  return {
    ...sim,
    extras: {
      ...(reference.extras ?? {}),
      reference_q: nd(Float32Array.from(reference.q), [T, n]),
      reference_root_pos: nd(Float32Array.from(reference.rootPos), [T, 3]),
      reference_root_quat: nd(Float32Array.from(reference.rootQuat), [T, 4]),
    },
    meta: { ...(reference.meta ?? {}), physics: physicsMeta(report) },
  };
}

/** The part of the report stored in meta.json (`physics`). */
export function physicsMeta(r: PhysicsReport): Record<string, unknown> {
  // Content only: run-dependent figures (CPU and wall time) stay in the report, so the same input gives the same file.
  const { dt, control_dt, steps } = r.sim;
  return { status: r.status, output: r.output, deviation: r.deviation, reasons: r.reasons, engine: r.engine, self_contacts: r.self_contacts, base: r.base, torque_saturation: r.torque_saturation, sim: { dt, control_dt, steps }, ...(r.reference_feasible !== undefined ? { reference_feasible: r.reference_feasible } : {}), ...(r.notes ? { notes: r.notes } : {}), ...(r.engines ? { engines: r.engines } : {}), ...(r.fell_at_frame !== undefined ? { fell_at_frame: r.fell_at_frame } : {}), ...(r.headroom ? { headroom: r.headroom } : {}), ...(r.headroom_retry ? { headroom_retry: r.headroom_retry } : {}) };
}

/**
 * Make a kinematic robot motion physically consistent. Returns the output motion (simulated trajectory,
 * reference kept) and the report. Bad input the controller cannot start from gives status `infeasible` with a
 * one-line reason and the reference unchanged as the motion.
 */
export interface PhysicsResult {
  /** The output motion (simulated, or the kinematic reference when infeasible) with the reference kept beside it. */
  motion: RobotMotion;
  report: PhysicsReport;
  /** The balanced kinematic reference the controller tracked (floating base with rebalance on): stance feet pinned
   *  flat, CoM moved so the multibody ZMP stays in the support. */
  balanced?: RobotMotion;
  /** The stance the stage planned with (floating base): [T, feet] 1 in stance, after hovering feet were put down and
   *  short swings lengthened (contacts.hover, contacts.min_swing); `feet` are the foot links' names. */
  stance?: { feet: string[]; mask: Uint8Array };
  /** The validator runs the stage made, each with the motion object it validated and the options it passed. */
  validations?: StageValidation[];
}

export interface StageValidation { motion: RobotMotion; options: CheckOptions; report: ValidationReport }

/**
 * The report of a validation the physics stage ran on this very motion with these options (the file name aside,
 * which only words errors), or undefined. "This very motion": every field but `extras` and `meta` is the same
 * object — the validator reads the trajectory, names, root link and mapping, never extras or meta, which are all
 * the physics stage adds to the motion it validated (reference_* and meta.physics).
 */
export function reusableValidation(motion: RobotMotion, options: CheckOptions, validations: StageValidation[]): ValidationReport | undefined {
  const sameMotion = (a: RobotMotion): boolean => {
    const keys = new Set([...Object.keys(a), ...Object.keys(motion)]);
    keys.delete('extras');
    keys.delete('meta');
    return [...keys].every((k) => a[k as keyof RobotMotion] === motion[k as keyof RobotMotion]);
  };
  const sameOptions = (o: CheckOptions): boolean => {
    const keys = new Set([...Object.keys(o), ...Object.keys(options)]);
    keys.delete('file');
    return [...keys].every((k) => o[k as keyof CheckOptions] === options[k as keyof CheckOptions]);
  };
  return validations.find((v) => sameMotion(v.motion) && sameOptions(v.options))?.report;
}

export async function physicsCorrect(motion: RobotMotion, robotOrUrdf: UrdfRobot | string, opts: PhysicsOptions = {}, round = 0): Promise<PhysicsResult> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const robot = typeof robotOrUrdf === 'string' ? loadUrdf(robotOrUrdf) : robotOrUrdf;
  const cfg = loadPhysicsConfig(opts.config, opts.overrides);
  const geom = await geometryFor(robot);
  const kin = geom.kin;
  const nq = kin.nq;
  const ref = buildReference(motion, kin, opts.file);
  const T = ref.T, L = kin.nLinks;
  const hand = isHandRobot(kin);
  const feet = hand ? [] : findFeet(geom, cfg.contacts.foot_tolerance);
  kin.fk(new Float64Array(nq));
  let rootToLowest = 0;
  for (const f of feet) rootToLowest = Math.max(rootToLowest, -kin.pose[12 * geom.bodies[f].top + 11]);
  const floating = !hand;
  if (floating && !(feet.length >= 2 && rootToLowest > 0.3)) return cannotStart(motion, `${robot.name}: no feet found (need two foot bodies well below the root), cannot balance it`, 'floating');
  const contacts: FootTrack | null = floating ? trackContacts(ref, geom, feet, { contactHeight: cfg.contacts.contact_height, footTolerance: cfg.contacts.foot_tolerance }) : null;
  const nF = feet.length;
  if (contacts) {
    let low = Infinity;
    for (let f = 0; f < nF; f++) low = Math.min(low, contacts.height[f]);
    if (!Number.isFinite(low) || Math.abs(low) > cfg.verdict.start_height_error) {
      return cannotStart(motion, `first frame is not a standing pose: lowest foot ${Number.isFinite(low) ? `${(low * 100).toFixed(1)} cm ${low > 0 ? 'above' : 'below'}` : 'not found relative to'} the ground (limit ${cfg.verdict.start_height_error * 100} cm)`, 'floating');
    }
  }
  for (let i = 0; i < ref.q.length; i++) if (!Number.isFinite(ref.q[i]) || !Number.isFinite(ref.qd[i])) return cannotStart(motion, 'reference has non-finite joint values', floating ? 'floating' : 'fixed');

  // Feet (left first by +y at the zero pose), hands.
  kin.fk(new Float64Array(nq));
  const footOrder = feet.map((b, i) => i).sort((a, b) => kin.pose[12 * geom.bodies[feet[b]].top + 10] - kin.pose[12 * geom.bodies[feet[a]].top + 10]);
  const footBodies = footOrder.map((i) => feet[i]);
  const footNames = footBodies.map((b) => geom.bodies[b].name);
  const footSpecs: FootSpec[] = footBodies.map((b) => ({ link: geom.bodies[b].top, corners: soleCorners(geom, b) }));
  const hands: { link: number; name: string }[] = [];
  if (floating) {
    try {
      const body = discoverBody(kin);
      for (const side of ['left', 'right'] as const) hands.push({ link: kin.linkIndex(body.arms[side].end.link), name: body.arms[side].end.link });
    } catch { /* no arms found: no hand tasks */ }
  }
  const gains = { ...controllerGains(cfg.controller), ...(opts.headroom?.joints ? { effortScale: opts.headroom.joints } : {}) };
  const ctrl = new WholeBodyController(geom, { fixedBase: !floating, gravity: cfg.sim.gravity, feet: footSpecs, hands, footNames, gains });

  // Time base: k plant steps per frame.
  const k = Math.max(1, Math.ceil(ref.dt / cfg.sim.max_dt - 1e-9));
  const dt = ref.dt / k;
  ctrl.controlDt = dt * cfg.sim.control_every;
  const plant: Plant = await createPlant(geom, { engine: opts.engine ?? 'articulated', dt, fixedBase: !floating, friction: cfg.sim.friction, gravity: cfg.sim.gravity, jointStops: cfg.sim.joint_stops, jointStopHz: cfg.sim.joint_stop_hz });

  // Stance per (ordered) foot.
  const stance = new Uint8Array(T * nF);
  if (contacts) for (let t = 0; t < T; t++) for (let i = 0; i < nF; i++) stance[t * nF + i] = contacts.stance[t * nF + footOrder[i]];
  // A foot held still just above the ground (on something the robot's world does not have, or a lifted heel) for
  // at least `hover.min_duration` is put down: it stands on the floor rather than hovering on one leg.
  if (contacts && cfg.contacts.hover.height > 0) {
    const h = cfg.contacts.hover, minLen = Math.max(1, Math.round(h.min_duration / ref.dt));
    for (let i = 0; i < nF; i++) {
      const f = footOrder[i];
      for (let a = 0; a < T; ) {
        const still = (t: number) => !stance[t * nF + i] && contacts.height[t * nF + f] < h.height && contacts.speed[t * nF + f] < h.speed;
        if (!still(a)) { a++; continue; }
        let b = a;
        while (b + 1 < T && still(b + 1)) b++;
        if (b - a + 1 >= minLen) for (let t = a; t <= b; t++) stance[t * nF + i] = 1;
        a = b + 1;
      }
    }
  }
  // Steps the robot can take: a swing shorter than contacts.min_swing is lengthened into the stances around it.
  const addedSwing = contacts && floating ? lengthenSwings(stance, T, nF, Math.round(cfg.contacts.min_swing / ref.dt)) : new Uint8Array(T * nF);
  const comRef = floating ? referenceCom(ref, geom) : new Float64Array(3 * T);
  // Support per frame from the stance as decided above (hovering feet put down included): the sole corners of the
  // stance feet in the reference's pose.
  // With com.ankle_reach the planned ZMP also stays where the ankles' effort can hold the centre of pressure.
  const weight = geom.bodies.reduce((a, b) => a + b.mass, 0) * cfg.sim.gravity;
  const reach = cfg.com.ankle_reach && floating
    ? [1, cfg.com.reach_double_share].map((share) => footSpecs.map((f) => ({ link: f.link, corners: ankleReachCorners(kin, f, weight / (cfg.controller.effort_use * cfg.com.reach_effort * (opts.headroom?.reach ?? 1)), share) }))) as [FootSpec[], FootSpec[]]
    : null;
  const support = contacts ? stancePolygons(ref, kin, reach ? reach[0] : footSpecs, stance, reach ? reach[1] : footSpecs) : [];
  let plan: ComPlan | null = contacts
    ? planCom(comRef, T, ref.dt, cfg.sim.gravity, support, cfg.com.zmp_margin + (opts.headroom?.widen ?? 0), Math.max(1, Math.round(cfg.com.smoothing / ref.dt)))
    : null;
  // The reference the controller tracks: the kinematic retarget, or (floating base) its balanced version, with
  // the stance feet pinned and the CoM moved until the multibody ZMP stays in the support. Deviations and the
  // verdict are measured against the kinematic retarget (ref).
  let balanced: Rebalanced | null = null;
  let tref: Reference = ref;
  if (contacts && plan && cfg.rebalance.enabled) {
    const rb = cfg.rebalance;
    balanced = rebalance(smoothReference(ref, kin, rb.presmooth), geom, footSpecs, stance, hands.map((h) => h.link), plan.com, cfg.sim.gravity,
      { rounds: rb.rounds, ikPeriod: rb.ik_period, ikIters: rb.ik_iters, margin: rb.margin + (opts.headroom?.widen ?? 0), smoothing: rb.smoothing, weights: rb.weights, ...(reach ? { supportFeet: reach } : {}) });
    tref = balanced.ref;
    const vel = new Float64Array(3 * T), acc = new Float64Array(3 * T);
    differentiate(balanced.com, T, 3, ref.dt, vel);
    secondDiff(balanced.com, T, ref.dt, acc);
    plan = { ...plan, com: balanced.com, vel, acc };
  }

  ctrl.holdTarget = balanced !== null;
  // Per-frame targets (from the tracked reference).
  const footTr = footSpecs.map((f) => linkTrack(tref, kin, f.link));
  const handTr = hands.map((h) => linkTrack(tref, kin, h.link));
  const rootAngVel = new Float64Array(3 * T);
  {
    const e = new Float64Array(3);
    for (let t = 0; t < T; t++) {
      const a = Math.max(0, t - 1), b = Math.min(T - 1, t + 1);
      rotationError(tref.rootQuat.subarray(4 * b, 4 * b + 4), tref.rootQuat.subarray(4 * a, 4 * a + 4), e);
      for (let c = 0; c < 3; c++) rootAngVel[3 * t + c] = b > a ? e[c] / ((b - a) * ref.dt) : 0;
    }
  }
  // Without the balanced reference, a stance foot's target is lowered onto the ground (pinned feet already are).
  if (contacts && !balanced) for (let t = 0; t < T; t++) for (let i = 0; i < nF; i++) {
    if (stance[t * nF + i]) footTr[i].pos[3 * t + 2] -= contacts.height[t * nF + footOrder[i]];
  }
  // Swing paths the robot can follow: lifted before they travel, set down after, clear of the floor.
  if (contacts && floating) footTr.forEach((tr, i) => shapeSwings(tr, stance, addedSwing, T, nF, i, ref.dt, cfg.contacts.swing_clearance, cfg.contacts.swing_hold));

  const target = makeControlTarget(nq, nF, hands.length);
  const state = makePlantState(nq);
  // Initial state: frame 0 with the reference's velocities.
  state.q.set(tref.q.subarray(0, nq)); state.qd.set(tref.qd.subarray(0, nq));
  state.rootPos.set(tref.rootPos.subarray(0, 3)); state.rootQuat.set(tref.rootQuat.subarray(0, 4));
  if (floating && T > 1) for (let c = 0; c < 3; c++) state.rootVel[c] = (tref.rootPos[3 + c] - tref.rootPos[c]) / ref.dt;
  if (floating) state.rootAngVel.set(rootAngVel.subarray(0, 3));
  plant.reset(state);

  const outQ = new Float64Array(T * nq), outPos = new Float64Array(3 * T), outQuat = new Float64Array(4 * T);
  const simContact = new Uint8Array(T * nF);
  const satFrame = new Float64Array(T); // seconds of the frame with some joint at its effort limit
  // Per joint and frame: seconds of the frame's control steps with the joint's torque at its effort limit.
  const satJoint = new Float64Array(T * nq);
  const cmd = { tau: new Float64Array(nq) };
  const qS = new Float64Array(nq), qdS = new Float64Array(nq), pS = new Float64Array(3), quS = new Float64Array(4);
  const record = (f: number): void => {
    plant.read(state);
    outQ.set(state.q, f * nq); outPos.set(state.rootPos, 3 * f); outQuat.set(state.rootQuat, 4 * f);
  };
  record(0);
  let steps = 0;
  let diverged = -1, stoppedAt = -1;
  const V = cfg.verdict;
  const rootTop = 0;
  // PHYS_DEBUG=<frame>: per-frame diagnostics from that frame on (the controller prints its task errors too).
  const debugFrom = process.env.PHYS_DEBUG ? Number(process.env.PHYS_DEBUG) : -1;
  const debugLine = (f: number): void => {
    const P = plant.linkPoses(), fix = (v: number) => v.toFixed(3);
    const worst = Array.from(state.q, (v, d) => [v - tref.q[f * nq + d], d] as const).sort((a, b) => Math.abs(b[0]) - Math.abs(a[0])).slice(0, 4);
    console.log(f, 'z', fix(state.rootPos[2]), 'trefz', fix(tref.rootPos[3 * f + 2]),
      'simxy', fix(state.rootPos[0]), fix(state.rootPos[1]), 'trefxy', fix(tref.rootPos[3 * f]), fix(tref.rootPos[3 * f + 1]),
      'jerr', worst.map(([e, d]) => `${kin.dofNames[d].replace('_joint', '')}:${e.toFixed(2)}`).join(' '),
      'footz', footSpecs.map((fs, i) => fix(P[12 * fs.link + 11] - footTr[i].pos[3 * f + 2])).join(','),
      'st', Array.from(target.stance).join(''), 'ct', footSpecs.map((_, i) => +ctrl.inContact(i)).join(''),
      'fz', ctrl.normalForce.toFixed(0), 'sat', ctrl.saturated,
      'com', Array.from(target.com, fix).join(' '), 'simcom', Array.from(ctrl.com, fix).join(' '));
  };
  const fallen = (f: number): boolean => {
    // Root below a fraction of its reference height, or tilted beyond the limit from the reference's.
    const P = plant.linkPoses(), o = 12 * rootTop, r = (f * L + rootTop) * 12;
    const tilt = Math.acos(Math.max(-1, Math.min(1, P[o + 2] * ref.pose[r + 2] + P[o + 5] * ref.pose[r + 5] + P[o + 8] * ref.pose[r + 8])));
    return P[o + 11] < V.fall_height_fraction * ref.pose[r + 11] || tilt > (V.fall_tilt_deg * Math.PI) / 180;
  };
  for (let f = 0; f < T - 1 && diverged < 0; f++) {
    for (let s = 0; s < k; s++) {
      if (steps % cfg.sim.control_every === 0) {
        const u = s / k;
        const time = (f + u) * ref.dt;
        sampleReference(tref, time, qS, qdS, pS, quS);
        target.qRef.set(qS); target.qdRef.set(qdS);
        for (let d = 0; d < nq; d++) target.qddRef[d] = tref.qdd[f * nq + d] * (1 - u) + tref.qdd[(f + 1) * nq + d] * u;
        target.rootQuat.set(quS);
        for (let c = 0; c < 3; c++) target.rootAngVel[c] = rootAngVel[3 * f + c] * (1 - u) + rootAngVel[3 * f + 3 + c] * u;
        const fi = u < 0.5 ? f : f + 1;
        for (let i = 0; i < nF; i++) {
          target.stance[i] = stance[fi * nF + i];
          for (let c = 0; c < 3; c++) {
            target.footPos[3 * i + c] = footTr[i].pos[3 * f + c] * (1 - u) + footTr[i].pos[3 * f + 3 + c] * u;
            target.footVel[3 * i + c] = footTr[i].vel[3 * f + c] * (1 - u) + footTr[i].vel[3 * f + 3 + c] * u;
          }
          target.footQuat.set(footTr[i].quat.subarray(4 * fi, 4 * fi + 4), 4 * i);
        }
        for (let i = 0; i < hands.length; i++) for (let c = 0; c < 3; c++) {
          target.handPos[3 * i + c] = handTr[i].pos[3 * f + c] * (1 - u) + handTr[i].pos[3 * f + 3 + c] * u;
          target.handVel[3 * i + c] = handTr[i].vel[3 * f + c] * (1 - u) + handTr[i].vel[3 * f + 3 + c] * u;
        }
        if (plan) for (let c = 0; c < 3; c++) {
          target.com[c] = plan.com[3 * f + c] * (1 - u) + plan.com[3 * f + 3 + c] * u;
          target.comVel[c] = plan.vel[3 * f + c] * (1 - u) + plan.vel[3 * f + 3 + c] * u;
          target.comAcc[c] = plan.acc[3 * f + c] * (1 - u) + plan.acc[3 * f + 3 + c] * u;
        }
        plant.read(state);
        ctrl.debug = debugFrom >= 0 && f >= debugFrom && f < debugFrom + 20;
        ctrl.compute(state, target);
        cmd.tau.set(ctrl.tau);
        if (ctrl.saturated) {
          satFrame[f] += ctrl.controlDt;
          for (let d = 0; d < nq; d++) if (ctrl.atLimit(d)) satJoint[f * nq + d] += ctrl.controlDt;
        }
        for (let i = 0; i < nF; i++) if (ctrl.inContact(i)) simContact[f * nF + i] = 1;
      }
      try {
        plant.step(cmd);
      } catch {
        diverged = f;
        break;
      }
      steps++;
    }
    if (diverged < 0) {
      plant.read(state);
      // Runaway states (a controller fighting an impossible reference) count as divergence before they become NaN.
      let runaway = !(Math.abs(state.rootPos[0]) + Math.abs(state.rootPos[1]) + Math.abs(state.rootPos[2]) < 1e3);
      for (let d = 0; d < nq; d++) if (!(Math.abs(state.qd[d]) < 1e4)) runaway = true;
      if (runaway) diverged = f;
      else {
        record(f + 1);
        // Fallen: nothing after this can be a demonstration; stop simulating (the output is the reference).
        if (floating && fallen(f + 1)) { stoppedAt = f + 1; break; }
      }
    }
    if (debugFrom >= 0 && f >= debugFrom && f < debugFrom + 100 && f % 4 === 0) debugLine(f);
  }
  if (stoppedAt >= 0) {
    for (let f = stoppedAt + 1; f < T; f++) { outQ.copyWithin(f * nq, stoppedAt * nq, stoppedAt * nq + nq); outPos.copyWithin(3 * f, 3 * stoppedAt, 3 * stoppedAt + 3); outQuat.copyWithin(4 * f, 4 * stoppedAt, 4 * stoppedAt + 4); }
  }
  if (diverged >= 0) {
    // Hold the last good state (never NaN in an output).
    for (let f = diverged + 1; f < T; f++) { outQ.copyWithin(f * nq, diverged * nq, diverged * nq + nq); outPos.copyWithin(3 * f, 3 * diverged, 3 * diverged + 3); outQuat.copyWithin(4 * f, 4 * diverged, 4 * diverged + 4); }
  }
  plant.dispose();
  const simSeconds = steps * dt;

  // Simulated motion in the input's joint order.
  const n = motion.jointNames.length;
  const map = motion.jointNames.map((nm) => kin.dofIndex(nm));
  const q = new Float32Array(T * n);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) q[t * n + i] = outQ[t * nq + map[i]];
  const simMotion: RobotMotion = { ...motion, q, rootPos: Float32Array.from(outPos), rootQuat: Float32Array.from(outQuat) };

  // ---- deviations ---------------------------------------------------------------------------------
  const simPose = new Float64Array(T * L * 12);
  for (let t = 0; t < T; t++) {
    kin.fk(outQ.subarray(t * nq, t * nq + nq), floating ? { pos: outPos.subarray(3 * t, 3 * t + 3), quat: outQuat.subarray(4 * t, 4 * t + 4) } : { pos: ref.rootPos.subarray(3 * t, 3 * t + 3), quat: ref.rootQuat.subarray(4 * t, 4 * t + 4) });
    simPose.set(kin.pose, t * L * 12);
  }
  const err = (t: number, link: number): number => {
    const o = (t * L + link) * 12;
    return Math.hypot(simPose[o + 9] - ref.pose[o + 9], simPose[o + 10] - ref.pose[o + 10], simPose[o + 11] - ref.pose[o + 11]);
  };
  const keypoints: Record<string, KeypointDeviation> = {};
  const kp = (name: string, link: number): KeypointDeviation => {
    let s = 0, m = 0;
    for (let t = 0; t < T; t++) { const e = err(t, link); s += e; m = Math.max(m, e); }
    return (keypoints[name] = { mean_m: r4(s / T), max_m: r4(m) });
  };
  let maxChange = 0;
  for (let t = 0; t < T; t++) for (const b of geom.bodies) maxChange = Math.max(maxChange, err(t, b.top));
  footSpecs.forEach((f, i) => kp(`foot:${footNames[i]}`, f.link));
  const handDev = hands.map((h) => kp(`hand:${h.name}`, h.link));
  if (floating) kp('root', 0);
  if (!floating) for (const b of geom.bodies) if (b.parent >= 0 && !geom.bodies.some((c) => c.parent === geom.bodies.indexOf(b))) kp(`tip:${b.name}`, b.top);
  // Stance-foot placement: per reference stance interval, mean horizontal position sim vs reference.
  let nSt = 0, stSum = 0, stMax = 0;
  let stWorst: [number, number] | null = null;
  for (let i = 0; i < nF; i++) {
    const mask = new Uint8Array(T);
    for (let t = 0; t < T; t++) mask[t] = stance[t * nF + i];
    for (const [a, b] of intervals(mask, Math.max(2, Math.round(0.1 / ref.dt)))) {
      let ex = 0, ey = 0;
      for (let t = a; t <= b; t++) {
        const o = (t * L + footSpecs[i].link) * 12;
        ex += simPose[o + 9] - ref.pose[o + 9]; ey += simPose[o + 10] - ref.pose[o + 10];
      }
      const e = Math.hypot(ex, ey) / (b - a + 1);
      nSt++; stSum += e;
      if (e > stMax) { stMax = e; stWorst = [a, b]; }
    }
  }
  let rootSum = 0, rootMax = 0, headSum = 0, headMax = 0, headWorst = 0;
  if (floating) for (let t = 0; t < T; t++) {
    const e = Math.hypot(outPos[3 * t] - ref.rootPos[3 * t], outPos[3 * t + 1] - ref.rootPos[3 * t + 1]);
    rootSum += e; rootMax = Math.max(rootMax, e);
    let dh = Math.abs(yaw(outQuat, 4 * t) - yaw(ref.rootQuat, 4 * t));
    if (dh > Math.PI) dh = 2 * Math.PI - dh;
    headSum += dh;
    if (dh > headMax) { headMax = dh; headWorst = t; }
  }
  let mismatch = 0;
  // The controller's contact decision vs the reference's stance, over frames and feet.
  for (let t = 0; t < T - 1; t++) for (let i = 0; i < nF; i++) if (simContact[t * nF + i] !== stance[t * nF + i]) mismatch++;
  const deg = 180 / Math.PI;
  const deviation: PhysicsDeviation = {
    max_change_m: r4(maxChange),
    keypoints,
    stance_foot: { stances: nSt, mean_m: r4(nSt ? stSum / nSt : 0), max_m: r4(stMax), worst_frames: stWorst },
    root_path: { mean_m: r4(rootSum / T), max_m: r4(rootMax) },
    heading: { mean_deg: r4((headSum / T) * deg, 2), max_deg: r4(headMax * deg, 2) },
    timing: { contact_mismatch: r4(nF && T > 1 ? mismatch / ((T - 1) * nF) : 0, 3) },
    com: {
      zmp_shift_max_m: r4(plan?.maxShift ?? 0), zmp_shifted_frames: plan?.shiftedFrames ?? 0,
      ...(balanced ? { zmp_outside_before_m: r4(balanced.zmpOutsideBefore), zmp_outside_after_m: r4(balanced.zmpOutsideAfter), zmp_outside_fraction_before: r4(balanced.zmpOutsideFractionBefore, 3), zmp_outside_fraction_after: r4(balanced.zmpOutsideFractionAfter, 3) } : {}),
    },
  };

  // ---- verdict -------------------------------------------------------------------------------------
  const reasons: PhysicsReason[] = [];
  let fellAt = -1;
  if (floating) for (let t = 0; t < T && fellAt < 0; t++) {
    const o = (t * L) * 12;
    const tilt = Math.acos(Math.max(-1, Math.min(1, simPose[o + 2] * ref.pose[o + 2] + simPose[o + 5] * ref.pose[o + 5] + simPose[o + 8] * ref.pose[o + 8])));
    if (simPose[o + 11] < V.fall_height_fraction * ref.pose[o + 11] || tilt > (V.fall_tilt_deg * Math.PI) / 180) fellAt = t;
  }
  if (diverged >= 0) reasons.push({ kind: 'diverged', message: `simulation diverged at frame ${diverged} (${(diverged * ref.dt).toFixed(2)} s)`, frames: [[diverged, T - 1]] });
  if (fellAt >= 0) {
    // What came before the fall: torques held at their effort limit in the last 0.5 s (the robot lacked the strength),
    // or none (it lost its balance).
    const from = Math.max(0, fellAt - Math.round(0.5 / ref.dt));
    let sat = 0, first = -1;
    for (let t = from; t < fellAt; t++) if (satFrame[t] > 0) { sat += satFrame[t]; if (first < 0) first = t; }
    const why = sat >= 0.1
      ? `; joint torques were at their effort limit for ${sat.toFixed(2)} s of the 0.5 s before (from ${(first * ref.dt).toFixed(2)} s)`
      : '; no joint was at its effort limit before it (balance lost)';
    reasons.push({ kind: 'fell', message: `the robot fell at frame ${fellAt} (${(fellAt * ref.dt).toFixed(2)} s): root below ${V.fall_height_fraction} of its reference height or tilted over ${V.fall_tilt_deg} deg${why}`, frames: [[fellAt, T - 1]] });
  }
  const { longest: longestSat, joints: satLong } = jointSaturation(satJoint, T, nq, V.saturation_max);
  const satJoints = satLong.map((s) => kin.dofNames[s.joint]);
  if (longestSat > V.saturation_max) {
    const frames = satLong.flatMap((s) => s.runs).sort((a, b) => a[0] - b[0]);
    reasons.push({ kind: 'torque', message: `a joint's torque held at its effort limit for ${longestSat.toFixed(2)} s (limit ${V.saturation_max} s): ${satLong.slice(0, 5).map((s) => `${kin.dofNames[s.joint]} ${s.seconds.toFixed(2)} s`).join(', ')}`, frames, joints: satJoints });
  }
  {
    // The plant has no joint stops: a joint pushed past its URDF range (by ground contact against a weak actuator)
    // is a reason, with the frames and joints, as the validator would find it.
    const viol = new Uint8Array(T);
    const worst = new Map<number, number>();
    for (let t = 0; t < T; t++) for (let d = 0; d < nq; d++) {
      const v = outQ[t * nq + d];
      const ex = Math.max(kin.lower[d] - v, v - kin.upper[d]);
      if (ex > V.joint_limit_tolerance) { viol[t] = 1; worst.set(d, Math.max(worst.get(d) ?? 0, ex)); }
    }
    if (worst.size) {
      const joints = [...worst.entries()].sort((a, b) => b[1] - a[1]).map(([d]) => kin.dofNames[d]);
      reasons.push({ kind: 'joint_position', message: `simulated joints pushed beyond their URDF limits: ${joints.slice(0, 3).map((j) => `${j} by ${worst.get(kin.dofIndex(j))!.toFixed(2)} rad`).join(', ')}`, frames: intervals(viol), joints });
    }
  }
  if (floating) {
    if (stMax > V.stance_foot_max) reasons.push({ kind: 'stance_foot', message: `stance foot placed ${(stMax * 100).toFixed(1)} cm from the reference's (limit ${V.stance_foot_max * 100} cm)`, frames: stWorst ? [stWorst] : [] });
    const handMean = handDev.length ? Math.max(...handDev.map((h) => h.mean_m)) : 0;
    if (handMean > V.hand_mean) reasons.push({ kind: 'hands', message: `hands ${(handMean * 100).toFixed(1)} cm from the reference on average (limit ${V.hand_mean * 100} cm)`, frames: [[0, T - 1]] });
    if (headMax * deg > V.heading_max_deg) reasons.push({ kind: 'heading', message: `root heading off by up to ${(headMax * deg).toFixed(1)} deg (limit ${V.heading_max_deg} deg)`, frames: [[headWorst, headWorst]] });
    if (rootSum / T > V.root_path_mean) reasons.push({ kind: 'root_path', message: `root path ${(rootSum / T * 100).toFixed(1)} cm from the reference on average (limit ${V.root_path_mean * 100} cm)`, frames: [[0, T - 1]] });
  }
  let status: PhysicsStatus = reasons.length ? 'infeasible' : 'corrected';
  let output: 'simulated' | 'reference' = status === 'infeasible' ? 'reference' : 'simulated';
  let referenceFeasible: boolean | undefined;
  let notes: PhysicsReason[] | undefined;
  // The kinematic reference is validated when the correction barely changed it (for `feasible`), and when the
  // controller could not follow it: a reference the validator passes is then kept as it is, `feasible`, with the
  // controller's reasons as notes (the stage never makes a motion the validator accepts infeasible).
  const check = opts.validateReference !== false && (status === 'infeasible' || maxChange < V.feasible_change);
  const validations: StageValidation[] = [];
  if (check) {
    const { checkFeasibility } = await import('../sim/index.ts');
    const options: CheckOptions = { mode: 'both', file: opts.file };
    const v = await checkFeasibility(motion, robot, options);
    validations.push({ motion, options, report: v });
    referenceFeasible = v.feasible;
    if (v.feasible) {
      if (status === 'infeasible') { notes = reasons.splice(0); output = 'reference'; }
      status = 'feasible';
    }
  }
  // A motion the controller followed is `corrected` only if the validator (the project's measure of feasibility)
  // accepts it: the controller may use a joint's whole effort, and a joint driven into its stop gets the stop's
  // torque on top (not counted here), which validate's inverse dynamics of the output sees.
  let outV: ValidationReport | null = null;
  if (status === 'corrected' && opts.validateOutput !== false) {
    const { checkFeasibility } = await import('../sim/index.ts');
    // Mode 'assisted' unless the caller asks for its own: validate's hard checks come from the motion itself (limits,
    // collisions, inverse dynamics, ZMP, friction, residual wrench), never from its closed-loop runs, so one run
    // gives the verdict 'both' gives.
    const options: CheckOptions = { mode: opts.validateMode ?? 'assisted', file: opts.file };
    const v = await checkFeasibility(simMotion, robot, options);
    validations.push({ motion: simMotion, options, report: v });
    outV = v;
    if (!v.feasible) {
      for (const r of v.reasons) if (r.hard) reasons.push({ kind: 'validate', message: `validate rejects the corrected motion: ${r.message}`, frames: r.frames });
      status = 'infeasible';
      output = 'reference';
    }
  }
  // Not followed: run again with more headroom (headroomRetry), up to retry.rounds times. A rerun that succeeds is
  // the result; otherwise this run's verdict stands, with the last rerun's reasons in headroom_retry.
  let retried: PhysicsReport['headroom_retry'];
  if (status === 'infeasible' && round < cfg.retry.rounds) {
    const next = headroomRetry(reasons, outV, kin, cfg.retry, opts.headroom);
    if (next) {
      const again = await physicsCorrect(motion, robot, { ...opts, headroom: next, validateReference: false }, round + 1);
      if (again.report.status !== 'infeasible') {
        const cpuAll = process.cpuUsage(cpu0);
        again.report.sim.cpu_s = r4((cpuAll.user + cpuAll.system) / 1e6, 3);
        again.report.sim.wall_s = r4((performance.now() - wall0) / 1000, 3);
        if (referenceFeasible !== undefined) again.report.reference_feasible = referenceFeasible;
        return again;
      }
      const inner = again.report.headroom_retry;
      retried = inner ? { ...inner, rounds: inner.rounds + 1 } : { rounds: 1, headroom: next, reasons: again.report.reasons.map((r) => `${r.kind}: ${r.message}`) };
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const wallS = (performance.now() - wall0) / 1000;
  const report: PhysicsReport = {
    // An `infeasible` motion keeps the kinematic retarget as its output (a fallen or drifting simulation is no
    // demonstration); the verdict and reasons say why.
    status, output, reasons, deviation, engine: plant.engine, self_contacts: plant.selfContacts, base: floating ? 'floating' : 'fixed',
    ...(referenceFeasible !== undefined ? { reference_feasible: referenceFeasible } : {}),
    ...(notes ? { notes } : {}),
    ...(fellAt >= 0 ? { fell_at_frame: fellAt } : {}),
    torque_saturation: { longest_s: r4(longestSat, 3), joints: satJoints },
    ...(opts.headroom ? { headroom: opts.headroom } : {}),
    ...(retried ? { headroom_retry: retried } : {}),
    sim: { dt: r4(dt, 6), control_dt: r4(dt * cfg.sim.control_every, 6), steps, cpu_s: r4(cpuS, 3), wall_s: r4(wallS, 3), realtime_factor: r4(simSeconds / Math.max(cpuS, 1e-9), 2) },
  };
  if (opts.crossCheck && output === 'simulated' && (opts.engine ?? 'articulated') !== 'rapier') {
    const r2 = (await physicsCorrect(motion, robot, { ...opts, engine: 'rapier', crossCheck: false, validateReference: false, validateOutput: false, overrides: deepMerge(opts.overrides ?? {}, { sim: { max_dt: 0.002 }, retry: { rounds: 0 } }) })).report;
    const d2 = r2.deviation;
    const disagreement: string[] = [];
    if (r2.status === 'infeasible') disagreement.push(`the controller does not follow on ${r2.engine}: ${r2.reasons.map((r) => r.message).join('; ')}`);
    if (d2 && deviation.stance_foot.max_m <= V.stance_foot_max && d2.stance_foot.max_m > V.stance_foot_max) disagreement.push(`stance feet ${(d2.stance_foot.max_m * 100).toFixed(1)} cm off on ${r2.engine}`);
    if (d2 && Math.abs(d2.timing.contact_mismatch - deviation.timing.contact_mismatch) > 0.1) disagreement.push(`contact timing differs: mismatch ${d2.timing.contact_mismatch} on ${r2.engine} vs ${deviation.timing.contact_mismatch}`);
    report.engines = {
      engine: r2.engine, status: r2.status, reasons: r2.reasons.map((r) => `${r.kind}: ${r.message}`), max_change_m: d2?.max_change_m ?? null,
      stance_foot_max_m: d2?.stance_foot.max_m ?? null, agree: !disagreement.length, disagreement,
    };
  }
  return { motion: withPhysics(motion, output === 'reference' ? motion : simMotion, report), report, validations, ...(balanced ? { balanced: balancedMotion(motion, tref, kin) } : {}), ...(contacts && floating ? { stance: { feet: footSpecs.map((f) => kin.linkNames[f.link]), mask: stance } } : {}) };
}

/**
 * The headroom for a rerun of a failed run, or null (none left to give). A run that fell, drifted or deviated gets
 * wider balance margins, once. A run that failed on strength alone: a joint held at its effort too long -> reach
 * times reach_factor (the planned ZMP keeps nearer the ankles); validate's inverse dynamics of the output above a
 * joint's effort, with no other hard reason from validate -> that joint gets effort_share x effort / peak of its
 * current share.
 */
function headroomRetry(reasons: PhysicsReason[], v: ValidationReport | null, kin: Kinematics, retry: PhysicsConfig['retry'], current: Headroom | undefined): Headroom | null {
  if (!reasons.length) return null;
  const next: Headroom = { ...(current ?? {}), ...(current?.joints ? { joints: { ...current.joints } } : {}) };
  // Fell, drifted or deviated: once, wider balance margins.
  if (reasons.some((r) => r.kind !== 'torque' && r.kind !== 'validate')) {
    if (current?.widen || !(retry.widen > 0)) return null;
    next.widen = retry.widen;
    return next;
  }
  if (v && v.reasons.some((r) => r.hard && r.kind !== 'torque')) return null;
  if (reasons.some((r) => r.kind === 'torque')) next.reach = r4((current?.reach ?? 1) * retry.reach_factor, 4);
  const peak = v ? (v.metrics.torque as { peak_nm?: Record<string, number> } | undefined)?.peak_nm : undefined;
  if (reasons.some((r) => r.kind === 'validate')) {
    if (!peak) return null;
    let any = false;
    for (const [name, nm] of Object.entries(peak)) {
      const d = kin.dofIndex(name);
      const e = d >= 0 ? kin.effortLimit[d] : NaN;
      if (!(e > 0 && Number.isFinite(e)) || !(nm > e)) continue;
      next.joints = next.joints ?? {};
      next.joints[name] = r4((next.joints[name] ?? 1) * retry.effort_share * (e / nm), 4);
      any = true;
    }
    if (!any) return null;
  }
  return next;
}

/** The balanced reference as a motion in the input's joint order. */
function balancedMotion(motion: RobotMotion, tref: Reference, kin: Kinematics): RobotMotion {
  const T = tref.T, n = motion.jointNames.length, nq = kin.nq;
  const map = motion.jointNames.map((nm) => kin.dofIndex(nm));
  const q = new Float32Array(T * n);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) q[t * n + i] = tref.q[t * nq + map[i]];
  return { ...motion, q, rootPos: Float32Array.from(tref.rootPos), rootQuat: Float32Array.from(tref.rootQuat) };
}

/** The kinematic reference stored beside a physics motion (null when the motion has none). */
export function referenceOf(m: RobotMotion): RobotMotion | null {
  const e = m.extras;
  if (!e?.reference_q || !e.reference_root_pos || !e.reference_root_quat) return null;
  const { reference_q, reference_root_pos, reference_root_quat, ...rest } = e;
  const { physics: _p, ...meta } = m.meta ?? {};
  return {
    ...m, q: Float32Array.from(reference_q.data as ArrayLike<number>), rootPos: Float32Array.from(reference_root_pos.data as ArrayLike<number>),
    rootQuat: Float32Array.from(reference_root_quat.data as ArrayLike<number>), extras: Object.keys(rest).length ? rest : undefined, meta,
  };
}

export function physicsStatusOf(m: RobotMotion): PhysicsStatus | null {
  const p = m.meta?.physics as { status?: PhysicsStatus } | undefined;
  return p?.status ?? null;
}

