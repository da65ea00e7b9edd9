/**
 * Box-constrained convex QP, min 1/2 x^T H x - g^T x subject to lo <= x <= hi, by a primal active-set method
 * that stays feasible: solve on the free components with the others at their bounds; if the solution leaves the
 * box, step toward it only as far as the first bound and pin that component; otherwise release the one pinned
 * component whose multiplier most wants it inside. Each change is one factorisation, and warm-started from the
 * previous control step's active set it usually needs one or two.
 *
 * (src/math/linalg.ts solveBoxed pins every violated component at once and clamps when it runs out of passes,
 * which is fine for the retargeter's mild bounds but, with a few dozen contact weights switching on and off,
 * can return a point far from the optimum.) Nothing is allocated per call.
 */
import { cholesky, choleskySolve } from './linalg.ts';

export class BoxQP {
  /** Per component: 0 free, -1 at lo, +1 at hi. */
  readonly state: Int8Array;
  private readonly work: Float64Array;
  private readonly rhs: Float64Array;
  private readonly v: Float64Array;
  /** Factorisations in the last solve. */
  iterations = 0;

  constructor(nMax: number) {
    this.state = new Int8Array(nMax);
    this.work = new Float64Array(nMax * nMax);
    this.rhs = new Float64Array(nMax);
    this.v = new Float64Array(nMax);
  }

  /**
   * x: in, the start (used when `warm`: the last solution, with `state` from the last call); out, the solution.
   * Cold start: x = 0 moved into the box; components that are then at a bound start pinned there.
   */
  solve(H: Float64Array, g: Float64Array, lo: Float64Array, hi: Float64Array, n: number, x: Float64Array, warm: boolean, maxIter = 60): void {
    const { state, work, rhs, v } = this;
    if (!warm) {
      for (let i = 0; i < n; i++) {
        x[i] = Math.min(hi[i], Math.max(lo[i], 0));
        state[i] = x[i] === lo[i] ? -1 : x[i] === hi[i] ? 1 : 0;
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (state[i] < 0) x[i] = lo[i]; else if (state[i] > 0) x[i] = hi[i]; else x[i] = Math.min(hi[i], Math.max(lo[i], x[i]));
      }
    }
    this.iterations = 0;
    for (let it = 0; it < maxIter; it++) {
      // Reduced system on the free set.
      for (let i = 0; i < n; i++) {
        const ri = i * n;
        if (state[i]) {
          for (let j = 0; j <= i; j++) work[ri + j] = 0;
          work[ri + i] = 1;
          rhs[i] = x[i];
          continue;
        }
        let r = g[i];
        for (let j = 0; j < n; j++) if (state[j]) r -= H[ri + j] * x[j];
        rhs[i] = r;
        for (let j = 0; j <= i; j++) work[ri + j] = state[j] ? 0 : H[ri + j];
      }
      this.iterations++;
      if (!cholesky(work, n)) return; // not expected (the caller regularises); x stays feasible
      v.set(rhs.subarray(0, n));
      choleskySolve(work, n, v);
      // Step toward v, stopping at the first bound crossed.
      let alpha = 1, block = -1, side = 0;
      for (let i = 0; i < n; i++) {
        if (state[i]) continue;
        const d = v[i] - x[i];
        if (v[i] < lo[i] && d < 0) { const a = (lo[i] - x[i]) / d; if (a < alpha) { alpha = a; block = i; side = -1; } }
        else if (v[i] > hi[i] && d > 0) { const a = (hi[i] - x[i]) / d; if (a < alpha) { alpha = a; block = i; side = 1; } }
      }
      if (block >= 0) {
        for (let i = 0; i < n; i++) if (!state[i]) x[i] += alpha * (v[i] - x[i]);
        state[block] = side;
        x[block] = side < 0 ? lo[block] : hi[block];
        continue;
      }
      for (let i = 0; i < n; i++) if (!state[i]) x[i] = v[i];
      // Multipliers of the pinned components: r = g - H x (the descent direction).
      let worst = 0, rel = -1;
      for (let i = 0; i < n; i++) {
        if (!state[i]) continue;
        let r = g[i];
        const ri = i * n;
        for (let j = 0; j < n; j++) r -= H[ri + j] * x[j];
        const want = state[i] < 0 ? r : -r; // > 0: wants to move into the box
        const tol = 1e-10 * (Math.abs(g[i]) + Math.abs(H[ri + i] * x[i]) + 1);
        if (want > tol && want > worst) { worst = want; rel = i; }
      }
      if (rel < 0) return;
      state[rel] = 0;
    }
  }
}
