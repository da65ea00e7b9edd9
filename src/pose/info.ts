/**
 * Summary of a pose track (`reel2real pose info`) and a posture-robust standing height estimate.
 */
import { quantile } from './common.ts';
import type { PoseTrack } from './track.ts';

/**
 * Fractions of standing height (Drillis & Contini's anthropometric proportions) at which the canonical
 * joints sit: top of head 1, head centre (ear level) 0.925, shoulder joint centre 0.81, ankle 0.047,
 * ball of the foot (toe joint) 0.015.
 */
const TOP_RATIO = { head_top: 1, head: 0.925, shoulders: 0.81 } as const;
const BOTTOM_RATIO: Record<string, number> = { left_toe: 0.015, right_toe: 0.015, left_ankle: 0.047, right_ankle: 0.047 };

export interface HeightEstimate {
  /** Metres; null when the track has neither a head/shoulders-to-feet extent nor legs. */
  height: number | null;
  /** Which estimates it came from, e.g. 'mean(head_top-to-feet, legs)'. */
  method: string;
  /** Head (or shoulders) to feet, from anthropometric proportions; null when not measurable. */
  geometric: number | null;
  /** Thigh + shank length / 0.491 (posture-independent); null without hips, knees and ankles. */
  legs: number | null;
}

/**
 * Standing height: the mean of two estimates that fail differently: the body's vertical extent
 * ({@link geometricHeight}), which depends on where a source puts its head joints, and the leg bones
 * (thigh + shank = 0.491 of standing height), which do not depend on posture. Either alone when the
 * other is not measurable.
 */
export function standingHeight(track: PoseTrack): HeightEstimate {
  const g = geometricHeight(track);
  const l = legHeight(track);
  const parts = [g.height, l].filter((v): v is number => v !== null);
  const height = parts.length ? parts.reduce((a, b) => a + b, 0) / parts.length : null;
  const method = g.height !== null && l !== null ? `mean(${g.method}, legs)` : g.height !== null ? g.method : l !== null ? 'legs' : g.method;
  return { height, method, geometric: g.height, legs: l };
}

/** Median over frames and sides of hip→knee + knee→ankle, divided by 0.491 (Drillis & Contini). */
export function legHeight(track: PoseTrack): number | null {
  const J = track.jointNames.length;
  const T = track.timestamps.length;
  const lens: number[] = [];
  const dist = (t: number, a: number, b: number) => {
    const pa = 3 * (t * J + a), pb = 3 * (t * J + b);
    return Math.hypot(track.positions[pa] - track.positions[pb], track.positions[pa + 1] - track.positions[pb + 1], track.positions[pa + 2] - track.positions[pb + 2]);
  };
  for (const side of ['left', 'right']) {
    const [h, k, a] = ['hip', 'knee', 'ankle'].map((n) => track.jointNames.indexOf(`${side}_${n}`));
    if (h < 0 || k < 0 || a < 0) continue;
    for (let t = 0; t < T; t++) lens.push(dist(t, h, k) + dist(t, k, a));
  }
  const L = quantile(lens, 0.5);
  return Number.isFinite(L) && L > 0 ? L / 0.491 : null;
}

/**
 * Height from the body's extent: for every frame, (top − foot) / (ratio(top) − ratio(foot)) for each foot joint, taking the
 * largest (the grounded foot); then the 80th percentile over frames, so crouching or stepping frames do not
 * pull it down. The top is a head-top joint when the track has one (e.g. a BVH Head End Site), else the
 * head centre, else the shoulders.
 */
export function geometricHeight(track: PoseTrack): { height: number | null; method: string } {
  const J = track.jointNames.length;
  const T = track.timestamps.length;
  const idx = (n: string) => track.jointNames.indexOf(n);
  const headTop = track.jointNames.findIndex((n) => /^head_?top$|^head_end$/i.test(n));
  let tops: number[];
  let kind: keyof typeof TOP_RATIO;
  if (headTop >= 0 && hasData(track, headTop)) { tops = [headTop]; kind = 'head_top'; }
  else if (idx('head') >= 0 && hasData(track, idx('head'))) { tops = [idx('head')]; kind = 'head'; }
  else if (idx('left_shoulder') >= 0 && idx('right_shoulder') >= 0 && hasData(track, idx('left_shoulder'))) {
    tops = [idx('left_shoulder'), idx('right_shoulder')]; kind = 'shoulders';
  } else return { height: null, method: 'no head or shoulders' };
  const feet = Object.keys(BOTTOM_RATIO).map(idx).filter((i) => i >= 0 && hasData(track, i));
  if (!feet.length) return { height: null, method: 'no feet' };
  const per: number[] = [];
  for (let t = 0; t < T; t++) {
    let top = 0;
    for (const i of tops) top += track.positions[3 * (t * J + i) + 2] / tops.length;
    if (!Number.isFinite(top)) continue;
    let best = -Infinity;
    for (const f of feet) {
      const z = track.positions[3 * (t * J + f) + 2];
      if (!Number.isFinite(z)) continue;
      best = Math.max(best, (top - z) / (TOP_RATIO[kind] - BOTTOM_RATIO[track.jointNames[f]]));
    }
    if (best > -Infinity) per.push(best);
  }
  const h = quantile(per, 0.8);
  return Number.isFinite(h) && h > 0 ? { height: h, method: `${kind}-to-feet` } : { height: null, method: 'no frame with head and feet' };
}

function hasData(track: PoseTrack, j: number): boolean {
  const J = track.jointNames.length;
  for (let t = 0; t < track.timestamps.length; t++) if (track.confidence[t * J + j] > 0) return true;
  return false;
}

export interface PoseInfo {
  fps: number;
  frames: number;
  /** Seconds covered: last − first timestamp plus one frame period. */
  duration: number;
  joints: string[];
  joint_count: number;
  standing_height_m: number | null;
  height_method: string;
  /** The two estimates the height is the mean of (metres; null when not measurable). */
  height_estimates: { geometric: number | null; legs: number | null };
  /** Fraction of (frame, joint) entries that are missing. */
  missing_fraction: number;
  source: PoseTrack['source'];
  meta?: Record<string, unknown>;
}

export function poseInfo(track: PoseTrack): PoseInfo {
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  let missing = 0;
  for (let k = 0; k < T * J; k++) if (!(track.confidence[k] > 0)) missing++;
  const h = standingHeight(track);
  return {
    fps: track.fps,
    frames: T,
    duration: T ? track.timestamps[T - 1] - track.timestamps[0] + 1 / track.fps : 0,
    joints: track.jointNames,
    joint_count: J,
    standing_height_m: round3(h.height),
    height_method: h.method,
    height_estimates: { geometric: round3(h.geometric), legs: round3(h.legs) },
    missing_fraction: T * J ? missing / (T * J) : 0,
    source: track.source,
    ...(track.meta && Object.keys(track.meta).length ? { meta: track.meta } : {}),
  };
}

function round3(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}
