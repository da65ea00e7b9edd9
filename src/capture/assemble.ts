/**
 * Raw tracker rows → PoseTrack in the canonical skeleton.
 *
 * World frame (same as `pose import` of BlazePose world landmarks): X toward the camera, Y to the image's
 * right (the left of a person facing the camera), Z up; metres. The model frames (x right, y down, z away from
 * the camera) map as (x, y, z) → (−z, x, −y). Body: hip-centred per frame, then grounded per frame (lowest foot
 * point at z = 0). Hands: the wrist-centred hand shape, placed (see `HAND_PLACEMENT`) at the body's wrist of the same
 * side when the body gives that wrist where the hand is; otherwise from the hand's own camera-relative position
 * (its image vs world landmarks through the same pinhole as `root_camera`), in the body's frame of that frame or,
 * in a frame without a body, of the nearest frame with one; wrist-centred when the clip has no body frame at all
 * (and always in hands-only capture). A tracked hand is never dropped for lack of a body.
 *
 * Points outside the picture and lost tracks are NaN with confidence 0; nothing is interpolated.
 */
import { nd, type NdArray } from '../io/npz.ts';
import { BLAZEPOSE_LANDMARKS } from '../pose/blazepose.ts';
import { BODY_JOINTS, canonicalSkeleton } from '../pose/skeleton.ts';
import { oneEuroInPlace, type OneEuroParams } from './filter.ts';
import {
  BODY_N, R_BODY_DETECTED, H_HANDEDNESS, H_IMAGE, H_SCORE, H_SOURCE, H_WORLD, HAND_N, R_BODY_IMAGE, R_BODY_SCORE,
  R_BODY_VIS, R_BODY_WORLD, ROW, handBase,
} from './layout.ts';

export interface FilterSettings {
  body: OneEuroParams;
  hands: OneEuroParams;
}

/** MediaPipe's world-landmark smoothing for the body; for finger shapes (cm-scale motion) a faster one, chosen on
 * the dex-retargeting clip: 0.65 mm from the unfiltered points (which match MediaPipe's to 0.3 mm), 30 % less jitter. */
export const DEFAULT_FILTER: FilterSettings = {
  body: { minCutoff: 0.1, beta: 40, dCutoff: 1 },
  hands: { minCutoff: 2, beta: 150, dCutoff: 1 },
};

const BP_PARENT: Record<string, string> = {
  nose: 'head', left_eye_inner: 'nose', left_eye: 'left_eye_inner', left_eye_outer: 'left_eye', right_eye_inner: 'nose',
  right_eye: 'right_eye_inner', right_eye_outer: 'right_eye', left_ear: 'left_eye_outer', right_ear: 'right_eye_outer',
  mouth_left: 'nose', mouth_right: 'nose', left_shoulder: 'chest', right_shoulder: 'chest', left_elbow: 'left_shoulder',
  right_elbow: 'right_shoulder', left_wrist: 'left_elbow', right_wrist: 'right_elbow', left_pinky: 'left_wrist',
  right_pinky: 'right_wrist', left_index: 'left_wrist', right_index: 'right_wrist', left_thumb: 'left_wrist',
  right_thumb: 'right_wrist', left_hip: 'pelvis', right_hip: 'pelvis', left_knee: 'left_hip', right_knee: 'right_hip',
  left_ankle: 'left_knee', right_ankle: 'right_knee', left_heel: 'left_ankle', right_heel: 'right_ankle',
  left_foot_index: 'left_ankle', right_foot_index: 'right_ankle',
};
const FOOT = ['left_heel', 'right_heel', 'left_foot_index', 'right_foot_index', 'left_ankle', 'right_ankle'].map((n) => BLAZEPOSE_LANDMARKS.indexOf(n as never));

/** How a hand's points were placed in a frame (`extras.placement_<side>_hand`). */
export const HAND_PLACEMENT = {
  /** Not tracked in this frame. */
  none: 0,
  /** At the body's wrist of the same side (the body gives that wrist, in the picture where the hand's wrist is). */
  body_wrist: 1,
  /** The body is tracked but gives no wrist where the hand is: the hand's own camera-relative position (pinhole fit of its
   * image vs world landmarks) minus the hip's (`root_camera`), in this frame's body frame. */
  camera: 2,
  /** No body in this frame: the hand's own camera-relative position against the hip of the nearest frame with one. */
  camera_nearest_body: 3,
  /** Wrist-centred (wrist at the origin): no body frame to place it in (hands-only capture, or no body in the clip). */
  wrist_centred: 4,
} as const;

/** meta.hand_frame of a capture's track: where the hand points are. */
export function handFrameNote(body: boolean): string {
  if (!body) return 'each hand wrist-centred (wrist at the origin)';
  return 'hands placed at the body wrist of the same side when the body gives it where the hand is, else from the hand\'s own camera-relative position (pinhole fit, same lens as root_camera) against the hip of this frame or, without a body in the frame, of the nearest frame with one; wrist-centred if the clip has no body; a tracked hand is never dropped: placement_<side>_hand [T] says which (0 none, 1 body wrist, 2 camera fit in this frame\'s body frame, 3 camera fit against the nearest body frame, 4 wrist-centred); body joints of a frame without a body are NaN with confidence 0';
}

/** A body wrist further than this many palm lengths (hand wrist → middle finger base, in the picture) from the hand's
 * own wrist is not taken as that hand's wrist. */
const WRIST_AGREE_PALMS = 1;

export interface Assembled {
  positions: Float32Array;
  confidence: Float32Array;
  jointNames: string[];
  parents: number[];
  extras: Record<string, NdArray>;
  rates: { body: number; left_hand: number; right_hand: number; any: number };
}

const inImage = (x: number, y: number) => x >= 0 && x <= 1 && y >= 0 && y <= 1;

/**
 * Camera-relative position of the hip centre per frame, from the image landmarks and the metric world landmarks
 * of the same frame: the translation t minimising the reprojection error of (world + t) through a pinhole of
 * focal length `f` pixels centred in the picture (linear least squares, 3 unknowns, 2 equations per visible
 * landmark). Camera frame: x right, y down, z forward; NaN without a body.
 */
export function rootTranslation(rows: Float32Array, T: number, width: number, height: number, f: number): Float32Array {
  const out = new Float32Array(T * 3).fill(NaN);
  for (let t = 0; t < T; t++) {
    const r = t * ROW;
    if (!(rows[r + R_BODY_SCORE] > 0)) continue;
    const x = fitTranslation(rows, r + R_BODY_IMAGE, r + R_BODY_WORLD, BODY_N, (k) => rows[r + R_BODY_VIS + k] > 0.5, width, height, f);
    if (x) out.set(x, 3 * t);
  }
  return out;
}

/**
 * The translation t minimising the reprojection error of (world_k + t) onto image_k (normalized) through a pinhole
 * of focal length `f` pixels centred in the picture, over the n points `use` accepts (at least 6); null when
 * degenerate or behind the camera. Camera frame: x right, y down, z forward.
 */
function fitTranslation(rows: Float32Array, imageAt: number, worldAt: number, n: number, use: (k: number) => boolean, width: number, height: number, f: number): number[] | null {
  const cx = width / 2;
  const cy = height / 2;
  // Normal equations A^T A x = A^T b for x = (tx, ty, tz).
  const M = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const v = [0, 0, 0];
  let used = 0;
  for (let k = 0; k < n; k++) {
    if (!use(k)) continue;
    const u = rows[imageAt + 3 * k] * width - cx;
    const w = rows[imageAt + 3 * k + 1] * height - cy;
    const X = rows[worldAt + 3 * k];
    const Y = rows[worldAt + 3 * k + 1];
    const Z = rows[worldAt + 3 * k + 2];
    if (Number.isNaN(u + w + X + Y + Z)) continue;
    // f (X + tx) - u (Z + tz) = 0  →  [f, 0, -u] · t = u Z - f X ;  same for y with w.
    for (const [a, b] of [[[f, 0, -u], u * Z - f * X], [[0, f, -w], w * Z - f * Y]] as [number[], number][]) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) M[3 * i + j] += a[i] * a[j];
        v[i] += a[i] * b;
      }
    }
    used++;
  }
  if (used < 6) return null;
  const x = solve3(M, v);
  return x && x[2] > 0 ? x : null;
}

/**
 * Per frame, where one hand's wrist goes in the track (`at`, [T,3]) and how it was placed (`how`, HAND_PLACEMENT), for
 * a body+hands capture: `positions`/`confidence` already hold the body joints; `root` the hip's camera-relative
 * position per frame (track axes, NaN where unknown) and `groundShift` the height added to ground each frame.
 */
function handOrigins(rows: Float32Array, T: number, side: 0 | 1, positions: Float32Array, confidence: Float32Array, J: number, wristJ: number, root: Float32Array, groundShift: Float32Array, times: Float64Array, filter: FilterSettings | null, camera?: { width: number; height: number; focalPx: number }): { at: Float32Array; how: Uint8Array } {
  const b = handBase(side);
  const bodyWrist = BLAZEPOSE_LANDMARKS.indexOf(side === 0 ? 'left_wrist' : 'right_wrist');
  const at = new Float32Array(T * 3).fill(NaN);
  const how = new Uint8Array(T);
  // The hand wrist's camera-relative position, track axes.
  const cam = new Float32Array(T * 3).fill(NaN);
  if (camera) {
    for (let t = 0; t < T; t++) {
      const r = t * ROW + b;
      if (!(rows[r + H_SCORE] > 0)) continue;
      const x = fitTranslation(rows, r + H_IMAGE, r + H_WORLD, HAND_N, (k) => inImage(rows[r + H_IMAGE + 3 * k], rows[r + H_IMAGE + 3 * k + 1]), camera.width, camera.height, camera.focalPx);
      if (!x) continue;
      const cx = x[0] + rows[r + H_WORLD], cy = x[1] + rows[r + H_WORLD + 1], cz = x[2] + rows[r + H_WORLD + 2];
      cam[3 * t] = -cz;
      cam[3 * t + 1] = cx;
      cam[3 * t + 2] = -cy;
    }
    if (filter) oneEuroInPlace(cam, T, 1, times, filter.body);
  }
  // Nearest frame with a hip position, for frames without one.
  const prev = new Int32Array(T).fill(-1);
  const next = new Int32Array(T).fill(-1);
  for (let t = 0, k = -1; t < T; t++) { if (!Number.isNaN(root[3 * t])) k = t; prev[t] = k; }
  for (let t = T - 1, k = -1; t >= 0; t--) { if (!Number.isNaN(root[3 * t])) k = t; next[t] = k; }
  for (let t = 0; t < T; t++) {
    const r = t * ROW;
    if (!(rows[r + b + H_SCORE] > 0)) continue;
    if (confidence[t * J + wristJ] > 0) {
      let agree = true;
      if (camera) {
        const px = (a: number, c: number) => rows[a + c] * (c === 0 ? camera.width : camera.height);
        const hw = r + b + H_IMAGE;
        const palm = Math.hypot(px(hw, 0) - px(hw + 27, 0), px(hw, 1) - px(hw + 27, 1));
        const bw = r + R_BODY_IMAGE + 3 * bodyWrist;
        agree = Math.hypot(px(hw, 0) - px(bw, 0), px(hw, 1) - px(bw, 1)) <= WRIST_AGREE_PALMS * palm;
      }
      if (agree) {
        how[t] = HAND_PLACEMENT.body_wrist;
        for (let c = 0; c < 3; c++) at[3 * t + c] = positions[3 * (t * J + wristJ) + c];
        continue;
      }
    }
    let k = -1;
    if (!Number.isNaN(cam[3 * t])) {
      if (!Number.isNaN(root[3 * t])) k = t;
      else if (prev[t] < 0) k = next[t];
      else if (next[t] < 0) k = prev[t];
      else k = t - prev[t] <= next[t] - t ? prev[t] : next[t];
    }
    if (k < 0) {
      how[t] = HAND_PLACEMENT.wrist_centred;
      at.fill(0, 3 * t, 3 * t + 3);
      continue;
    }
    how[t] = k === t ? HAND_PLACEMENT.camera : HAND_PLACEMENT.camera_nearest_body;
    at[3 * t] = cam[3 * t] - root[3 * k];
    at[3 * t + 1] = cam[3 * t + 1] - root[3 * k + 1];
    at[3 * t + 2] = cam[3 * t + 2] - root[3 * k + 2] + groundShift[k];
  }
  return { at, how };
}

function solve3(M: number[], b: number[]): number[] | null {
  const det = (m: number[]) => m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const d = det(M);
  if (!(Math.abs(d) > 1e-12)) return null;
  const out = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    const m = M.slice();
    for (let r = 0; r < 3; r++) m[3 * r + c] = b[r];
    out[c] = det(m) / d;
  }
  return out;
}

export function assemble(rows: Float32Array, times: Float64Array, T: number, parts: { body: boolean; hands: boolean }, filter: FilterSettings | null, camera?: { width: number; height: number; focalPx: number }): Assembled {
  const { names, parents } = canonicalSkeleton(parts);
  const canon = names.length;
  if (parts.body) {
    for (const n of BLAZEPOSE_LANDMARKS) {
      names.push(`blazepose_${n}`);
      parents.push(-2); // resolved below
    }
    for (let j = canon; j < names.length; j++) {
      const p = BP_PARENT[names[j].slice('blazepose_'.length)];
      parents[j] = names.indexOf(BP_PARENT[p] !== undefined ? `blazepose_${p}` : p);
    }
  }
  const J = names.length;
  const positions = new Float32Array(T * J * 3).fill(NaN);
  const confidence = new Float32Array(T * J);
  const extras: Record<string, NdArray> = {};
  let nBody = 0;
  let nAny = 0;
  const nHand = [0, 0];

  // ---- body --------------------------------------------------------------------------------------------
  const bodyW = new Float32Array(T * BODY_N * 3).fill(NaN);
  const bodyC = new Float32Array(T * BODY_N);
  // Per frame: the hip centre's camera-relative position (track axes; NaN without a body or a camera) and the
  // height added to ground the body (0 where it was not grounded): what places a hand in the body's frame.
  const root = new Float32Array(T * 3).fill(NaN);
  const groundShift = new Float32Array(T);
  if (parts.body) {
    const img = new Float32Array(T * BODY_N * 3);
    const vis = new Float32Array(T * BODY_N);
    const pres = new Float32Array(T);
    const detected = new Uint8Array(T);
    for (let t = 0; t < T; t++) {
      const r = t * ROW;
      pres[t] = rows[r + R_BODY_SCORE];
      detected[t] = rows[r + R_BODY_DETECTED] > 0 ? 1 : 0;
      if (pres[t] > 0) nBody++;
      for (let k = 0; k < BODY_N; k++) {
        const ix = rows[r + R_BODY_IMAGE + 3 * k];
        const iy = rows[r + R_BODY_IMAGE + 3 * k + 1];
        img[3 * (t * BODY_N + k)] = ix;
        img[3 * (t * BODY_N + k) + 1] = iy;
        img[3 * (t * BODY_N + k) + 2] = rows[r + R_BODY_IMAGE + 3 * k + 2];
        vis[t * BODY_N + k] = pres[t] > 0 ? rows[r + R_BODY_VIS + k] : 0;
        if (!(pres[t] > 0) || !inImage(ix, iy)) continue;
        const o = 3 * (t * BODY_N + k);
        const x = rows[r + R_BODY_WORLD + 3 * k];
        const y = rows[r + R_BODY_WORLD + 3 * k + 1];
        const z = rows[r + R_BODY_WORLD + 3 * k + 2];
        bodyW[o] = -z;
        bodyW[o + 1] = x;
        bodyW[o + 2] = -y;
        bodyC[t * BODY_N + k] = Math.min(1, Math.max(1e-6, rows[r + R_BODY_VIS + k]));
      }
    }
    if (filter) oneEuroInPlace(bodyW, T, BODY_N, times, filter.body);
    // Ground each frame: lowest foot point at z = 0.
    for (let t = 0; t < T; t++) {
      let lo = Infinity;
      for (const k of FOOT) {
        const z = bodyW[3 * (t * BODY_N + k) + 2];
        if (z < lo) lo = z;
      }
      if (!Number.isFinite(lo)) continue;
      groundShift[t] = -lo;
      for (let k = 0; k < BODY_N; k++) bodyW[3 * (t * BODY_N + k) + 2] -= lo;
    }
    extras.presence_body = nd(pres, [T]);
    if (camera) {
      // Camera frame → track axes (X toward the camera, Y image right, Z up), like the landmarks.
      const cam = rootTranslation(rows, T, camera.width, camera.height, camera.focalPx);
      for (let t = 0; t < T; t++) {
        root[3 * t] = -cam[3 * t + 2];
        root[3 * t + 1] = cam[3 * t];
        root[3 * t + 2] = -cam[3 * t + 1];
      }
      if (filter) oneEuroInPlace(root, T, 1, times, filter.body);
      extras.root_camera = nd(root, [T, 3]);
    }
    extras.detector_body = nd(detected, [T]);
    extras.image_body = nd(img, [T, BODY_N, 3]);
    extras.visibility_body = nd(vis, [T, BODY_N]);
    // Canonical body joints and the 33 originals.
    const bp = (name: string) => BLAZEPOSE_LANDMARKS.indexOf(name as never);
    const set = (t: number, j: number, x: number, y: number, z: number, c: number) => {
      if (!(c > 0) || Number.isNaN(x) || Number.isNaN(y) || Number.isNaN(z)) return;
      const o = 3 * (t * J + j);
      positions[o] = x;
      positions[o + 1] = y;
      positions[o + 2] = z;
      confidence[t * J + j] = c;
    };
    const mix = (t: number, j: number, a: number, b: number, wa: number) => {
      const oa = 3 * (t * BODY_N + a);
      const ob = 3 * (t * BODY_N + b);
      const c = Math.min(bodyC[t * BODY_N + a], bodyC[t * BODY_N + b]);
      set(t, j, wa * bodyW[oa] + (1 - wa) * bodyW[ob], wa * bodyW[oa + 1] + (1 - wa) * bodyW[ob + 1], wa * bodyW[oa + 2] + (1 - wa) * bodyW[ob + 2], c);
    };
    const L = (n: string) => bp(n);
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < BODY_N; k++) {
        const o = 3 * (t * BODY_N + k);
        set(t, canon + k, bodyW[o], bodyW[o + 1], bodyW[o + 2], bodyC[t * BODY_N + k]);
      }
      const jx = (n: string) => BODY_JOINTS.indexOf(n as never);
      // pelvis, neck, spine, chest, head
      mix(t, jx('pelvis'), L('left_hip'), L('right_hip'), 0.5);
      mix(t, jx('neck'), L('left_shoulder'), L('right_shoulder'), 0.5);
      mix(t, jx('head'), L('left_ear'), L('right_ear'), 0.5);
      for (const [name, w] of [['spine', 0.3], ['chest', 0.65]] as const) {
        const pj = jx('pelvis');
        const nj = jx('neck');
        const cp = confidence[t * J + pj];
        const cn = confidence[t * J + nj];
        if (cp > 0 && cn > 0) {
          const op = 3 * (t * J + pj);
          const on = 3 * (t * J + nj);
          set(t, jx(name), w * positions[on] + (1 - w) * positions[op], w * positions[on + 1] + (1 - w) * positions[op + 1], w * positions[on + 2] + (1 - w) * positions[op + 2], Math.min(cp, cn));
        }
      }
      for (const s of ['left', 'right']) {
        for (const p of ['shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle']) mix(t, jx(`${s}_${p}`), L(`${s}_${p}`), L(`${s}_${p}`), 1);
        mix(t, jx(`${s}_toe`), L(`${s}_foot_index`), L(`${s}_foot_index`), 1);
      }
    }
  }

  // ---- hands -------------------------------------------------------------------------------------------
  if (parts.hands) {
    for (const side of [0, 1] as const) {
      const label = side === 0 ? 'left' : 'right';
      const b = handBase(side);
      const local = new Float32Array(T * HAND_N * 3).fill(NaN);
      const raw = new Float32Array(T * HAND_N * 3).fill(NaN);
      const img = new Float32Array(T * HAND_N * 3).fill(NaN);
      const score = new Float32Array(T);
      const handed = new Float32Array(T).fill(NaN);
      const source = new Uint8Array(T);
      for (let t = 0; t < T; t++) {
        const r = t * ROW + b;
        score[t] = rows[r + H_SCORE];
        source[t] = rows[r + H_SOURCE];
        if (!(score[t] > 0)) continue;
        nHand[side]++;
        handed[t] = rows[r + H_HANDEDNESS];
        const wx = rows[r + H_WORLD];
        const wy = rows[r + H_WORLD + 1];
        const wz = rows[r + H_WORLD + 2];
        for (let k = 0; k < HAND_N; k++) {
          const o = 3 * (t * HAND_N + k);
          const ix = rows[r + H_IMAGE + 3 * k];
          const iy = rows[r + H_IMAGE + 3 * k + 1];
          img[o] = ix;
          img[o + 1] = iy;
          img[o + 2] = rows[r + H_IMAGE + 3 * k + 2];
          const x = rows[r + H_WORLD + 3 * k] - wx;
          const y = rows[r + H_WORLD + 3 * k + 1] - wy;
          const z = rows[r + H_WORLD + 3 * k + 2] - wz;
          raw[o] = -z;
          raw[o + 1] = x;
          raw[o + 2] = -y;
          if (!inImage(ix, iy)) continue;
          local[o] = -z;
          local[o + 1] = x;
          local[o + 2] = -y;
        }
      }
      if (filter) oneEuroInPlace(local, T, HAND_N, times, filter.hands);
      extras[`presence_${label}_hand`] = nd(score, [T]);
      extras[`handedness_${label}_hand`] = nd(handed, [T]);
      extras[`source_${label}_hand`] = nd(source, [T]);
      extras[`image_${label}_hand`] = nd(img, [T, HAND_N, 3]);
      extras[`hand_local_${label}`] = nd(raw, [T, HAND_N, 3]);
      const j0 = names.indexOf(`${label}_hand_wrist`);
      const origin = parts.body ? handOrigins(rows, T, side, positions, confidence, J, names.indexOf(`${label}_wrist`), root, groundShift, times, filter, camera) : null;
      const placement = new Uint8Array(T);
      for (let t = 0; t < T; t++) {
        if (!(score[t] > 0)) continue;
        let ox = 0, oy = 0, oz = 0;
        placement[t] = HAND_PLACEMENT.wrist_centred;
        if (origin) {
          placement[t] = origin.how[t];
          ox = origin.at[3 * t];
          oy = origin.at[3 * t + 1];
          oz = origin.at[3 * t + 2];
        }
        for (let k = 0; k < HAND_N; k++) {
          const o = 3 * (t * HAND_N + k);
          if (Number.isNaN(local[o])) continue;
          const j = j0 + k;
          positions[3 * (t * J + j)] = local[o] + ox;
          positions[3 * (t * J + j) + 1] = local[o + 1] + oy;
          positions[3 * (t * J + j) + 2] = local[o + 2] + oz;
          confidence[t * J + j] = Math.min(1, Math.max(1e-6, score[t]));
        }
      }
      extras[`placement_${label}_hand`] = nd(placement, [T]);
    }
  }
  for (let t = 0; t < T; t++) {
    const r = t * ROW;
    if (rows[r + R_BODY_SCORE] > 0 || rows[r + handBase(0) + H_SCORE] > 0 || rows[r + handBase(1) + H_SCORE] > 0) nAny++;
  }
  const rate = (n: number) => (T ? n / T : 0);
  return {
    positions, confidence, jointNames: names, parents, extras,
    rates: { body: rate(nBody), left_hand: rate(nHand[0]), right_hand: rate(nHand[1]), any: rate(nAny) },
  };
}
