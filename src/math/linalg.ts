/**
 * Small dense linear algebra on Float64Array for the project's solvers (retargeting IK, articulated dynamics):
 * Cholesky factorisation and a box-constrained solve of the normal equations, in caller-provided buffers.
 */

/** In-place Cholesky of the n x n SPD matrix A (row-major, lower triangle used). Returns false if not SPD. */
export function cholesky(A: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = A[rj + j];
    for (let k = 0; k < j; k++) d -= A[rj + k] * A[rj + k];
    if (!(d > 1e-300)) return false;
    d = Math.sqrt(d);
    A[rj + j] = d;
    const inv = 1 / d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = A[ri + j];
      for (let k = 0; k < j; k++) s -= A[ri + k] * A[rj + k];
      A[ri + j] = s * inv;
    }
  }
  return true;
}

/** Solve L L^T x = b in place (b becomes x), L from cholesky(). */
export function choleskySolve(L: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[ri + k] * b[k];
    b[i] = s / L[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * b[k];
    b[i] = s / L[i * n + i];
  }
}

/**
 * Minimise 1/2 x^T H x - g^T x subject to lo <= x <= hi (per component; use +-Infinity for free ones).
 * Active-set on the bounds: solve, pin the components that leave their box at the bound they cross, solve
 * the rest again, and release pinned components whose multiplier says they want to move inside. `work` must
 * hold n*n, `tmp` n and `pinned` n entries; with `warm`, the active set starts from `pinned` as given. The result is always inside the box. Returns x in `x`.
 */
export function solveBoxed(
  H: Float64Array, g: Float64Array, lo: Float64Array, hi: Float64Array, n: number,
  x: Float64Array, work: Float64Array, tmp: Float64Array, pinned: Int8Array, maxPasses = 4, warm = false,
): void {
  // warm: start from the active set left in `pinned` by the previous call (a sequence of similar problems).
  if (!warm) pinned.fill(0, 0, n);
  for (let pass = 0; pass < maxPasses; pass++) {
    // Build the reduced system: pinned rows/cols become identity with x_i = bound.
    for (let i = 0; i < n; i++) tmp[i] = g[i];
    for (let i = 0; i < n; i++) {
      if (!pinned[i]) continue;
      const xi = pinned[i] < 0 ? lo[i] : hi[i];
      x[i] = xi;
      for (let j = 0; j < n; j++) if (!pinned[j]) tmp[j] -= H[j * n + i] * xi;
    }
    for (let i = 0; i < n; i++) {
      const ri = i * n;
      if (pinned[i]) {
        for (let j = 0; j < n; j++) work[ri + j] = 0;
        work[ri + i] = 1;
        tmp[i] = x[i];
      } else {
        for (let j = 0; j <= i; j++) work[ri + j] = pinned[j] ? 0 : H[ri + j];
      }
    }
    if (!cholesky(work, n)) {
      // Not expected with damping; fall back to a clamped gradient step.
      for (let i = 0; i < n; i++) x[i] = Math.min(hi[i], Math.max(lo[i], g[i] / Math.max(H[i * n + i], 1e-9)));
      return;
    }
    choleskySolve(work, n, tmp);
    let changed = false;
    for (let i = 0; i < n; i++) {
      if (pinned[i]) continue;
      const v = tmp[i];
      if (v < lo[i]) { pinned[i] = -1; changed = true; }
      else if (v > hi[i]) { pinned[i] = 1; changed = true; }
      x[i] = v;
    }
    // Release pinned components whose gradient points into the box.
    if (!changed) {
      for (let i = 0; i < n; i++) {
        if (!pinned[i]) continue;
        let r = g[i];
        for (let j = 0; j < n; j++) r -= H[i * n + j] * x[j];
        // r is the negative gradient at x along i: > 0 wants to increase.
        if ((pinned[i] < 0 && r > 1e-12) || (pinned[i] > 0 && r < -1e-12)) { pinned[i] = 0; changed = true; }
      }
      if (!changed) break;
    }
  }
  for (let i = 0; i < n; i++) x[i] = Math.min(hi[i], Math.max(lo[i], x[i]));
}
