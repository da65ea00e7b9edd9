/** Self-collision task: capsule pairs kept apart. */
import type { IkState, Task } from '../solver.ts';
import { capsuleDistanceInto, type ProxySet } from '../proxies.ts';

/** Keep capsule pairs at least `margin` apart (one-sided: inactive beyond `activation`). */
export class SelfCollisionTask implements Task {
  readonly name = 'self-collision';
  private readonly pts = new Float64Array(7);
  private readonly loc = new Float64Array(3);
  private readonly row = new Float64Array(1);
  private readonly merged: Int32Array;
  /**
   * Links whose own joints should not react to a contact with a non-passive link (per link index, 1 =
   * passive): e.g. the legs, so an arm brushing a thigh moves the arm, not the stance leg.
   */
  passive: Uint8Array | null = null;
  /** Pairs near enough to matter this frame (broad phase, see beginFrame). */
  private readonly near: Int32Array;
  private nNear = -1;
  /** Per capsule: its segment's half-length plus its radius (link frame, so constant). */
  private readonly reach: Float64Array;
  /** Per capsule at the current poses: its segment's midpoint (world), 3 values each. */
  private readonly mid: Float64Array;
  constructor(readonly proxies: ProxySet, public weight: number, public margin = 0.01, public activation = 0.03, nv = 0) {
    this.merged = new Int32Array(Math.max(nv, 6));
    this.near = new Int32Array(proxies.pairs.length);
    this.reach = Float64Array.from(proxies.capsules, (c) => Math.hypot(c.b[0] - c.a[0], c.b[1] - c.a[1], c.b[2] - c.a[2]) / 2 + c.radius);
    this.mid = new Float64Array(3 * proxies.capsules.length);
  }
  /** World midpoints of every capsule's segment at link poses P (into this.mid). */
  private midpoints(P: Float64Array): void {
    const caps = this.proxies.capsules, mid = this.mid;
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i], o = 12 * c.link;
      const x = (c.a[0] + c.b[0]) / 2, y = (c.a[1] + c.b[1]) / 2, z = (c.a[2] + c.b[2]) / 2;
      mid[3 * i] = P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9];
      mid[3 * i + 1] = P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10];
      mid[3 * i + 2] = P[o + 6] * x + P[o + 7] * y + P[o + 8] * z + P[o + 11];
    }
  }
  /**
   * Broad phase once per frame: keep the pairs within activation + slack at the frame's start pose. Joint
   * velocity limits bound how far links travel within a frame, so `slack` covers the frame's motion.
   */
  beginFrame(P: Float64Array, slack = 0.1): void {
    const caps = this.proxies.capsules, pairs = this.proxies.pairs;
    let n = 0;
    for (let k = 0; k < pairs.length; k += 2) {
      capsuleDistanceInto(P, caps[pairs[k]], caps[pairs[k + 1]], this.pts);
      if (this.pts[6] < this.activation + slack) { this.near[n++] = pairs[k]; this.near[n++] = pairs[k + 1]; }
    }
    this.nNear = n;
  }
  /** Check every pair again from now on (e.g. after a large jump of the state). */
  resetBroadPhase(): void {
    this.nNear = -1;
  }
  accumulate(s: IkState): number {
    const P = s.kin.pose, caps = this.proxies.capsules;
    const pairs = this.nNear >= 0 ? this.near : this.proxies.pairs;
    const np = this.nNear >= 0 ? this.nNear : pairs.length;
    let cost = 0;
    // A pair whose bounding spheres (segment midpoint, half-length + radius) are activation apart is too far
    // for its capsules to be nearer than activation: it is skipped before the exact distance, as that distance
    // would skip it (1e-9 m covers rounding), so the result is the same to the bit.
    this.midpoints(P);
    const mid = this.mid, reach = this.reach, far = this.activation + 1e-9;
    for (let k = 0; k < np; k += 2) {
      const i = pairs[k], j = pairs[k + 1];
      const ex = mid[3 * i] - mid[3 * j], ey = mid[3 * i + 1] - mid[3 * j + 1], ez = mid[3 * i + 2] - mid[3 * j + 2];
      const r = reach[i] + reach[j] + far;
      if (ex * ex + ey * ey + ez * ez >= r * r) continue;
      const A = caps[i], B = caps[j];
      capsuleDistanceInto(P, A, B, this.pts);
      const d = this.pts[6];
      if (d >= this.activation) continue;
      if (s.costOnly) { const r = d - this.activation; cost += (d < this.margin ? this.weight * 10 : this.weight) * r * r; continue; }
      const pts = this.pts;
      let nx = pts[0] - pts[3], ny = pts[1] - pts[4], nz = pts[2] - pts[5];
      const nn = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (nn < 1e-9) continue;
      nx /= nn; ny /= nn; nz /= nn;
      // d(distance) = n . (J_a - J_b) dx
      this.toLocal(P, A.link, pts, 0);
      s.kin.jacobian(A.link, this.loc, s.J, true);
      this.toLocal(P, B.link, pts, 3);
      s.kin.jacobian(B.link, this.loc, s.J2, true);
      const nv = s.nv, J = s.J, J2 = s.J2;
      // Row 0 of J := n^T (Ja - Jb), over the union of both links' columns.
      const ca = s.cols[A.link], cb = s.cols[B.link];
      if (this.passive) {
        const pa = this.passive[A.link], pb = this.passive[B.link];
        if (pa && !pb) for (let k = 6; k < ca.length; k++) { const c = ca[k]; if (cb.indexOf(c) < 0) J[c] = J[nv + c] = J[2 * nv + c] = 0; }
        if (pb && !pa) for (let k = 6; k < cb.length; k++) { const c = cb[k]; if (ca.indexOf(c) < 0) J2[c] = J2[nv + c] = J2[2 * nv + c] = 0; }
      }
      let m = 0;
      const merged = this.merged;
      for (let i = 0, j = 0; i < ca.length || j < cb.length;) {
        if (j >= cb.length || (i < ca.length && ca[i] < cb[j])) merged[m++] = ca[i++];
        else if (i >= ca.length || cb[j] < ca[i]) merged[m++] = cb[j++];
        else { merged[m++] = ca[i++]; j++; }
      }
      for (let i = 0; i < m; i++) {
        const c = merged[i];
        J[c] = nx * (J[c] - J2[c]) + ny * (J[nv + c] - J2[nv + c]) + nz * (J[2 * nv + c] - J2[2 * nv + c]);
      }
      // Target: distance >= margin + a little; residual is (d - activation) scaled towards the margin.
      this.row[0] = d - this.activation;
      const w = d < this.margin ? this.weight * 10 : this.weight;
      cost += s.addRows(J, 0, 1, this.row, w, merged, m);
    }
    return cost;
  }
  /** Deepest penetration among the pairs at the current poses (0 when clear). */
  deepest(P: Float64Array): number {
    const caps = this.proxies.capsules, pairs = this.proxies.pairs;
    let worst = 0;
    for (let k = 0; k < pairs.length; k += 2) {
      capsuleDistanceInto(P, caps[pairs[k]], caps[pairs[k + 1]], this.pts);
      if (this.pts[6] < worst) worst = this.pts[6];
    }
    return -worst;
  }
  private toLocal(P: Float64Array, link: number, pts: Float64Array, off: number): void {
    const o = 12 * link;
    const dx = pts[off] - P[o + 9], dy = pts[off + 1] - P[o + 10], dz = pts[off + 2] - P[o + 11];
    this.loc[0] = P[o] * dx + P[o + 3] * dy + P[o + 6] * dz;
    this.loc[1] = P[o + 1] * dx + P[o + 4] * dy + P[o + 7] * dz;
    this.loc[2] = P[o + 2] * dx + P[o + 5] * dy + P[o + 8] * dz;
  }
}
