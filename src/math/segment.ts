/**
 * Closest points of two segments (Ericson, Real-Time Collision Detection 5.1.9): the project's one
 * capsule/segment distance, used by the body's self-collision proxies (src/retarget/proxies.ts) and the
 * hand's finger capsules (src/retarget/hand).
 */

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * Closest points between segments [p0,p1] and [q0,q1] (flat arrays, offsets). Writes the parameters
 * (s, t) in [0,1] into out[0], out[1] and returns the squared distance. Allocates nothing.
 */
export function segmentClosest(
  P: ArrayLike<number>, p0: number, p1: number,
  Q: ArrayLike<number>, q0: number, q1: number,
  out: Float64Array,
): number {
  const d1x = P[p1] - P[p0], d1y = P[p1 + 1] - P[p0 + 1], d1z = P[p1 + 2] - P[p0 + 2];
  const d2x = Q[q1] - Q[q0], d2y = Q[q1 + 1] - Q[q0 + 1], d2z = Q[q1 + 2] - Q[q0 + 2];
  const rx = P[p0] - Q[q0], ry = P[p0 + 1] - Q[q0 + 1], rz = P[p0 + 2] - Q[q0 + 2];
  const a = d1x * d1x + d1y * d1y + d1z * d1z;
  const e = d2x * d2x + d2y * d2y + d2z * d2z;
  const f = d2x * rx + d2y * ry + d2z * rz;
  let s = 0, t = 0;
  const EPS = 1e-14;
  if (a <= EPS && e <= EPS) {
    s = 0; t = 0;
  } else if (a <= EPS) {
    s = 0; t = clamp01(f / e);
  } else {
    const c = d1x * rx + d1y * ry + d1z * rz;
    if (e <= EPS) {
      t = 0; s = clamp01(-c / a);
    } else {
      const b = d1x * d2x + d1y * d2y + d1z * d2z;
      const den = a * e - b * b;
      s = den > EPS ? clamp01((b * f - c * e) / den) : 0;
      t = (b * s + f) / e;
      if (t < 0) { t = 0; s = clamp01(-c / a); } else if (t > 1) { t = 1; s = clamp01((b - c) / a); }
    }
  }
  out[0] = s; out[1] = t;
  const dx = rx + d1x * s - d2x * t, dy = ry + d1y * s - d2y * t, dz = rz + d1z * s - d2z * t;
  return dx * dx + dy * dy + dz * dz;
}
