/**
 * 2-D convex hull (Andrew's monotone chain), the project's one implementation: support polygons in the
 * validator, the balance term's stance polygon in retargeting. Points are flat x,y pairs; the hull is
 * counter-clockwise without repeating the first point; collinear points are dropped (cross ≤ 1e-12).
 */

/**
 * Hull of the first `n` points of `pts` written into `out` (room for 2·(n+1) numbers), using `order` (room for
 * n indices) as scratch; returns the number of hull points. Allocates nothing: for per-frame use. Insertion
 * sort, so meant for a few dozen points at most.
 */
export function convexHull2dInto(pts: ArrayLike<number>, n: number, out: Float64Array, order: Int32Array): number {
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 1; i < n; i++) {
    const v = order[i];
    let j = i - 1;
    while (j >= 0 && (pts[2 * order[j]] > pts[2 * v] || (pts[2 * order[j]] === pts[2 * v] && pts[2 * order[j] + 1] > pts[2 * v + 1]))) { order[j + 1] = order[j]; j--; }
    order[j + 1] = v;
  }
  // (out[b] - out[a]) x (pts[c] - out[a])
  const cross = (a: number, b: number, c: number) =>
    (out[2 * b] - out[2 * a]) * (pts[2 * c + 1] - out[2 * a + 1]) - (out[2 * b + 1] - out[2 * a + 1]) * (pts[2 * c] - out[2 * a]);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = order[i];
    while (k >= 2 && cross(k - 2, k - 1, c) <= 1e-12) k--;
    out[2 * k] = pts[2 * c]; out[2 * k + 1] = pts[2 * c + 1]; k++;
  }
  for (let i = n - 2, lo = k + 1; i >= 0; i--) {
    const c = order[i];
    while (k >= lo && cross(k - 2, k - 1, c) <= 1e-12) k--;
    out[2 * k] = pts[2 * c]; out[2 * k + 1] = pts[2 * c + 1]; k++;
  }
  return n > 1 ? k - 1 : n;
}

/** Hull of all the points, as a new array of x,y pairs. */
export function convexHull2d(pts: ArrayLike<number>): Float64Array {
  const n = pts.length >> 1;
  const out = new Float64Array(2 * (n + 1));
  const k = convexHull2dInto(pts, n, out, new Int32Array(n));
  return out.slice(0, 2 * k);
}
