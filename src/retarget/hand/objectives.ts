/**
 * Composable hand retargeting objectives: Tasks of the project's one IK solver (src/retarget/solver.ts,
 * mink style). Each is a small object that, given the solver's state at the current configuration, adds
 * its weighted least-squares cost and, unless the state asks for the cost only, its Gauss–Newton terms
 * (IkState.addRows) over the hand's solved dofs. All work on flat typed arrays and allocate nothing per call.
 *
 * Geometry is expressed in the palm link's coordinates, so the same objectives serve a bare hand and a
 * hand at the end of a moving arm (G1 + Dex3).
 */
import type { Kinematics } from '../../robot/kinematics.ts';
import type { HandModel } from './discover.ts';
import { segmentClosest } from './vec.ts';
import { IkState } from '../solver.ts';

/**
 * Solver state shared by the hand tasks for one evaluation: an IkState over the hand's dofs (no base;
 * variable a is dof dofs[a]) plus the fingertips and finger points its tasks share, in palm coordinates.
 */
export class HandState extends IkState {
  readonly model: HandModel;
  /** Number of solved dofs and their Kinematics indices. */
  readonly nd: number;
  readonly dofs: Int32Array;
  /** Fingers (model order: thumb first). */
  readonly nf: number;
  /** Fingertip positions, palm coordinates [nf*3]; their Jacobians [nf*3*nd] (valid when withJac). */
  readonly tipPos: Float64Array;
  readonly tipJac: Float64Array;
  /** Mid-finger points (see RobotFinger.midLink) and Jacobians, same layout; their human landmarks. */
  readonly midPos: Float64Array;
  readonly midJac: Float64Array;
  readonly midLm: Int32Array;
  withJac = false;
  /** The previous frame's solution (full, Kinematics order; `q` is the configuration being evaluated). */
  readonly qPrev: Float64Array;
  /** All variable columns 0..nd-1 (for rows whose non-zero columns are not one link's). */
  readonly allCols: Int32Array;
  /**
   * Human landmarks of the frame relative to the wrist, expressed along the robot palm axes
   * (forward, normal, thumb side) but not scaled [63].
   */
  readonly human: Float64Array;
  /** Virtual robot wrist (palm coordinates) and scales: global and per finger. */
  readonly wrist = new Float64Array(3);
  scale = 1;
  readonly fingerScale: Float64Array;
  /** Landmark index of each finger's base and tip (model order). */
  readonly baseLm: Int32Array;
  readonly tipLm: Int32Array;
  /**
   * Robot finger bases (knuckle joints) in palm coordinates [nf*3] at the current configuration, and
   * their Jacobians [nf*3*nd] where the base moves (a joint before the knuckle: `baseMoves`).
   */
  readonly base: Float64Array;
  readonly baseJac: Float64Array;
  readonly baseMoves: Uint8Array;
  private readonly baseLink: Int32Array;
  private readonly jfull: Float64Array;
  private readonly palm: number;
  private readonly tipLink: Int32Array;
  private readonly tipLocal: Float64Array;
  private readonly midLink: Int32Array;
  /** Variable columns that move each fingertip (its finger's dofs and those above it). */
  readonly tipCols: Int32Array[];

  constructor(kin: Kinematics, model: HandModel, dofs: number[]) {
    super(kin, dofs);
    this.model = model;
    this.nd = dofs.length;
    this.dofs = this.vars;
    this.allCols = Int32Array.from({ length: this.nd }, (_, a) => a);
    this.nf = model.fingers.length;
    this.tipPos = new Float64Array(3 * this.nf);
    this.tipJac = new Float64Array(3 * this.nf * this.nd);
    this.midPos = new Float64Array(3 * this.nf);
    this.midJac = new Float64Array(3 * this.nf * this.nd);
    this.midLm = Int32Array.from(model.fingers.map((f) => f.midLandmark));
    this.midLink = Int32Array.from(model.fingers.map((f) => f.midLinkIndex));
    this.qPrev = new Float64Array(kin.nq);
    this.human = new Float64Array(63);
    this.fingerScale = new Float64Array(this.nf).fill(1);
    const lm: Record<string, [number, number]> = { thumb: [1, 4], index: [5, 8], middle: [9, 12], ring: [13, 16], pinky: [17, 20] };
    this.baseLm = Int32Array.from(model.fingers.map((f) => lm[f.name][0]));
    this.tipLm = Int32Array.from(model.fingers.map((f) => lm[f.name][1]));
    this.base = Float64Array.from(model.fingers.flatMap((f) => f.base));
    this.baseJac = new Float64Array(3 * this.nf * this.nd);
    this.baseMoves = Uint8Array.from(model.fingers.map((f) => (f.baseLinkIndex !== f.linkIndices[0] ? 1 : 0)));
    this.baseLink = Int32Array.from(model.fingers.map((f) => f.baseLinkIndex));
    this.jfull = new Float64Array(6 * kin.nq);
    this.palm = model.palmLinkIndex;
    this.tipLink = Int32Array.from(model.fingers.map((f) => f.tipLinkIndex));
    this.tipLocal = Float64Array.from(model.fingers.flatMap((f) => f.tipLocal));
    this.tipCols = model.fingers.map((f) => this.cols[f.tipLinkIndex]);
  }

  override fk(linearize = true): void {
    this.update(linearize);
  }

  /** FK at this.q and the fingertips (with Jacobians when withJac). */
  update(withJac: boolean): void {
    this.withJac = withJac;
    this.kin.fk(this.q);
    for (let i = 0; i < this.nf; i++) {
      this.pointPalm(this.tipLink[i], this.tipLocal, 3 * i, this.tipPos, 3 * i);
      if (withJac) this.pointJacPalm(this.tipLink[i], this.tipLocal, 3 * i, this.tipJac, 3 * i * this.nd);
      this.pointPalm(this.midLink[i], ZERO3, 0, this.midPos, 3 * i);
      if (withJac) this.pointJacPalm(this.midLink[i], ZERO3, 0, this.midJac, 3 * i * this.nd);
      if (this.baseMoves[i]) {
        this.pointPalm(this.baseLink[i], ZERO3, 0, this.base, 3 * i);
        if (withJac) this.pointJacPalm(this.baseLink[i], ZERO3, 0, this.baseJac, 3 * i * this.nd);
      }
    }
  }

  /** Palm-coordinate position of a point given in a link's frame (local[lo..lo+3]). */
  pointPalm(link: number, local: ArrayLike<number>, lo: number, out: Float64Array, oo: number): void {
    const P = this.kin.pose;
    const o = 12 * link, po = 12 * this.palm;
    const x = local[lo], y = local[lo + 1], z = local[lo + 2];
    const wx = P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9] - P[po + 9];
    const wy = P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10] - P[po + 10];
    const wz = P[o + 6] * x + P[o + 7] * y + P[o + 8] * z + P[o + 11] - P[po + 11];
    out[oo] = P[po] * wx + P[po + 3] * wy + P[po + 6] * wz;
    out[oo + 1] = P[po + 1] * wx + P[po + 4] * wy + P[po + 7] * wz;
    out[oo + 2] = P[po + 2] * wx + P[po + 5] * wy + P[po + 8] * wz;
  }

  /** 3 x nd Jacobian (palm coordinates, solved dofs only) of a point fixed in a link. */
  pointJacPalm(link: number, local: ArrayLike<number>, lo: number, out: Float64Array, oo: number): void {
    const kin = this.kin, nq = kin.nq, nd = this.nd, J = this.jfull, P = kin.pose, po = 12 * this.palm;
    const pt = scratchPt;
    pt[0] = local[lo]; pt[1] = local[lo + 1]; pt[2] = local[lo + 2];
    kin.jacobian(link, pt, J);
    for (let c = 0; c < nd; c++) {
      const d = this.dofs[c];
      const jx = J[d], jy = J[nq + d], jz = J[2 * nq + d];
      out[oo + c] = P[po] * jx + P[po + 3] * jy + P[po + 6] * jz;
      out[oo + nd + c] = P[po + 1] * jx + P[po + 4] * jy + P[po + 7] * jz;
      out[oo + 2 * nd + c] = P[po + 2] * jx + P[po + 5] * jy + P[po + 8] * jz;
    }
  }
}
const scratchPt = new Float64Array(3);
const ZERO3 = new Float64Array(3);

/**
 * A hand task: a Task of the IK solver over a HandState. `prepare` runs once per frame after the human
 * landmarks are set, before solving; `accumulate` returns the cost at the state and, unless
 * `s.costOnly`, adds its normal equations to s.H / s.g (IkState.addRows: H += w JᵀJ, g −= w Jᵀr).
 */
export interface HandObjective {
  readonly name: string;
  prepare?(s: HandState): void;
  accumulate(s: HandState): number;
}

/**
 * Add a k-row residual block r with Jacobian rows r0..r0+k of J (nd columns per row) and weight w, over
 * the columns `cols` (default all); only the cost when the state asks for it. Returns w |r|².
 */
export function addBlock(s: HandState, J: Float64Array, r0: number, k: number, r: ArrayLike<number>, w: number, cols: Int32Array = s.allCols): number {
  if (s.costOnly) {
    let c = 0;
    for (let i = 0; i < k; i++) c += r[i] * r[i];
    return w * c;
  }
  return s.addRows(J, r0, k, r, w, cols);
}

/** Shared scratch of the hand tasks (one evaluation at a time). */
export const r3 = new Float64Array(3);
let jBuf = new Float64Array(0);
let relBuf = new Float64Array(0);
/** A[o..o+n] − B[o..o+n] into a shared scratch (Jacobian of a point relative to another). */
function relJac(A: Float64Array, B: Float64Array, o: number, n: number): Float64Array {
  if (relBuf.length < n) relBuf = new Float64Array(n);
  for (let k = 0; k < n; k++) relBuf[k] = A[o + k] - B[o + k];
  return relBuf;
}
function jScratch(n: number): Float64Array {
  if (jBuf.length < n) jBuf = new Float64Array(n);
  return jBuf;
}

/**
 * Vector objective: virtual wrist → fingertip vectors follow the human's, scaled by the robot/human hand
 * size ratio (dex-retargeting's "vector" objective with the wrist as origin).
 */
export class WristTipObjective implements HandObjective {
  readonly name = 'wrist-tip';
  /** Weight per finger (model order); a single number applies to all. */
  constructor(public weight: number | number[] = 1) {}
  accumulate(s: HandState): number {
    let cost = 0;
    const h = s.human;
    for (let i = 0; i < s.nf; i++) {
      const w = typeof this.weight === 'number' ? this.weight : this.weight[i];
      if (!w) continue;
      const t = 3 * s.tipLm[i];
      for (let k = 0; k < 3; k++) r3[k] = s.tipPos[3 * i + k] - (s.wrist[k] + s.scale * h[t + k]);
      cost += addBlock(s, s.tipJac, 3 * i, 3, r3, w, s.tipCols[i]);
    }
    return cost;
  }
}

/**
 * Finger shape: base (MCP/CMC) → tip and base → mid-finger joint vectors, each finger scaled by its own
 * robot/human length ratio. The mid point fixes how the curl is shared between the joints (without it a
 * 4-joint finger reaching a tip has a free direction).
 */
export class FingerShapeObjective implements HandObjective {
  readonly name = 'finger-shape';
  constructor(public weight: number | number[] = 1, public midWeight = 0.5) {}
  accumulate(s: HandState): number {
    let cost = 0;
    const h = s.human, nd = s.nd;
    for (let i = 0; i < s.nf; i++) {
      const w = typeof this.weight === 'number' ? this.weight : this.weight[i];
      if (!w) continue;
      const t = 3 * s.tipLm[i], b = 3 * s.baseLm[i], m = 3 * s.midLm[i], sc = s.fingerScale[i];
      const moves = s.baseMoves[i] === 1 && !s.costOnly, o = 3 * i * nd;
      for (let k = 0; k < 3; k++) r3[k] = s.tipPos[3 * i + k] - s.base[3 * i + k] - sc * (h[t + k] - h[b + k]);
      cost += moves ? addBlock(s, relJac(s.tipJac, s.baseJac, o, 3 * nd), 0, 3, r3, w) : addBlock(s, s.tipJac, 3 * i, 3, r3, w, s.tipCols[i]);
      if (!this.midWeight) continue;
      for (let k = 0; k < 3; k++) r3[k] = s.midPos[3 * i + k] - s.base[3 * i + k] - sc * (h[m + k] - h[b + k]);
      cost += moves ? addBlock(s, relJac(s.midJac, s.baseJac, o, 3 * nd), 0, 3, r3, w * this.midWeight) : addBlock(s, s.midJac, 3 * i, 3, r3, w * this.midWeight, s.tipCols[i]);
    }
    return cost;
  }
}

export interface PinchOptions {
  /** Human thumb–finger tip distance (m) under which a pinch starts, and over which it ends (hysteresis). */
  enter: number;
  exit: number;
  /** Robot thumb–finger tip distance (m) a pinch drives to; per finger (model order, index 0 unused). */
  gap: number[];
  /** Weight while pinching, and otherwise. */
  weight: number;
  weightFree: number;
}

/**
 * Thumb → fingertip vectors with DexPilot-style pinch preservation. The robot target distance is a
 * continuous function of the human distance d: `gap` when d ≤ enter, the scaled human distance when
 * d ≥ exit, linear in between; its direction is the human's. The weight switches to `weight` when the
 * human pinches (d < enter) and back to `weightFree` only once d > exit (hysteresis).
 */
export class ThumbPinchObjective implements HandObjective {
  readonly name = 'thumb-pinch';
  /** Per finger (model order): 1 while pinching. */
  readonly pinching: Uint8Array;
  /** Human distance and robot target distance of the current frame, per finger. */
  readonly humanDist: Float64Array;
  readonly targetDist: Float64Array;
  private readonly tv: Float64Array;
  constructor(public opts: PinchOptions, nf: number) {
    this.pinching = new Uint8Array(nf);
    this.humanDist = new Float64Array(nf);
    this.targetDist = new Float64Array(nf);
    this.tv = new Float64Array(3 * nf);
  }
  reset(): void {
    this.pinching.fill(0);
  }
  prepare(s: HandState): void {
    const h = s.human, t0 = 3 * s.tipLm[0], o = this.opts;
    for (let i = 1; i < s.nf; i++) {
      const t = 3 * s.tipLm[i];
      const vx = h[t] - h[t0], vy = h[t + 1] - h[t0 + 1], vz = h[t + 2] - h[t0 + 2];
      const d = Math.hypot(vx, vy, vz);
      this.humanDist[i] = d;
      if (d < o.enter) this.pinching[i] = 1;
      else if (d > o.exit) this.pinching[i] = 0;
      const a = Math.min(1, Math.max(0, (d - o.enter) / (o.exit - o.enter)));
      const D = o.gap[i] + a * (s.scale * d - o.gap[i]);
      this.targetDist[i] = D;
      const inv = d > 1e-9 ? D / d : 0;
      this.tv[3 * i] = vx * inv; this.tv[3 * i + 1] = vy * inv; this.tv[3 * i + 2] = vz * inv;
    }
  }
  accumulate(s: HandState): number {
    let cost = 0;
    const nd = s.nd, J = jScratch(3 * nd), T = s.tipJac;
    for (let i = 1; i < s.nf; i++) {
      const w = this.pinching[i] ? this.opts.weight : this.opts.weightFree;
      if (!w) continue;
      for (let k = 0; k < 3; k++) r3[k] = s.tipPos[3 * i + k] - s.tipPos[k] - this.tv[3 * i + k];
      if (!s.costOnly) for (let k = 0; k < 3 * nd; k++) J[k] = T[3 * i * nd + k] - T[k];
      cost += addBlock(s, J, 0, 3, r3, w);
    }
    return cost;
  }
}

/** Smoothness / low-pass: w ||q - q_prev||² over the solved dofs. */
export class SmoothnessObjective implements HandObjective {
  readonly name = 'smoothness';
  constructor(public weight = 1e-4) {}
  accumulate(s: HandState): number {
    let c = 0;
    const w = this.weight, nd = s.nd, H = s.H, g = s.g;
    for (let a = 0; a < nd; a++) {
      const d = s.dofs[a], e = s.q[d] - s.qPrev[d];
      c += e * e;
      if (!s.costOnly) { H[a * nd + a] += w; g[a] -= w * e; }
    }
    return w * c;
  }
}

/**
 * Follow a planned configuration: w ||q - ref||² over the solved dofs (weight 0 = off). The second pass of
 * a velocity plan (retargetHand) pulls each frame's solve towards the planned trajectory with it, while the
 * per-frame velocity box and the collision limit stay hard.
 */
export class FollowObjective implements HandObjective {
  readonly name = 'follow';
  readonly ref: Float64Array;
  constructor(nq: number, public weight = 0) { this.ref = new Float64Array(nq); }
  accumulate(s: HandState): number {
    const w = this.weight;
    if (!(w > 0)) return 0;
    let c = 0;
    const nd = s.nd, H = s.H, g = s.g;
    for (let a = 0; a < nd; a++) {
      const d = s.dofs[a], e = s.q[d] - this.ref[d];
      c += e * e;
      if (!s.costOnly) { H[a * nd + a] += w; g[a] -= w * e; }
    }
    return w * c;
  }
}

/** Capsule proxies of the finger links, in link coordinates. */
export interface FingerCapsules {
  link: Int32Array;
  finger: Int32Array;
  /** Segment ends in the link frame [S*3] each, radius [S]. */
  a: Float64Array;
  b: Float64Array;
  radius: Float64Array;
  /** Half segment length [S] (broad phase). */
  half: Float64Array;
  /** Capsule pairs checked (indices into the above) [P*2]. */
  pairs: Int32Array;
}

/**
 * No finger–finger penetration: for each pair of capsules on different fingers closer than the sum of
 * their radii plus `margin`, a one-sided residual (r_a + r_b + margin − distance) pulls them apart.
 * `deepest` and `deepestPair` report the deepest penetration (without margin) of the last evaluation.
 */
export class PenetrationObjective implements HandObjective {
  readonly name = 'finger-penetration';
  deepest = 0;
  private readonly pa: Float64Array;
  private readonly pb: Float64Array;
  /** Capsule segment ends (palm coordinates) at the last evaluation. */
  get endsA(): Float64Array { return this.pa; }
  get endsB(): Float64Array { return this.pb; }
  private readonly st = new Float64Array(2);
  private readonly loc = new Float64Array(6);
  private readonly rr = new Float64Array(1);
  private jrow = new Float64Array(0);
  private jA = new Float64Array(0);
  private jB = new Float64Array(0);
  constructor(public caps: FingerCapsules, public weight = 100, public margin = 0.002) {
    const S = caps.link.length;
    this.pa = new Float64Array(3 * S);
    this.pb = new Float64Array(3 * S);
  }
  accumulate(s: HandState): number {
    const c = this.caps, S = c.link.length, nd = s.nd;
    if (this.jrow.length < nd) { this.jrow = new Float64Array(nd); this.jA = new Float64Array(3 * nd); this.jB = new Float64Array(3 * nd); }
    for (let k = 0; k < S; k++) {
      s.pointPalm(c.link[k], c.a, 3 * k, this.pa, 3 * k);
      s.pointPalm(c.link[k], c.b, 3 * k, this.pb, 3 * k);
    }
    let cost = 0;
    let deepest = 0;
    const st = this.st, pa = this.pa, pb = this.pb, loc = this.loc;
    for (let p = 0; p < c.pairs.length; p += 2) {
      const i = c.pairs[p], j = c.pairs[p + 1];
      const reach = c.radius[i] + c.radius[j];
      // Broad phase: bounding spheres of the two capsules.
      {
        const mx = 0.5 * (pa[3 * i] + pb[3 * i] - pa[3 * j] - pb[3 * j]);
        const my = 0.5 * (pa[3 * i + 1] + pb[3 * i + 1] - pa[3 * j + 1] - pb[3 * j + 1]);
        const mz = 0.5 * (pa[3 * i + 2] + pb[3 * i + 2] - pa[3 * j + 2] - pb[3 * j + 2]);
        const lim = c.half[i] + c.half[j] + reach + this.margin;
        if (mx * mx + my * my + mz * mz > lim * lim) continue;
      }
      const d2 = segClosestPalm(pa, pb, i, j, st);
      if (d2 >= (reach + this.margin) * (reach + this.margin)) continue;
      const dist = Math.sqrt(d2);
      if (reach - dist > deepest) deepest = reach - dist;
      const r = reach + this.margin - dist;
      this.rr[0] = r;
      if (s.costOnly || dist < 1e-9) {
        cost += this.weight * r * r;
        continue;
      }
      // Closest points, their normal, and the Jacobians of the two points.
      const si = st[0], tj = st[1];
      let nx = 0, ny = 0, nz = 0;
      for (let k = 0; k < 3; k++) {
        const x = pa[3 * i + k] + si * (pb[3 * i + k] - pa[3 * i + k]);
        const y = pa[3 * j + k] + tj * (pb[3 * j + k] - pa[3 * j + k]);
        loc[k] = c.a[3 * i + k] + si * (c.b[3 * i + k] - c.a[3 * i + k]);
        loc[3 + k] = c.a[3 * j + k] + tj * (c.b[3 * j + k] - c.a[3 * j + k]);
        if (k === 0) nx = x - y; else if (k === 1) ny = x - y; else nz = x - y;
      }
      nx /= dist; ny /= dist; nz /= dist;
      s.pointJacPalm(c.link[i], loc, 0, this.jA, 0);
      s.pointJacPalm(c.link[j], loc, 3, this.jB, 0);
      const jr = this.jrow, A = this.jA, B = this.jB;
      for (let a = 0; a < nd; a++) {
        jr[a] = -(nx * (A[a] - B[a]) + ny * (A[nd + a] - B[nd + a]) + nz * (A[2 * nd + a] - B[2 * nd + a]));
      }
      cost += addBlock(s, jr, 0, 1, this.rr, this.weight);
    }
    this.deepest = deepest;
    return cost;
  }
}

/** Surface gap (m, negative when overlapping) between capsules i and j at the last evaluation. */
export function capsuleGap(pen: PenetrationObjective, i: number, j: number): number {
  return Math.sqrt(segClosestPalm(pen.endsA, pen.endsB, i, j, GAP_ST)) - pen.caps.radius[i] - pen.caps.radius[j];
}
const GAP_ST = new Float64Array(2);

/** Squared distance between capsule segments i and j (palm coords in pa/pb), parameters into st. */
function segClosestPalm(pa: Float64Array, pb: Float64Array, i: number, j: number, st: Float64Array): number {
  // segmentClosest takes one flat array with two offsets per segment; pass pa/pb via a small view.
  SEG[0] = pa[3 * i]; SEG[1] = pa[3 * i + 1]; SEG[2] = pa[3 * i + 2];
  SEG[3] = pb[3 * i]; SEG[4] = pb[3 * i + 1]; SEG[5] = pb[3 * i + 2];
  SEG[6] = pa[3 * j]; SEG[7] = pa[3 * j + 1]; SEG[8] = pa[3 * j + 2];
  SEG[9] = pb[3 * j]; SEG[10] = pb[3 * j + 1]; SEG[11] = pb[3 * j + 2];
  return segmentClosest(SEG, 0, 3, SEG, 6, 9, st);
}
const SEG = new Float64Array(12);
