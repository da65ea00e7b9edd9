/**
 * One Euro filter (Casiez et al. 2012), the project's one implementation: a low-pass whose cutoff rises with
 * speed, so still signals lose their jitter and moving ones keep up without lag. Capture filters keypoint
 * tracks with it (speed of each 3-D point), the hand retargeter its landmark vector (speed of each value).
 */
export interface OneEuroParams {
  /** Cutoff at rest, Hz. */
  minCutoff: number;
  /** Cutoff increase per unit of speed (per m/s for metres). */
  beta: number;
  /** Cutoff for the speed estimate, Hz. */
  dCutoff: number;
}

export function oneEuroAlpha(cutoff: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

/**
 * Filter state for a vector of `n` values, whose speed is measured per group of `group` consecutive values
 * (1: each value on its own; 3: each x,y,z point moves as one). Allocation-free per call.
 */
export class OneEuroFilter {
  private readonly x: Float64Array;
  private readonly dx: Float64Array;
  private primed = false;
  constructor(n: number, public params: OneEuroParams, private readonly group = 1) {
    if (n % group) throw new Error(`OneEuroFilter: ${n} values do not split into groups of ${group}`);
    this.x = new Float64Array(n);
    this.dx = new Float64Array(n);
  }

  reset(): void {
    this.primed = false;
  }

  /** Filter v in place; dt in seconds since the last call (a non-positive dt restarts the filter at v). */
  apply(v: Float64Array | Float32Array, dt: number): void {
    const n = this.x.length, g = this.group, p = this.params;
    if (!this.primed || !(dt > 0)) {
      for (let i = 0; i < n; i++) { this.x[i] = v[i]; this.dx[i] = 0; }
      this.primed = true;
      return;
    }
    const ad = oneEuroAlpha(p.dCutoff, dt);
    for (let s = 0; s < n; s += g) {
      let speed2 = 0;
      for (let i = s; i < s + g; i++) {
        const d = (v[i] - this.x[i]) / dt;
        this.dx[i] = ad * d + (1 - ad) * this.dx[i];
        speed2 += this.dx[i] * this.dx[i];
      }
      const a = oneEuroAlpha(p.minCutoff + p.beta * Math.sqrt(speed2), dt);
      for (let i = s; i < s + g; i++) {
        this.x[i] = a * v[i] + (1 - a) * this.x[i];
        v[i] = this.x[i];
      }
    }
  }
}
