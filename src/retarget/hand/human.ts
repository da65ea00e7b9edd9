/**
 * The human hand side: a palm frame per frame from the 21 MediaPipe landmarks, and hand sizes.
 *
 * Palm frame (any input orientation; only relative positions matter):
 * - forward f = wrist → middle-finger MCP
 * - thumb side t = pinky (or ring) MCP → index MCP, made perpendicular to f (lateral 'pinky', the default);
 *   or middle MCP → index MCP made perpendicular to f (lateral 'middle': t then lies in the plane through
 *   the wrist, index and middle MCPs, the MANO wrist frame that dex-retargeting's keypoints are given in)
 * - normal n (the side the fingers curl toward) = t × f for a right hand, f × t for a left hand.
 */
import { FINGER_LANDMARKS, HUMAN_FINGERS, type HumanFinger } from './discover.ts';
import { median } from './vec.ts';
import { OneEuroFilter as OneEuroFilterBase } from '../../math/oneeuro.ts';

/** Which landmarks set the human palm frame's thumb-side axis (see humanPalmCoords). */
export type HumanLateral = 'pinky' | 'middle';

export interface HumanHandSize {
  /** Wrist → middle MCP, metres. */
  palm: number;
  /** Sum of bone lengths base → tip per finger (thumb from the CMC landmark), metres. */
  finger: Record<HumanFinger, number>;
}

/** Typical adult hand (metres): the default until a clip calibrates it. */
export const DEFAULT_HUMAN_HAND: HumanHandSize = {
  palm: 0.095,
  finger: { thumb: 0.095, index: 0.08, middle: 0.09, ring: 0.085, pinky: 0.067 },
};

/**
 * Compute the palm frame of one frame of landmarks (63 values, any frame, any origin) and write the
 * landmarks relative to the wrist in palm coordinates (f, n, t) into out (63 values). Returns false when a
 * landmark the frame needs is missing (NaN) or degenerate. Allocates nothing.
 */
export function humanPalmCoords(lm: ArrayLike<number>, side: 'left' | 'right', out: Float64Array, lateral: HumanLateral = 'pinky'): boolean {
  const wx = lm[0], wy = lm[1], wz = lm[2];
  // f: wrist → middle MCP (9)
  let fx = lm[27] - wx, fy = lm[28] - wy, fz = lm[29] - wz;
  let l = Math.hypot(fx, fy, fz);
  if (!(l > 1e-6)) return false;
  fx /= l; fy /= l; fz /= l;
  // lateral: pinky MCP (17), else ring MCP (13) → index MCP (5); or middle MCP (9) → index MCP (5)
  const lo = lateral === 'middle' ? 27 : 51;
  let ox = lm[lo], oy = lm[lo + 1], oz = lm[lo + 2];
  if (!(ox === ox && oy === oy && oz === oz)) { ox = lm[39]; oy = lm[40]; oz = lm[41]; }
  let tx = lm[15] - ox, ty = lm[16] - oy, tz = lm[17] - oz;
  const d = tx * fx + ty * fy + tz * fz;
  tx -= d * fx; ty -= d * fy; tz -= d * fz;
  l = Math.hypot(tx, ty, tz);
  if (!(l > 1e-6)) return false;
  tx /= l; ty /= l; tz /= l;
  // n = t × f (right) or f × t (left)
  let nx = ty * fz - tz * fy, ny = tz * fx - tx * fz, nz = tx * fy - ty * fx;
  if (side === 'left') { nx = -nx; ny = -ny; nz = -nz; }
  for (let j = 0; j < 21; j++) {
    const px = lm[3 * j] - wx, py = lm[3 * j + 1] - wy, pz = lm[3 * j + 2] - wz;
    if (!(px === px && py === py && pz === pz)) return false;
    out[3 * j] = px * fx + py * fy + pz * fz;
    out[3 * j + 1] = px * nx + py * ny + pz * nz;
    out[3 * j + 2] = px * tx + py * ty + pz * tz;
  }
  return true;
}

/** Median hand size over frames of landmarks ([T*63]); frames with missing points are skipped. */
export function measureHumanHand(frames: ArrayLike<number>, T: number): HumanHandSize {
  const palm: number[] = [];
  const fingers: Record<HumanFinger, number[]> = { thumb: [], index: [], middle: [], ring: [], pinky: [] };
  const dist = (o: number, a: number, b: number) =>
    Math.hypot(frames[o + 3 * a] - frames[o + 3 * b], frames[o + 3 * a + 1] - frames[o + 3 * b + 1], frames[o + 3 * a + 2] - frames[o + 3 * b + 2]);
  for (let t = 0; t < T; t++) {
    const o = 63 * t;
    palm.push(dist(o, 0, 9));
    for (const f of HUMAN_FINGERS) {
      const idx = FINGER_LANDMARKS[f];
      fingers[f].push(dist(o, idx[0], idx[1]) + dist(o, idx[1], idx[2]) + dist(o, idx[2], idx[3]));
    }
  }
  const pick = (xs: number[], d: number) => { const m = median(xs); return Number.isFinite(m) && m > 0 ? m : d; };
  return {
    palm: pick(palm, DEFAULT_HUMAN_HAND.palm),
    finger: {
      thumb: pick(fingers.thumb, DEFAULT_HUMAN_HAND.finger.thumb),
      index: pick(fingers.index, DEFAULT_HUMAN_HAND.finger.index),
      middle: pick(fingers.middle, DEFAULT_HUMAN_HAND.finger.middle),
      ring: pick(fingers.ring, DEFAULT_HUMAN_HAND.finger.ring),
      pinky: pick(fingers.pinky, DEFAULT_HUMAN_HAND.finger.pinky),
    },
  };
}

/** The hand's landmark filter: src/math/oneeuro.ts, each value's own speed. */
export class OneEuroFilter extends OneEuroFilterBase {
  constructor(n: number, minCutoff = 1.5, beta = 20, dCutoff = 1) {
    super(n, { minCutoff, beta, dCutoff }, 1);
  }
}
