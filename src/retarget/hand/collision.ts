/**
 * Non-penetration of a hand's own collision geometry as a hard Limit of the IK solver (mink's
 * CollisionAvoidanceLimit, on the URDF's collision elements).
 *
 * Each collision element of the URDF becomes one proxy, fitted tightly to it: a box as itself, a sphere
 * as itself, a cylinder as its enclosing box, a capsule as itself, a mesh as the smaller of its enclosing
 * oriented box (principal axes of its vertices) and its enclosing capsule. A proxy is a "rounded box": a
 * core box (half extents h, some possibly 0) swept by a radius r, so its signed distance is the box's
 * minus r. The distance between two proxies is taken at sample points of each core's edges (every 4 mm;
 * the closest pair of two boxes is always vertex–face or edge–edge) against the other's signed distance,
 * which also gives a depth when they overlap.
 *
 * Pairs: parts of different rigid bodies (links merged across fixed joints, as `validate` does), not
 * joined by a joint, at least one moved by a solved dof, and apart by the margin in the neutral pose (all
 * joints at 0) and the hand's reference pose (else left out: structural contact, or a proxy too coarse
 * there). For every pair closer than `activation`, one row linearises its distance d at the nearest
 * witness points:
 * d + nᵀ(J_a − J_b) dx ≥ floor, i.e. −nᵀ(J_a − J_b) dx ≤ d − floor. Set-up allocates; rows() allocates nothing.
 */
import type { Kinematics } from '../../robot/kinematics.ts';
import type { Geometry, Origin, UrdfRobot } from '../../robot/urdf.ts';
import { loadMesh } from '../../robot/mesh.ts';
import type { IkState, Limit } from '../solver.ts';

/** Rounded-box proxies in their links' frames. */
export interface CollisionProxies {
  /** Per proxy: link index, rigid body (top link index), core centre and axes in the link frame (R column-major rows: 9), half extents (3), radius. */
  link: Int32Array;
  body: Int32Array;
  center: Float64Array;
  axes: Float64Array;
  half: Float64Array;
  radius: Float64Array;
  /** Bounding-sphere radius about the centre (core and radius). */
  bound: Float64Array;
  /** Core edge samples in the link frame: proxy k's are samples[3*sampleStart[k] .. 3*sampleStart[k+1]). */
  samples: Float64Array;
  sampleStart: Int32Array;
  /** Proxy pairs checked [P*2]. */
  pairs: Int32Array;
  /** Per pair: the least distance kept (m; the margin). */
  floor: Float64Array;
  /** Body pairs left out because their proxies are nearer than the margin in the neutral or reference pose (link names). */
  excluded: [string, string][];
}

const SAMPLE_STEP = 0.004;

/** Rotation (row-major 3x3) and translation of a URDF origin. */
function originRT(o: Origin): { R: number[]; t: number[] } {
  const [r, p, y] = o.rpy;
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(p), sp = Math.sin(p), cy = Math.cos(y), sy = Math.sin(y);
  return {
    R: [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr, sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr, -sp, cp * sr, cp * cr],
    t: [...o.xyz],
  };
}

/** Symmetric 3x3 eigenvectors (Jacobi), columns of the returned row-major matrix. */
function eigenvectors(C: number[]): number[] {
  const a = C.slice(), V = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 30; sweep++) {
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      const apq = a[3 * p + q];
      if (Math.abs(apq) < 1e-18) continue;
      const th = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
      const t = Math.sign(th || 1) / (Math.abs(th) + Math.sqrt(th * th + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[3 * k + p], akq = a[3 * k + q];
        a[3 * k + p] = c * akp - s * akq; a[3 * k + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[3 * p + k], aqk = a[3 * q + k];
        a[3 * p + k] = c * apk - s * aqk; a[3 * q + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = V[3 * k + p], vkq = V[3 * k + q];
        V[3 * k + p] = c * vkp - s * vkq; V[3 * k + q] = s * vkp + c * vkq;
      }
    }
  }
  return V;
}

interface Proxy { R: number[]; c: number[]; h: number[]; r: number }

/** The tighter of the enclosing oriented box and enclosing capsule of points (flat xyz, link frame). */
function fitPoints(pts: ArrayLike<number>): Proxy | null {
  const n = pts.length / 3;
  if (n < 4) return null;
  const m = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) m[k] += pts[3 * i + k] / n;
  const C = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const d = [pts[3 * i] - m[0], pts[3 * i + 1] - m[1], pts[3 * i + 2] - m[2]];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) C[3 * r + c] += d[r] * d[c];
  }
  const V = eigenvectors(C);
  // Candidate frames: principal axes, and the link's own axes (meshes are often drawn along them).
  let best: Proxy | null = null, bestVol = Infinity;
  for (const R of [V, [1, 0, 0, 0, 1, 0, 0, 0, 1]]) {
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    const loc = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) {
      const v = pts[3 * i] * R[a] + pts[3 * i + 1] * R[3 + a] + pts[3 * i + 2] * R[6 + a];
      loc[3 * i + a] = v; lo[a] = Math.min(lo[a], v); hi[a] = Math.max(hi[a], v);
    }
    const cl = [0, 1, 2].map((a) => (lo[a] + hi[a]) / 2), h = [0, 1, 2].map((a) => (hi[a] - lo[a]) / 2);
    const c = [0, 1, 2].map((r) => R[3 * r] * cl[0] + R[3 * r + 1] * cl[1] + R[3 * r + 2] * cl[2]);
    const boxVol = 8 * h[0] * h[1] * h[2];
    if (boxVol < bestVol) { bestVol = boxVol; best = { R, c, h, r: 0 }; }
    // Capsule along the longest axis of this frame.
    const ax = h.indexOf(Math.max(...h)), o1 = (ax + 1) % 3, o2 = (ax + 2) % 3;
    let r = 0;
    for (let i = 0; i < n; i++) r = Math.max(r, Math.hypot(loc[3 * i + o1] - cl[o1], loc[3 * i + o2] - cl[o2]));
    let half = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(loc[3 * i + ax] - cl[ax]), rho = Math.hypot(loc[3 * i + o1] - cl[o1], loc[3 * i + o2] - cl[o2]);
      half = Math.max(half, a - Math.sqrt(Math.max(0, r * r - rho * rho)));
    }
    const capVol = Math.PI * r * r * 2 * half + (4 / 3) * Math.PI * r * r * r;
    if (capVol < bestVol) {
      bestVol = capVol;
      const hh = [0, 0, 0]; hh[ax] = half;
      best = { R, c, h: hh, r };
    }
  }
  return best;
}

/** Proxies fitted to meshes, by file, scale and placement (set-up cost: loading and fitting a mesh). */
const meshProxies = new Map<string, Proxy | null>();

function proxyOf(g: Geometry, origin: Origin): Proxy | null {
  const { R, t } = originRT(origin);
  switch (g.kind) {
    case 'box': return { R, c: t, h: g.size.map((v) => v / 2), r: 0 };
    case 'sphere': return { R, c: t, h: [0, 0, 0], r: g.radius };
    case 'cylinder': return { R, c: t, h: [g.radius, g.radius, g.length / 2], r: 0 };
    case 'capsule': return { R, c: t, h: [0, 0, g.length / 2], r: g.radius };
    case 'mesh': {
      const key = `${g.file}|${g.scale.join(',')}|${origin.xyz.join(',')}|${origin.rpy.join(',')}`;
      if (meshProxies.has(key)) return meshProxies.get(key)!;
      let p: Float32Array | Float64Array;
      try { p = loadMesh(g.file, g.scale).positions; } catch { return null; }
      const w = new Float64Array(p.length);
      for (let i = 0; i < p.length; i += 3) for (let k = 0; k < 3; k++) w[i + k] = R[3 * k] * p[i] + R[3 * k + 1] * p[i + 1] + R[3 * k + 2] * p[i + 2] + t[k];
      const fit = fitPoints(w);
      meshProxies.set(key, fit);
      return fit;
    }
  }
}

/** Edge samples of a (possibly flat) box core, link frame. */
function coreSamples(p: Proxy): number[] {
  const out: number[] = [];
  const seen = new Set<string>();
  const add = (l: number[]) => {
    const w = [0, 1, 2].map((r) => p.c[r] + p.R[3 * r] * l[0] + p.R[3 * r + 1] * l[1] + p.R[3 * r + 2] * l[2]);
    const key = w.map((v) => v.toFixed(7)).join(',');
    if (seen.has(key)) return;
    seen.add(key);
    out.push(...w);
  };
  const h = p.h;
  for (let ax = 0; ax < 3; ax++) {
    const o1 = (ax + 1) % 3, o2 = (ax + 2) % 3;
    const n = Math.max(1, Math.ceil((2 * h[ax]) / SAMPLE_STEP));
    for (const s1 of [-1, 1]) for (const s2 of [-1, 1]) for (let i = 0; i <= n; i++) {
      const l = [0, 0, 0];
      l[ax] = -h[ax] + (2 * h[ax] * i) / n; l[o1] = s1 * h[o1]; l[o2] = s2 * h[o2];
      add(l);
    }
  }
  return out;
}

/**
 * The hand's collision proxies and the pairs to keep apart. `links`: the links to take geometry from
 * (default all); `dofs`: the solved dofs (a pair is kept only if one of its bodies moves with them);
 * `poses`: configurations in which overlapping pairs are left out (structural contact).
 */
export function buildCollisionProxies(kin: Kinematics, robot: UrdfRobot, dofs: ArrayLike<number>, poses: ArrayLike<number>[], links?: Set<number>, margin = 0.0005): CollisionProxies {
  const bodyOf = (l: number) => { let k = l; while (k > 0 && kin.linkDof(k) < 0) k = kin.linkParent[k]; return k; };
  const solved = new Set(Array.from(dofs));
  const moves = (l: number) => { for (let k = l; k >= 0; k = kin.linkParent[k]) if (solved.has(kin.linkDof(k))) return true; return false; };
  const byName = new Map(robot.links.map((l) => [l.name, l]));
  const list: { link: number; body: number; p: Proxy; s: number[] }[] = [];
  for (let l = 0; l < kin.nLinks; l++) {
    if (links && !links.has(l)) continue;
    for (const c of byName.get(kin.linkNames[l])?.collisions ?? []) {
      const p = proxyOf(c.geometry, c.origin);
      if (p) list.push({ link: l, body: bodyOf(l), p, s: coreSamples(p) });
    }
  }
  const n = list.length;
  const starts = [0];
  for (const e of list) starts.push(starts[starts.length - 1] + e.s.length / 3);
  const P: CollisionProxies = {
    link: Int32Array.from(list, (e) => e.link), body: Int32Array.from(list, (e) => e.body),
    center: Float64Array.from(list.flatMap((e) => e.p.c)), axes: Float64Array.from(list.flatMap((e) => e.p.R)),
    half: Float64Array.from(list.flatMap((e) => e.p.h)), radius: Float64Array.from(list, (e) => e.p.r),
    bound: Float64Array.from(list, (e) => Math.hypot(...e.p.h) + e.p.r),
    samples: Float64Array.from(list.flatMap((e) => e.s)), sampleStart: Int32Array.from(starts),
    pairs: new Int32Array(0), floor: new Float64Array(0), excluded: [],
  };
  const cand: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const a = list[i].body, b = list[j].body;
    if (a === b) continue;
    // Joined by a joint: one body's top link hangs from the other body.
    if (bodyOf(kin.linkParent[a] ?? -1) === b || bodyOf(kin.linkParent[b] ?? -1) === a) continue;
    if (!moves(a) && !moves(b)) continue;
    cand.push(i, j);
  }
  // Grouped by link pair (the limit tests each group's bounding spheres first).
  const order = Array.from({ length: cand.length / 2 }, (_, k) => k);
  const key = (k: number) => list[cand[2 * k]].link * kin.nLinks + list[cand[2 * k + 1]].link;
  order.sort((x, y) => key(x) - key(y) || x - y);
  const sorted = order.flatMap((k) => [cand[2 * k], cand[2 * k + 1]]);
  cand.length = 0;
  cand.push(...sorted);
  // Pairs nearer than the margin in a given pose are left out (structural contact, or a proxy too coarse there).
  const ev = new CollisionEvaluator(kin, P);
  const rest = new Float64Array(cand.length / 2).fill(Infinity);
  for (const q of poses) {
    kin.fk(q);
    ev.place(kin.pose);
    for (let k = 0; k < cand.length; k += 2) rest[k / 2] = Math.min(rest[k / 2], ev.distance(cand[k], cand[k + 1]));
  }
  const pairs: number[] = [], floor: number[] = [];
  const excludedBodies = new Set<string>();
  for (let k = 0; k < cand.length; k += 2) {
    if (rest[k / 2] < margin) {
      excludedBodies.add(`${kin.linkNames[list[cand[k]].body]}\u0000${kin.linkNames[list[cand[k + 1]].body]}`);
      continue;
    }
    pairs.push(cand[k], cand[k + 1]);
    floor.push(Math.min(margin, rest[k / 2]));
  }
  P.pairs = Int32Array.from(pairs);
  P.floor = Float64Array.from(floor);
  P.excluded = [...excludedBodies].map((s) => s.split('\u0000') as [string, string]);
  return P;
}

/** World placement of the proxies and signed distances between them (no allocation per call). */
export class CollisionEvaluator {
  /** World centre (3), axes (9, row-major, columns = core axes) per proxy at the last place(). */
  readonly wc: Float64Array;
  readonly wR: Float64Array;
  /** Witness of the last distance(): point on proxy `wa`'s core (world), normal from the other towards it, the other's core point. */
  readonly wp = new Float64Array(3);
  readonly wn = new Float64Array(3);
  readonly wq = new Float64Array(3);
  wa = -1;
  wb = -1;
  private readonly g = new Float64Array(3);
  private readonly M = new Float64Array(12);
  private P: Float64Array = new Float64Array(0);

  constructor(readonly kin: Kinematics, readonly px: CollisionProxies) {
    const n = px.link.length;
    this.wc = new Float64Array(3 * n);
    this.wR = new Float64Array(9 * n);
  }

  place(P: Float64Array): void {
    this.P = P;
    const px = this.px, n = px.link.length;
    for (let k = 0; k < n; k++) {
      const o = 12 * px.link[k], c = 3 * k, r = 9 * k;
      const x = px.center[c], y = px.center[c + 1], z = px.center[c + 2];
      for (let i = 0; i < 3; i++) {
        this.wc[c + i] = P[o + 3 * i] * x + P[o + 3 * i + 1] * y + P[o + 3 * i + 2] * z + P[o + 9 + i];
        for (let j = 0; j < 3; j++) this.wR[r + 3 * i + j] = P[o + 3 * i] * px.axes[r + j] + P[o + 3 * i + 1] * px.axes[r + 3 + j] + P[o + 3 * i + 2] * px.axes[r + 6 + j];
      }
    }
  }

  /**
   * True when two placed proxies are certainly more than `gap` apart: by their bounding spheres, or
   * along one of their six face axes (separating axes of the two boxes, radii included).
   */
  apart(a: number, b: number, gap: number): boolean {
    const c = this.wc, R = this.wR, h = this.px.half, rad = this.px.radius;
    const dx = c[3 * b] - c[3 * a], dy = c[3 * b + 1] - c[3 * a + 1], dz = c[3 * b + 2] - c[3 * a + 2];
    const lim = this.px.bound[a] + this.px.bound[b] + gap;
    if (dx * dx + dy * dy + dz * dz > lim * lim) return true;
    for (let side = 0; side < 2; side++) {
      const p = side ? b : a, o = side ? a : b, rp = 9 * p, ro = 9 * o;
      for (let ax = 0; ax < 3; ax++) {
        // Face axis ax of p (column ax of its axes).
        const ux = R[rp + ax], uy = R[rp + 3 + ax], uz = R[rp + 6 + ax];
        let ext = h[3 * p + ax] + rad[p] + rad[o];
        for (let k = 0; k < 3; k++) ext += Math.abs(ux * R[ro + k] + uy * R[ro + 3 + k] + uz * R[ro + 6 + k]) * h[3 * o + k];
        if (Math.abs(ux * dx + uy * dy + uz * dz) - ext > gap) return true;
      }
    }
    return false;
  }

  /** Signed surface distance of proxies a and b (negative: overlap depth), witness in wp/wn/wq/wa/wb. */
  distance(a: number, b: number): number {
    // Each side records its witness only when it is the nearer one.
    const d1 = this.side(a, b, Infinity);
    const d2 = this.side(b, a, d1);
    return Math.min(d1, d2) - this.px.radius[a] - this.px.radius[b];
  }

  /** Smallest core signed distance of a's core samples to b's core box; records the witness when below `than`. */
  private side(a: number, b: number, than: number): number {
    const px = this.px, P = this.P, o = 12 * px.link[a];
    const cb = 3 * b, rb = 9 * b, R = this.wR, C = this.wc, h = px.half;
    const hx = h[cb], hy = h[cb + 1], hz = h[cb + 2];
    // a's link frame → b's core frame, once per pair: M = R_bᵀ R_link, t = R_bᵀ (o_link − c_b).
    const M = this.M;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) M[3 * i + j] = R[rb + i] * P[o + j] + R[rb + 3 + i] * P[o + 3 + j] + R[rb + 6 + i] * P[o + 6 + j];
      M[9 + i] = R[rb + i] * (P[o + 9] - C[cb]) + R[rb + 3 + i] * (P[o + 10] - C[cb + 1]) + R[rb + 6 + i] * (P[o + 11] - C[cb + 2]);
    }
    const m0 = M[0], m1 = M[1], m2 = M[2], m3 = M[3], m4 = M[4], m5 = M[5], m6 = M[6], m7 = M[7], m8 = M[8], t0 = M[9], t1 = M[10], t2 = M[11];
    let best = Infinity;
    let bx = 0, by = 0, bz = 0;
    const S = px.samples;
    for (let s = px.sampleStart[a], e = px.sampleStart[a + 1]; s < e; s++) {
      const lx = S[3 * s], ly = S[3 * s + 1], lz = S[3 * s + 2];
      const x = m0 * lx + m1 * ly + m2 * lz + t0;
      const y = m3 * lx + m4 * ly + m5 * lz + t1;
      const z = m6 * lx + m7 * ly + m8 * lz + t2;
      const qx = (x < 0 ? -x : x) - hx, qy = (y < 0 ? -y : y) - hy, qz = (z < 0 ? -z : z) - hz;
      let d: number;
      if (qx <= 0 && qy <= 0 && qz <= 0) d = qx > qy ? (qx > qz ? qx : qz) : (qy > qz ? qy : qz);
      else {
        const ox = qx > 0 ? qx : 0, oy = qy > 0 ? qy : 0, oz = qz > 0 ? qz : 0;
        const d2 = ox * ox + oy * oy + oz * oz;
        if (d2 >= best * best && best > 0) continue;
        d = Math.sqrt(d2);
      }
      if (d < best) { best = d; bx = x; by = y; bz = z; }
    }
    if (best >= than) return best;
    // Witness: gradient of the box's signed distance at the best sample (b's core frame), then world.
    const g = this.g;
    const qx = Math.abs(bx) - hx, qy = Math.abs(by) - hy, qz = Math.abs(bz) - hz;
    if (qx > 0 || qy > 0 || qz > 0) {
      const ox = qx > 0 ? qx : 0, oy = qy > 0 ? qy : 0, oz = qz > 0 ? qz : 0;
      const nn = Math.sqrt(ox * ox + oy * oy + oz * oz) || 1;
      g[0] = Math.sign(bx) * ox / nn; g[1] = Math.sign(by) * oy / nn; g[2] = Math.sign(bz) * oz / nn;
    } else {
      g[0] = g[1] = g[2] = 0;
      if (qx >= qy && qx >= qz) g[0] = Math.sign(bx) || 1; else if (qy >= qz) g[1] = Math.sign(by) || 1; else g[2] = Math.sign(bz) || 1;
    }
    for (let i = 0; i < 3; i++) {
      this.wn[i] = R[rb + 3 * i] * g[0] + R[rb + 3 * i + 1] * g[1] + R[rb + 3 * i + 2] * g[2];
      this.wp[i] = C[cb + i] + R[rb + 3 * i] * bx + R[rb + 3 * i + 1] * by + R[rb + 3 * i + 2] * bz;
      this.wq[i] = this.wp[i] - best * this.wn[i];
    }
    this.wa = a; this.wb = b;
    return best;
  }
}

/**
 * The Limit: for each proxy pair closer than `activation`, d + nᵀ(J_a(p) − J_b(q)) dx ≥ margin at the
 * witness points p (on a) and q (on b). `deepest` / `deepestPair` report the last evaluate().
 */
export class HandCollisionLimit implements Limit {
  readonly name = 'hand-collision';
  /** A step may take a pair that starts clear to within a quarter of the margin of the limit (linearisation tolerance). */
  get slack(): number { return 0.75 * this.margin; }
  readonly ev: CollisionEvaluator;
  /** Deepest overlap (m, ≥ 0) at the last evaluate(), and the links of that pair. */
  deepest = 0;
  readonly deepestLinks = new Int32Array([-1, -1]);
  private readonly Ja: Float64Array;
  private readonly Jb: Float64Array;
  private readonly la = new Float64Array(3);
  private readonly lb = new Float64Array(3);
  /** Nearest pairs of this evaluation: distance, and witness (p 3, n 3, q 3, proxy a, proxy b) per row. */
  private readonly nd: Float64Array;
  private readonly wit: Float64Array;
  private readonly wp = new Float64Array(3);
  private readonly wq = new Float64Array(3);

  /** Link-pair groups of consecutive pairs: start (pair index), end, link a, link b. */
  private readonly groups: Int32Array;
  /** Per link: bounding sphere of its proxies (centre in the link frame, radius); world centre at the last placement. */
  private readonly lc: Float64Array;
  private readonly lr: Float64Array;
  private readonly lw: Float64Array;
  /** Pair indices (k, into pairs / 2) that passed the broad phase of the last near() call. */
  private readonly near: Int32Array;

  constructor(readonly kin: Kinematics, readonly px: CollisionProxies, public margin = 0.0005, public activation = 0.02, maxRows = 32) {
    this.ev = new CollisionEvaluator(kin, px);
    const L = kin.nLinks, np = px.link.length;
    this.lc = new Float64Array(3 * L);
    this.lr = new Float64Array(L);
    this.lw = new Float64Array(3 * L);
    const cnt = new Float64Array(L);
    for (let p = 0; p < np; p++) { const l = px.link[p]; cnt[l]++; for (let k = 0; k < 3; k++) this.lc[3 * l + k] += px.center[3 * p + k]; }
    for (let l = 0; l < L; l++) if (cnt[l]) for (let k = 0; k < 3; k++) this.lc[3 * l + k] /= cnt[l];
    for (let p = 0; p < np; p++) {
      const l = px.link[p];
      const d = Math.hypot(px.center[3 * p] - this.lc[3 * l], px.center[3 * p + 1] - this.lc[3 * l + 1], px.center[3 * p + 2] - this.lc[3 * l + 2]);
      this.lr[l] = Math.max(this.lr[l], d + px.bound[p]);
    }
    const g: number[] = [];
    const pairs = px.pairs;
    for (let k = 0; k < pairs.length; k += 2) {
      const la = px.link[pairs[k]], lb = px.link[pairs[k + 1]];
      if (g.length && g[g.length - 2] === la && g[g.length - 1] === lb) { g[g.length - 3] = (k >> 1) + 1; continue; }
      g.push(k >> 1, (k >> 1) + 1, la, lb);
    }
    this.groups = Int32Array.from(g);
    this.near = new Int32Array(pairs.length >> 1);
    this.Ja = new Float64Array(6 * kin.nq);
    this.Jb = new Float64Array(6 * kin.nq);
    this.nd = new Float64Array(maxRows);
    this.wit = new Float64Array(11 * maxRows);
  }

  /** Place the proxies at kin.pose and list the pairs that may be nearer than `gap` (link spheres, then face axes). */
  private nearPairs(gap: number): number {
    const ev = this.ev, P = this.kin.pose, pairs = this.px.pairs, G = this.groups, lc = this.lc, lw = this.lw, lr = this.lr;
    ev.place(P);
    for (let l = 0; l < this.lr.length; l++) {
      if (!lr[l]) continue;
      const o = 12 * l, x = lc[3 * l], y = lc[3 * l + 1], z = lc[3 * l + 2];
      lw[3 * l] = P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9];
      lw[3 * l + 1] = P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10];
      lw[3 * l + 2] = P[o + 6] * x + P[o + 7] * y + P[o + 8] * z + P[o + 11];
    }
    let n = 0;
    for (let gi = 0; gi < G.length; gi += 4) {
      const la = G[gi + 2], lb = G[gi + 3];
      const dx = lw[3 * la] - lw[3 * lb], dy = lw[3 * la + 1] - lw[3 * lb + 1], dz = lw[3 * la + 2] - lw[3 * lb + 2];
      const lim = lr[la] + lr[lb] + gap;
      if (dx * dx + dy * dy + dz * dz > lim * lim) continue;
      for (let k = G[gi]; k < G[gi + 1]; k++) if (!ev.apart(pairs[2 * k], pairs[2 * k + 1], gap)) this.near[n++] = k;
    }
    return n;
  }

  /** How far the pairs are inside the margin at the current kin.pose (m; 0 when every pair keeps it). */
  violation(_s: IkState): number {
    const ev = this.ev, pairs = this.px.pairs, fl = this.px.floor;
    const n = this.nearPairs(this.margin);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const k = this.near[i];
      worst = Math.max(worst, fl[k] - ev.distance(pairs[2 * k], pairs[2 * k + 1]));
    }
    return worst;
  }

  /** Deepest overlap of the proxies at the current kin.pose beyond their overlap at rest (m, 0 when clear). */
  evaluate(): number {
    const ev = this.ev, pairs = this.px.pairs;
    const nn = this.nearPairs(0);
    let worst = 0;
    for (let i = 0; i < nn; i++) {
      const k = 2 * this.near[i], a = pairs[k], b = pairs[k + 1];
      const d = ev.distance(a, b);
      if (-d > worst) { worst = -d; this.deepestLinks[0] = this.px.link[a]; this.deepestLinks[1] = this.px.link[b]; }
    }
    this.deepest = worst;
    return worst;
  }

  rows(s: IkState, A: Float64Array, b: Float64Array, r0: number, max: number): number {
    const ev = this.ev, pairs = this.px.pairs, act = this.activation;
    // Rows (nearest first) of the pairs within `activation` of their floor.
    const nn = this.nearPairs(act);
    const cap = Math.min(max, this.nd.length);
    let n = 0;
    // The nearest `cap` pairs within activation (insertion into a short sorted list).
    for (let ii = 0; ii < nn; ii++) {
      const k = 2 * this.near[ii], a = pairs[k], bb = pairs[k + 1];
      // Distance beyond the pair's floor.
      const d = ev.distance(a, bb) - this.px.floor[k >> 1];
      if (d >= act || (n === cap && d >= this.nd[n - 1])) continue;
      let i = n < cap ? n++ : n - 1;
      const W = this.wit;
      while (i > 0 && this.nd[i - 1] > d) { this.nd[i] = this.nd[i - 1]; W.copyWithin(11 * i, 11 * (i - 1), 11 * i); i--; }
      this.nd[i] = d;
      const o = 11 * i;
      W[o] = ev.wp[0]; W[o + 1] = ev.wp[1]; W[o + 2] = ev.wp[2];
      W[o + 3] = ev.wn[0]; W[o + 4] = ev.wn[1]; W[o + 5] = ev.wn[2];
      W[o + 6] = ev.wq[0]; W[o + 7] = ev.wq[1]; W[o + 8] = ev.wq[2];
      W[o + 9] = ev.wa; W[o + 10] = ev.wb;
    }
    const nv = s.nv, nb = s.nb, vars = s.vars, nq = this.kin.nq, P = this.kin.pose, W = this.wit;
    for (let r = 0; r < n; r++) {
      const d = this.nd[r], o = 11 * r;
      const la = this.px.link[W[o + 9]], lb = this.px.link[W[o + 10]];
      // Witness points in their links' frames: p on the sampled proxy's core, q on the other's.
      this.wp[0] = W[o]; this.wp[1] = W[o + 1]; this.wp[2] = W[o + 2];
      this.wq[0] = W[o + 6]; this.wq[1] = W[o + 7]; this.wq[2] = W[o + 8];
      toLocal(P, la, this.wp, this.la);
      toLocal(P, lb, this.wq, this.lb);
      this.kin.jacobian(la, this.la, this.Ja);
      this.kin.jacobian(lb, this.lb, this.Jb);
      const n0 = W[o + 3], n1 = W[o + 4], n2 = W[o + 5], Ja = this.Ja, Jb = this.Jb;
      const row = (r0 + r) * nv;
      for (let c = 0; c < nb; c++) A[row + c] = 0;
      for (let v = 0; v < vars.length; v++) {
        const dof = vars[v];
        const dd = n0 * (Ja[dof] - Jb[dof]) + n1 * (Ja[nq + dof] - Jb[nq + dof]) + n2 * (Ja[2 * nq + dof] - Jb[2 * nq + dof]);
        A[row + nb + v] = -dd;
      }
      b[r0 + r] = d;
    }
    return n;
  }
}

function toLocal(P: Float64Array, link: number, w: Float64Array, out: Float64Array): void {
  const o = 12 * link;
  const dx = w[0] - P[o + 9], dy = w[1] - P[o + 10], dz = w[2] - P[o + 11];
  out[0] = P[o] * dx + P[o + 3] * dy + P[o + 6] * dz;
  out[1] = P[o + 1] * dx + P[o + 4] * dy + P[o + 7] * dz;
  out[2] = P[o + 2] * dx + P[o + 5] * dy + P[o + 8] * dz;
}
