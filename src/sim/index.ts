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
 * 3. closed loop in Rapier — PD tracking unassisted (does it stay up, how far does it drift) and assisted
 *    (a virtual wrench holds the base on the reference; the wrench needed is the residual).
 * Fixed-base robots (hands): limits, self-collision, torques, and PD tracking with the base fixed.
 */
import type { RobotMotion } from '../robot/motion.ts';
import { loadUrdf, type UrdfRobot } from '../robot/urdf.ts';
import { UserError } from '../errors.ts';
import { robotGeometry, pdGains, type RobotGeometry } from './geometry.ts';
import { buildReference, type Reference } from './reference.ts';
import { findFeet, trackContacts, type FootTrack } from './contacts.ts';
import { inverseDynamics, type DynamicsResult } from './dynamics.ts';
import { SelfCollisionWorld } from './selfcollision.ts';
import { buildWorld } from './world.ts';
import { trackMotion, type TrackResult } from './track.ts';
import { trackArticulated } from './track-articulated.ts';
import { loadValidationConfig, type ValidationConfig, type CheckLimit } from './config.ts';

export type { ValidationConfig } from './config.ts';
export { loadValidationConfig, defaultValidationConfig, DEFAULT_CONFIG_FILE } from './config.ts';
export { robotGeometry, pdGains } from './geometry.ts';
export { buildWorld } from './world.ts';
export { buildReference } from './reference.ts';
export { inverseDynamics } from './dynamics.ts';
export { trackMotion } from './track.ts';
export { trackArticulated } from './track-articulated.ts';
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

const round = (v: number, d = 4): number => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

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

  const add = (kind: string, lim: CheckLimit, viol: Uint8Array, message: (frames: [number, number][]) => string, detail: (f: number) => string): void => {
    const minFrames = Math.max(1, Math.round((lim.min_duration ?? 0) * fps));
    const intervals: [number, number][] = [];
    for (let t = 0; t < T; ) {
      if (!viol[t]) { t++; continue; }
      let e = t;
      while (e + 1 < T && viol[e + 1]) e++;
      if (e - t + 1 >= minFrames) intervals.push([t, e]);
      t = e + 1;
    }
    if (!intervals.length) return;
    reasons.push({ kind, hard: !!lim.hard, message: message(intervals), frames: intervals });
    for (const [a, b] of intervals) events.push({ frame: a, kind, detail: `${detail(a)} (frames ${a}-${b}, ${round((b - a + 1) / fps, 3)} s)` });
  };
  const C = cfg.checks;

  // ---- 1. kinematic ---------------------------------------------------------------------------------
  {
    const tol = Number(C.joint_position.tolerance);
    const viol = new Uint8Array(T);
    const worstDof = new Int32Array(T).fill(-1);
    const worstEx = new Float64Array(T);
    let maxEx = 0, maxDof = -1;
    for (let t = 0; t < T; t++) for (let d = 0; d < nq; d++) {
      const v = ref.q[t * nq + d];
      const ex = Math.max(kin.lower[d] - v, v - kin.upper[d]);
      if (ex > worstEx[t] || worstDof[t] < 0) { if (ex > 0) { worstEx[t] = ex; worstDof[t] = d; } }
      if (ex > maxEx) { maxEx = ex; maxDof = d; }
      if (ex > tol) viol[t] = 1;
    }
    metrics.joint_position = { max_excess_rad: round(maxEx), joint: maxDof >= 0 ? kin.dofNames[maxDof] : null, limit_tolerance: tol };
    add('joint_position', C.joint_position, viol,
      (iv) => `joint position beyond URDF limits: ${maxDof >= 0 ? kin.dofNames[maxDof] : ''} by up to ${round(maxEx, 3)} rad, ${iv.length} interval(s)`,
      (f) => { const d = worstDof[f]; return `${kin.dofNames[d]} = ${round(ref.q[f * nq + d], 3)} rad, limits [${round(kin.lower[d], 3)}, ${round(kin.upper[d], 3)}]`; });
  }
  {
    const factor = Number(C.joint_velocity.factor);
    const viol = new Uint8Array(T);
    const worst = new Int32Array(T).fill(-1);
    let maxR = 0, maxDof = -1;
    for (let t = 0; t < T; t++) {
      let wr = 0;
      for (let d = 0; d < nq; d++) {
        const lim = kin.velocityLimit[d];
        if (!(lim > 0 && Number.isFinite(lim))) continue;
        const r = Math.abs(ref.qd[t * nq + d]) / lim;
        if (r > wr) { wr = r; worst[t] = d; }
        if (r > maxR) { maxR = r; maxDof = d; }
      }
      // Motions are stored as float32: a retargeter that clamps to exactly the limit reads back a few parts
      // per million over it. Ratios within 0.1% of the factor are that rounding, not a violation.
      if (wr > factor * (1 + 1e-3)) viol[t] = 1;
    }
    metrics.joint_velocity = { max_ratio_to_limit: round(maxR, 3), joint: maxDof >= 0 ? kin.dofNames[maxDof] : null };
    add('joint_velocity', C.joint_velocity, viol,
      () => `joint velocity above the URDF limit: ${kin.dofNames[maxDof]} at ${round(maxR, 2)}x its limit`,
      (f) => { const d = worst[f]; return `${kin.dofNames[d]} at ${round(Math.abs(ref.qd[f * nq + d]), 2)} rad/s, limit ${kin.velocityLimit[d]}`; });
  }
  let sc: SelfCollisionWorld | null = null;
  {
    sc = new SelfCollisionWorld(geom);
    const depthLim = Number(C.self_collision.depth);
    const viol = new Uint8Array(T);
    const worst: { a: number; b: number; depth: number }[] = new Array(T);
    let maxDepth = 0;
    let maxPair = '';
    let framesInContact = 0;
    const L = kin.nLinks;
    for (let t = 0; t < T; t++) {
      sc.place(ref.pose, t * L * 12);
      const cs = sc.contacts(0.0005);
      if (cs.length) {
        framesInContact++;
        worst[t] = cs[0];
        if (cs[0].depth > maxDepth) { maxDepth = cs[0].depth; maxPair = `${geom.bodies[cs[0].a].name} / ${geom.bodies[cs[0].b].name}`; }
        if (cs[0].depth > depthLim) viol[t] = 1;
      }
    }
    metrics.self_collision = {
      max_depth_m: round(maxDepth), pair: maxPair || null, frames_in_contact: framesInContact,
      excluded_pairs: sc.excluded.map(([a, b]) => `${geom.bodies[a].name} / ${geom.bodies[b].name}`),
    };
    add('self_collision', C.self_collision, viol,
      (iv) => `self-collision: ${maxPair} penetrate up to ${round(maxDepth * 1000, 1)} mm, ${iv.length} interval(s)`,
      (f) => `${geom.bodies[worst[f].a].name} / ${geom.bodies[worst[f].b].name} ${round(worst[f].depth * 1000, 1)} mm deep`);
    sc.free();
  }

  let contacts: FootTrack | null = null;
  if (!fixedBase) {
    contacts = trackContacts(ref, geom, feet, { contactHeight: cfg.contacts.contact_height, footTolerance: cfg.contacts.foot_tolerance });
    const ct = contacts;
    const nF = feet.length;
    const depth = Number(C.ground_penetration.depth);
    const vPen = new Uint8Array(T);
    let minLow = Infinity;
    for (let t = 0; t < T; t++) { if (ct.lowest[t] < -depth) vPen[t] = 1; minLow = Math.min(minLow, ct.lowest[t]); }
    metrics.ground = { min_height_m: round(minLow), stance_fraction: round(Array.from({ length: T }, (_, t) => (ct.stance.subarray(t * nF, t * nF + nF).some((v) => v) ? 1 : 0) as number).reduce((a, b) => a + b, 0) / T, 3) };
    add('ground_penetration', C.ground_penetration, vPen,
      () => `ground penetration: down to ${round(-minLow * 1000, 1)} mm below the ground`,
      (f) => `${geom.bodies[ct.lowestBody[f]].name} ${round(-ct.lowest[f] * 1000, 1)} mm below the ground`);
    const vFloat = new Uint8Array(T);
    const vSkate = new Uint8Array(T);
    const skateSpeed = Number(C.foot_skating.speed);
    let maxSkate = 0;
    let floatFrames = 0;
    for (let t = 0; t < T; t++) {
      let any = false, slowLow = false;
      for (let f = 0; f < nF; f++) {
        const i = t * nF + f;
        if (ct.stance[i]) {
          any = true;
          if (ct.speed[i] > skateSpeed) vSkate[t] = 1;
          maxSkate = Math.max(maxSkate, ct.speed[i]);
        } else if (ct.speed[i] < cfg.contacts.slow_speed && ct.height[i] <= cfg.contacts.float_height) slowLow = true;
      }
      if (!any && slowLow) { vFloat[t] = 1; floatFrames++; }
    }
    metrics.floating = { frames: floatFrames };
    metrics.foot_skating = { max_stance_speed_mps: round(maxSkate, 3) };
    add('floating', C.floating, vFloat, (iv) => `floating: no foot on the ground while a slow foot hovers just above it, ${iv.length} interval(s)`,
      (f) => `lowest foot ${round(Math.min(...Array.from(ct.height.subarray(f * nF, f * nF + nF))) * 1000, 1)} mm above the ground`);
    add('foot_skating', C.foot_skating, vSkate, () => `foot skating: a stance foot slides at up to ${round(maxSkate, 2)} m/s`,
      (f) => `stance foot sliding at ${round(Math.max(...Array.from(ct.speed.subarray(f * nF, f * nF + nF))), 2)} m/s`);
  }

  // ---- 2. dynamic (inverse dynamics on the reference) -----------------------------------------------
  const id: DynamicsResult = inverseDynamics(ref, geom, contacts, cfg.sim.gravity, cfg.contacts.smoothing);
  {
    const factor = Number(C.torque.factor);
    const viol = new Uint8Array(T);
    const worst = new Int32Array(T).fill(-1);
    let maxR = 0, maxDof = -1;
    const peak = new Float64Array(nq);
    for (let t = 0; t < T; t++) {
      let wr = 0;
      for (let d = 0; d < nq; d++) {
        const e = kin.effortLimit[d];
        const a = Math.abs(id.tau[t * nq + d]);
        peak[d] = Math.max(peak[d], a);
        if (!(e > 0 && Number.isFinite(e))) continue;
        const r = a / e;
        if (r > wr) { wr = r; worst[t] = d; }
        if (r > maxR) { maxR = r; maxDof = d; }
      }
      if (wr > factor) viol[t] = 1;
    }
    metrics.torque = { max_ratio_to_effort: round(maxR, 3), joint: maxDof >= 0 ? kin.dofNames[maxDof] : null, peak_nm: Object.fromEntries(kin.dofNames.map((n, d) => [n, round(peak[d], 2)])) };
    add('torque', C.torque, viol,
      () => `joint torque above the URDF effort limit: ${kin.dofNames[maxDof]} needs ${round(maxR, 2)}x its effort`,
      (f) => { const d = worst[f]; return `${kin.dofNames[d]} needs ${round(Math.abs(id.tau[f * nq + d]), 1)} Nm, effort ${kin.effortLimit[d]} Nm`; });
  }
  if (contacts) {
    const margin = Number(C.zmp.margin);
    const vZ = new Uint8Array(T), vF = new Uint8Array(T), vFl = new Uint8Array(T);
    let maxOut = -Infinity, maxFr = 0, maxFl = 0;
    const mu = Number(C.friction_cone.mu);
    for (let t = 0; t < T; t++) {
      const o = id.zmpOutside[t];
      if (Number.isFinite(o) || o === Infinity) { if (o > maxOut) maxOut = o; if (o > margin) vZ[t] = 1; }
      const fr = id.frictionRatio[t];
      if (!Number.isNaN(fr)) { if (fr > maxFr) maxFr = fr; if (fr > mu) vF[t] = 1; }
      const fl = id.flightResidual[t];
      if (!Number.isNaN(fl)) { if (fl > maxFl) maxFl = fl; if (fl > Number(C.flight.residual)) vFl[t] = 1; }
    }
    metrics.zmp = { max_outside_support_m: Number.isFinite(maxOut) ? round(maxOut) : maxOut === Infinity ? 'ground force below 0.1 m g (free fall or pulling)' : null };
    metrics.friction = { max_ratio: Number.isFinite(maxFr) ? round(maxFr, 3) : 'infinite (needs pulling)', mu };
    metrics.flight = { max_residual_weight: round(maxFl, 3) };
    add('zmp', C.zmp, vZ, () => `ZMP outside the support polygon by up to ${Number.isFinite(maxOut) ? round(maxOut * 100, 1) + ' cm' : '(at times the ground force is below 0.1 m g: free fall or pulling while a foot is down)'}`,
      (f) => Number.isFinite(id.zmpOutside[f]) ? `ZMP (${round(id.zmp[2 * f], 3)}, ${round(id.zmp[2 * f + 1], 3)}) is ${round(id.zmpOutside[f] * 100, 1)} cm outside the support polygon` : 'ground force below 0.1 m g while a foot is down (free fall or pulling)');
    add('friction_cone', C.friction_cone, vF, () => `friction cone: the feet need |F_t|/F_n up to ${Number.isFinite(maxFr) ? round(maxFr, 2) : 'infinity'} (mu = ${mu})`,
      (f) => `|F_t|/F_n = ${Number.isFinite(id.frictionRatio[f]) ? round(id.frictionRatio[f], 2) : 'inf'}`);
    add('flight', C.flight, vFl, () => `unsupported: with no foot on the ground the motion needs an external force up to ${round(maxFl, 2)} x body weight`,
      (f) => `needs ${round(id.flightResidual[f], 2)} x body weight with no foot down`);
  }

  // ---- 3. closed loop in Rapier ---------------------------------------------------------------------
  const runs: { mode: string; r: TrackResult }[] = [];
  const s = cfg.sim;
  const q0 = ref.q.subarray(0, nq);
  const base0 = { pos: ref.rootPos.subarray(0, 3), quat: ref.rootQuat.subarray(0, 4) };
  const gains = pdGains(geom, q0, { saturationAngle: s.gains.saturation_angle, kdRatio: s.gains.kd_ratio, dt: s.dt, explicit: s.joints === 'multibody' });
  const trackOpts = (m: 'assisted' | 'unassisted') => ({
    mode: m, kp: gains.kp, kd: gains.kd, feedforward: ff, baseFrequency: s.assist.frequency_hz, baseDamping: s.assist.damping,
    stopOnFall: true, fallHeightFraction: s.fall.height_fraction, fallTiltDeg: s.fall.tilt_deg,
  });
  const ff = s.feedforward ? id.tau : null;
  const modes: ('assisted' | 'unassisted')[] = fixedBase ? ['unassisted'] : mode === 'both' ? ['unassisted', 'assisted'] : [mode];
  for (const m of modes) {
    if (s.joints === 'articulated') {
      const r = trackArticulated(geom, ref, { ...trackOpts(m), dt: s.dt, gravity: s.gravity, friction: s.friction, fixedBase, contactIterations: s.contact_iterations });
      runs.push({ mode: fixedBase ? 'fixed_base' : m, r });
      continue;
    }
    const sim = buildWorld(geom, q0, base0, {
      dt: s.dt, solverIterations: s.solver_iterations, joints: s.joints, fixedBase, friction: s.friction, selfCollision: true,
      gravity: s.gravity, excludedPairs: sc.excluded, motorGains: { kp: gains.kp, kd: gains.kd },
    });
    try {
      const r = trackMotion(sim, ref, trackOpts(m));
      runs.push({ mode: fixedBase ? 'fixed_base' : m, r });
    } finally {
      sim.free();
    }
  }
  let drift = 0, steps = 0, wall = 0, simSec = 0;
  for (const { mode: m, r } of runs) {
    steps += r.steps; wall += r.wallSeconds; simSec += r.simSeconds;
    const valid = (a: Float64Array): number[] => Array.from(a).filter(Number.isFinite);
    const d = Math.max(0, ...valid(r.jointDrift));
    drift = Math.max(drift, d);
    const be = valid(r.bodyError), bm = valid(r.bodyErrorMax), je = valid(r.jointError);
    const mean = (a: number[]): number => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);
    const entry: Record<string, unknown> = {
      body_error_mean_m: round(mean(be)), body_error_max_m: round(Math.max(0, ...bm)),
      joint_error_max_rad: round(Math.max(0, ...je)), joint_drift_mm: round(d * 1000, 4),
      torque_saturation_mean: round(mean(valid(r.torqueSaturation)), 3),
    };
    if (m === 'unassisted' && !fixedBase) {
      const h = valid(r.baseHeight), tilt = valid(r.baseTilt);
      entry.fell = r.fellAt >= 0;
      entry.fell_at_frame = r.fellAt >= 0 ? r.fellAt : null;
      entry.base_height_min_m = round(Math.min(...h));
      entry.tilt_max_deg = round((Math.max(0, ...tilt) * 180) / Math.PI, 2);
      if (r.fellAt >= 0) {
        const v = new Uint8Array(T);
        v.fill(1, r.fellAt);
        add('fall', C.fall, v, () => `unassisted PD tracking fell at frame ${r.fellAt} (${round(r.fellAt / fps, 2)} s)`,
          (f) => `base height ${round(r.baseHeight[f], 3)} m, tilt ${round((r.baseTilt[f] * 180) / Math.PI, 1)} deg`);
      }
      if (mean(be) > Number(C.tracking.mean)) {
        const v = new Uint8Array(T);
        for (let t = 0; t < T; t++) if (r.bodyError[t] > Number(C.tracking.mean)) v[t] = 1;
        add('tracking', C.tracking, v, () => `unassisted tracking drifts: mean body position error ${round(mean(be) * 100, 1)} cm`,
          (f) => `mean body error ${round(r.bodyError[f] * 100, 1)} cm`);
      }
    }
    if (fixedBase) {
      if (mean(be) > Number(C.tracking.mean)) {
        const v = new Uint8Array(T);
        for (let t = 0; t < T; t++) if (r.bodyError[t] > Number(C.tracking.mean)) v[t] = 1;
        add('tracking', C.tracking, v, () => `PD tracking drifts: mean body position error ${round(mean(be) * 100, 1)} cm`, (f) => `mean body error ${round(r.bodyError[f] * 100, 1)} cm`);
      }
    }
    if (m === 'assisted') {
      const rf = Array.from(r.residualForce).map((v) => (Number.isFinite(v) ? v : 0));
      const rt = Array.from(r.residualTorque).map((v) => (Number.isFinite(v) ? v : 0));
      const win = Math.max(1, Math.round(Number(C.residual.window) * fps));
      const windowed = movingMean(rf, win);
      const windowedT = movingMean(rt, win);
      const meanF = mean(rf), maxW = Math.max(0, ...windowed), maxWT = Math.max(0, ...windowedT);
      entry.residual_force_mean_weight = round(meanF, 4);
      entry.residual_force_max_weight = round(maxW, 4);
      entry.residual_torque_mean = round(mean(rt), 4);
      entry.residual_torque_max = round(maxWT, 4);
      const v = new Uint8Array(T);
      for (let t = 0; t < T; t++) if (windowed[t] > Number(C.residual.max)) v[t] = 1;
      if (meanF > Number(C.residual.mean) && !v.some((x) => x)) v.fill(1);
      add('residual', C.residual, v,
        () => `residual force: holding the base on the reference needs ${round(meanF, 3)} x body weight on average, up to ${round(maxW, 2)} x (limits ${C.residual.mean} mean, ${C.residual.max} max)`,
        (f) => `base needs ${round(windowed[f], 2)} x body weight`);
    }
    metrics[m === 'fixed_base' ? 'tracking' : m] = entry;
  }

  reasons.sort((a, b) => Number(b.hard) - Number(a.hard) || a.frames[0][0] - b.frames[0][0] || a.kind.localeCompare(b.kind));
  events.sort((a, b) => a.frame - b.frame || a.kind.localeCompare(b.kind));
  const maxEvents = opts.maxEvents ?? 500;
  if (events.length > maxEvents) metrics.events_left_off = events.length - maxEvents;
  const fdt = 1 / fps;
  return {
    feasible: !reasons.some((r) => r.hard),
    reasons,
    metrics,
    events: events.slice(0, maxEvents),
    sim: {
      dt: s.dt,
      substeps: Math.max(1, Math.round(fdt / s.dt)),
      solver_iterations: s.joints === 'articulated' ? s.contact_iterations : s.solver_iterations,
      joints: s.joints,
      steps,
      steps_per_second: wall > 0 ? Math.round(steps / wall) : 0,
      realtime_factor: wall > 0 ? round(simSec / wall, 2) : 0,
      joint_drift_mm: round(drift * 1000, 4),
    },
  };
}

function movingMean(a: number[], w: number): number[] {
  const out = new Array(a.length).fill(0);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i];
    if (i >= w) s -= a[i - w];
    out[i] = s / Math.min(i + 1, w);
  }
  return out;
}

/** Validate a motion file against a URDF file (the CLI's entry point). */
export async function checkFeasibilityFiles(motionFile: string, urdfFile: string, opts: CheckOptions = {}): Promise<ValidationReport> {
  const { loadMotion } = await import('../robot/motion.ts');
  const motion = loadMotion(motionFile);
  const robot = loadUrdf(urdfFile);
  return checkFeasibility(motion, robot, { ...opts, file: opts.file ?? motionFile });
}

export type { Reference, TrackResult, RobotGeometry };
