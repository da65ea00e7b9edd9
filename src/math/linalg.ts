/**
 * Small dense linear algebra on Float64Array for the project's solvers (retargeting IK, articulated dynamics,
 * contact forces): Cholesky factorisation, a box-constrained solve of the normal equations, and non-negative
 * least squares, in caller-provided buffers.
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

/**
 * Non-negative least squares: minimise |A x - b| subject to x >= 0 (Lawson & Hanson's active set), A m x n
 * row-major. Workspace from nnlsWorkspace(m, n), reused across calls (nothing allocated per call). Returns x
 * in ws.x and the residual norm.
 */
export interface NnlsWorkspace {
  m: number; n: number;
  x: Float64Array; z: Float64Array; w: Float64Array; r: Float64Array;
  passive: Uint8Array; idx: Int32Array; G: Float64Array; g: Float64Array;
}

export function nnlsWorkspace(m: number, n: number): NnlsWorkspace {
  return {
    m, n, x: new Float64Array(n), z: new Float64Array(n), w: new Float64Array(n), r: new Float64Array(m),
    passive: new Uint8Array(n), idx: new Int32Array(n), G: new Float64Array(n * n), g: new Float64Array(n),
  };
}

export function nnls(A: Float64Array, b: Float64Array, m: number, n: number, ws: NnlsWorkspace, maxIter = 3 * n + 10): number {
  const { x, z, w, r, passive, idx, G, g } = ws;
  x.fill(0, 0, n); passive.fill(0, 0, n);
  let scale = 0;
  for (let i = 0; i < m * n; i++) scale = Math.max(scale, Math.abs(A[i]));
  const tol = 1e-10 * Math.max(scale, 1e-300) * Math.max(1, Math.sqrt(m));
  const residual = (): void => {
    for (let i = 0; i < m; i++) {
      let s = b[i];
      const ri = i * n;
      for (let j = 0; j < n; j++) s -= A[ri + j] * x[j];
      r[i] = s;
    }
  };
  residual();
  for (let iter = 0; iter < maxIter; iter++) {
    // Gradient w = A^T r; add the free column that most reduces the residual.
    let rn = 0;
    for (let i = 0; i < m; i++) rn += r[i] * r[i];
    let best = -1, bw = tol * Math.sqrt(rn);
    for (let j = 0; j < n; j++) {
      if (passive[j]) continue;
      let s = 0;
      for (let i = 0; i < m; i++) s += A[i * n + j] * r[i];
      w[j] = s;
      if (s > bw) { bw = s; best = j; }
    }
    if (best < 0) break;
    passive[best] = 1;
    for (let inner = 0; inner < maxIter; inner++) {
      // Least squares on the passive columns (normal equations with a tiny ridge).
      let k = 0;
      for (let j = 0; j < n; j++) if (passive[j]) idx[k++] = j;
      let tr = 0;
      for (let a = 0; a < k; a++) {
        const ja = idx[a];
        for (let c = 0; c <= a; c++) {
          const jc = idx[c];
          let s = 0;
          for (let i = 0; i < m; i++) s += A[i * n + ja] * A[i * n + jc];
          G[a * k + c] = s;
        }
        tr += G[a * k + a];
        let s = 0;
        for (let i = 0; i < m; i++) s += A[i * n + ja] * b[i];
        g[a] = s;
      }
      const ridge = 1e-12 * (tr / Math.max(k, 1)) + 1e-300;
      for (let a = 0; a < k; a++) G[a * k + a] += ridge;
      if (!cholesky(G, k)) break;
      choleskySolve(G, k, g);
      z.fill(0, 0, n);
      let allPos = true;
      for (let a = 0; a < k; a++) { z[idx[a]] = g[a]; if (!(g[a] > 0)) allPos = false; }
      if (allPos) { for (let j = 0; j < n; j++) x[j] = z[j]; break; }
      // Step from x toward z until a passive component reaches 0; drop those.
      let alpha = 1;
      for (let a = 0; a < k; a++) {
        const j = idx[a];
        if (z[j] <= 0) { const d = x[j] - z[j]; if (d > 0) alpha = Math.min(alpha, x[j] / d); }
      }
      for (let j = 0; j < n; j++) {
        if (!passive[j]) continue;
        x[j] += alpha * (z[j] - x[j]);
        if (x[j] <= 1e-15) { x[j] = 0; passive[j] = 0; }
      }
    }
    residual();
  }
  let nr = 0;
  for (let i = 0; i < m; i++) nr += r[i] * r[i];
  return Math.sqrt(nr);
}
