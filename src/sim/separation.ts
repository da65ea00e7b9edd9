/**
 * A proof that two convex collision shapes are apart by more than a margin, without Rapier: GJK (Gilbert,
 * Johnson, Keerthi) on the shapes' support functions, in double precision. It answers only "separated by more
 * than margin" (true) or "could not show it" (false: touching, penetrating, closer than the margin, or not
 * converged); the self-collision check asks Rapier, as before, for every pair this cannot clear.
 *
 * The proof does not rest on GJK being right: a pair is declared separated only when, for the direction v that
 * GJK reached, the shapes' support points give a gap min over B of v̂·b − max over A of v̂·a greater than the
 * margin — a separating slab exists, whatever the iteration did before. GJK only finds a good v quickly.
 *
 * Shapes are the self-collision world's: a kind code, parameters, and a world pose (3x4 row-major, R then t).
 * Cylinders and capsules lie along their local Y (as Rapier's); a hull is the convex hull of its points.
 */

export const SHAPE_CUBOID = 0, SHAPE_BALL = 1, SHAPE_CYLINDER = 2, SHAPE_CAPSULE = 3, SHAPE_HULL = 4;

export interface SupportShape {
  kind: number;
  /** cuboid: half extents (3); ball: radius; cylinder and capsule: half height, radius. */
  p0: number; p1: number; p2: number;
  /** Hull points (local frame), empty for primitives. */
  points: Float32Array;
}

/** Scratch space for one query (no allocation per query). */
export class Separation {
  /** Simplex points of the Minkowski difference A − B (up to 4), and the support points on A and B. */
  private readonly w = new Float64Array(12);
  private readonly tmp = new Float64Array(12);
  private readonly sa = new Float64Array(3);
  private readonly sb = new Float64Array(3);
  private readonly v = new Float64Array(3);
  private readonly lam = new Float64Array(4);
  private m = 0;
  /** Iterations of the last query (for tests and tuning). */
  iterations = 0;

  /**
   * Is the gap between A (pose pa at offset oa) and B (pose pb at ob) larger than margin? `dir` (3 numbers at
   * od, optional warm start: the direction of the last proof for this pair) is updated with the direction used.
   */
  separated(A: SupportShape, pa: Float64Array, oa: number, B: SupportShape, pb: Float64Array, ob: number, margin: number, dir: Float64Array, od: number): boolean {
    const v = this.v, w = this.w, sa = this.sa, sb = this.sb;
    // Start from the warm direction if any, else from the centres' difference.
    let vx = dir[od], vy = dir[od + 1], vz = dir[od + 2];
    if (vx === 0 && vy === 0 && vz === 0) {
      vx = pa[oa + 9] - pb[ob + 9]; vy = pa[oa + 10] - pb[ob + 10]; vz = pa[oa + 11] - pb[ob + 11];
      if (vx === 0 && vy === 0 && vz === 0) vx = 1;
    }
    v[0] = vx; v[1] = vy; v[2] = vz;
    this.m = 0;
    for (let it = 0; it < 64; it++) {
      this.iterations = it + 1;
      const vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
      // w = support of A − B in direction −v: the point of the difference lowest along v.
      support(A, pa, oa, -v[0], -v[1], -v[2], sa);
      support(B, pb, ob, v[0], v[1], v[2], sb);
      const wx = sa[0] - sb[0], wy = sa[1] - sb[1], wz = sa[2] - sb[2];
      const vw = v[0] * wx + v[1] * wy + v[2] * wz;
      // Every point x of A − B has v·x ≥ v·w: the shapes are apart by at least v·w / |v| along v.
      if (vw > 0 && vw * vw > margin * margin * vv) {
        dir[od] = v[0]; dir[od + 1] = v[1]; dir[od + 2] = v[2];
        return true;
      }
      // No progress possible: |v| is (within rounding) the distance, and it is not above the margin.
      if (this.m > 0 && vv - vw <= 1e-12 * vv) return false;
      for (let k = 0; k < this.m; k++) if (w[3 * k] === wx && w[3 * k + 1] === wy && w[3 * k + 2] === wz) return false;
      w[3 * this.m] = wx; w[3 * this.m + 1] = wy; w[3 * this.m + 2] = wz;
      this.m++;
      if (!this.closest()) return false; // the origin is inside the simplex (touching or penetrating), or degenerate
      if (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] <= margin * margin) return false;
    }
    return false;
  }

  /**
   * Replace the simplex by the smallest face whose affine hull's nearest point to the origin lies inside it and
   * is the nearest of all such faces (that is the simplex's nearest point); v = that point. False when the
   * simplex is a tetrahedron containing the origin or no face qualifies.
   */
  private closest(): boolean {
    const m = this.m, w = this.w, lam = this.lam, v = this.v;
    let bestN = Infinity, bestMask = 0;
    for (let mask = 1; mask < 1 << m; mask++) {
      if (!this.affineNearest(mask)) continue;
      let x = 0, y = 0, z = 0;
      for (let k = 0; k < m; k++) if (mask & (1 << k)) { x += lam[k] * w[3 * k]; y += lam[k] * w[3 * k + 1]; z += lam[k] * w[3 * k + 2]; }
      const n = x * x + y * y + z * z;
      if (n < bestN) { bestN = n; bestMask = mask; v[0] = x; v[1] = y; v[2] = z; }
    }
    if (!bestMask || (m === 4 && bestMask === 15)) return false;
    // Keep the face's points.
    const tmp = this.tmp;
    let n = 0;
    for (let k = 0; k < m; k++) if (bestMask & (1 << k)) { tmp[3 * n] = w[3 * k]; tmp[3 * n + 1] = w[3 * k + 1]; tmp[3 * n + 2] = w[3 * k + 2]; n++; }
    for (let k = 0; k < 3 * n; k++) w[k] = tmp[k];
    this.m = n;
    return bestN > 0;
  }

  /**
   * Barycentric coordinates (into lam, by simplex index) of the origin's nearest point on the affine hull of the
   * points in mask; false if they are not all positive or the points are affinely dependent.
   */
  private affineNearest(mask: number): boolean {
    const w = this.w, lam = this.lam;
    lam.fill(0);
    let i0 = -1, i1 = -1, i2 = -1, i3 = -1;
    for (let k = 0; k < this.m; k++) if (mask & (1 << k)) { if (i0 < 0) i0 = k; else if (i1 < 0) i1 = k; else if (i2 < 0) i2 = k; else i3 = k; }
    if (i1 < 0) { lam[i0] = 1; return true; }
    const px = w[3 * i0], py = w[3 * i0 + 1], pz = w[3 * i0 + 2];
    // Edges e_k = p_k − p0; solve G μ = −E p0 with G the Gram matrix of the edges.
    const e1x = w[3 * i1] - px, e1y = w[3 * i1 + 1] - py, e1z = w[3 * i1 + 2] - pz;
    const b1 = -(e1x * px + e1y * py + e1z * pz), g11 = e1x * e1x + e1y * e1y + e1z * e1z;
    if (i2 < 0) {
      if (!(g11 > 0)) return false;
      const mu = b1 / g11;
      if (!(mu > 0 && mu < 1)) return false;
      lam[i0] = 1 - mu; lam[i1] = mu;
      return true;
    }
    const e2x = w[3 * i2] - px, e2y = w[3 * i2 + 1] - py, e2z = w[3 * i2 + 2] - pz;
    const b2 = -(e2x * px + e2y * py + e2z * pz), g12 = e1x * e2x + e1y * e2y + e1z * e2z, g22 = e2x * e2x + e2y * e2y + e2z * e2z;
    if (i3 < 0) {
      const det = g11 * g22 - g12 * g12;
      if (!(det > 1e-14 * g11 * g22)) return false;
      const m1 = (b1 * g22 - b2 * g12) / det, m2 = (g11 * b2 - g12 * b1) / det;
      if (!(m1 > 0 && m2 > 0 && m1 + m2 < 1)) return false;
      lam[i0] = 1 - m1 - m2; lam[i1] = m1; lam[i2] = m2;
      return true;
    }
    const e3x = w[3 * i3] - px, e3y = w[3 * i3 + 1] - py, e3z = w[3 * i3 + 2] - pz;
    const b3 = -(e3x * px + e3y * py + e3z * pz);
    const g13 = e1x * e3x + e1y * e3y + e1z * e3z, g23 = e2x * e3x + e2y * e3y + e2z * e3z, g33 = e3x * e3x + e3y * e3y + e3z * e3z;
    // 3 × 3 symmetric solve by Cramer's rule.
    const c11 = g22 * g33 - g23 * g23, c12 = g13 * g23 - g12 * g33, c13 = g12 * g23 - g13 * g22;
    const det = g11 * c11 + g12 * c12 + g13 * c13;
    if (!(det > 1e-14 * g11 * g22 * g33)) return false;
    const c22 = g11 * g33 - g13 * g13, c23 = g12 * g13 - g11 * g23, c33 = g11 * g22 - g12 * g12;
    const m1 = (c11 * b1 + c12 * b2 + c13 * b3) / det;
    const m2 = (c12 * b1 + c22 * b2 + c23 * b3) / det;
    const m3 = (c13 * b1 + c23 * b2 + c33 * b3) / det;
    if (!(m1 > 0 && m2 > 0 && m3 > 0 && m1 + m2 + m3 < 1)) return false;
    lam[i0] = 1 - m1 - m2 - m3; lam[i1] = m1; lam[i2] = m2; lam[i3] = m3;
    return true;
  }
}

/** out = the point of shape S (world pose P at o) farthest along the world direction (dx, dy, dz). */
export function support(S: SupportShape, P: Float64Array, o: number, dx: number, dy: number, dz: number, out: Float64Array): void {
  // Direction in the shape's frame: Rᵀ d.
  const x = P[o] * dx + P[o + 3] * dy + P[o + 6] * dz;
  const y = P[o + 1] * dx + P[o + 4] * dy + P[o + 7] * dz;
  const z = P[o + 2] * dx + P[o + 5] * dy + P[o + 8] * dz;
  let sx = 0, sy = 0, sz = 0;
  switch (S.kind) {
    case SHAPE_CUBOID:
      sx = x < 0 ? -S.p0 : S.p0; sy = y < 0 ? -S.p1 : S.p1; sz = z < 0 ? -S.p2 : S.p2;
      break;
    case SHAPE_BALL: {
      const n = Math.sqrt(x * x + y * y + z * z);
      if (n > 0) { sx = S.p0 * x / n; sy = S.p0 * y / n; sz = S.p0 * z / n; } else sx = S.p0;
      break;
    }
    case SHAPE_CYLINDER: {
      sy = y < 0 ? -S.p0 : S.p0;
      const n = Math.sqrt(x * x + z * z);
      if (n > 0) { sx = S.p1 * x / n; sz = S.p1 * z / n; }
      break;
    }
    case SHAPE_CAPSULE: {
      const n = Math.sqrt(x * x + y * y + z * z);
      if (n > 0) { sx = S.p1 * x / n; sy = S.p1 * y / n; sz = S.p1 * z / n; } else sx = S.p1;
      sy += y < 0 ? -S.p0 : S.p0;
      break;
    }
    default: {
      const p = S.points;
      let bi = 0, bd = -Infinity;
      for (let i = 0; i < p.length; i += 3) {
        const d = p[i] * x + p[i + 1] * y + p[i + 2] * z;
        if (d > bd) { bd = d; bi = i; }
      }
      if (p.length) { sx = p[bi]; sy = p[bi + 1]; sz = p[bi + 2]; }
    }
  }
  out[0] = P[o] * sx + P[o + 1] * sy + P[o + 2] * sz + P[o + 9];
  out[1] = P[o + 3] * sx + P[o + 4] * sy + P[o + 5] * sz + P[o + 10];
  out[2] = P[o + 6] * sx + P[o + 7] * sy + P[o + 8] * sz + P[o + 11];
}
