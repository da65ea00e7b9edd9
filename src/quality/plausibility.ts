/**
 * Checks that need the clock: is this motion something a person does at the stated frame rate? And
 * impulsive spikes (single joint-frames far off a robust local fit), and limbs that are mostly missing.
 *
 * A wrong frame-rate label leaves every position untouched and the track consistent with itself; only
 * quantities in seconds change (speeds × s, accelerations × s²). So the check compares rate-dependent
 * figures with what a human body does:
 * - limb angular speeds (upper arm, forearm, thigh, shank, finger segments), rad/s: the bone's direction
 *   change per second, so it does not depend on the subject's size or on bone-length errors;
 * - wrist and ankle speeds relative to the pelvis, m/s;
 * - gravity: the pelvis cannot be pulled down faster than free fall (the ground only pushes), so its
 *   downward acceleration beyond 1 g is impossible without a hand-hold;
 * - swing time: a foot's swing (off the ground between two stances) is a pendulum of the leg and lasts
 *   ≈ 0.3–0.5 s at any walking or running speed; a much shorter one means the clock runs fast.
 * Positions are first passed through a 5-frame running median (spikes and noise are their own checks),
 * and the high percentiles of the figures are used (a clip's sustained peaks, not one frame).
 */
import type { PoseTrack } from '../pose/track.ts';
import type { QualityThresholds, Level, BodyPart } from './config.ts';
import { median, quantile } from '../math/stats.ts';

import type { QualityReason as Reason } from './assess.ts';

type Sev = Reason['severity'];

const G = 9.81;

function r4(v: number, d = 3): number {
  const f = 10 ** d;
  return Number.isFinite(v) ? Math.round(v * f) / f : v;
}

/** Positions passed through a running median of 5 frames per coordinate (NaN where any of the 5 is unseen or a gap interrupts). */
export function medianFiltered(track: PoseTrack, seen: Uint8Array, contiguous: Uint8Array): Float64Array {
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const P = track.positions;
  const out = new Float64Array(T * J * 3).fill(NaN);
  const w = [0, 0, 0, 0, 0];
  for (let j = 0; j < J; j++) {
    for (let t = 2; t < T - 2; t++) {
      let ok = 1;
      for (let k = -2; k <= 2; k++) ok &= seen[(t + k) * J + j];
      for (let k = -1; k <= 2; k++) ok &= contiguous[t + k];
      if (!ok) continue;
      for (let c = 0; c < 3; c++) {
        for (let k = -2; k <= 2; k++) w[k + 2] = P[((t + k) * J + j) * 3 + c];
        w.sort((a, b) => a - b);
        out[(t * J + j) * 3 + c] = w[2];
      }
    }
  }
  return out;
}

export interface Limb { name: string; from: string; to: string; kind: 'arm' | 'leg' | 'finger' }
const SIDES = ['left', 'right'] as const;
export const LIMBS: Limb[] = SIDES.flatMap((s) => [
  { name: `${s} upper arm`, from: `${s}_shoulder`, to: `${s}_elbow`, kind: 'arm' as const },
  { name: `${s} forearm`, from: `${s}_elbow`, to: `${s}_wrist`, kind: 'arm' as const },
  { name: `${s} thigh`, from: `${s}_hip`, to: `${s}_knee`, kind: 'leg' as const },
  { name: `${s} shank`, from: `${s}_knee`, to: `${s}_ankle`, kind: 'leg' as const },
  ...['index_finger', 'middle_finger', 'ring_finger', 'pinky'].map((f) => ({ name: `${s} ${f.replace('_', ' ')}`, from: `${s}_hand_${f}_mcp`, to: `${s}_hand_${f}_pip`, kind: 'finger' as const })),
]);

export interface PlausibilityResult { reasons: Reason[]; metrics: Record<string, unknown>; mask: Uint8Array }

/**
 * Rate plausibility. `contiguous[t]` = 1 when frame t-1 → t is one nominal interval.
 * Each figure becomes a ratio to its human limit (configs/quality.yaml `plausibility`); the clip's value
 * is the largest ratio, judged against `plausibility.ratio` {flag, reject}.
 */
export function ratePlausibility(track: PoseTrack, seen: Uint8Array, contiguous: Uint8Array, th: QualityThresholds): PlausibilityResult {
  const pl = th.plausibility;
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const ts = track.timestamps;
  const idx = (n: string) => track.jointNames.indexOf(n);
  const mask = new Uint8Array(T);
  const metrics: Record<string, unknown> = {};
  const reasons: Reason[] = [];
  if (T < 9) return { reasons, metrics: { note: 'fewer than 9 frames' }, mask };
  const F = medianFiltered(track, seen, contiguous);
  const at = (t: number, j: number, c: number) => F[(t * J + j) * 3 + c];
  const ok = (t: number, j: number) => j >= 0 && t >= 0 && t < T && Number.isFinite(F[(t * J + j) * 3]);
  const dts: number[] = [];
  for (let t = 1; t < T; t++) if (contiguous[t]) dts.push(ts[t] - ts[t - 1]);
  const dt = median(dts);
  if (!(dt > 0)) return { reasons, metrics: { note: 'no regular frame interval' }, mask };
  // Derivatives over whole frames (±1 for speeds, ±2 for the pelvis acceleration) of the median-filtered
  // positions: a window fixed in frames keeps the figures proportional to the stated rate.
  const h = 1;
  const span = (t: number, k: number) => {
    for (let i = t - k + 1; i <= t + k; i++) if (i < 1 || i >= T || !contiguous[i]) return false;
    return true;
  };

  // Each figure: values per frame (for the mask), its percentile, its limit.
  interface Fig { key: string; what: string; unit: string; perFrame: Float64Array; value: number; limit: number }
  const figs: Fig[] = [];
  const addFig = (key: string, what: string, unit: string, perFrame: Float64Array, limit: number) => {
    const vals: number[] = [];
    for (let t = 0; t < T; t++) if (Number.isFinite(perFrame[t])) vals.push(perFrame[t]);
    if (vals.length < 5) return;
    figs.push({ key, what, unit, perFrame, value: quantile(vals, pl.percentile), limit });
  };

  // Limb angular speeds.
  for (const l of LIMBS) {
    const a = idx(l.from), b = idx(l.to);
    if (a < 0 || b < 0) continue;
    const w = new Float64Array(T).fill(NaN);
    for (let t = h; t < T - h; t++) {
      if (!span(t, h) || !ok(t - h, a) || !ok(t - h, b) || !ok(t + h, a) || !ok(t + h, b)) continue;
      let dot = 0, nu = 0, nv = 0;
      for (let c = 0; c < 3; c++) {
        const u = at(t - h, b, c) - at(t - h, a, c);
        const v = at(t + h, b, c) - at(t + h, a, c);
        dot += u * v; nu += u * u; nv += v * v;
      }
      if (!(nu > 1e-8 && nv > 1e-8)) continue;
      w[t] = Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(nu * nv)))) / (ts[t + h] - ts[t - h]);
    }
    const limit = l.kind === 'arm' ? (l.from.endsWith('shoulder') ? pl.upper_arm_rad_s : pl.forearm_rad_s) : l.kind === 'leg' ? (l.from.endsWith('hip') ? pl.thigh_rad_s : pl.shank_rad_s) : pl.finger_rad_s;
    addFig(`${l.name.replaceAll(' ', '_')}_rad_s`, `${l.name} turns at`, 'rad/s', w, limit);
  }

  // Wrist and ankle speeds relative to the pelvis.
  const pelvis = idx('pelvis');
  if (pelvis >= 0) {
    for (const s of SIDES) {
      for (const [joint, limit] of [[`${s}_wrist`, pl.wrist_m_s], [`${s}_ankle`, pl.ankle_m_s]] as const) {
        const j = idx(joint);
        if (j < 0) continue;
        const v = new Float64Array(T).fill(NaN);
        for (let t = h; t < T - h; t++) {
          if (!span(t, h) || !ok(t - h, j) || !ok(t + h, j) || !ok(t - h, pelvis) || !ok(t + h, pelvis)) continue;
          let s2 = 0;
          for (let c = 0; c < 3; c++) {
            const d = at(t + h, j, c) - at(t - h, j, c) - (at(t + h, pelvis, c) - at(t - h, pelvis, c));
            s2 += d * d;
          }
          v[t] = Math.sqrt(s2) / (ts[t + h] - ts[t - h]);
        }
        addFig(`${joint}_m_s`, `${joint.replace('_', ' ')} moves (relative to the pelvis) at`, 'm/s', v, limit);
      }
    }
    // Gravity: downward pelvis acceleration (in g).
    const H = 2;
    const az = new Float64Array(T).fill(NaN);
    let moving = 0;
    let z0 = NaN;
    for (let t = H; t < T - H; t++) {
      if (!span(t, H) || !ok(t - H, pelvis) || !ok(t, pelvis) || !ok(t + H, pelvis)) continue;
      const a = (at(t + H, pelvis, 2) - 2 * at(t, pelvis, 2) + at(t - H, pelvis, 2)) / ((ts[t + H] - ts[t]) * (ts[t] - ts[t - H]));
      az[t] = -a / G;
      if (!Number.isFinite(z0)) z0 = at(t, pelvis, 2);
      if (Math.abs(at(t, pelvis, 2) - z0) > 1e-6) moving++;
    }
    // A pelvis fixed at the origin (hip-centred world landmarks) says nothing about gravity.
    if (moving > 0) addFig('pelvis_fall_g', 'the pelvis accelerates downwards at', 'g', az, pl.fall_g);

    // Swing time of each foot: from the last frame it rests to the next, while the other foot rests (a
    // step, not a hop or a jump: those are gravity's business).
    const swings: number[] = [];
    const feet = SIDES.map((s) => {
      const j = idx(`${s}_ankle`);
      const sp = new Float64Array(T).fill(NaN);
      if (j < 0) return null;
      const vals: number[] = [];
      for (let t = h; t < T - h; t++) {
        if (!span(t, h) || !ok(t - h, j) || !ok(t + h, j)) continue;
        let s2 = 0;
        for (let c = 0; c < 3; c++) s2 += (at(t + h, j, c) - at(t - h, j, c)) ** 2;
        sp[t] = Math.sqrt(s2) / (ts[t + h] - ts[t - h]);
        vals.push(sp[t]);
      }
      if (vals.length < 10) return null;
      const peak = quantile(vals, 0.95);
      const floor = quantile(vals, 0.05);
      // A foot that never rests (the clip is all flight, or the track is hip-centred) has no stances.
      if (!(peak > 0.3 && floor < 0.25 * peak)) return null;
      return { j, sp, still: (t: number) => Number.isFinite(sp[t]) && sp[t] < 0.2 * peak, fast: (t: number) => Number.isFinite(sp[t]) && sp[t] > 0.5 * peak };
    });
    for (let f = 0; f < 2; f++) {
      const foot = feet[f];
      const other = feet[1 - f];
      if (!foot || !other) continue;
      const { j, sp, still, fast } = foot;
      let lastStill = -1;
      let sawFast = false;
      const dist = (a: number, b: number) => Math.hypot(at(a, j, 0) - at(b, j, 0), at(a, j, 1) - at(b, j, 1));
      for (let t = 0; t < T; t++) {
        if (!Number.isFinite(sp[t])) { lastStill = -1; sawFast = false; continue; }
        if (still(t)) {
          // A step: the foot lands at least min_step_m (horizontally) from where it lifted off, and the other
          // foot rests for at least half of the swing.
          if (lastStill >= 0 && sawFast && t - lastStill > 1 && dist(t, lastStill) > pl.min_step_m) {
            let n = 0;
            for (let k = lastStill; k <= t; k++) n += other.still(k) ? 1 : 0;
            if (2 * n >= t - lastStill + 1) swings.push(ts[t] - ts[lastStill]);
          }
          lastStill = t;
          sawFast = false;
        } else if (fast(t)) sawFast = true;
      }
    }
    if (swings.length >= 2) {
      const sw = median(swings);
      metrics.swing_s = r4(sw);
      metrics.swings = swings.length;
      // Shorter is worse: the ratio is limit / value.
      figs.push({ key: 'swing_time', what: 'a foot swings in', unit: 's', perFrame: new Float64Array(T).fill(NaN), value: sw, limit: pl.min_swing_s });
    }
  }

  if (!figs.length) return { reasons, metrics: { ...metrics, note: 'no limb, wrist, ankle or pelvis seen long enough' }, mask };
  const ratio = (f: Fig) => (f.key === 'swing_time' ? f.limit / f.value : f.value / f.limit);
  const figures: Record<string, number> = {};
  for (const f of figs) figures[f.key] = r4(f.value);
  figs.sort((a, b) => ratio(b) - ratio(a));
  const worst = figs[0];
  const value = ratio(worst);
  const lv: Level = pl.ratio;
  metrics.ratio = r4(value);
  // The speed-up the clip's own motion leaves room for: a label this many times too high is the least this
  // check can flag. A label k× too high multiplies the speed and swing-time ratios by k and the fall
  // ratio (an acceleration) by k², so each figure reaches the flag level at (flag / ratio)^(1/power). A slow
  // clip has a large headroom: its label cannot be checked from its motion (docs/quality.md).
  const power = (f: Fig) => (f.unit === 'g' ? 2 : 1);
  const headroom = Math.min(...figs.map((f) => (ratio(f) > 0 ? (lv.flag / ratio(f)) ** (1 / power(f)) : Infinity)));
  metrics.headroom = Number.isFinite(headroom) ? r4(headroom, 2) : null;
  metrics.worst = worst.key;
  metrics.figures = figures;
  metrics.percentile = pl.percentile;
  // Frames where any per-frame figure exceeds its limit × the flag ratio.
  for (const f of figs) for (let t = 0; t < T; t++) if (f.perFrame[t] > f.limit * pl.ratio.flag) mask[t] = 1;
  const sev: Sev | null = value > lv.reject ? 'reject' : value > lv.flag ? 'flag' : null;
  if (sev) {
    const thr = sev === 'reject' ? lv.reject : lv.flag;
    const fmt = (v: number) => (worst.unit === 'g' || worst.unit === 's' ? v.toFixed(2) : v.toFixed(1));
    const shown = worst.key === 'swing_time'
      ? `${worst.what} ${fmt(worst.value)} s (median of ${metrics.swings}); a human leg needs about ${fmt(worst.limit)} s`
      : `${worst.what} ${fmt(worst.value)} ${worst.unit} (${Math.round(100 * pl.percentile)}th percentile); a human reaches about ${fmt(worst.limit)} ${worst.unit}`;
    reasons.push({
      code: 'plausibility.too_fast', severity: sev, value: r4(value), threshold: thr, frames: [],
      message: `implausibly fast for a person at the stated ${r4(1 / dt, 2)} fps: ${shown} — ${value.toFixed(2)}× the human figure (${sev} above ${thr}×); a wrong frame-rate label?`,
    });
  }
  return { reasons, metrics, mask };
}

/**
 * Impulsive spikes. Per joint and frame, the deviation d_t = p_t − (p_{t−1} + p_{t+1}) / 2 from the local
 * linear fit through its two neighbours. A one-frame jump of A gives |d_t| = A and deviations of the
 * neighbours pointing the other way with half the size; fast but smooth motion gives deviations of one
 * sign (curvature) and a sudden change of velocity (an impact) gives one deviation with quiet neighbours.
 * A joint-frame is a spike when |d_t| exceeds k × the clip's own jitter (and floor_mm) and both neighbours'
 * deviations point back (d_{t±1}·d_t < −¼|d_t|²) and are smaller. The figure is the fraction of judged joint-frames.
 */
export function spikeCheck(track: PoseTrack, seen: Uint8Array, contiguous: Uint8Array, jitterMm: number, th: QualityThresholds): PlausibilityResult {
  const sp = th.spikes;
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const P = track.positions;
  const mask = new Uint8Array(T);
  const reasons: Reason[] = [];
  const limit = Math.max(sp.k * (Number.isFinite(jitterMm) ? jitterMm : 0), sp.floor_mm) / 1000;
  const d = new Float64Array(T * 3).fill(NaN);
  let judged = 0;
  let spikes = 0;
  const perJoint = new Map<number, number>();
  for (let j = 0; j < J; j++) {
    d.fill(NaN);
    for (let t = 1; t < T - 1; t++) {
      if (!seen[(t - 1) * J + j] || !seen[t * J + j] || !seen[(t + 1) * J + j] || !contiguous[t] || !contiguous[t + 1]) continue;
      for (let c = 0; c < 3; c++) d[3 * t + c] = P[(t * J + j) * 3 + c] - 0.5 * (P[((t - 1) * J + j) * 3 + c] + P[((t + 1) * J + j) * 3 + c]);
    }
    for (let t = 2; t < T - 2; t++) {
      if (!Number.isFinite(d[3 * t]) || !Number.isFinite(d[3 * t - 3]) || !Number.isFinite(d[3 * t + 3])) continue;
      judged++;
      const n2 = d[3 * t] ** 2 + d[3 * t + 1] ** 2 + d[3 * t + 2] ** 2;
      if (!(n2 > limit * limit)) continue;
      let back = true;
      for (const k of [-1, 1]) {
        const dot = d[3 * (t + k)] * d[3 * t] + d[3 * (t + k) + 1] * d[3 * t + 1] + d[3 * (t + k) + 2] * d[3 * t + 2];
        const m2 = d[3 * (t + k)] ** 2 + d[3 * (t + k) + 1] ** 2 + d[3 * (t + k) + 2] ** 2;
        if (!(dot < -0.25 * n2) || m2 > n2) back = false; // pointing back, and smaller (a spike's neighbour is not one)
      }
      if (!back) continue;
      spikes++;
      mask[t] = 1;
      perJoint.set(j, (perJoint.get(j) ?? 0) + 1);
    }
  }
  if (!judged) return { reasons, metrics: { rate: null, note: 'fewer than 5 consecutive frames with joints seen' }, mask };
  const rate = spikes / judged;
  const worst = [...perJoint.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([j, n]) => `${track.jointNames[j]} ${n}`);
  const metrics = { rate: r4(rate, 4), count: spikes, limit_mm: r4(limit * 1000, 1), worst_joints: worst };
  const sev: Sev | null = rate > sp.rate.reject ? 'reject' : rate > sp.rate.flag ? 'flag' : null;
  if (sev) {
    const thr = sev === 'reject' ? sp.rate.reject : sp.rate.flag;
    const runs: [number, number][] = [];
    let s = -1;
    for (let i = 0; i <= T; i++) {
      const on = i < T && mask[i] === 1;
      if (on && s < 0) s = i;
      if (!on && s >= 0) { runs.push([s, i - 1]); s = -1; }
    }
    reasons.push({
      code: 'spikes.high', severity: sev, value: r4(rate, 4), threshold: thr, frames: runs,
      message: `${spikes} keypoint spike(s): ${(100 * rate).toFixed(1)}% of joint-frames jump more than ${(limit * 1000).toFixed(0)} mm off the line through their neighbours and back (${sp.k}× the clip's ${Number.isFinite(jitterMm) ? jitterMm.toFixed(1) : '–'} mm jitter, at least ${sp.floor_mm} mm; ${sev} above ${(100 * thr).toFixed(1)}%; most on ${worst.join(', ')})`,
    });
  }
  return { reasons, metrics, mask };
}

/** Limbs (arms and legs) a track has joints for, judged when no task requires them. */
export const LIMB_PARTS: BodyPart[] = ['left_arm', 'right_arm', 'left_leg', 'right_leg'];
