/**
 * The validator's checks, each a small object: its kind (the reason's kind and its limit's key in
 * configs/validation.yaml `checks`), when it applies, and run(ctx) on the shared context (the reference, the
 * foot contacts, the inverse dynamics, the closed-loop runs), giving the frames in violation (mask), the
 * figures it reports (metrics) and the words of its reason (message, per-frame detail). checkFeasibility
 * (index.ts) builds the context once and loops over CHECKS.
 */
import type { Kinematics } from '../robot/kinematics.ts';
import type { RobotGeometry } from './geometry.ts';
import type { Reference } from './reference.ts';
import type { FootTrack } from './contacts.ts';
import type { DynamicsResult } from './dynamics.ts';
import type { TrackResult } from './track.ts';
import type { ValidationConfig } from './config.ts';
import type { PairContact } from './selfcollision.ts';
import { skateSummary, type FootContacts } from '../robot/stance.ts';

export const round = (v: number, d = 4): number => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

export interface RunEntry {
  mode: 'assisted' | 'unassisted' | 'fixed_base';
  r: TrackResult;
  /** Its figures, reported as metrics[mode === 'fixed_base' ? 'tracking' : mode]. */
  entry: Record<string, unknown>;
}

export interface CheckContext {
  ref: Reference;
  geom: RobotGeometry;
  kin: Kinematics;
  cfg: ValidationConfig;
  T: number;
  fps: number;
  fixedBase: boolean;
  /** Deepest self-contact per frame (null: none), and the pairs excluded for overlapping in the neutral pose. */
  selfContacts: (PairContact | null)[];
  excludedPairs: [number, number][];
  /** Foot contacts implied by the reference (floating base only). */
  contacts: FootTrack | null;
  /** Stance and skating by the project's one definition (src/robot/stance.ts; floating base only). */
  skating: FootContacts | null;
  id: DynamicsResult;
  runs: RunEntry[];
}

export interface CheckOutcome {
  /** 1 for every frame in violation of the check's limit. */
  mask: Uint8Array;
  /** Figures for report.metrics (top-level keys). */
  metrics?: Record<string, unknown>;
  message: (intervals: [number, number][]) => string;
  detail: (frame: number) => string;
}

export interface Check {
  kind: string;
  applies: (ctx: CheckContext) => boolean;
  /** One outcome per thing checked (e.g. per closed-loop run); none when there is nothing to say. */
  run: (ctx: CheckContext) => CheckOutcome[];
}

const always = (): boolean => true;
const floating = (ctx: CheckContext): boolean => !!ctx.contacts;
const mean = (a: number[]): number => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);
const valid = (a: Float64Array): number[] => Array.from(a).filter(Number.isFinite);
const num = (ctx: CheckContext, kind: string, key: string): number => Number(ctx.cfg.checks[kind as keyof ValidationConfig['checks']][key as 'hard']);

const jointPosition: Check = {
  kind: 'joint_position', applies: always,
  run: (ctx) => {
    const { ref, kin, T } = ctx, nq = kin.nq;
    const tol = num(ctx, 'joint_position', 'tolerance');
    const mask = new Uint8Array(T);
    const worstDof = new Int32Array(T).fill(-1);
    const worstEx = new Float64Array(T);
    let maxEx = 0, maxDof = -1;
    for (let t = 0; t < T; t++) for (let d = 0; d < nq; d++) {
      const v = ref.q[t * nq + d];
      const ex = Math.max(kin.lower[d] - v, v - kin.upper[d]);
      if (ex > worstEx[t] || worstDof[t] < 0) { if (ex > 0) { worstEx[t] = ex; worstDof[t] = d; } }
      if (ex > maxEx) { maxEx = ex; maxDof = d; }
      if (ex > tol) mask[t] = 1;
    }
    return [{
      mask,
      metrics: { joint_position: { max_excess_rad: round(maxEx), joint: maxDof >= 0 ? kin.dofNames[maxDof] : null, limit_tolerance: tol } },
      message: (iv) => `joint position beyond URDF limits: ${maxDof >= 0 ? kin.dofNames[maxDof] : ''} by up to ${round(maxEx, 3)} rad, ${iv.length} interval(s)`,
      detail: (f) => { const d = worstDof[f]; return `${kin.dofNames[d]} = ${round(ref.q[f * nq + d], 3)} rad, limits [${round(kin.lower[d], 3)}, ${round(kin.upper[d], 3)}]`; },
    }];
  },
};

const jointVelocity: Check = {
  kind: 'joint_velocity', applies: always,
  run: (ctx) => {
    const { ref, kin, T } = ctx, nq = kin.nq;
    const factor = num(ctx, 'joint_velocity', 'factor');
    const mask = new Uint8Array(T);
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
      if (wr > factor * (1 + 1e-3)) mask[t] = 1;
    }
    return [{
      mask,
      metrics: { joint_velocity: { max_ratio_to_limit: round(maxR, 3), joint: maxDof >= 0 ? kin.dofNames[maxDof] : null } },
      message: () => `joint velocity above the URDF limit: ${kin.dofNames[maxDof]} at ${round(maxR, 2)}x its limit`,
      detail: (f) => { const d = worst[f]; return `${kin.dofNames[d]} at ${round(Math.abs(ref.qd[f * nq + d]), 2)} rad/s, limit ${kin.velocityLimit[d]}`; },
    }];
  },
};

const selfCollision: Check = {
  kind: 'self_collision', applies: always,
  run: (ctx) => {
    const { geom, T, selfContacts } = ctx;
    const depthLim = num(ctx, 'self_collision', 'depth');
    const mask = new Uint8Array(T);
    let maxDepth = 0, maxPair = '', framesInContact = 0;
    for (let t = 0; t < T; t++) {
      const c = selfContacts[t];
      if (!c) continue;
      framesInContact++;
      if (c.depth > maxDepth) { maxDepth = c.depth; maxPair = `${geom.bodies[c.a].name} / ${geom.bodies[c.b].name}`; }
      if (c.depth > depthLim) mask[t] = 1;
    }
    return [{
      mask,
      metrics: {
        self_collision: {
          max_depth_m: round(maxDepth), pair: maxPair || null, frames_in_contact: framesInContact,
          excluded_pairs: ctx.excludedPairs.map(([a, b]) => `${geom.bodies[a].name} / ${geom.bodies[b].name}`),
        },
      },
      message: (iv) => `self-collision: ${maxPair} penetrate up to ${round(maxDepth * 1000, 1)} mm, ${iv.length} interval(s)`,
      detail: (f) => { const c = selfContacts[f]!; return `${geom.bodies[c.a].name} / ${geom.bodies[c.b].name} ${round(c.depth * 1000, 1)} mm deep`; },
    }];
  },
};

const groundPenetration: Check = {
  kind: 'ground_penetration', applies: floating,
  run: (ctx) => {
    const ct = ctx.contacts!, T = ctx.T, nF = ct.feet.length;
    const depth = num(ctx, 'ground_penetration', 'depth');
    const mask = new Uint8Array(T);
    let minLow = Infinity, stance = 0;
    for (let t = 0; t < T; t++) {
      if (ct.lowest[t] < -depth) mask[t] = 1;
      minLow = Math.min(minLow, ct.lowest[t]);
      if (ct.stance.subarray(t * nF, t * nF + nF).some((v) => v)) stance++;
    }
    return [{
      mask,
      metrics: { ground: { min_height_m: round(minLow), stance_fraction: round(stance / T, 3) } },
      message: () => `ground penetration: down to ${round(-minLow * 1000, 1)} mm below the ground`,
      detail: (f) => `${ctx.geom.bodies[ct.lowestBody[f]].name} ${round(-ct.lowest[f] * 1000, 1)} mm below the ground`,
    }];
  },
};

const floatingCheck: Check = {
  kind: 'floating', applies: floating,
  run: (ctx) => {
    const ct = ctx.contacts!, T = ctx.T, nF = ct.feet.length, cc = ctx.cfg.contacts;
    const mask = new Uint8Array(T);
    let frames = 0;
    for (let t = 0; t < T; t++) {
      let any = false, slowLow = false;
      for (let f = 0; f < nF; f++) {
        const i = t * nF + f;
        if (ct.stance[i]) any = true;
        else if (ct.speed[i] < cc.slow_speed && ct.height[i] <= cc.float_height) slowLow = true;
      }
      if (!any && slowLow) { mask[t] = 1; frames++; }
    }
    return [{
      mask,
      metrics: { floating: { frames } },
      message: (iv) => `floating: no foot on the ground while a slow foot hovers just above it, ${iv.length} interval(s)`,
      detail: (f) => `lowest foot ${round(Math.min(...Array.from(ct.height.subarray(f * nF, f * nF + nF))) * 1000, 1)} mm above the ground`,
    }];
  },
};

/** A stance foot sliding: stance and skating as src/robot/stance.ts defines them (thresholds scale with leg length). */
const footSkating: Check = {
  kind: 'foot_skating', applies: (ctx) => !!ctx.skating,
  run: (ctx) => {
    const c = ctx.skating!, T = ctx.T, nF = c.feet.length;
    const mask = new Uint8Array(T);
    for (let t = 0; t < T; t++) for (let f = 0; f < nF; f++) if (c.skating[t * nF + f]) mask[t] = 1;
    const sum = skateSummary(c);
    const fastest = (f: number): number => {
      let v = 0;
      for (let k = 0; k < nF; k++) if (c.skating[f * nF + k]) v = Math.max(v, c.speed[f * nF + k]);
      return v;
    };
    return [{
      mask,
      metrics: {
        foot_skating: {
          max_stance_speed_mps: round(sum.skate_max_m_s, 3), mean_stance_speed_mps: round(sum.skate_mean_m_s, 3), skate_frames: sum.skate_frames,
          skate_speed_mps: round(c.thresholds.skateSpeed, 3), stance_frames: sum.stance_frames,
        },
      },
      message: () => `foot skating: a stance foot slides at up to ${round(sum.skate_max_m_s, 2)} m/s (skating above ${round(c.thresholds.skateSpeed, 2)} m/s)`,
      detail: (f) => `stance foot sliding at ${round(fastest(f), 2)} m/s`,
    }];
  },
};

const torque: Check = {
  kind: 'torque', applies: always,
  run: (ctx) => {
    const { kin, id, T } = ctx, nq = kin.nq;
    const factor = num(ctx, 'torque', 'factor');
    const mask = new Uint8Array(T);
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
      if (wr > factor) mask[t] = 1;
    }
    return [{
      mask,
      metrics: { torque: { max_ratio_to_effort: round(maxR, 3), joint: maxDof >= 0 ? kin.dofNames[maxDof] : null, peak_nm: Object.fromEntries(kin.dofNames.map((n, d) => [n, round(peak[d], 2)])) } },
      message: () => `joint torque above the URDF effort limit: ${kin.dofNames[maxDof]} needs ${round(maxR, 2)}x its effort`,
      detail: (f) => { const d = worst[f]; return `${kin.dofNames[d]} needs ${round(Math.abs(id.tau[f * nq + d]), 1)} Nm, effort ${kin.effortLimit[d]} Nm`; },
    }];
  },
};

const zmp: Check = {
  kind: 'zmp', applies: floating,
  run: (ctx) => {
    const { id, T } = ctx;
    const margin = num(ctx, 'zmp', 'margin');
    const mask = new Uint8Array(T);
    // Frames where the ground force is below 0.1 m g have no meaningful ZMP (it runs off to infinity as the
    // normal force vanishes): they count as violations, and are counted apart from the distance.
    let maxOut = 0, lowForce = 0;
    for (let t = 0; t < T; t++) {
      const o = id.zmpOutside[t];
      if (o === Infinity) { lowForce++; mask[t] = 1; continue; }
      if (!Number.isFinite(o)) continue;
      if (o > maxOut) maxOut = o;
      if (o > margin) mask[t] = 1;
    }
    const low = lowForce ? `; the ground force is below 0.1 m g in ${lowForce} frame(s) with a foot down (free fall or pulling)` : '';
    return [{
      mask,
      metrics: { zmp: { max_outside_support_m: round(maxOut), low_normal_force_frames: lowForce } },
      message: () => `ZMP outside the support polygon by up to ${round(maxOut * 100, 1)} cm${low}`,
      detail: (f) => Number.isFinite(id.zmpOutside[f]) ? `ZMP (${round(id.zmp[2 * f], 3)}, ${round(id.zmp[2 * f + 1], 3)}) is ${round(id.zmpOutside[f] * 100, 1)} cm outside the support polygon` : 'ground force below 0.1 m g while a foot is down (free fall or pulling)',
    }];
  },
};

const frictionCone: Check = {
  kind: 'friction_cone', applies: floating,
  run: (ctx) => {
    const { id, T } = ctx;
    const mu = num(ctx, 'friction_cone', 'mu');
    const mask = new Uint8Array(T);
    let maxFr = 0;
    for (let t = 0; t < T; t++) {
      const fr = id.frictionRatio[t];
      if (!Number.isNaN(fr)) { if (fr > maxFr) maxFr = fr; if (fr > mu) mask[t] = 1; }
    }
    return [{
      mask,
      metrics: { friction: { max_ratio: Number.isFinite(maxFr) ? round(maxFr, 3) : 'infinite (needs pulling)', mu } },
      message: () => `friction cone: the feet need |F_t|/F_n up to ${Number.isFinite(maxFr) ? round(maxFr, 2) : 'infinity'} (mu = ${mu})`,
      detail: (f) => `|F_t|/F_n = ${Number.isFinite(id.frictionRatio[f]) ? round(id.frictionRatio[f], 2) : 'inf'}`,
    }];
  },
};

const flight: Check = {
  kind: 'flight', applies: floating,
  run: (ctx) => {
    const { id, T } = ctx;
    const lim = num(ctx, 'flight', 'residual');
    const mask = new Uint8Array(T);
    let maxFl = 0;
    for (let t = 0; t < T; t++) {
      const fl = id.flightResidual[t];
      if (!Number.isNaN(fl)) { if (fl > maxFl) maxFl = fl; if (fl > lim) mask[t] = 1; }
    }
    return [{
      mask,
      metrics: { flight: { max_residual_weight: round(maxFl, 3) } },
      message: () => `unsupported: with no foot on the ground the motion needs an external force up to ${round(maxFl, 2)} x body weight`,
      detail: (f) => `needs ${round(id.flightResidual[f], 2)} x body weight with no foot down`,
    }];
  },
};

/** Unassisted PD tracking (floating base) fell. */
const fall: Check = {
  kind: 'fall', applies: (ctx) => ctx.runs.some((x) => x.mode === 'unassisted'),
  run: (ctx) => ctx.runs.filter((x) => x.mode === 'unassisted' && x.r.fellAt >= 0).map(({ r }) => {
    const mask = new Uint8Array(ctx.T);
    mask.fill(1, r.fellAt);
    return {
      mask,
      message: () => `unassisted PD tracking fell at frame ${r.fellAt} (${round(r.fellAt / ctx.fps, 2)} s)`,
      detail: (f: number) => `base height ${round(r.baseHeight[f], 3)} m, tilt ${round((r.baseTilt[f] * 180) / Math.PI, 1)} deg`,
    };
  }),
};

/** Unassisted (or fixed-base) PD tracking drifts from the reference. */
const tracking: Check = {
  kind: 'tracking', applies: (ctx) => ctx.runs.some((x) => x.mode !== 'assisted'),
  run: (ctx) => {
    const lim = num(ctx, 'tracking', 'mean');
    const out: CheckOutcome[] = [];
    for (const { mode, r } of ctx.runs) {
      if (mode === 'assisted') continue;
      const m = mean(valid(r.bodyError));
      if (!(m > lim)) continue;
      const mask = new Uint8Array(ctx.T);
      for (let t = 0; t < ctx.T; t++) if (r.bodyError[t] > lim) mask[t] = 1;
      const what = mode === 'fixed_base' ? 'PD tracking' : 'unassisted tracking';
      out.push({ mask, message: () => `${what} drifts: mean body position error ${round(m * 100, 1)} cm`, detail: (f) => `mean body error ${round(r.bodyError[f] * 100, 1)} cm` });
    }
    return out;
  },
};

/**
 * The residual: the least external wrench on the base that, with ground forces inside the friction cones at
 * the stance feet's sole points, realises the motion (inverse dynamics, dynamics.ts), / (m g) for the force.
 * Windowed over `checks.residual.window` for the maximum.
 */
const residual: Check = {
  kind: 'residual', applies: floating,
  run: (ctx) => {
    const T = ctx.T, C = ctx.cfg.checks.residual;
    const rf = Array.from(ctx.id.residualForce).map((v) => (Number.isFinite(v) ? v : 0));
    const rt = Array.from(ctx.id.residualTorque).map((v) => (Number.isFinite(v) ? v : 0));
    const win = Math.max(1, Math.round(Number(C.window) * ctx.fps));
    const windowed = movingMean(rf, win);
    const windowedT = movingMean(rt, win);
    const meanF = mean(rf), maxW = Math.max(0, ...windowed), maxWT = Math.max(0, ...windowedT);
    const figures = {
      residual_force_mean_weight: round(meanF, 4), residual_force_max_weight: round(maxW, 4),
      residual_torque_mean: round(mean(rt), 4), residual_torque_max: round(maxWT, 4),
    };
    // Repeated in the assisted run's figures, where readers of earlier reports find them.
    for (const { mode, entry } of ctx.runs) if (mode === 'assisted') Object.assign(entry, figures);
    const mask = new Uint8Array(T);
    for (let t = 0; t < T; t++) if (windowed[t] > Number(C.max)) mask[t] = 1;
    if (meanF > Number(C.mean) && !mask.some((x) => x)) mask.fill(1);
    return [{
      mask,
      metrics: { residual: { force_mean_weight: figures.residual_force_mean_weight, force_max_weight: figures.residual_force_max_weight, torque_mean: figures.residual_torque_mean, torque_max: figures.residual_torque_max } },
      message: () => `residual force: the motion needs an external force on the base of ${round(meanF, 3)} x body weight on average, up to ${round(maxW, 2)} x, with the ground forces inside the friction cones under the feet (limits ${C.mean} mean, ${C.max} max)`,
      detail: (f) => `needs ${round(windowed[f], 2)} x body weight on the base`,
    }];
  },
};

/** Every check, in the order their reasons and events are reported on ties. */
export const CHECKS: Check[] = [
  jointPosition, jointVelocity, selfCollision, groundPenetration, floatingCheck, footSkating,
  torque, zmp, frictionCone, flight, fall, tracking, residual,
];

/** Figures of one closed-loop run (report.metrics.unassisted / assisted / tracking). */
export function runEntry(mode: RunEntry['mode'], r: TrackResult, fixedBase: boolean): Record<string, unknown> {
  const d = Math.max(0, ...valid(r.jointDrift));
  const be = valid(r.bodyError), bm = valid(r.bodyErrorMax), je = valid(r.jointError);
  const entry: Record<string, unknown> = {
    body_error_mean_m: round(mean(be)), body_error_max_m: round(Math.max(0, ...bm)),
    joint_error_max_rad: round(Math.max(0, ...je)), joint_drift_mm: round(d * 1000, 4),
    torque_saturation_mean: round(mean(valid(r.torqueSaturation)), 3),
  };
  if (mode === 'assisted') {
    // The PD-tracking assist (a field holding the base on the reference): it also pays for the tracker's own
    // lag, so it is reported as such, not as the residual (metrics.residual).
    entry.assist_force_mean_weight = round(mean(valid(r.residualForce)), 4);
    entry.assist_torque_mean = round(mean(valid(r.residualTorque)), 4);
  }
  if (mode === 'unassisted' && !fixedBase) {
    const h = valid(r.baseHeight), tilt = valid(r.baseTilt);
    entry.fell = r.fellAt >= 0;
    entry.fell_at_frame = r.fellAt >= 0 ? r.fellAt : null;
    entry.base_height_min_m = round(Math.min(...h));
    entry.tilt_max_deg = round((Math.max(0, ...tilt) * 180) / Math.PI, 2);
  }
  return entry;
}

export function movingMean(a: number[], w: number): number[] {
  const out = new Array(a.length).fill(0);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i];
    if (i >= w) s -= a[i - w];
    out[i] = s / Math.min(i + 1, w);
  }
  return out;
}
