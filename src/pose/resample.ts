/**
 * Resampling a pose track to a new frame rate. Positions and confidences are interpolated linearly
 * between the nearest present samples on either side, but only across short gaps: a joint missing for
 * more than `maxGapFrames` source frames stays missing, so no points are invented across real gaps.
 * Output timestamps are exactly t0 + k / fps; where one coincides with a source timestamp (within 1e-6 of
 * a source frame period) the source values are copied unchanged.
 */
import { UserError } from '../errors.ts';
import { LIMITS, checkLimit } from '../io/limits.ts';
import type { PoseTrack } from './track.ts';

export interface ResampleOptions {
  /** Longest run of missing source frames interpolated across (default 2). */
  maxGapFrames?: number;
  /** File named in errors (default the track's source file). */
  file?: string;
}

export function resampleTrack(track: PoseTrack, fps: number, opts: ResampleOptions = {}): PoseTrack {
  if (!(fps > 0) || !Number.isFinite(fps)) throw new UserError(`target fps must be a positive number, got ${fps}`);
  const src = track.timestamps;
  const T = src.length;
  const J = track.jointNames.length;
  if (T === 0) throw new UserError('cannot resample a track with no frames');
  const maxGap = opts.maxGapFrames ?? 2;
  const period = T > 1 ? (src[T - 1] - src[0]) / (T - 1) : 1 / track.fps;
  const eps = 1e-6 * period;
  const t0 = src[0];
  const n = Math.floor((src[T - 1] - t0) * fps + 1e-6) + 1;
  // The frame count comes from the input (duration × requested rate): bound it before allocating.
  checkLimit(n, LIMITS.frames, `resampling ${(src[T - 1] - t0).toFixed(3)} s to ${fps} fps makes a frame count that`, opts.file ?? track.source.file);
  checkLimit(n * J * 3 * 4, LIMITS.arrayBytes, `resampled positions take bytes that`, opts.file ?? track.source.file);
  const timestamps = new Float64Array(n);
  for (let k = 0; k < n; k++) timestamps[k] = t0 + k / fps;
  const positions = new Float32Array(n * J * 3).fill(NaN);
  const confidence = new Float32Array(n * J);
  const present = (i: number, j: number) => track.confidence[i * J + j] > 0;
  let i = 0; // source frame with src[i] <= t < src[i+1]
  for (let k = 0; k < n; k++) {
    const t = timestamps[k];
    while (i + 1 < T && src[i + 1] <= t + eps) i++;
    const exact = Math.abs(src[i] - t) <= eps;
    for (let j = 0; j < J; j++) {
      const o = 3 * (k * J + j);
      if (exact && present(i, j)) {
        for (let a = 0; a < 3; a++) positions[o + a] = track.positions[3 * (i * J + j) + a];
        confidence[k * J + j] = track.confidence[i * J + j];
        continue;
      }
      // Nearest present samples before and after t, no further apart than maxGap missing frames.
      let a = i;
      while (a >= 0 && !present(a, j) && i - a <= maxGap) a--;
      let b = i + 1;
      while (b < T && !present(b, j) && b - (i + 1) <= maxGap) b++;
      if (a < 0 || b >= T || !present(a, j) || !present(b, j) || b - a - 1 > maxGap) continue;
      const w = (t - src[a]) / (src[b] - src[a]);
      for (let c = 0; c < 3; c++) {
        const pa = track.positions[3 * (a * J + j) + c];
        const pb = track.positions[3 * (b * J + j) + c];
        positions[o + c] = pa + (pb - pa) * w;
      }
      const ca = track.confidence[a * J + j];
      const cb = track.confidence[b * J + j];
      confidence[k * J + j] = ca + (cb - ca) * w;
    }
  }
  return {
    ...track,
    positions,
    confidence,
    timestamps,
    fps,
    source: { ...track.source, resampled_from_fps: track.source.resampled_from_fps ?? track.fps },
    // Per-frame extras cannot follow a change of rate.
    extras: undefined,
  };
}
