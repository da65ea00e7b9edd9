/**
 * One Euro filter (Casiez et al. 2012) over point tracks: a low-pass whose cutoff rises with speed, so still
 * points lose their jitter and moving points keep up without lag. Uses the real timestamps; a missing sample
 * (NaN) restarts the filter, so gaps are never bridged.
 */
export interface OneEuroParams {
  /** Cutoff at rest, Hz. */
  minCutoff: number;
  /** Cutoff increase per unit of speed (per m/s for metres). */
  beta: number;
  /** Cutoff for the speed estimate, Hz. */
  dCutoff: number;
}

const alpha = (cutoff: number, dt: number) => {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
};

/**
 * Filter `pos` in place: [T, J, 3] values, frames at `times` (seconds). Each joint is filtered as one 3D point
 * (the speed is the point's speed), restarting after any NaN frame.
 */
export function oneEuroInPlace(pos: Float32Array, T: number, J: number, times: Float64Array, p: OneEuroParams): void {
  const prev = new Float64Array(3);
  const dprev = new Float64Array(3);
  for (let j = 0; j < J; j++) {
    let have = false;
    let tPrev = 0;
    for (let t = 0; t < T; t++) {
      const o = 3 * (t * J + j);
      const x = pos[o];
      const y = pos[o + 1];
      const z = pos[o + 2];
      if (Number.isNaN(x) || Number.isNaN(y) || Number.isNaN(z)) {
        have = false;
        continue;
      }
      if (!have) {
        prev[0] = x;
        prev[1] = y;
        prev[2] = z;
        dprev[0] = dprev[1] = dprev[2] = 0;
        tPrev = times[t];
        have = true;
        continue;
      }
      const dt = times[t] - tPrev;
      tPrev = times[t];
      if (!(dt > 0)) continue;
      const ad = alpha(p.dCutoff, dt);
      let speed2 = 0;
      for (let a = 0; a < 3; a++) {
        const d = (pos[o + a] - prev[a]) / dt;
        dprev[a] = ad * d + (1 - ad) * dprev[a];
        speed2 += dprev[a] * dprev[a];
      }
      const cutoff = p.minCutoff + p.beta * Math.sqrt(speed2);
      const a = alpha(cutoff, dt);
      for (let k = 0; k < 3; k++) {
        prev[k] = a * pos[o + k] + (1 - a) * prev[k];
        pos[o + k] = prev[k];
      }
    }
  }
}
