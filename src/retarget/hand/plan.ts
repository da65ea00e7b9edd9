/**
 * Offline velocity plan of a whole clip (hands, `velocity_plan` in a hand config): each joint's trajectory
 * from a solve without the per-frame velocity box is replaced by its nearest trajectory (least squares,
 * frame by frame) whose steps stay within the URDF velocity limit: min ½ Σ (x_t − y_t)² subject to
 * |x_t − x_(t−1)| ≤ v · (time_t − time_(t−1)). Solved on its dual (one multiplier per step) by FISTA with
 * soft thresholding, then made exactly feasible by a forward clamp. A per-frame solve can only follow late
 * (it never knows the next frame); the plan starts a fast motion early and ends it late, spreading the error
 * around it. Whole-clip post-processing: allocates per call, not per frame.
 *
 * `weights` ([T*nq], Q's layout, each ≥ 1; default all 1) weighs frame t of dof d in the least squares,
 * min ½ Σ w_t (x_t − y_t)²: a heavier frame is followed more closely and the error moves to the frames around
 * it (retargetHand weighs the frames where the person pinches: the pinch is held, the fingers close before
 * and open after it). Weights ≥ 1 keep the dual step 1/4 within 1/‖D W⁻¹ Dᵀ‖.
 */
export function planVelocities(
  Q: Float32Array, T: number, nq: number, dofs: ArrayLike<number>, timestamps: ArrayLike<number>,
  velocity: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>, iterations = 500,
  weights?: ArrayLike<number>,
): void {
  if (T < 2) return;
  const n = T - 1;
  const y = new Float64Array(T), x = new Float64Array(T), c = new Float64Array(n);
  let lam = new Float64Array(n), next = new Float64Array(n);
  const z = new Float64Array(n), iw = new Float64Array(T);
  for (let k = 0; k < dofs.length; k++) {
    const d = dofs[k], v = velocity[d];
    if (!(Number.isFinite(v) && v > 0)) continue;
    for (let t = 0; t < T; t++) { y[t] = Q[t * nq + d]; iw[t] = weights ? 1 / Math.max(1, weights[t * nq + d]) : 1; }
    // Float32 storage: keep a hair inside the limit.
    for (let t = 0; t < n; t++) c[t] = v * (timestamps[t + 1] - timestamps[t]) * (1 - 1e-3);
    lam.fill(0); z.fill(0);
    let tk = 1;
    for (let it = 0; it < iterations; it++) {
      // x = y − W⁻¹ Dᵀ z (D: forward differences), then a proximal gradient step on the dual (step 1/4 ≥ 1/‖D W⁻¹ Dᵀ‖).
      for (let t = 0; t < T; t++) x[t] = y[t] - iw[t] * (t > 0 ? z[t - 1] : 0) + iw[t] * (t < n ? z[t] : 0);
      for (let t = 0; t < n; t++) {
        const u = z[t] + 0.25 * (x[t + 1] - x[t]), th = 0.25 * c[t];
        next[t] = u > th ? u - th : u < -th ? u + th : 0;
      }
      const t1 = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2, mom = (tk - 1) / t1;
      for (let t = 0; t < n; t++) z[t] = next[t] + mom * (next[t] - lam[t]);
      const sw = lam; lam = next; next = sw;
      tk = t1;
    }
    for (let t = 0; t < T; t++) x[t] = y[t] - iw[t] * (t > 0 ? lam[t - 1] : 0) + iw[t] * (t < n ? lam[t] : 0);
    let prev = Math.min(upper[d], Math.max(lower[d], x[0]));
    Q[d] = prev;
    for (let t = 1; t < T; t++) {
      const q = Math.min(upper[d], Math.max(lower[d], Math.min(prev + c[t - 1], Math.max(prev - c[t - 1], x[t]))));
      Q[t * nq + d] = q;
      prev = Q[t * nq + d];
    }
  }
}
