/**
 * The quality gate: metrics of one clip (pose track, and the video when given), a verdict (pass / flag /
 * reject) with every reason and the frames concerned, and per-frame masks (name → Uint8Array[T], 1 = the
 * problem is present in that frame) saved with the episode.
 *
 * Checks: presence (rate, longest gap), mean confidence per body part, jitter (high-frequency residual,
 * fps-normalised), bone-length consistency (CV), framing (from 2D image landmarks when the track has them),
 * timing (monotonic, dropped frames, constant rate, nominal fps), duration against the task, required body
 * parts / hands visible, motion present; and (src/quality/plausibility.ts) human speeds and accelerations at
 * the stated frame rate, impulsive spikes, and arms/legs missing in most frames when no task requires them.
 */
import type { PoseTrack } from '../pose/track.ts';
import { HAND_LANDMARKS } from '../pose/skeleton.ts';
import { BLAZEPOSE_LANDMARKS } from '../pose/blazepose.ts';
import type { NdArray } from '../io/npz.ts';
import { UserError } from '../errors.ts';
import { median, quantile } from '../math/stats.ts';
import { loadTask, thresholdsFor, type BodyPart, type Level, type QualityThresholds, type TaskScript } from './config.ts';
import { ffprobe, parseRate, videoPacketTimes } from './media.ts';
import { LIMB_PARTS, ratePlausibility, spikeCheck } from './plausibility.ts';

export type Verdict = 'pass' | 'flag' | 'reject';
export type FrameRange = [number, number];

export interface QualityReason {
  /** Stable machine-readable code, e.g. `timing.dropped_frames`. */
  code: string;
  severity: 'flag' | 'reject';
  message: string;
  value: number;
  /** The level crossed (the flag or reject level), or the bound for range checks. */
  threshold: number;
  /** Frames concerned, as inclusive [first, last] ranges; [] when the reason concerns the whole clip. */
  frames: FrameRange[];
}

export interface QualityReport {
  verdict: Verdict;
  reasons: QualityReason[];
  metrics: Record<string, unknown>;
  /** Checks that could not run, with why (e.g. framing without 2D landmarks). */
  skipped: { check: string; reason: string }[];
  /** name → [T] 0/1, 1 = problem in that frame. */
  masks: Record<string, Uint8Array>;
  task: string | null;
  frames: number;
  fps: number;
  duration_s: number;
  thresholds: QualityThresholds;
}

export interface VideoInfo {
  file: string;
  width: number;
  height: number;
  /** Declared rate (r_frame_rate) and average rate (avg_frame_rate). */
  fps: number;
  avg_fps: number;
  duration_s: number;
  frames: number;
  /** Presentation times of the video's packets (seconds). */
  times: Float64Array;
}

export interface AssessOptions {
  /** Task id (configs/tasks), a task file, or a parsed task. */
  task?: string | TaskScript | null;
  /** The clip's video file, probed with ffprobe for timing and image size; or already-probed info. */
  video?: string | VideoInfo | null;
  /** Thresholds to use instead of configs/quality.yaml (task overrides still apply). */
  thresholds?: QualityThresholds;
}

// ---- body parts ----------------------------------------------------------------------------------------

const PART_JOINTS: Record<Exclude<BodyPart, 'left_hand' | 'right_hand'>, string[]> = {
  head: ['head', 'neck'],
  torso: ['pelvis', 'spine', 'chest', 'left_shoulder', 'right_shoulder', 'left_hip', 'right_hip'],
  left_arm: ['left_shoulder', 'left_elbow', 'left_wrist'],
  right_arm: ['right_shoulder', 'right_elbow', 'right_wrist'],
  left_leg: ['left_hip', 'left_knee', 'left_ankle', 'left_toe'],
  right_leg: ['right_hip', 'right_knee', 'right_ankle', 'right_toe'],
};

/** Indices of a body part's joints in this track. A hand is its 21 landmarks, or the body's wrist when the track has none. */
export function partJoints(track: PoseTrack, part: BodyPart): number[] {
  const idx = (n: string) => track.jointNames.indexOf(n);
  if (part === 'left_hand' || part === 'right_hand') {
    const side = part === 'left_hand' ? 'left' : 'right';
    const lm = HAND_LANDMARKS.map((l) => idx(`${side}_hand_${l}`)).filter((i) => i >= 0);
    if (lm.length) return lm;
    const w = idx(`${side}_wrist`);
    return w >= 0 ? [w] : [];
  }
  return PART_JOINTS[part].map(idx).filter((i) => i >= 0);
}

// ---- helpers --------------------------------------------------------------------------------------------

/** Inclusive [first, last] ranges of the frames where mask is 1. */
export function maskRanges(mask: Uint8Array): FrameRange[] {
  const out: FrameRange[] = [];
  let start = -1;
  for (let i = 0; i <= mask.length; i++) {
    const on = i < mask.length && mask[i] !== 0;
    if (on && start < 0) start = i;
    if (!on && start >= 0) { out.push([start, i - 1]); start = -1; }
  }
  return out;
}

function round(v: number, d = 4): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

class Reasons {
  list: QualityReason[] = [];
  /** Compare `value` with a {flag, reject} level; dir 'min' fails below, 'max' above. */
  level(code: string, value: number, lv: Level, dir: 'min' | 'max', what: (sev: 'flag' | 'reject', thr: number) => string, frames: FrameRange[] = []): void {
    if (!Number.isFinite(value)) return;
    const bad = (thr: number) => (dir === 'min' ? value < thr : value > thr);
    const sev = bad(lv.reject) ? 'reject' : bad(lv.flag) ? 'flag' : null;
    if (!sev) return;
    const thr = sev === 'reject' ? lv.reject : lv.flag;
    this.list.push({ code, severity: sev, message: what(sev, thr), value: round(value), threshold: thr, frames });
  }
  add(r: QualityReason): void {
    this.list.push({ ...r, value: round(r.value) });
  }
}

// ---- the assessment -------------------------------------------------------------------------------------

export function assessQuality(track: PoseTrack, opts: AssessOptions = {}): QualityReport {
  const task = typeof opts.task === 'string' ? loadTask(opts.task) : opts.task ?? null;
  const th = thresholdsFor(task, opts.thresholds);
  const video = typeof opts.video === 'string' ? probeVideoInfo(opts.video) : opts.video ?? null;
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const P = track.positions;
  const C = track.confidence;
  const minC = th.min_joint_confidence;
  const reasons = new Reasons();
  const skipped: { check: string; reason: string }[] = [];
  const masks: Record<string, Uint8Array> = {};
  const metrics: Record<string, unknown> = {};

  const seen = new Uint8Array(T * J);
  for (let k = 0; k < T * J; k++) {
    seen[k] = C[k] >= minC && Number.isFinite(P[3 * k]) && Number.isFinite(P[3 * k + 1]) && Number.isFinite(P[3 * k + 2]) ? 1 : 0;
  }

  // Parts that exist in this track, and which the task requires.
  const allParts: BodyPart[] = ['head', 'torso', 'left_arm', 'right_arm', 'left_leg', 'right_leg', 'left_hand', 'right_hand'];
  const partIdx = new Map<BodyPart, number[]>();
  for (const p of allParts) {
    const js = partJoints(track, p);
    if (js.length) partIdx.set(p, js);
  }
  const partVisible = (p: BodyPart): Uint8Array => {
    const js = partIdx.get(p) ?? [];
    const out = new Uint8Array(T);
    for (let t = 0; t < T; t++) {
      let n = 0;
      for (const j of js) n += seen[t * J + j];
      out[t] = js.length > 0 && n * 2 >= js.length ? 1 : 0;
    }
    return out;
  };
  const required: BodyPart[] = task ? task.visible : [];
  const absent = required.filter((p) => !partIdx.has(p));
  if (absent.length) {
    reasons.add({
      code: 'parts.absent', severity: 'reject', value: absent.length, threshold: 0, frames: [],
      message: `the task needs ${absent.join(', ')} but the track has no joints for ${absent.length > 1 ? 'them' : 'it'}`,
    });
  }

  // ---- presence ----
  const present = new Uint8Array(T);
  const presenceExtra = presenceFromExtras(track.extras, T);
  if (presenceExtra) {
    for (let t = 0; t < T; t++) present[t] = presenceExtra[t] >= 0.5 ? 1 : 0;
  }
  // A frame has the subject when the capture said so (if it did) and some body part is visible.
  const anyPart = new Uint8Array(T);
  for (const p of partIdx.keys()) {
    const v = partVisible(p);
    for (let t = 0; t < T; t++) anyPart[t] |= v[t];
  }
  if (partIdx.size === 0) {
    // Joints outside the canonical skeleton only: any seen joint counts.
    for (let t = 0; t < T; t++) for (let j = 0; j < J; j++) anyPart[t] |= seen[t * J + j];
  }
  for (let t = 0; t < T; t++) present[t] = (presenceExtra ? present[t] : 1) & anyPart[t];
  const missing = present.map((v) => 1 - v);
  masks.missing = missing;
  const dts = intervals(track.timestamps);
  const medDt = median(dts.filter((d) => d > 0)) || 1 / track.fps;
  let presentCount = 0;
  for (let t = 0; t < T; t++) presentCount += present[t];
  const rate = T ? presentCount / T : 0;
  let longestGap = 0;
  let gapRange: FrameRange | null = null;
  for (const [a, b] of maskRanges(missing)) {
    const end = b + 1 < T ? track.timestamps[b + 1] : track.timestamps[b] + medDt;
    const start = a > 0 ? track.timestamps[a - 1] + medDt : track.timestamps[a];
    const g = end - start;
    if (g > longestGap) { longestGap = g; gapRange = [a, b]; }
  }
  metrics.presence = { rate: round(rate), longest_gap_s: round(longestGap), source: presenceExtra ? 'capture presence + joints' : 'joints' };
  reasons.level('presence.low_rate', rate, th.presence.rate, 'min',
    (s, thr) => `subject seen in ${(100 * rate).toFixed(1)}% of frames (${s} below ${(100 * thr).toFixed(0)}%)`, maskRanges(missing));
  reasons.level('presence.gap', longestGap, th.presence.longest_gap_s, 'max',
    (s, thr) => `subject lost for ${longestGap.toFixed(2)} s at once (${s} above ${thr} s)`, gapRange ? [gapRange] : []);

  // ---- confidence per body part (over the frames the part is seen) ----
  const confMetrics: Record<string, number | null> = {};
  const confParts = required.length ? required.filter((p) => partIdx.has(p)) : [...partIdx.keys()];
  for (const p of partIdx.keys()) {
    const js = partIdx.get(p)!;
    const vis = partVisible(p);
    let s = 0;
    let n = 0;
    for (let t = 0; t < T; t++) {
      if (!vis[t]) continue;
      for (const j of js) if (C[t * J + j] > 0) { s += C[t * J + j]; n++; }
    }
    confMetrics[p] = n ? round(s / n) : null;
  }
  metrics.confidence = confMetrics;
  const lowConf = new Uint8Array(T);
  for (const p of confParts) {
    const m = confMetrics[p];
    if (m === null || m === undefined) continue;
    const js = partIdx.get(p)!;
    const before = reasons.list.length;
    for (let t = 0; t < T; t++) {
      let s = 0;
      let n = 0;
      for (const j of js) if (C[t * J + j] > 0) { s += C[t * J + j]; n++; }
      if (n && s / n < th.confidence.mean.flag) lowConf[t] = 1;
    }
    reasons.level('confidence.low', m, th.confidence.mean, 'min', (s, thr) => `mean confidence of ${p} is ${m.toFixed(3)} (${s} below ${thr})`);
    if (reasons.list.length > before) reasons.list[reasons.list.length - 1].frames = maskRanges(lowConf);
  }
  masks.low_confidence = lowConf;

  // ---- jitter ----
  jitterCheck(track, seen, th, reasons, metrics, masks);

  // ---- spikes and rate plausibility (both skip dropped-frame gaps) ----
  const contiguous = new Uint8Array(T);
  for (let t = 1; t < T; t++) contiguous[t] = dts[t - 1] > 0 && dts[t - 1] <= medDt * 1.5 ? 1 : 0;
  const jitterMm = Number((metrics.jitter as { noise_mm?: number | null }).noise_mm ?? NaN);
  const spk = spikeCheck(track, seen, contiguous, jitterMm, th);
  metrics.spikes = spk.metrics;
  masks.spikes = spk.mask;
  spk.reasons.forEach((r) => reasons.add(r));
  const pl = ratePlausibility(track, seen, contiguous, th);
  metrics.plausibility = pl.metrics;
  masks.too_fast = pl.mask;
  pl.reasons.forEach((r) => reasons.add(r));

  // ---- bone lengths ----
  boneCheck(track, seen, th, reasons, metrics, masks);

  // ---- framing ----
  framingCheck(track, task, required, partIdx, video, th, reasons, metrics, masks, skipped);

  // ---- timing ----
  const timing = timingCheck(track.timestamps, track.fps, th, reasons, 'track');
  metrics.timing = timing.metrics;
  masks.after_drop = timing.afterDrop;
  if (video) {
    const vt = timingCheck(video.times, video.fps, th, reasons, 'video');
    metrics.video = {
      width: video.width, height: video.height, fps: round(video.fps), avg_fps: round(video.avg_fps),
      duration_s: round(video.duration_s), frames: video.frames, timing: vt.metrics,
    };
  }

  // ---- duration ----
  const duration = T ? track.timestamps[T - 1] - track.timestamps[0] + medDt : 0;
  metrics.duration_s = round(duration, 3);
  if (task) {
    const { min, max } = task.duration_s;
    const slack = th.duration.slack;
    if (duration < min) {
      const sev = duration < min * (1 - slack) ? 'reject' : 'flag';
      reasons.add({ code: 'duration.too_short', severity: sev, value: duration, threshold: min, frames: [],
        message: `clip lasts ${duration.toFixed(2)} s; task ${task.id} expects at least ${min} s` });
    } else if (duration > max) {
      const sev = duration > max * (1 + slack) ? 'reject' : 'flag';
      reasons.add({ code: 'duration.too_long', severity: sev, value: duration, threshold: max, frames: [],
        message: `clip lasts ${duration.toFixed(2)} s; task ${task.id} expects at most ${max} s` });
    }
  } else {
    skipped.push({ check: 'duration', reason: 'no task script given' });
  }

  // ---- required parts / hands visible ----
  const visMetrics: Record<string, number> = {};
  for (const p of required) {
    if (!partIdx.has(p)) continue;
    const vis = partVisible(p);
    const miss = vis.map((v) => 1 - v);
    let n = 0;
    for (let t = 0; t < T; t++) n += vis[t];
    const r = T ? n / T : 0;
    visMetrics[p] = round(r);
    masks[`${p}_missing`] = miss;
    const isHand = p === 'left_hand' || p === 'right_hand';
    const proxy = isHand && partIdx.get(p)!.length === 1 ? ' (its wrist: the track has no hand landmarks)' : '';
    reasons.level(isHand ? 'hands.not_visible' : 'parts.not_visible', r, th.hands.visible_rate, 'min',
      (s, thr) => `${p.replace('_', ' ')}${proxy} seen in ${(100 * r).toFixed(1)}% of frames (${s} below ${(100 * thr).toFixed(0)}%)`, maskRanges(miss));
  }
  metrics.visible = visMetrics;

  // ---- limbs no task requires: an arm or leg seen in some frames but missing in most is flagged ----
  const limbMetrics: Record<string, number> = {};
  let presentFrames = 0;
  for (let t = 0; t < T; t++) presentFrames += present[t];
  for (const p of LIMB_PARTS) {
    if (required.includes(p) || !partIdx.has(p) || !presentFrames) continue;
    const vis = partVisible(p);
    let n = 0;
    for (let t = 0; t < T; t++) n += vis[t] & present[t];
    if (n === 0) continue; // never seen: not in this recording (e.g. legs out of an upper-body shot)
    const r = n / presentFrames;
    limbMetrics[p] = round(r);
    const miss = new Uint8Array(T);
    for (let t = 0; t < T; t++) miss[t] = present[t] & (1 - vis[t]);
    if (r < th.parts.limb_visible_rate.flag) masks[`${p}_missing`] = miss;
    reasons.level('parts.limb_missing', r, th.parts.limb_visible_rate, 'min',
      (s, thr) => `${p.replace('_', ' ')} seen in only ${(100 * r).toFixed(1)}% of the frames the subject is in (${s} below ${(100 * thr).toFixed(0)}%; occluded or out of view)`, maskRanges(miss));
  }
  metrics.limbs = limbMetrics;

  // ---- motion ----
  if (task && task.motion.hands !== 'none') motionCheck(track, seen, task, th, reasons, metrics, skipped);
  else skipped.push({ check: 'motion', reason: task ? `task ${task.id} requires no hand motion` : 'no task script given' });

  // ---- verdict ----
  const verdict: Verdict = reasons.list.some((r) => r.severity === 'reject') ? 'reject' : reasons.list.length ? 'flag' : 'pass';
  const any = new Uint8Array(T);
  for (const m of Object.values(masks)) for (let t = 0; t < T; t++) any[t] |= m[t];
  masks.any = any;
  return {
    verdict,
    reasons: reasons.list,
    metrics,
    skipped,
    masks,
    task: task ? task.id : null,
    frames: T,
    fps: track.fps,
    duration_s: round(duration, 3),
    thresholds: th,
  };
}

/** Per-frame presence from the capture: `presence` or the max of `presence_body` / `presence_*_hand` ([T] or [T,k]). */
function presenceFromExtras(ex: Record<string, NdArray> | undefined, T: number): Float64Array | null {
  if (!ex) return null;
  const arrays = ['presence', 'presence_body', 'presence_left_hand', 'presence_right_hand'].map((k) => ex[k]).filter((a) => a && a.shape[0] === T && a.data.length % T === 0);
  if (!arrays.length) return null;
  const out = new Float64Array(T);
  for (const a of arrays) {
    const per = a.data.length / T;
    for (let t = 0; t < T; t++) for (let k = 0; k < per; k++) out[t] = Math.max(out[t], Number(a.data[t * per + k]));
  }
  return out;
}

function intervals(ts: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 1; i < ts.length; i++) out.push(ts[i] - ts[i - 1]);
  return out;
}

// ---- jitter: 5-tap residual that cancels motion up to cubic, scaled so white noise σ reads σ ------------

const JITTER_TAPS = [-1 / 3, 4 / 3, -2, 4 / 3, -1 / 3];
const JITTER_GAIN = Math.sqrt(70 / 9); // sqrt(sum of squared taps)

function jitterCheck(track: PoseTrack, seen: Uint8Array, th: QualityThresholds, reasons: Reasons, metrics: Record<string, unknown>, masks: Record<string, Uint8Array>): void {
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const P = track.positions;
  const mask = new Uint8Array(T);
  // Do not run the filter across a dropped-frame gap: that is a timing problem, not jitter.
  const dts = intervals(track.timestamps);
  const med = median(dts) || 1 / track.fps;
  const contiguous = new Uint8Array(T); // contiguous[t] = 1 when t-1 → t is one nominal interval
  for (let t = 1; t < T; t++) contiguous[t] = dts[t - 1] <= med * 1.5 ? 1 : 0;
  const perJoint: number[] = [];
  const frameLimit = th.jitter.frame_mm / 1000;
  const absRes: number[] = [];
  const frameRes: number[][] = Array.from({ length: T }, () => []);
  for (let j = 0; j < J; j++) {
    let n = 0;
    for (let t = 2; t < T - 2; t++) {
      let ok = 1;
      for (let k = -2; k <= 2; k++) ok &= seen[(t + k) * J + j];
      for (let k = -1; k <= 2; k++) ok &= contiguous[t + k];
      if (!ok) continue;
      let r2 = 0;
      for (let c = 0; c < 3; c++) {
        let r = 0;
        for (let k = -2; k <= 2; k++) r += JITTER_TAPS[k + 2] * P[((t + k) * J + j) * 3 + c];
        r2 += r * r;
        absRes.push(Math.abs(r));
      }
      n++;
      frameRes[t].push(Math.sqrt(r2 / 3) / JITTER_GAIN);
    }
    // Robust scale: median |residual| / 0.6745 is σ of the residual for Gaussian noise, and fast phases of
    // real motion (which leak through the filter at low frame rates) do not inflate it as an RMS would.
    if (n >= 3) perJoint.push(median(absRes) / 0.6745 / JITTER_GAIN);
    absRes.length = 0;
  }
  // A frame is jittery when most of its joints shake together (one fast limb is motion, not noise).
  for (let t = 0; t < T; t++) if (frameRes[t].length >= 3 && median(frameRes[t]) > frameLimit) mask[t] = 1;
  masks.jitter = mask;
  if (!perJoint.length) {
    metrics.jitter = { noise_mm: null, note: 'fewer than 5 consecutive frames with joints seen' };
    return;
  }
  const noise = median(perJoint) * 1000;
  const worst = Math.max(...perJoint) * 1000;
  metrics.jitter = { noise_mm: round(noise, 2), worst_joint_mm: round(worst, 2), joints: perJoint.length };
  reasons.level('jitter.high', noise, th.jitter.noise_mm, 'max',
    (s, thr) => `keypoint jitter ${noise.toFixed(1)} mm (median over joints; ${s} above ${thr} mm)`, maskRanges(mask));
}

// ---- bone lengths -----------------------------------------------------------------------------------------

function boneCheck(track: PoseTrack, seen: Uint8Array, th: QualityThresholds, reasons: Reasons, metrics: Record<string, unknown>, masks: Record<string, Uint8Array>): void {
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const P = track.positions;
  const mask = new Uint8Array(T);
  const cvs: { bone: string; cv: number }[] = [];
  for (let j = 0; j < J; j++) {
    const p = track.parents[j];
    if (p < 0) continue;
    const len = new Float64Array(T).fill(NaN);
    const vals: number[] = [];
    for (let t = 0; t < T; t++) {
      if (!seen[t * J + j] || !seen[t * J + p]) continue;
      const a = (t * J + j) * 3;
      const b = (t * J + p) * 3;
      const l = Math.hypot(P[a] - P[b], P[a + 1] - P[b + 1], P[a + 2] - P[b + 2]);
      len[t] = l;
      vals.push(l);
    }
    if (vals.length < 5) continue;
    const med = median(vals);
    if (!(med >= 0.05)) continue; // shorter than 5 cm: keypoint noise dominates its relative spread
    // Slow changes only: a running median over ~0.5 s (at least 5 frames) removes frame-to-frame noise,
    // which is jitter's business, and keeps what persists (scale errors, identity swaps, depth flips).
    const half = Math.max(2, Math.round(0.25 * track.fps));
    const smooth: number[] = [];
    for (let t = 0; t < T; t++) {
      if (!Number.isFinite(len[t])) continue;
      const w: number[] = [];
      for (let k = Math.max(0, t - half); k <= Math.min(T - 1, t + half); k++) if (Number.isFinite(len[k])) w.push(len[k]);
      const s = median(w);
      smooth.push(s);
      if (Math.abs(s - med) > th.bones.outlier * med) mask[t] = 1;
    }
    const mean = smooth.reduce((a, b) => a + b, 0) / smooth.length;
    const sd = Math.sqrt(smooth.reduce((a, b) => a + (b - mean) ** 2, 0) / smooth.length);
    cvs.push({ bone: `${track.jointNames[p]}-${track.jointNames[j]}`, cv: sd / mean });
  }
  masks.bone_outlier = mask;
  if (!cvs.length) {
    metrics.bones = { cv: null, note: 'no bone longer than 5 cm seen in 5 frames' };
    return;
  }
  // The clip's figure: the 75th percentile over bones (one bad bone of many does not decide alone).
  const cv = quantile(cvs.map((c) => c.cv), 0.75);
  cvs.sort((a, b) => b.cv - a.cv);
  metrics.bones = { cv: round(cv), worst: cvs.slice(0, 3).map((c) => ({ bone: c.bone, cv: round(c.cv) })), bones: cvs.length };
  reasons.level('bones.inconsistent', cv, th.bones.cv, 'max',
    (s, thr) => `bone lengths vary (CV ${cv.toFixed(3)}, worst ${cvs[0].bone} ${cvs[0].cv.toFixed(3)}; ${s} above ${thr})`, maskRanges(mask));
}

// ---- framing (2D image landmarks) ------------------------------------------------------------------------

const LANDMARK_KEYS = ['image_landmarks', 'landmarks_2d', 'image_points', 'keypoints_2d'];

/** Which body parts a BlazePose landmark belongs to (capture's `image_body` extras are in BlazePose order). */
function blazeposeParts(name: string): BodyPart[] {
  const side = name.startsWith('left_') ? 'left' : name.startsWith('right_') ? 'right' : null;
  if (/nose|eye|ear|mouth/.test(name)) return ['head'];
  if (/shoulder/.test(name)) return ['torso', `${side}_arm` as BodyPart];
  if (/hip/.test(name)) return ['torso', `${side}_leg` as BodyPart];
  if (/elbow/.test(name)) return [`${side}_arm` as BodyPart];
  if (/wrist/.test(name)) return [`${side}_arm` as BodyPart, `${side}_hand` as BodyPart];
  if (/pinky|index|thumb/.test(name)) return [`${side}_hand` as BodyPart];
  return [`${side}_leg` as BodyPart];
}


export interface ImagePoints {
  /** [T, P, 2] image coordinates (pixels, or [0,1] when width = height = 1); NaN = none. */
  xy: Float64Array;
  P: number;
  /** Body parts each point belongs to. */
  parts: BodyPart[][];
  width: number;
  height: number;
  source: string;
}

/**
 * 2D image points of the subject per frame, from the track's extras: either `image_landmarks` [T,J,2+] aligned
 * with the track's joints (pixels, or normalised), or capture's `image_body` [T,33,3] (BlazePose order) and
 * `image_left_hand` / `image_right_hand` [T,21,3], normalised to the picture, ignored in frames whose
 * `presence_*` is 0. The reason when there are none.
 */
export function imageLandmarks(track: PoseTrack, video: VideoInfo | null, partIdx?: Map<BodyPart, number[]>): ImagePoints | { reason: string } {
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const ex = track.extras ?? {};
  const meta = (track.meta ?? {}) as Record<string, any>;
  const vid = (meta.video ?? {}) as Record<string, any>;
  let width = Number(vid.width ?? meta.width ?? (Array.isArray(meta.image_size) ? meta.image_size[0] : NaN));
  let height = Number(vid.height ?? meta.height ?? (Array.isArray(meta.image_size) ? meta.image_size[1] : NaN));
  if (!(width > 0 && height > 0) && video) { width = video.width; height = video.height; }

  const key = LANDMARK_KEYS.find((k) => ex[k]);
  if (key) {
    const a = ex[key];
    if (a.shape.length !== 3 || a.shape[0] !== T || a.shape[1] !== J || a.shape[2] < 2) {
      return { reason: `extras.${key} has shape [${a.shape}], expected [${T},${J},2]` };
    }
    const stride = a.shape[2];
    const xy = new Float64Array(T * J * 2);
    let maxAbs = 0;
    for (let i = 0; i < T * J; i++) {
      xy[2 * i] = Number(a.data[i * stride]);
      xy[2 * i + 1] = Number(a.data[i * stride + 1]);
      for (const v of [xy[2 * i], xy[2 * i + 1]]) if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const normalised = meta.image_landmarks_normalized === true || (maxAbs <= 1.5 && !(width > 1 && height > 1));
    if (normalised) { width = 1; height = 1; }
    if (!(width > 0 && height > 0)) return { reason: 'the track has 2D landmarks in pixels but no image size in its meta (video.width/height) and no video was given' };
    const parts: BodyPart[][] = Array.from({ length: J }, () => []);
    for (const [p, js] of partIdx ?? new Map()) for (const j of js) parts[j].push(p);
    return { xy, P: J, parts, width, height, source: `extras.${key}` };
  }

  // Capture's layout: normalised image points per model.
  const groups: { arr: NdArray; n: number; parts: (k: number) => BodyPart[]; presence?: NdArray }[] = [];
  if (ex.image_body && ex.image_body.shape[0] === T && ex.image_body.shape[1] === 33) {
    groups.push({ arr: ex.image_body, n: 33, parts: (k) => blazeposeParts(BLAZEPOSE_LANDMARKS[k]), presence: ex.presence_body });
  }
  for (const side of ['left', 'right'] as const) {
    const a = ex[`image_${side}_hand`];
    if (a && a.shape[0] === T && a.shape[1] === 21) groups.push({ arr: a, n: 21, parts: () => [`${side}_hand` as BodyPart], presence: ex[`presence_${side}_hand`] });
  }
  if (!groups.length) return { reason: 'the track carries no 2D image landmarks (extras.image_landmarks, or capture\'s image_body / image_*_hand)' };
  const P = groups.reduce((s, g) => s + g.n, 0);
  const xy = new Float64Array(T * P * 2).fill(NaN);
  const parts: BodyPart[][] = [];
  let off = 0;
  for (const g of groups) {
    const st = g.arr.shape[2] ?? 2;
    for (let k = 0; k < g.n; k++) parts.push(g.parts(k));
    for (let t = 0; t < T; t++) {
      if (g.presence && !(Number(g.presence.data[t]) > 0)) continue;
      for (let k = 0; k < g.n; k++) {
        xy[2 * (t * P + off + k)] = Number(g.arr.data[(t * g.n + k) * st]);
        xy[2 * (t * P + off + k) + 1] = Number(g.arr.data[(t * g.n + k) * st + 1]);
      }
    }
    off += g.n;
  }
  // Normalised coordinates: measure in a unit square stretched to the picture's aspect when it is known.
  const sx = width > 0 && height > 0 ? width : 1;
  const sy = width > 0 && height > 0 ? height : 1;
  if (sx !== 1 || sy !== 1) for (let i = 0; i < xy.length; i += 2) { xy[i] *= sx; xy[i + 1] *= sy; }
  return { xy, P, parts, width: sx, height: sy, source: groups.length > 1 ? 'capture image_body/image_*_hand' : 'capture image extras' };
}

function framingCheck(
  track: PoseTrack, task: TaskScript | null, required: BodyPart[], partIdx: Map<BodyPart, number[]>, video: VideoInfo | null,
  th: QualityThresholds, reasons: Reasons, metrics: Record<string, unknown>, masks: Record<string, Uint8Array>, skipped: { check: string; reason: string }[],
): void {
  const T = track.timestamps.length;
  const lm = imageLandmarks(track, video, partIdx);
  if ('reason' in lm) {
    skipped.push({ check: 'framing', reason: lm.reason });
    return;
  }
  const { xy, P, width: W, height: H } = lm;
  // Points that must stay inside the picture: those of the required parts (all points when none is required).
  const want = new Uint8Array(P);
  for (let k = 0; k < P; k++) want[k] = !required.length || lm.parts[k].some((p) => required.includes(p)) ? 1 : 0;
  const mx = th.framing.border_margin * W;
  const my = th.framing.border_margin * H;
  const cut = new Uint8Array(T);
  const heights: number[] = [];
  const cx: number[] = [];
  const cy: number[] = [];
  let framesWithPoints = 0;
  for (let t = 0; t < T; t++) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    let n = 0;
    for (let k = 0; k < P; k++) {
      const x = xy[2 * (t * P + k)];
      const y = xy[2 * (t * P + k) + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      n++;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      if (want[k] && (x < mx || x > W - mx || y < my || y > H - my)) cut[t] = 1;
    }
    if (n < 2) continue;
    framesWithPoints++;
    heights.push((Math.min(y1, H) - Math.max(y0, 0)) / H);
    cx.push((x0 + x1) / 2);
    cy.push((y0 + y1) / 2);
  }
  masks.cutoff = cut;
  if (!framesWithPoints) {
    skipped.push({ check: 'framing', reason: 'no frame has 2D landmarks' });
    return;
  }
  let nCut = 0;
  for (let t = 0; t < T; t++) nCut += cut[t];
  const cutRate = nCut / framesWithPoints;
  const size = median(heights);
  const std = (a: number[]) => { const m = a.reduce((s, v) => s + v, 0) / a.length; return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length); };
  const drift = Math.hypot(std(cx), std(cy)) / Math.hypot(W, H);
  metrics.framing = { cutoff_rate: round(cutRate), subject_size: round(size), centre_drift: round(drift), image: [W, H], source: lm.source };
  reasons.level('framing.cutoff', cutRate, th.framing.cutoff_rate, 'max',
    (s, thr) => `subject cut off at the image border in ${(100 * cutRate).toFixed(1)}% of frames (${s} above ${(100 * thr).toFixed(0)}%)`, maskRanges(cut));
  if (task?.camera === 'head-mounted') {
    skipped.push({ check: 'framing.size_drift', reason: 'head-mounted camera: hands move across the view by design' });
    return;
  }
  reasons.level('framing.small_subject', size, th.framing.subject_size, 'min',
    (s, thr) => `subject fills ${(100 * size).toFixed(1)}% of the image height (${s} below ${(100 * thr).toFixed(0)}%)`);
  reasons.level('framing.centre_drift', drift, th.framing.centre_drift, 'max',
    (s, thr) => `subject's centre wanders ${(100 * drift).toFixed(1)}% of the image diagonal (${s} above ${(100 * thr).toFixed(0)}%)`);
}

// ---- timing -----------------------------------------------------------------------------------------------

function timingCheck(ts: Float64Array, fps: number, th: QualityThresholds, reasons: Reasons, what: 'track' | 'video'): { metrics: Record<string, unknown>; afterDrop: Uint8Array } {
  const T = ts.length;
  const afterDrop = new Uint8Array(T);
  const pre = what === 'video' ? 'video ' : '';
  const codePre = what === 'video' ? 'video.' : '';
  if (T < 2) return { metrics: { note: 'fewer than 2 frames' }, afterDrop };
  const dts = intervals(ts);
  const nonMono: number[] = [];
  for (let i = 0; i < dts.length; i++) if (!(dts[i] > 0)) nonMono.push(i + 1);
  if (nonMono.length) {
    const m = new Uint8Array(T);
    nonMono.forEach((i) => (m[i] = 1));
    reasons.add({ code: `${codePre}timing.non_monotonic`, severity: 'reject', value: nonMono.length, threshold: 0, frames: maskRanges(m),
      message: `${pre}timestamps go backwards or repeat at ${nonMono.length} frame(s), first at frame ${nonMono[0]}` });
  }
  const pos = dts.filter((d) => d > 0);
  const med = median(pos);
  let dropped = 0;
  const regular: number[] = [];
  for (let i = 0; i < dts.length; i++) {
    if (!(dts[i] > 0)) continue;
    if (dts[i] > th.timing.gap_factor * med) {
      dropped += Math.max(1, Math.round(dts[i] / med) - 1);
      afterDrop[i + 1] = 1;
    } else regular.push(dts[i]);
  }
  const expected = T + dropped;
  const dropRate = dropped / expected;
  const mean = regular.reduce((a, b) => a + b, 0) / Math.max(1, regular.length);
  const cv = regular.length > 1 ? Math.sqrt(regular.reduce((a, b) => a + (b - mean) ** 2, 0) / regular.length) / mean : 0;
  const measured = 1 / med;
  const mismatch = fps > 0 ? Math.abs(measured / fps - 1) : 0;
  const m = { measured_fps: round(measured, 3), nominal_fps: fps, dropped_frames: dropped, dropped_rate: round(dropRate), interval_cv: round(cv), fps_mismatch: round(mismatch) };
  if (dropped > 0) {
    reasons.level(`${codePre}timing.dropped_frames`, dropRate, th.timing.dropped_rate, 'max',
      (s) => `${pre}${dropped} frame(s) dropped (timestamp gaps over ${th.timing.gap_factor}× the ${(1000 * med).toFixed(1)} ms interval, ${(100 * dropRate).toFixed(1)}% of frames; ${s})`,
      maskRanges(afterDrop));
  }
  reasons.level(`${codePre}timing.variable_rate`, cv, th.timing.interval_cv, 'max',
    (s, thr) => `${pre}frame intervals vary (CV ${cv.toFixed(3)}, ${s} above ${thr})`);
  reasons.level(`${codePre}timing.fps_mismatch`, mismatch, th.timing.fps_mismatch, 'max',
    (s, thr) => `${pre}frames arrive at ${measured.toFixed(2)} fps but the nominal rate is ${fps} (${s}: off by more than ${(100 * thr).toFixed(0)}%)`);
  return { metrics: m, afterDrop };
}

// ---- motion -----------------------------------------------------------------------------------------------

function motionCheck(track: PoseTrack, seen: Uint8Array, task: TaskScript, th: QualityThresholds, reasons: Reasons, metrics: Record<string, unknown>, skipped: { check: string; reason: string }[]): void {
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const P = track.positions;
  const idx = (n: string) => track.jointNames.indexOf(n);
  const pelvis = idx('pelvis');
  const out: Record<string, unknown> = {};
  const active: Record<string, { ratio: number; measured: boolean; detail: string }> = {};
  for (const side of ['left', 'right'] as const) {
    const handWrist = idx(`${side}_hand_wrist`);
    const bodyWrist = idx(`${side}_wrist`);
    const w = bodyWrist >= 0 ? bodyWrist : handWrist;
    let travel = NaN;
    if (w >= 0) {
      // Extent of the wrist's path (5th–95th percentile box diagonal), relative to the pelvis on a fixed camera.
      const rel = pelvis >= 0 && task.camera === 'fixed';
      const xs: number[][] = [[], [], []];
      for (let t = 0; t < T; t++) {
        if (!seen[t * J + w] || (rel && !seen[t * J + pelvis])) continue;
        for (let c = 0; c < 3; c++) xs[c].push(P[(t * J + w) * 3 + c] - (rel ? P[(t * J + pelvis) * 3 + c] : 0));
      }
      if (xs[0].length >= 5) {
        travel = Math.hypot(...xs.map((a) => quantile(a, 0.95) - quantile(a, 0.05)));
        if (travel < 1e-4 && w === handWrist) travel = NaN; // a wrist-centred hand track: travel not measurable
      }
    }
    let fingers = NaN;
    if (handWrist >= 0) {
      let best = 0;
      let any = false;
      for (const tip of ['thumb_tip', 'index_finger_tip', 'middle_finger_tip', 'ring_finger_tip', 'pinky_tip']) {
        const f = idx(`${side}_hand_${tip}`);
        if (f < 0) continue;
        const d: number[] = [];
        for (let t = 0; t < T; t++) {
          if (!seen[t * J + f] || !seen[t * J + handWrist]) continue;
          const a = (t * J + f) * 3, b = (t * J + handWrist) * 3;
          d.push(Math.hypot(P[a] - P[b], P[a + 1] - P[b + 1], P[a + 2] - P[b + 2]));
        }
        if (d.length >= 5) { any = true; best = Math.max(best, quantile(d, 0.95) - quantile(d, 0.05)); }
      }
      if (any) fingers = best;
    }
    out[`${side}_wrist_travel_m`] = Number.isFinite(travel) ? round(travel) : null;
    out[`${side}_finger_motion_m`] = Number.isFinite(fingers) ? round(fingers) : null;
    const parts: number[] = [];
    const det: string[] = [];
    if (Number.isFinite(travel) && task.motion.wrist_travel_m > 0) { parts.push(travel / task.motion.wrist_travel_m); det.push(`wrist travel ${(100 * travel).toFixed(1)} cm of ${(100 * task.motion.wrist_travel_m).toFixed(0)} cm`); }
    if (Number.isFinite(fingers) && task.motion.finger_motion_m > 0) { parts.push(fingers / task.motion.finger_motion_m); det.push(`finger motion ${(100 * fingers).toFixed(1)} cm of ${(100 * task.motion.finger_motion_m).toFixed(1)} cm`); }
    active[side] = parts.length ? { ratio: Math.min(...parts), measured: true, detail: det.join(', ') } : { ratio: NaN, measured: false, detail: 'not measurable' };
  }
  metrics.motion = out;
  const need: ('left' | 'right')[] = task.motion.hands === 'both' ? ['left', 'right'] : task.motion.hands === 'any' ? [] : [task.motion.hands as 'left' | 'right'];
  const ff = th.motion.flag_fraction;
  const judge = (ratio: number, message: string) => {
    if (ratio >= 1) return;
    reasons.add({ code: 'motion.absent', severity: ratio >= ff ? 'flag' : 'reject', value: ratio, threshold: 1, frames: [], message });
  };
  if (task.motion.hands === 'any') {
    const m = ['left', 'right'].map((s) => active[s]).filter((a) => a.measured);
    if (!m.length) { skipped.push({ check: 'motion', reason: 'neither hand\'s motion is measurable in this track' }); return; }
    const best = Math.max(...m.map((a) => a.ratio));
    judge(best, `no hand moves as the task needs (left: ${active.left.detail}; right: ${active.right.detail})`);
    return;
  }
  for (const s of need) {
    const a = active[s];
    if (!a.measured) {
      skipped.push({ check: `motion.${s}`, reason: `${s} hand motion not measurable in this track` });
      continue;
    }
    judge(a.ratio, `${s} hand does not move as task ${task.id} needs (${a.detail})`);
  }
}

// ---- video -------------------------------------------------------------------------------------------------

/** Video properties and packet times via ffprobe (UserError naming the file when it is not a video). */
export function probeVideoInfo(file: string): VideoInfo {
  const p = ffprobe(file);
  const v = p.streams.find((s) => s.codec_type === 'video');
  if (!v) throw new UserError('no video stream', file);
  const times = videoPacketTimes(file);
  return {
    file,
    width: Number(v.width),
    height: Number(v.height),
    fps: parseRate(v.r_frame_rate),
    avg_fps: parseRate(v.avg_frame_rate),
    duration_s: Number(v.duration ?? p.format.duration),
    frames: times.length,
    times,
  };
}

/** The report as JSON-able data: masks become frame ranges (the arrays themselves go to the episode). */
export function reportToJson(r: QualityReport): Record<string, unknown> {
  const masks: Record<string, FrameRange[]> = {};
  for (const [k, m] of Object.entries(r.masks)) masks[k] = maskRanges(m);
  return { ...r, masks };
}
