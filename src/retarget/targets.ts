/**
 * From a human pose track to robot-sized targets: gap filling, light zero-phase smoothing, per-limb
 * scaling (each human bone keeps its direction and takes the robot's segment length), foot stance
 * detection (height and speed with hysteresis), stance feet locked on the ground, and the body height
 * shifted so a stance foot's sole touches z = 0.
 */
import { UserError } from '../errors.ts';
import type { PoseTrack } from '../pose/track.ts';
import type { BodyMap, Side } from './discover.ts';
import { median, quantile } from '../math/stats.ts';

type V3 = [number, number, number];

export const KEYPOINTS = [
  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
  'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'head',
] as const;
export type Keypoint = (typeof KEYPOINTS)[number];

const REQUIRED = [
  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
  'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
];

export interface StanceOptions {
  /** Enter stance below this height (m, human) and speed (m/s); leave above the exit values. */
  enterHeight: number; exitHeight: number;
  enterSpeed: number; exitSpeed: number;
  /** Minimum stance duration, seconds. */
  minDuration: number;
  /** Heel lift (m, human) above which a foot is on its toes, not in a flat stance. */
  maxHeelLift: number;
  /**
   * A swing foot stays above the ground by `landingSlope` times its horizontal distance from the nearer
   * stance lock, up to `landingHeight` robot leg lengths: it lands on (and leaves) its lock from above.
   */
  landingSlope: number;
  landingHeight: number;
}

export const DEFAULT_STANCE: StanceOptions = { enterHeight: 0.04, exitHeight: 0.07, enterSpeed: 0.3, exitSpeed: 0.6, minDuration: 0.08, maxHeelLift: 0.08, landingSlope: 3, landingHeight: 0.05 };

export interface Targets {
  T: number;
  fps: number;
  timestamps: Float64Array;
  /** Robot-space targets [T, K, 3] in KEYPOINTS order (NaN where a keypoint is not used). */
  pos: Float64Array;
  /** Unit direction targets per frame [T, 3] each. */
  pelvisLeft: Float64Array;
  torsoLeft: Float64Array;
  torsoUp: Float64Array;
  footForward: Record<Side, Float64Array>;
  stance: Record<Side, Uint8Array>;
  /**
   * Landing cone per swing frame: the height (m) a swing sole keeps above the ground, min(landingSlope x
   * the ankle target's horizontal distance from the nearer stance lock, landingHeight x leg length); 0 in stance.
   */
  footClearance: Record<Side, Float64Array>;
  /** 1 in stance, ramping to 0 over the blend time before and after (weights follow it). */
  stanceWeight: Record<Side, Float64Array>;
  /** Human-side facts for the report. */
  humanLengths: Record<string, number>;
  robotLengths: Record<string, number>;
  scales: Record<string, number>;
  useHead: boolean;
  useToes: boolean;
}

function fillGaps(track: PoseTrack, j: number, out: Float64Array): boolean {
  const T = track.timestamps.length, J = track.jointNames.length, P = track.positions;
  let any = false;
  let last = -1;
  for (let t = 0; t < T; t++) {
    const o = 3 * (t * J + j);
    const ok = !Number.isNaN(P[o]) && !Number.isNaN(P[o + 1]) && !Number.isNaN(P[o + 2]);
    if (!ok) continue;
    any = true;
    for (let k = 0; k < 3; k++) out[3 * t + k] = P[o + k];
    if (last < 0) {
      for (let u = 0; u < t; u++) for (let k = 0; k < 3; k++) out[3 * u + k] = P[o + k];
    } else if (t - last > 1) {
      for (let u = last + 1; u < t; u++) {
        const a = (u - last) / (t - last);
        for (let k = 0; k < 3; k++) out[3 * u + k] = (1 - a) * out[3 * last + k] + a * out[3 * t + k];
      }
    }
    last = t;
  }
  if (!any) return false;
  for (let u = last + 1; u < T; u++) for (let k = 0; k < 3; k++) out[3 * u + k] = out[3 * last + k];
  return true;
}

/** Zero-phase Gaussian smoothing of a [T, c] series, edges replicated (keeps bounds and step bounds). */
export function gaussianSmooth(x: Float64Array, T: number, c: number, sigma: number): Float64Array {
  if (sigma <= 0.3 || T < 3) return x;
  const r = Math.ceil(3 * sigma);
  const w = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let k = -r; k <= r; k++) { w[k + r] = Math.exp(-(k * k) / (2 * sigma * sigma)); sum += w[k + r]; }
  for (let k = 0; k < w.length; k++) w[k] /= sum;
  const out = new Float64Array(x.length);
  for (let t = 0; t < T; t++) {
    for (let k = -r; k <= r; k++) {
      const u = Math.min(T - 1, Math.max(0, t + k));
      const wk = w[k + r];
      for (let i = 0; i < c; i++) out[t * c + i] += wk * x[u * c + i];
    }
  }
  return out;
}


const sub = (a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number): V3 => [a[ia] - b[ib], a[ia + 1] - b[ib + 1], a[ia + 2] - b[ib + 2]];
const len = (v: V3) => Math.hypot(v[0], v[1], v[2]);
const unit = (v: V3): V3 => { const n = len(v) || 1; return [v[0] / n, v[1] / n, v[2] / n]; };

export interface TargetOptions {
  stance?: Partial<StanceOptions>;
  /** Per-limb scale overrides (legs, arms, trunk): multiply the robot segment length targets. */
  limbScale?: Partial<Record<'legs' | 'arms' | 'trunk', number>>;
  /** Smoothing of the human input, seconds (Gaussian sigma). */
  smoothing?: number;
  file?: string;
}

export function buildTargets(track: PoseTrack, map: BodyMap, opts: TargetOptions = {}): Targets {
  const T = track.timestamps.length;
  const fps = track.fps;
  const st = { ...DEFAULT_STANCE, ...(opts.stance ?? {}) };
  const idx = (n: string) => track.jointNames.indexOf(n);
  const series: Record<string, Float64Array> = {};
  const missing: string[] = [];
  for (const n of [...REQUIRED, 'left_toe', 'right_toe', 'head', 'neck', 'pelvis']) {
    const j = idx(n);
    const buf = new Float64Array(3 * T);
    if (j >= 0 && fillGaps(track, j, buf)) series[n] = buf;
    else if (REQUIRED.includes(n)) missing.push(n);
  }
  if (missing.length) throw new UserError(`pose track lacks body joints needed for retargeting: ${missing.join(', ')}`, opts.file);
  const sigma = (opts.smoothing ?? 0.012) * fps;
  for (const k of Object.keys(series)) series[k] = gaussianSmooth(series[k], T, 3, sigma);
  const S = series;
  const mid = (a: Float64Array, b: Float64Array) => { const o = new Float64Array(3 * T); for (let i = 0; i < 3 * T; i++) o[i] = (a[i] + b[i]) / 2; return o; };
  const hipC = mid(S.left_hip, S.right_hip);
  const shC = mid(S.left_shoulder, S.right_shoulder);

  // Human bone lengths (median over the clip).
  const boneLen = (a: Float64Array, b: Float64Array) => { const v: number[] = []; for (let t = 0; t < T; t++) v.push(len(sub(a, 3 * t, b, 3 * t))); return median(v); };
  const H = {
    hip: (boneLen(S.left_hip, hipC) + boneLen(S.right_hip, hipC)) / 2,
    thigh: (boneLen(S.left_hip, S.left_knee) + boneLen(S.right_hip, S.right_knee)) / 2,
    shank: (boneLen(S.left_knee, S.left_ankle) + boneLen(S.right_knee, S.right_ankle)) / 2,
    trunk: boneLen(hipC, shC),
    shoulder: (boneLen(S.left_shoulder, shC) + boneLen(S.right_shoulder, shC)) / 2,
    upperarm: (boneLen(S.left_shoulder, S.left_elbow) + boneLen(S.right_shoulder, S.right_elbow)) / 2,
    forearm: (boneLen(S.left_elbow, S.left_wrist) + boneLen(S.right_elbow, S.right_wrist)) / 2,
    head: S.head ? boneLen(shC, S.head) : NaN,
  };
  const rest = map.rest;
  const rmid = (a: V3, b: V3): V3 => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2];
  const rd = (a: V3, b: V3) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
  const rHipC = rmid(rest.left_hip, rest.right_hip), rShC = rmid(rest.left_shoulder, rest.right_shoulder);
  const ls = opts.limbScale ?? {};
  const R = {
    hip: (rd(rest.left_hip, rHipC) + rd(rest.right_hip, rHipC)) / 2,
    thigh: ((rd(rest.left_hip, rest.left_knee) + rd(rest.right_hip, rest.right_knee)) / 2) * (ls.legs ?? 1),
    shank: ((rd(rest.left_knee, rest.left_ankle) + rd(rest.right_knee, rest.right_ankle)) / 2) * (ls.legs ?? 1),
    trunk: rd(rHipC, rShC) * (ls.trunk ?? 1),
    shoulder: (rd(rest.left_shoulder, rShC) + rd(rest.right_shoulder, rShC)) / 2,
    upperarm: ((rd(rest.left_shoulder, rest.left_elbow) + rd(rest.right_shoulder, rest.right_elbow)) / 2) * (ls.arms ?? 1),
    forearm: ((rd(rest.left_elbow, rest.left_wrist) + rd(rest.right_elbow, rest.right_wrist)) / 2) * (ls.arms ?? 1),
    head: rest.head ? rd(rShC, rest.head) : NaN,
  };
  const sLeg = (R.thigh + R.shank) / (H.thigh + H.shank);
  const sArm = (R.upperarm + R.forearm) / (H.upperarm + H.forearm);
  // Wrists: halfway between the pelvis-relative target and the same arm vector hung from the robot's
  // shoulder target. Fully pelvis-relative, a robot whose trunk is longer than the scaled person's (H1:
  // 1.47x against 1.09x for the arms) gets hand targets below its shoulders when the person's hands are
  // just above theirs (the CMU wave: the robot raised the waving hand in 48% of the frames instead of > 90%).
  // The blend grows with how much longer the robot's trunk is, relative to its arms, than the person's: 0 for
  // matching proportions (fully pelvis-relative, the tracking measure's frame), 0.5 from 1.3x on (H1: 1.35x).
  const trunkOverArm = (R.trunk / H.trunk) / sArm;
  const WRIST_FROM_SHOULDER = 0.5 * Math.min(1, Math.max(0, (trunkOverArm - 1) / 0.3));
  const scales: Record<string, number> = {
    legs: sLeg, arms: (R.upperarm + R.forearm) / (H.upperarm + H.forearm), trunk: R.trunk / H.trunk,
    hip_width: R.hip / H.hip, shoulder_width: R.shoulder / H.shoulder, root: sLeg,
  };
  const useHead = !!(S.head && rest.head && map.head);
  const useToes = !!(S.left_toe && S.right_toe);

  // ---- stance detection on the human feet
  const lowQ = (a: Float64Array) => { const z: number[] = []; for (let t = 0; t < T; t++) z.push(a[3 * t + 2]); return z; };
  const footLow: Record<Side, Float64Array> = { left: new Float64Array(T), right: new Float64Array(T) };
  const footSpeed: Record<Side, Float64Array> = { left: new Float64Array(T), right: new Float64Array(T) };
  const floorVals: number[] = [];
  for (const side of ['left', 'right'] as const) {
    const an = S[`${side}_ankle`], toe = S[`${side}_toe`];
    for (let t = 0; t < T; t++) floorVals.push(Math.min(an[3 * t + 2], toe ? toe[3 * t + 2] : Infinity));
  }
  const floor = quantile(floorVals, 0.02);
  // Heel lift: the ankle's height above its flat-foot height. A foot on its toes (lift above maxHeelLift)
  // is not a flat stance: it is not locked flat on the ground.
  // Flat-foot ankle and toe heights: the lower of the two feet's (a foot may stay on its toes all clip long).
  const heelLift: Record<Side, Float64Array> = { left: new Float64Array(T), right: new Float64Array(T) };
  const hA = Math.min(quantile(lowQ(S.left_ankle), 0.03), quantile(lowQ(S.right_ankle), 0.03)) - floor;
  const hT = S.left_toe && S.right_toe ? Math.min(quantile(lowQ(S.left_toe), 0.03), quantile(lowQ(S.right_toe), 0.03)) - floor : 0;
  for (const side of ['left', 'right'] as const) {
    const an = S[`${side}_ankle`], toe = S[`${side}_toe`];
    for (let t = 0; t < T; t++) {
      const za = an[3 * t + 2] - floor - hA;
      heelLift[side][t] = za;
      const zt = toe ? toe[3 * t + 2] - floor - hT : za;
      footLow[side][t] = Math.min(za, zt);
    }
    // Horizontal speed of the foot (ankle and toe mid), central differences.
    for (let t = 0; t < T; t++) {
      const a = Math.max(0, t - 1), b = Math.min(T - 1, t + 1);
      const dt = track.timestamps[b] - track.timestamps[a] || 1 / fps;
      let vx = (an[3 * b] - an[3 * a]) / dt, vy = (an[3 * b + 1] - an[3 * a + 1]) / dt;
      if (toe) { vx = (vx + (toe[3 * b] - toe[3 * a]) / dt) / 2; vy = (vy + (toe[3 * b + 1] - toe[3 * a + 1]) / dt) / 2; }
      footSpeed[side][t] = Math.hypot(vx, vy);
    }
  }
  const stance: Record<Side, Uint8Array> = { left: new Uint8Array(T), right: new Uint8Array(T) };
  for (const side of ['left', 'right'] as const) {
    let on = false;
    for (let t = 0; t < T; t++) {
      const h = footLow[side][t], v = footSpeed[side][t], lift = heelLift[side][t];
      if (!on && h < st.enterHeight && v < st.enterSpeed && lift < st.maxHeelLift) on = true;
      else if (on && (h > st.exitHeight || v > st.exitSpeed || lift > st.maxHeelLift)) on = false;
      stance[side][t] = on ? 1 : 0;
    }
    // Drop stance runs shorter than minDuration.
    const minLen = Math.max(1, Math.round(st.minDuration * fps));
    for (let t = 0; t < T;) {
      if (!stance[side][t]) { t++; continue; }
      let e = t;
      while (e < T && stance[side][e]) e++;
      if (e - t < minLen) stance[side].fill(0, t, e);
      t = e;
    }
  }

  // ---- robot targets: per-bone directions with robot lengths, rooted at the scaled human hip centre
  const K = KEYPOINTS.length;
  const pos = new Float64Array(T * K * 3).fill(NaN);
  const pelvisLeft = new Float64Array(3 * T), torsoLeft = new Float64Array(3 * T), torsoUp = new Float64Array(3 * T);
  const footForward = { left: new Float64Array(3 * T), right: new Float64Array(3 * T) };
  const ki = (k: Keypoint) => KEYPOINTS.indexOf(k);
  const put = (t: number, k: Keypoint, v: V3) => { const o = 3 * (t * K + ki(k)); pos[o] = v[0]; pos[o + 1] = v[1]; pos[o + 2] = v[2]; };
  const get = (t: number, k: Keypoint): V3 => { const o = 3 * (t * K + ki(k)); return [pos[o], pos[o + 1], pos[o + 2]]; };
  const step = (from: V3, a: Float64Array, b: Float64Array, t: number, L: number): V3 => {
    const u = unit(sub(b, 3 * t, a, 3 * t));
    return [from[0] + u[0] * L, from[1] + u[1] * L, from[2] + u[2] * L];
  };
  for (let t = 0; t < T; t++) {
    const root: V3 = [hipC[3 * t] * sLeg, hipC[3 * t + 1] * sLeg, (hipC[3 * t + 2] - floor) * sLeg];
    for (const side of ['left', 'right'] as const) {
      const hip = step(root, hipC, S[`${side}_hip`], t, R.hip);
      const knee = step(hip, S[`${side}_hip`], S[`${side}_knee`], t, R.thigh);
      const ankle = step(knee, S[`${side}_knee`], S[`${side}_ankle`], t, R.shank);
      put(t, `${side}_hip`, hip); put(t, `${side}_knee`, knee); put(t, `${side}_ankle`, ankle);
    }
    const sh = step(root, hipC, shC, t, R.trunk);
    for (const side of ['left', 'right'] as const) {
      const s = step(sh, shC, S[`${side}_shoulder`], t, R.shoulder);
      const e = step(s, S[`${side}_shoulder`], S[`${side}_elbow`], t, R.upperarm);
      const w = step(e, S[`${side}_elbow`], S[`${side}_wrist`], t, R.forearm);
      put(t, `${side}_shoulder`, s); put(t, `${side}_elbow`, e); put(t, `${side}_wrist`, w);
    }
    if (useHead) put(t, 'head', step(sh, shC, S.head, t, R.head));
    // Hands and feet: the person's pelvis→wrist / pelvis→ankle vector scaled by that limb's ratio (robot
    // arm or leg length / the person's), not the end of the chain of bones at robot lengths. The chain
    // carries the robot's own proportions (hip width, trunk length, shoulder width) into where the hands
    // and feet go — a wider stance, feet behind the pelvis, high wrists: a constant offset per limb against
    // the person. Elbows and knees keep the chain's targets (they shape the limb; their weights are lower).
    // Ankles: fully pelvis-relative; wrists: see WRIST_FROM_SHOULDER.
    for (const [end, base, sc, lam] of [['left_wrist', 'left_shoulder', sArm, WRIST_FROM_SHOULDER], ['right_wrist', 'right_shoulder', sArm, WRIST_FROM_SHOULDER], ['left_ankle', 'left_hip', sLeg, 0], ['right_ankle', 'right_hip', sLeg, 0]] as const) {
      const e = S[end], b = S[base], bt = get(t, base);
      const v: V3 = [0, 0, 0];
      for (let c = 0; c < 3; c++) {
        const uni = root[c] + sc * (e[3 * t + c] - hipC[3 * t + c]);
        const rel = bt[c] + sc * (e[3 * t + c] - b[3 * t + c]);
        v[c] = uni + lam * (rel - uni);
      }
      put(t, end, v);
    }
    const pl = unit(sub(S.left_hip, 3 * t, S.right_hip, 3 * t));
    const tl = unit(sub(S.left_shoulder, 3 * t, S.right_shoulder, 3 * t));
    const tu = unit(sub(shC, 3 * t, hipC, 3 * t));
    pelvisLeft.set(pl, 3 * t); torsoLeft.set(tl, 3 * t); torsoUp.set(tu, 3 * t);
    for (const side of ['left', 'right'] as const) {
      let f: V3;
      if (useToes) { const d = sub(S[`${side}_toe`], 3 * t, S[`${side}_ankle`], 3 * t); f = unit([d[0], d[1], 0]); }
      else f = unit([pl[1], -pl[0], 0]); // forward = left x up
      footForward[side].set(f, 3 * t);
    }
  }

  // ---- height: shift so the stance foot's sole is on the ground
  const aH = { left: map.feet.left.ankleHeight, right: map.feet.right.ankleHeight };
  const dz = new Float64Array(T).fill(NaN);
  for (let t = 0; t < T; t++) {
    let s = 0, n = 0;
    for (const side of ['left', 'right'] as const) {
      if (!stance[side][t]) continue;
      s += aH[side] - get(t, `${side}_ankle`)[2]; n++;
    }
    if (n) dz[t] = s / n;
  }
  fillLinear(dz, () => {
    // No stance anywhere: the lowest ankle over the clip touches the ground.
    let zmin = Infinity;
    for (let t = 0; t < T; t++) for (const side of ['left', 'right'] as const) zmin = Math.min(zmin, get(t, `${side}_ankle`)[2] - aH[side]);
    return -zmin;
  });
  const dzs = gaussianSmooth(dz, T, 1, 0.05 * fps);
  for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) pos[3 * (t * K + k) + 2] += dzs[t];

  // ---- stance locks: each stance run keeps the ankle at one place on the ground, foot heading fixed;
  // swing frames near a run blend towards the lock so the foot arrives there without a jump.
  const blend = Math.max(1, Math.round(0.1 * fps));
  const stanceWeight = { left: new Float64Array(T), right: new Float64Array(T) };
  const footClearance = { left: new Float64Array(T), right: new Float64Array(T) };
  const landingCap = st.landingHeight * (R.thigh + R.shank);
  for (const side of ['left', 'right'] as const) {
    const k = ki(`${side}_ankle`);
    const off = new Float64Array(2 * T); // xy offset applied in swing frames
    const offW = new Float64Array(T);
    const locks: { a: number; e: number; x: number; y: number }[] = [];
    for (let t = 0; t < T;) {
      if (!stance[side][t]) { t++; continue; }
      let e = t;
      while (e < T && stance[side][e]) e++;
      let mx = 0, my = 0, fx = 0, fy = 0;
      for (let u = t; u < e; u++) {
        mx += pos[3 * (u * K + k)]; my += pos[3 * (u * K + k) + 1];
        fx += footForward[side][3 * u]; fy += footForward[side][3 * u + 1];
      }
      mx /= e - t; my /= e - t;
      const fn = Math.hypot(fx, fy) || 1;
      locks.push({ a: t, e, x: mx, y: my });
      const oStart = [mx - pos[3 * (t * K + k)], my - pos[3 * (t * K + k) + 1]];
      const oEnd = [mx - pos[3 * ((e - 1) * K + k)], my - pos[3 * ((e - 1) * K + k) + 1]];
      for (let u = t; u < e; u++) {
        const o = 3 * (u * K + k);
        pos[o] = mx; pos[o + 1] = my; pos[o + 2] = aH[side];
        footForward[side][3 * u] = fx / fn; footForward[side][3 * u + 1] = fy / fn; footForward[side][3 * u + 2] = 0;
      }
      for (let i = 1; i <= blend; i++) {
        const w = 1 - i / (blend + 1);
        for (const [u, o] of [[t - i, oStart], [e - 1 + i, oEnd]] as const) {
          if (u < 0 || u >= T || stance[side][u]) continue;
          if (w > offW[u]) { offW[u] = w; off[2 * u] = o[0] * w; off[2 * u + 1] = o[1] * w; }
        }
      }
      t = e;
    }
    for (let u = 0; u < T; u++) stanceWeight[side][u] = stance[side][u] ? 1 : offW[u];
    // A swing foot comes down onto its next lock and leaves its last one from above, never along the floor:
    // its lowest allowed height rises with the horizontal distance from the nearer lock (a cone of slope
    // `landingSlope`, capped at `landingHeight`), so a foot that touches down is placed where it will stand,
    // not dragged into place.
    let li = 0;
    for (let u = 0; u < T; u++) {
      if (stance[side][u]) continue;
      const o = 3 * (u * K + k);
      pos[o] += off[2 * u]; pos[o + 1] += off[2 * u + 1];
      while (li < locks.length && locks[li].e <= u) li++;
      let d = Infinity;
      for (const lk of [locks[li - 1], locks[li]]) if (lk) d = Math.min(d, Math.hypot(pos[o] - lk.x, pos[o + 1] - lk.y));
      const c = Number.isFinite(d) ? Math.min(st.landingSlope * d, landingCap) : 0;
      footClearance[side][u] = c;
      pos[o + 2] = Math.max(pos[o + 2], aH[side] + c);
    }
  }

  return {
    T, fps, timestamps: track.timestamps, pos, pelvisLeft, torsoLeft, torsoUp, footForward, stance, stanceWeight, footClearance,
    humanLengths: H, robotLengths: R, scales, useHead, useToes,
  };
}

function fillLinear(v: Float64Array, fallback: () => number): void {
  const T = v.length;
  const known: number[] = [];
  for (let t = 0; t < T; t++) if (!Number.isNaN(v[t])) known.push(t);
  if (!known.length) { v.fill(fallback()); return; }
  for (let t = 0; t < known[0]; t++) v[t] = v[known[0]];
  for (let t = known[known.length - 1] + 1; t < T; t++) v[t] = v[known[known.length - 1]];
  for (let i = 0; i + 1 < known.length; i++) {
    const a = known[i], b = known[i + 1];
    for (let t = a + 1; t < b; t++) v[t] = v[a] + ((t - a) / (b - a)) * (v[b] - v[a]);
  }
}
