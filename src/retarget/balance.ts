/**
 * Balance for the body retargeter: the robot's whole-body centre of mass (CoM), projected on the ground,
 * stays inside its support region: over the stance foot's sole in single stance, inside the hull of both
 * soles in double stance. One-sided: only the distance beyond an inner margin is penalised.
 *
 * The CoM is the mass-weighted mean of the link COMs (URDF inertials) after fk; its Jacobian is the
 * mass-weighted sum of the link COM point Jacobians (x/y rows, base columns included). Everything a frame
 * needs is preallocated: a frame allocates nothing.
 */
import type { Kinematics } from '../robot/kinematics.ts';
import type { FootMap, Side } from './discover.ts';
import type { IkState, Task } from './solver.ts';
import { convexHull2dInto } from '../math/hull2d.ts';

const SIDES = ['left', 'right'] as const;

/** A support foot for the balance task: its link and sole rectangle (soleRectangle), sole centre. */
export interface SupportFoot { link: number; corners: Float64Array; centre: Float64Array }

/** The support foot of a link from its sole rectangle. */
export function supportFoot(link: number, corners: Float64Array): SupportFoot {
  const centre = new Float64Array(3);
  for (let i = 0; i < 4; i++) for (let k = 0; k < 3; k++) centre[k] += corners[3 * i + k] / 4;
  return { link, corners, centre };
}

/** Mass-weighted link COMs of a robot (links without mass are left out). */
export class ComModel {
  readonly links: Int32Array;
  /** Inertial origin of each link, in the link frame (3 per link). */
  readonly local: Float64Array;
  readonly mass: Float64Array;
  readonly totalMass: number;
  private readonly w = new Float64Array(3);
  /** Per-link views of `local`, made once (a subarray per call would allocate). */
  private readonly views: Float64Array[];

  constructor(kin: Kinematics) {
    const links: number[] = [], local: number[] = [], mass: number[] = [];
    for (const l of kin.robot.links) {
      const m = l.inertial?.mass ?? 0;
      if (!(m > 0)) continue;
      let i: number;
      try { i = kin.linkIndex(l.name); } catch { continue; }
      links.push(i);
      local.push(...l.inertial!.origin.xyz);
      mass.push(m);
    }
    this.links = Int32Array.from(links);
    this.local = Float64Array.from(local);
    this.mass = Float64Array.from(mass);
    this.totalMass = mass.reduce((a, b) => a + b, 0);
    this.views = this.mass.length ? Array.from(this.mass, (_, k) => this.local.subarray(3 * k, 3 * k + 3)) : [];
  }

  /** World CoM at the current poses (after fk), written to out[0..3]. */
  com(kin: Kinematics, out: Float64Array): void {
    out[0] = out[1] = out[2] = 0;
    const w = this.w, M = this.totalMass || 1;
    for (let k = 0; k < this.links.length; k++) {
      kin.pointWorld(this.links[k], this.views[k], w);
      const f = this.mass[k] / M;
      out[0] += f * w[0]; out[1] += f * w[1]; out[2] += f * w[2];
    }
  }

  /**
   * CoM Jacobian (after fk), rows x, y, z, columns [base linear, base angular, dq] (nv = nq + 6): written
   * row-major into out (3 x nv). `scratch` is a 6 x nv buffer; `cols[link]` the link's non-zero columns.
   */
  jacobian(kin: Kinematics, out: Float64Array, scratch: Float64Array, cols: Int32Array[]): void {
    const nv = kin.nq + 6, M = this.totalMass || 1;
    out.fill(0, 0, 3 * nv);
    for (let k = 0; k < this.links.length; k++) {
      const link = this.links[k];
      kin.jacobian(link, this.views[k], scratch, true);
      const f = this.mass[k] / M, c = cols[link];
      for (let a = 0; a < c.length; a++) {
        const j = c[a];
        out[j] += f * scratch[j];
        out[nv + j] += f * scratch[nv + j];
        out[2 * nv + j] += f * scratch[2 * nv + j];
      }
    }
  }
}

/** A foot's sole as a rectangle in its own frame: 4 corners (3 each), counter-clockwise seen from above. */
export function soleRectangle(foot: FootMap): Float64Array {
  const f = foot.forward, u = foot.up;
  // lateral = up x forward (points to the foot's left)
  const l = [u[1] * f[2] - u[2] * f[1], u[2] * f[0] - u[0] * f[2], u[0] * f[1] - u[1] * f[0]];
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  let f0 = Infinity, f1 = -Infinity, l0 = Infinity, l1 = -Infinity, h = 0;
  for (const p of foot.sole) {
    const a = dot(p, f), b = dot(p, l);
    f0 = Math.min(f0, a); f1 = Math.max(f1, a); l0 = Math.min(l0, b); l1 = Math.max(l1, b);
    h += dot(p, u) / foot.sole.length;
  }
  const out = new Float64Array(12);
  const corners = [[f0, l0], [f1, l0], [f1, l1], [f0, l1]];
  corners.forEach(([a, b], i) => { for (let k = 0; k < 3; k++) out[3 * i + k] = a * f[k] + b * l[k] + h * u[k]; });
  return out;
}

/**
 * The support region of a frame and the CoM's signed distance to it (negative inside), preallocated.
 * `update` takes the world xy of the active feet's sole corners and builds their convex hull.
 */
export class SupportRegion {
  /** Candidate points (x, y) and the hull (counter-clockwise) built from them. */
  readonly pts = new Float64Array(16);
  nPts = 0;
  private readonly hull = new Float64Array(2 * 17);
  private nHull = 0;
  private readonly order = new Int32Array(8);
  /** Result of distance(): outward direction of growth (unit) and the signed distance. */
  readonly dir = new Float64Array(2);

  /**
   * Add the world corners of a foot's sole rectangle (after fk), scaled by `w` in [0, 1] about the world
   * point (ax, ay) (w = 1: the sole as it is; w = 0: collapsed onto that point).
   */
  addFoot(kin: Kinematics, link: number, corners: Float64Array, w = 1, ax = 0, ay = 0): void {
    const P = kin.pose, o = 12 * link;
    for (let i = 0; i < 4; i++) {
      const x = corners[3 * i], y = corners[3 * i + 1], z = corners[3 * i + 2];
      const px = P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9];
      const py = P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10];
      this.pts[2 * this.nPts] = ax + w * (px - ax);
      this.pts[2 * this.nPts + 1] = ay + w * (py - ay);
      this.nPts++;
    }
  }

  clear(): void { this.nPts = 0; this.nHull = 0; }

  /** Convex hull of the points (src/math/hull2d.ts; at most 8 points, no allocation). */
  build(): void {
    this.nHull = convexHull2dInto(this.pts, this.nPts, this.hull, this.order);
  }

  /**
   * Signed distance of (x, y) to the hull: negative inside (minus the distance to the nearest edge),
   * positive outside; `dir` gets the direction in which the distance grows fastest.
   */
  distance(x: number, y: number): number {
    const H = this.hull, n = this.nHull;
    if (n === 0) { this.dir[0] = this.dir[1] = 0; return -Infinity; }
    let inside = n >= 3, best = -Infinity, bx = 0, by = 0;
    for (let i = 0; i < n && inside; i++) {
      const j = (i + 1) % n;
      const ex = H[2 * j] - H[2 * i], ey = H[2 * j + 1] - H[2 * i + 1];
      const len = Math.sqrt(ex * ex + ey * ey);
      if (len < 1e-12) continue;
      const nx = ey / len, ny = -ex / len; // outward for a counter-clockwise hull
      const v = nx * (x - H[2 * i]) + ny * (y - H[2 * i + 1]);
      if (v > 0) inside = false;
      else if (v > best) { best = v; bx = nx; by = ny; }
    }
    if (inside) { this.dir[0] = bx; this.dir[1] = by; return best; }
    // Outside (or a degenerate hull): the nearest point of the boundary.
    let dmin = Infinity, cx = H[0], cy = H[1];
    const m = n >= 3 ? n : Math.max(1, n - 1);
    for (let i = 0; i < m; i++) {
      const j = (i + 1) % n;
      const ax = H[2 * i], ay = H[2 * i + 1], ex = H[2 * j] - ax, ey = H[2 * j + 1] - ay;
      const ee = ex * ex + ey * ey;
      const s = ee > 1e-18 ? Math.min(1, Math.max(0, ((x - ax) * ex + (y - ay) * ey) / ee)) : 0;
      const px = ax + s * ex, py = ay + s * ey, d = (x - px) * (x - px) + (y - py) * (y - py);
      if (d < dmin) { dmin = d; cx = px; cy = py; }
    }
    const d = Math.sqrt(dmin);
    if (d > 1e-12) { this.dir[0] = (x - cx) / d; this.dir[1] = (y - cy) / d; } else { this.dir[0] = this.dir[1] = 0; }
    return d;
  }
}

/**
 * Keep the CoM's ground projection at least `margin` inside the support region of the active feet
 * (set `support[side]` per frame; no foot active = the task is off). Residual: signed distance + margin
 * when positive; its gradient is the outward direction times the CoM Jacobian's x/y rows.
 */
export class BalanceTask implements Task {
  readonly name = 'balance';
  /** Support weight of each foot this frame, in [0, 1] (0 = not a support; see evaluate). */
  readonly support = { left: 0, right: 0 };
  private readonly cw = new Float64Array(3);
  /** Width (m) of the smooth knee of the one-sided residual (see accumulate). */
  softness = 0.01;
  readonly region = new SupportRegion();
  /** Last CoM evaluated (world). */
  readonly com = new Float64Array(3);
  private readonly Jc: Float64Array;
  private readonly row = new Float64Array(1);
  private readonly allCols: Int32Array;
  constructor(
    readonly model: ComModel,
    readonly feet: Record<Side, SupportFoot>,
    public weight: number,
    public margin = 0.01,
    nv = 0,
  ) {
    this.Jc = new Float64Array(3 * Math.max(nv, 6));
    this.allCols = new Int32Array(Math.max(nv, 6));
    for (let i = 0; i < this.allCols.length; i++) this.allCols[i] = i;
  }
  /**
   * Signed distance of the CoM to the region of the active feet at the current poses (after fk). A foot
   * with support weight w < 1 while the other one carries (weight 1) is shrunk towards the other sole's
   * centre, so the region morphs continuously between double and single stance.
   */
  evaluate(kin: Kinematics): number {
    const r = this.region, wl = this.support.left, wr = this.support.right;
    r.clear();
    if (wl <= 0 && wr <= 0) return -Infinity;
    const c = this.cw;
    if (wl > 0) {
      if (wr > 0 && wl < 1) { kin.pointWorld(this.feet.right.link, this.feet.right.centre, c); r.addFoot(kin, this.feet.left.link, this.feet.left.corners, wl, c[0], c[1]); }
      else r.addFoot(kin, this.feet.left.link, this.feet.left.corners);
    }
    if (wr > 0) {
      if (wl > 0 && wr < 1) { kin.pointWorld(this.feet.left.link, this.feet.left.centre, c); r.addFoot(kin, this.feet.right.link, this.feet.right.corners, wr, c[0], c[1]); }
      else r.addFoot(kin, this.feet.right.link, this.feet.right.corners);
    }
    r.build();
    this.model.com(kin, this.com);
    return r.distance(this.com[0], this.com[1]);
  }
  accumulate(s: IkState): number {
    if (this.weight <= 0 || (this.support.left <= 0 && this.support.right <= 0)) return 0;
    // Smooth one-sided residual: softplus of (distance + margin) with a `softness` (m) knee, so the task
    // fades in instead of switching on and off from one iteration to the next (that chatters the joints).
    const x = this.evaluate(s.kin) + this.margin, k = this.softness;
    if (!(x > -6 * k)) return 0;
    const d = x > 30 * k ? x : k * Math.log1p(Math.exp(x / k));
    if (s.costOnly) return this.weight * d * d;
    const slope = x > 30 * k ? 1 : 1 / (1 + Math.exp(-x / k));
    const nv = s.nv, J = s.J, Jc = this.Jc, dx = this.region.dir[0] * slope, dy = this.region.dir[1] * slope;
    this.model.jacobian(s.kin, Jc, s.J2, s.cols);
    // The support is held where the stance feet are (their position tasks keep them planted): the CoM
    // moves over it, not the feet under the CoM (that would be foot skate).
    for (let c = 0; c < nv; c++) J[c] = dx * Jc[c] + dy * Jc[nv + c];
    this.row[0] = d;
    return s.addRows(J, 0, 1, this.row, this.weight, this.allCols, nv);
  }
}

/** For the quality report: the CoM's distance outside the support of the stance feet, per motion. */
export function comOutsideSupport(
  kin: Kinematics, model: ComModel, feet: Record<Side, SupportFoot>,
  stance: Record<Side, Uint8Array>, m: { q: Float32Array; rootPos: Float32Array; rootQuat: Float32Array },
  tolerance = 1e-3,
): { com_outside_support_max_m: number; com_outside_support_frames: number; com_outside_support_mean_m: number; support_frames: number } {
  const task = new BalanceTask(model, feet, 0);
  const T = stance.left.length, nq = kin.nq;
  const q = new Float64Array(nq);
  const base = { pos: new Float64Array(3), quat: new Float64Array(4) };
  let max = 0, frames = 0, sum = 0, n = 0;
  for (let t = 0; t < T; t++) {
    task.support.left = stance.left[t] ? 1 : 0;
    task.support.right = stance.right[t] ? 1 : 0;
    if (!task.support.left && !task.support.right) continue;
    for (let i = 0; i < nq; i++) q[i] = m.q[t * nq + i];
    for (let k = 0; k < 3; k++) base.pos[k] = m.rootPos[3 * t + k];
    for (let k = 0; k < 4; k++) base.quat[k] = m.rootQuat[4 * t + k];
    kin.fk(q, base);
    const d = Math.max(0, task.evaluate(kin));
    n++; sum += d;
    if (d > max) max = d;
    if (d > tolerance) frames++;
  }
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  return { com_outside_support_max_m: r6(max), com_outside_support_frames: frames, com_outside_support_mean_m: r6(n ? sum / n : 0), support_frames: n };
}

/**
 * Keep the CoM's ground projection at a world (x, y) target (two-sided): the second pass of the smoothed
 * balance (see retarget(): the first pass's CoM, moved into the support and low-passed over time).
 */
export class ComTask implements Task {
  readonly name = 'com';
  readonly target = new Float64Array(2);
  /** Set when the state has moved enough that the CoM Jacobian must be recomputed (e.g. each new frame). */
  stale = true;
  readonly com = new Float64Array(3);
  private readonly Jc: Float64Array;
  private readonly res = new Float64Array(2);
  private readonly allCols: Int32Array;
  constructor(readonly model: ComModel, public weight: number, nv: number) {
    this.Jc = new Float64Array(3 * Math.max(nv, 6));
    this.allCols = new Int32Array(Math.max(nv, 6));
    for (let i = 0; i < this.allCols.length; i++) this.allCols[i] = i;
  }
  accumulate(s: IkState): number {
    if (this.weight <= 0) return 0;
    this.model.com(s.kin, this.com);
    this.res[0] = this.com[0] - this.target[0];
    this.res[1] = this.com[1] - this.target[1];
    if (s.costOnly) return this.weight * (this.res[0] * this.res[0] + this.res[1] * this.res[1]);
    // The CoM Jacobian (one point Jacobian per massive link) is the costly part: computed on the first
    // linearisation of a frame and reused for the frame's other iterations (it changes little within a
    // frame; the residual is always exact).
    if (this.stale) { this.model.jacobian(s.kin, this.Jc, s.J2, s.cols); this.stale = false; }
    return s.addRows(this.Jc, 0, 2, this.res, this.weight, this.allCols, s.nv);
  }
}
