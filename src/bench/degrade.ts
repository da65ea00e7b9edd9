/**
 * Controlled, seeded degradations of a clean pose track, each at a strength in natural units:
 *
 * - `noise`: Gaussian noise of σ = level mm on every coordinate of every seen joint, every frame.
 * - `spikes`: impulsive jitter: each (frame, joint) is hit with probability = level by a one-frame jump of
 *   SPIKE_MM in a random direction.
 * - `drop`: round(level·T) frames removed (not the first or last), in bursts of 1–4 frames; the remaining
 *   frames keep their timestamps, so the track has gaps.
 * - `occlusion`: a limb (the right forearm and hand: `right_elbow` and every joint below it) is missing
 *   (NaN, confidence 0) in round(level·T) frames, as one span in each of a few equal segments of the clip.
 * - `fps`: a wrong frame-rate label: timestamps divided by level and fps multiplied by it, so the motion
 *   plays level× too fast (velocities scale by level, accelerations by level²) and the track is consistent
 *   with itself.
 *
 * The same (track, type, level, seed) always gives the same result.
 */
import { selectFrames, type PoseTrack } from '../pose/track.ts';
import { UserError } from '../errors.ts';
import { hash32, rng } from './stats.ts';

export const DEGRADATIONS = ['noise', 'spikes', 'drop', 'occlusion', 'fps'] as const;
export type DegradationType = (typeof DEGRADATIONS)[number];

/** Default strengths (level 0, the clean clip, is always included besides these). */
export const DEFAULT_LEVELS: Record<DegradationType, number[]> = {
  noise: [5, 15, 30, 60],
  spikes: [0.005, 0.02, 0.05, 0.15],
  drop: [0.05, 0.15, 0.3, 0.5],
  occlusion: [0.1, 0.3, 0.5, 0.8],
  fps: [1.25, 1.5, 2, 3],
};

export const LEVEL_UNITS: Record<DegradationType, string> = {
  noise: 'σ mm',
  spikes: 'fraction of joint-frames',
  drop: 'fraction of frames dropped',
  occlusion: 'fraction of frames the right forearm+hand is missing',
  fps: 'speed-up factor (wrong fps label)',
};

/** The level that means "no degradation". */
export const CLEAN_LEVEL: Record<DegradationType, number> = { noise: 0, spikes: 0, drop: 0, occlusion: 0, fps: 1 };

/** Amplitude of one spike, metres. */
export const SPIKE_MM = 80;

/** Joint whose subtree is hidden by `occlusion`. */
export const OCCLUDED_ROOT = 'right_elbow';

function copyTrack(t: PoseTrack): PoseTrack {
  return {
    ...t,
    positions: Float32Array.from(t.positions),
    confidence: Float32Array.from(t.confidence),
    timestamps: Float64Array.from(t.timestamps),
    source: { ...t.source },
    meta: { ...(t.meta ?? {}) },
    extras: undefined,
  };
}

/** `root` and every joint below it in the track's hierarchy. */
export function subtree(t: PoseTrack, root: string): number[] {
  const r = t.jointNames.indexOf(root);
  if (r < 0) return [];
  const out: number[] = [];
  for (let j = 0; j < t.jointNames.length; j++) {
    let k = j;
    while (k >= 0 && k !== r) k = t.parents[k];
    if (k === r) out.push(j);
  }
  return out;
}

/** A degraded copy of `track` (level at CLEAN_LEVEL returns an unchanged copy). */
export function degrade(track: PoseTrack, type: DegradationType, level: number, seed = 0): PoseTrack {
  if (!DEGRADATIONS.includes(type)) throw new UserError(`unknown degradation '${type}' (use ${DEGRADATIONS.join(', ')})`);
  if (!Number.isFinite(level) || level < 0) throw new UserError(`degradation level must be a number ≥ 0, got ${level}`);
  const out = copyTrack(track);
  out.meta = { ...out.meta, degradation: { type, level, seed } };
  if (level === CLEAN_LEVEL[type]) return out;
  const R = rng(hash32(`${type}:${level}:${seed}`));
  const T = out.timestamps.length;
  const J = out.jointNames.length;
  const P = out.positions;
  switch (type) {
    case 'noise': {
      const s = level / 1000;
      for (let k = 0; k < T * J; k++) {
        if (!(out.confidence[k] > 0)) continue;
        for (let c = 0; c < 3; c++) P[3 * k + c] += s * R.gauss();
      }
      return out;
    }
    case 'spikes': {
      if (level > 1) throw new UserError(`spikes level is a probability in [0,1], got ${level}`);
      const a = SPIKE_MM / 1000;
      for (let k = 0; k < T * J; k++) {
        const hit = R.next() < level;
        if (!hit || !(out.confidence[k] > 0)) continue;
        // Uniform direction on the sphere.
        const z = 2 * R.next() - 1, phi = 2 * Math.PI * R.next(), rr = Math.sqrt(1 - z * z);
        P[3 * k] += a * rr * Math.cos(phi); P[3 * k + 1] += a * rr * Math.sin(phi); P[3 * k + 2] += a * z;
      }
      return out;
    }
    case 'drop': {
      if (level >= 1) throw new UserError(`drop level is a fraction below 1, got ${level}`);
      const want = Math.min(T - 2, Math.round(level * T));
      const drop = new Uint8Array(T);
      let n = 0;
      for (let guard = 0; n < want && guard < 100 * T; guard++) {
        const start = 1 + Math.floor(R.next() * (T - 2));
        const len = 1 + Math.floor(R.next() * 4);
        for (let i = start; i < Math.min(T - 1, start + len) && n < want; i++) if (!drop[i]) { drop[i] = 1; n++; }
      }
      const keep: number[] = [];
      for (let i = 0; i < T; i++) if (!drop[i]) keep.push(i);
      return selectFrames(out, keep);
    }
    case 'occlusion': {
      if (level > 1) throw new UserError(`occlusion level is a fraction in [0,1], got ${level}`);
      const joints = subtree(out, OCCLUDED_ROOT);
      if (!joints.length) throw new UserError(`occlusion needs a '${OCCLUDED_ROOT}' joint; the track has none`, track.source.file);
      const total = Math.round(level * T);
      const segments = Math.max(1, Math.min(4, Math.floor(total / Math.max(1, Math.round(0.5 * out.fps)))));
      const segLen = Math.floor(T / segments);
      let left = total;
      for (let s = 0; s < segments; s++) {
        const len = s === segments - 1 ? left : Math.round(total / segments);
        left -= len;
        const a0 = s * segLen;
        const room = (s === segments - 1 ? T - a0 : segLen) - len;
        const start = a0 + Math.floor(R.next() * (Math.max(0, room) + 1));
        for (let t = start; t < Math.min(T, start + len); t++) {
          for (const j of joints) {
            const k = t * J + j;
            P[3 * k] = P[3 * k + 1] = P[3 * k + 2] = NaN;
            out.confidence[k] = 0;
          }
        }
      }
      return out;
    }
    case 'fps': {
      const t0 = out.timestamps[0];
      for (let i = 0; i < T; i++) out.timestamps[i] = t0 + (out.timestamps[i] - t0) / level;
      out.fps = out.fps * level;
      return out;
    }
  }
}

/** Parse `--levels` entries like `noise=5,10,20` into a levels table (types not named keep their defaults). */
/**
 * Every degraded variant of a clean track at the given levels (the clean level of each degradation left
 * out), in DEGRADATIONS order. A variant the track cannot take (a UserError from degrade, e.g. too few frames
 * left) is reported to onSkip with its label and reason, and left out.
 */
export function* degradedVariants(
  track: PoseTrack, clip: string, levels: Record<DegradationType, number[]>, seed: number, onSkip: (label: string, reason: string) => void,
): Generator<{ degradation: DegradationType; level: number; track: PoseTrack }> {
  for (const d of DEGRADATIONS) {
    for (const lv of levels[d]) {
      if (lv === CLEAN_LEVEL[d]) continue;
      let dt: PoseTrack;
      try {
        dt = degrade(track, d, lv, seed);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        onSkip(`${clip} ${d}=${lv}`, e.message);
        continue;
      }
      yield { degradation: d, level: lv, track: dt };
    }
  }
}

export function parseLevels(specs: string[] | undefined, base: Record<DegradationType, number[]> = DEFAULT_LEVELS): Record<DegradationType, number[]> {
  const out = Object.fromEntries(DEGRADATIONS.map((d) => [d, [...base[d]]])) as Record<DegradationType, number[]>;
  for (const spec of specs ?? []) {
    const m = /^([a-z]+)=(.*)$/.exec(spec.trim());
    if (!m || !DEGRADATIONS.includes(m[1] as DegradationType)) {
      throw new UserError(`--levels '${spec}': expected <type>=<v1>,<v2>,... with type one of ${DEGRADATIONS.join(', ')}`);
    }
    const vals = m[2] === '' ? [] : m[2].split(',').map((v) => Number(v));
    if (vals.some((v) => !Number.isFinite(v) || v < 0)) throw new UserError(`--levels '${spec}': levels must be numbers ≥ 0`);
    out[m[1] as DegradationType] = vals;
  }
  return out;
}
