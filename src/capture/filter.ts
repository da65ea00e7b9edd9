/**
 * One Euro filter (Casiez et al. 2012) over point tracks: a low-pass whose cutoff rises with speed, so still
 * points lose their jitter and moving points keep up without lag. Uses the real timestamps; a missing sample
 * (NaN) restarts the filter, so gaps are never bridged.
 */
import { OneEuroFilter, type OneEuroParams } from '../math/oneeuro.ts';
export type { OneEuroParams } from '../math/oneeuro.ts';

/**
 * Filter `pos` in place: [T, J, 3] values, frames at `times` (seconds). Each joint is filtered as one 3D point
 * (the speed is the point's speed), restarting after any NaN frame; a frame with no time step since the last
 * is left as it is.
 */
export function oneEuroInPlace(pos: Float32Array, T: number, J: number, times: Float64Array, p: OneEuroParams): void {
  const f = new OneEuroFilter(3, p, 3);
  for (let j = 0; j < J; j++) {
    f.reset();
    let have = false;
    let tPrev = 0;
    for (let t = 0; t < T; t++) {
      const o = 3 * (t * J + j);
      if (Number.isNaN(pos[o]) || Number.isNaN(pos[o + 1]) || Number.isNaN(pos[o + 2])) {
        have = false;
        f.reset();
        continue;
      }
      const dt = have ? times[t] - tPrev : 0;
      tPrev = times[t];
      if (have && !(dt > 0)) continue;
      have = true;
      f.apply(pos.subarray(o, o + 3), dt);
    }
  }
}
