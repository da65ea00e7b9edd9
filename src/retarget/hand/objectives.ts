/**
 * Composable hand retargeting objectives (mink style): each is a small object that, given the solver's
 * state at the current configuration, adds its weighted least-squares cost and, when asked, its
 * Gauss–Newton terms (H += w JᵀJ, g += w Jᵀr) over the hand's solved dofs. All work on flat typed arrays
 * and allocate nothing per call.
 *
 * Geometry is expressed in the palm link's coordinates, so the same objectives serve a bare hand and a
 * hand at the end of a moving arm (G1 + Dex3).
 */
import type { Kinematics } from '../../robot/kinematics.ts';
import type { HandModel } from './discover.ts';
import { segmentClosest } from './vec.ts';
import { UserError } from '../../errors.ts';

/** Solver state shared by the objectives for one evaluation. */
export class HandState {
  readonly kin: Kinematics;
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
  /** Full configuration being evaluated, and the previous frame's solution (full, Kinematics order). */
  q: Float64Array;
  qPrev: Float64Array;
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

  constructor(kin: Kinematics, model: HandModel, dofs: number[]) {
    this.kin = kin;
    this.model = model;
    this.nd = dofs.length;
    this.dofs = Int32Array.from(dofs);
    this.nf = model.fingers.length;
    this.tipPos = new Float64Array(3 * this.nf);
    this.tipJac = new Float64Array(3 * this.nf * this.nd);
    this.midPos = new Float64Array(3 * this.nf);
    this.midJac = new Float64Array(3 * this.nf * this.nd);
    this.midLm = Int32Array.from(model.fingers.map((f) => f.midLandmark));
    this.midLink = Int32Array.from(model.fingers.map((f) => f.midLinkIndex));
    this.q = new Float64Array(kin.nq);
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

export interface HandObjective {
  readonly name: string;
  /** Once per frame after the human landmarks are set, before solving. */
  prepare?(s: HandState): void;
  /** Cost at the state; with H (nd x nd) and g (nd), also add w JᵀJ and w Jᵀr. */
  accumulate(s: HandState, H: Float64Array | null, g: Float64Array | null): number;
}

/** Add a k-row residual block r with Jacobian J (k x nd, starting at J[jo]) and weight w. Returns w |r|². */
export function addBlock(r: Float64Array, J: Float64Array, k: number, nd: number, w: number, H: Float64Array | null, g: Float64Array | null, jo = 0): number {
  let c = 0;
  for (let i = 0; i < k; i++) c += r[i] * r[i];
  if (H && g) {
    // Columns that are non-zero in any row (a fingertip moves with its own finger's dofs only).
    if (cols.length < nd) cols = new Int32Array(nd);
    let m = 0;
    for (let a = 0; a < nd; a++) {
      for (let i = 0; i < k; i++) if (J[jo + i * nd + a] !== 0) { cols[m++] = a; break; }
    }
    for (let i = 0; i < k; i++) {
      const ri = r[i] * w, o = jo + i * nd;
      for (let x = 0; x < m; x++) {
        const a = cols[x], ja = J[o + a];
        g[a] += ja * ri;
        const wja = w * ja, ha = a * nd;
        for (let y = 0; y < m; y++) { const b = cols[y]; H[ha + b] += wja * J[o + b]; }
      }
    }
  }
  return w * c;
}
let cols = new Int32Array(0);

const r3 = new Float64Array(3);
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
  accumulate(s: HandState, H: Float64Array | null, g: Float64Array | null): number {
    let cost = 0;
    const h = s.human, nd = s.nd;
    for (let i = 0; i < s.nf; i++) {
      const w = typeof this.weight === 'number' ? this.weight : this.weight[i];
      if (!w) continue;
      const t = 3 * s.tipLm[i];
      for (let k = 0; k < 3; k++) r3[k] = s.tipPos[3 * i + k] - (s.wrist[k] + s.scale * h[t + k]);
      cost += addBlock(r3, s.tipJac, 3, nd, w, H, g, 3 * i * nd);
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
  accumulate(s: HandState, H: Float64Array | null, g: Float64Array | null): number {
    let cost = 0;
    const h = s.human, nd = s.nd;
    for (let i = 0; i < s.nf; i++) {
      const w = typeof this.weight === 'number' ? this.weight : this.weight[i];
      if (!w) continue;
      const t = 3 * s.tipLm[i], b = 3 * s.baseLm[i], m = 3 * s.midLm[i], sc = s.fingerScale[i];
      const moves = s.baseMoves[i] === 1 && H !== null, o = 3 * i * nd;
      for (let k = 0; k < 3; k++) r3[k] = s.tipPos[3 * i + k] - s.base[3 * i + k] - sc * (h[t + k] - h[b + k]);
      cost += addBlock(r3, moves ? relJac(s.tipJac, s.baseJac, o, 3 * nd) : s.tipJac, 3, nd, w, H, g, moves ? 0 : o);
      if (!this.midWeight) continue;
      for (let k = 0; k < 3; k++) r3[k] = s.midPos[3 * i + k] - s.base[3 * i + k] - sc * (h[m + k] - h[b + k]);
      cost += addBlock(r3, moves ? relJac(s.midJac, s.baseJac, o, 3 * nd) : s.midJac, 3, nd, w * this.midWeight, H, g, moves ? 0 : o);
    }
    return cost;
  }
}

/** Link-to-link vectors of a hand and the human landmark pairs they follow (a dex-retargeting style vector config). */
export interface HandVectors {
  /** Per vector: origin and task link names (the vector runs origin → task). */
  origin: string[];
  task: string[];
  /** Per vector: the human landmarks [j0, j1] (MediaPipe indices) whose j0 → j1 vector it follows. */
  human: [number, number][];
  /** Robot length per human length: the target is scale × (human j1 − j0). */
  scale: number;
  /**
   * Huber threshold (m) on each vector's error: quadratic below it, linear above (one outlying landmark or
   * an unreachable target pulls with bounded force). 0 for plain least squares. Default 0.02.
   */
  huber?: number;
}

/**
 * Vector objective: each robot origin-link → task-link vector (palm coordinates) follows `scale` × the
 * human's j0 → j1 landmark vector (expressed along the robot palm axes), with a Huber loss on each
 * vector's error. Cost per vector: e² when e ≤ δ, 2δe − δ² beyond (same slope at δ); Gauss–Newton terms
 * by iteratively reweighted least squares (weight δ/e beyond δ).
 */
export class VectorObjective implements HandObjective {
  readonly name = 'vectors';
  /** Error of each vector (m) at the last evaluation, and the angle between robot and target vectors (rad). */
  readonly error: Float64Array;
  readonly angle: Float64Array;
  /** Per vector: index of the finger whose tip is the task point (reuses its Jacobian), else −1. */
  readonly taskTip: Int32Array;
  private readonly nv: number;
  private readonly origin: Int32Array;
  private readonly task: Int32Array;
  /** Per vector: 1 when the origin / task link moves with a solved dof. */
  private readonly originMoves: Uint8Array;
  private readonly j0: Int32Array;
  private readonly j1: Int32Array;
  private readonly po = new Float64Array(3);
  private readonly pt = new Float64Array(3);
  private readonly jo: Float64Array;
  private readonly jt: Float64Array;
  private readonly jv: Float64Array;
  readonly huber: number;
  constructor(s: HandState, public readonly vectors: HandVectors, public weight = 1) {
    const kin = s.kin, nd = s.nd;
    const n = vectors.task.length;
    this.nv = n;
    const link = (nm: string, what: string) => {
      if (!kin.hasLink(nm)) throw new UserError(`vectors: ${what} link "${nm}" is not a link of ${kin.robot.name}`, kin.robot.file ?? kin.robot.name);
      return kin.linkIndex(nm);
    };
    this.origin = Int32Array.from(vectors.origin, (nm) => link(nm, 'origin'));
    this.task = Int32Array.from(vectors.task, (nm) => link(nm, 'task'));
    const solved = new Set(Array.from(s.dofs));
    const moves = (l: number) => { for (let k = l; k >= 0; k = kin.linkParent[k]) if (solved.has(kin.linkDof(k))) return true; return false; };
    this.originMoves = Uint8Array.from(this.origin, (l) => (moves(l) ? 1 : 0));
    this.taskTip = Int32Array.from(this.task, (l) => s.model.fingers.findIndex((f) => f.tipLinkIndex === l && f.tipLocal.every((v) => v === 0)));
    this.j0 = Int32Array.from(vectors.human, (p) => p[0]);
    this.j1 = Int32Array.from(vectors.human, (p) => p[1]);
    this.error = new Float64Array(n);
    this.angle = new Float64Array(n);
    this.jo = new Float64Array(3 * nd);
    this.jt = new Float64Array(3 * nd);
    this.jv = new Float64Array(3 * nd);
    this.huber = vectors.huber ?? 0.02;
  }
  accumulate(s: HandState, H: Float64Array | null, g: Float64Array | null): number {
    const w = this.weight;
    if (!w) return 0;
    const h = s.human, nd = s.nd, sc = this.vectors.scale, delta = this.huber;
    let cost = 0;
    for (let v = 0; v < this.nv; v++) {
      const tip = this.taskTip[v];
      s.pointPalm(this.origin[v], ZERO3, 0, this.po, 0);
      const T = tip >= 0 ? s.tipPos : this.pt, to = tip >= 0 ? 3 * tip : 0;
      if (tip < 0) s.pointPalm(this.task[v], ZERO3, 0, this.pt, 0);
      const a = 3 * this.j0[v], b = 3 * this.j1[v];
      let dp = 0, nr = 0, nh = 0;
      for (let k = 0; k < 3; k++) {
        const rv = T[to + k] - this.po[k], hv = sc * (h[b + k] - h[a + k]);
        r3[k] = rv - hv; dp += rv * hv; nr += rv * rv; nh += hv * hv;
      }
      const e = Math.hypot(r3[0], r3[1], r3[2]);
      this.error[v] = e;
      if (!H) this.angle[v] = Math.acos(Math.max(-1, Math.min(1, dp / (Math.sqrt(nr * nh) + 1e-15))));
      const far = delta > 0 && e > delta;
      cost += far ? w * (2 * delta * e - delta * delta) : w * e * e;
      if (!H || !g) continue;
      // Jacobian of the vector: task point's minus origin point's (solved dofs only).
      let J: Float64Array, jOff = 0;
      if (tip >= 0 && !this.originMoves[v]) { J = s.tipJac; jOff = 3 * tip * nd; } else {
        if (tip >= 0) this.jt.set(s.tipJac.subarray(3 * tip * nd, 3 * (tip + 1) * nd));
        else s.pointJacPalm(this.task[v], ZERO3, 0, this.jt, 0);
        if (this.originMoves[v]) {
          s.pointJacPalm(this.origin[v], ZERO3, 0, this.jo, 0);
          for (let k = 0; k < 3 * nd; k++) this.jv[k] = this.jt[k] - this.jo[k];
          J = this.jv;
        } else J = this.jt;
      }
      addBlock(r3, J, 3, nd, far ? (w * delta) / e : w, H, g, jOff);
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
  accumulate(s: HandState, H: Float64Array | null, g: Float64Array | null): number {
    let cost = 0;
    const nd = s.nd, J = jScratch(3 * nd), T = s.tipJac;
    for (let i = 1; i < s.nf; i++) {
      const w = this.pinching[i] ? this.opts.weight : this.opts.weightFree;
      if (!w) continue;
      for (let k = 0; k < 3; k++) r3[k] = s.tipPos[3 * i + k] - s.tipPos[k] - this.tv[3 * i + k];
      if (H) for (let k = 0; k < 3 * nd; k++) J[k] = T[3 * i * nd + k] - T[k];
      cost += addBlock(r3, J, 3, nd, w, H, g);
    }
    return cost;
  }
}

/** Smoothness / low-pass: w ||q - q_prev||² over the solved dofs. */
export class SmoothnessObjective implements HandObjective {
  readonly name = 'smoothness';
  constructor(public weight = 1e-4) {}
  accumulate(s: HandState, H: Float64Array | null, g: Float64Array | null): number {
    let c = 0;
    const w = this.weight, nd = s.nd;
    for (let a = 0; a < nd; a++) {
      const d = s.dofs[a], e = s.q[d] - s.qPrev[d];
      c += e * e;
      if (H && g) { H[a * nd + a] += w; g[a] += w * e; }
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
  accumulate(s: HandState, H: Float64Array | null, g: Float64Array | null): number {
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
      if (!H || !g || dist < 1e-9) {
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
      cost += addBlock(this.rr, jr, 1, nd, this.weight, H, g);
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
