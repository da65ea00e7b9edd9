/**
 * Self-collision proxies: one or more capsules per link, fitted to the link's collision geometry (primitive
 * shapes directly; meshes by a principal-axis fit of their vertices), and the capsule pairs worth checking
 * (not within two moving joints of each other in the tree, not overlapping at the zero pose).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { segmentClosest } from '../math/segment.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { fileCacheEntry } from '../io/cache.ts';
import type { Kinematics } from '../robot/kinematics.ts';
import { originToTransform } from '../robot/kinematics.ts';
import { loadMesh } from '../robot/mesh.ts';
import { zeroPose } from './discover.ts';

export interface Capsule {
  link: number;
  /** Segment end points in the link frame. */
  a: [number, number, number];
  b: [number, number, number];
  radius: number;
  /** 'box' | 'cylinder' | 'sphere' | 'mesh' | 'chain'. */
  from: string;
}

export interface ProxySet {
  capsules: Capsule[];
  /** Pairs of capsule indices to keep apart, flat [i0, j0, i1, j1, ...]. */
  pairs: Int32Array;
}

type V3 = [number, number, number];

/** Vertices a mesh's capsule is fitted to: at most about this many (every k-th vertex). */
const FIT_VERTICES = 3000;
/** Fraction of the vertices within the fitted radius of the axis. */
const FIT_QUANTILE = 0.85;
/** Power iterations for the principal axis. */
const FIT_ITERATIONS = 60;
/** Bump when the mesh reading or the fit changes, so old cache entries are not read. */
const FIT_VERSION = 1;

type Fit = { a: V3; b: V3; radius: number };

/** Fits in this process, by cache entry (or mesh file and scale when the disk cache is off). */
const fitMemo = new Map<string, Fit | null>();

/** Forget the fits made in this process (the disk cache stays): for tests of the disk cache. */
export function forgetMeshCapsules(): void {
  fitMemo.clear();
}

/**
 * The capsule fitted to a mesh file's vertices (mesh frame, scale applied), or null when the file cannot be read.
 * Fits are cached on disk ($REEL2REAL_CACHE_DIR/capsules, as the validator's hulls: src/io/cache.ts, keyed by the
 * mesh file's path, size and modification time, the scale and the fit's settings): reading and welding the meshes
 * was most of a mesh robot's retarget start-up. A missing or damaged entry is recomputed and rewritten
 * atomically; REEL2REAL_NO_CAPSULE_CACHE=1 turns the disk cache off.
 */
function meshCapsule(file: string, scale: V3): Fit | null {
  const entry = process.env.REEL2REAL_NO_CAPSULE_CACHE === '1' ? null
    : fileCacheEntry('capsules', file, [FIT_VERSION, scale, FIT_VERTICES, FIT_QUANTILE, FIT_ITERATIONS]);
  const key = entry ?? `${file}|${scale.join(',')}`;
  if (fitMemo.has(key)) return fitMemo.get(key)!;
  let fit = entry ? readFit(entry) : null;
  if (!fit) {
    const v = meshVertices(file, scale);
    fit = v ? fitCapsule(v) : null;
    if (fit && entry) writeFit(entry, fit);
  }
  fitMemo.set(key, fit);
  return fit;
}

function meshVertices(file: string, scale: V3): Float32Array | null {
  try {
    const m = loadMesh(file, scale);
    // Subsample to at most ~FIT_VERTICES vertices: enough for a capsule fit.
    const nv = m.positions.length / 3;
    const step = Math.max(1, Math.floor(nv / FIT_VERTICES));
    const out = new Float32Array(3 * Math.ceil(nv / step));
    let k = 0;
    for (let i = 0; i < nv; i += step) { out[k++] = m.positions[3 * i]; out[k++] = m.positions[3 * i + 1]; out[k++] = m.positions[3 * i + 2]; }
    return k ? out.subarray(0, k) : null;
  } catch {
    return null;
  }
}

/** Entry layout: "R2RC", then a, b, radius as 7 float64 (little-endian): the fit to the bit. */
const ENTRY_BYTES = 4 + 7 * 8;

export function readFit(file: string): Fit | null {
  let buf: Buffer;
  try { buf = fs.readFileSync(file); } catch { return null; }
  if (buf.length !== ENTRY_BYTES || buf.toString('latin1', 0, 4) !== 'R2RC') return null;
  const v = Array.from({ length: 7 }, (_, i) => buf.readDoubleLE(4 + 8 * i));
  if (!v.every(Number.isFinite) || !(v[6] > 0)) return null;
  return { a: [v[0], v[1], v[2]], b: [v[3], v[4], v[5]], radius: v[6] };
}

export function writeFit(file: string, f: Fit): void {
  const buf = Buffer.alloc(ENTRY_BYTES);
  buf.write('R2RC', 0, 'latin1');
  [...f.a, ...f.b, f.radius].forEach((x, i) => buf.writeDoubleLE(x, 4 + 8 * i));
  try { writeFileAtomic(file, buf); } catch { /* a cache that cannot be written is only slower */ }
}

/** Capsule fitted to points: principal axis, radius = the FIT_QUANTILE (85th percentile) of the distance to the axis. */
export function fitCapsule(pts: ArrayLike<number>): { a: V3; b: V3; radius: number } {
  const n = pts.length / 3;
  const c: V3 = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) c[k] += pts[3 * i + k] / n;
  const C = new Float64Array(9);
  for (let i = 0; i < n; i++) {
    const d = [pts[3 * i] - c[0], pts[3 * i + 1] - c[1], pts[3 * i + 2] - c[2]];
    for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) C[3 * r + s] += d[r] * d[s];
  }
  let u: V3 = [1, 0.3, 0.1];
  for (let it = 0; it < FIT_ITERATIONS; it++) {
    const v: V3 = [C[0] * u[0] + C[1] * u[1] + C[2] * u[2], C[3] * u[0] + C[4] * u[1] + C[5] * u[2], C[6] * u[0] + C[7] * u[1] + C[8] * u[2]];
    const m = Math.hypot(...v) || 1;
    u = [v[0] / m, v[1] / m, v[2] / m];
  }
  let smin = Infinity, smax = -Infinity;
  const perp: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = [pts[3 * i] - c[0], pts[3 * i + 1] - c[1], pts[3 * i + 2] - c[2]];
    const s = d[0] * u[0] + d[1] * u[1] + d[2] * u[2];
    smin = Math.min(smin, s); smax = Math.max(smax, s);
    perp.push(Math.hypot(d[0] - s * u[0], d[1] - s * u[1], d[2] - s * u[2]));
  }
  perp.sort((x, y) => x - y);
  const radius = perp[Math.min(perp.length - 1, Math.floor(FIT_QUANTILE * perp.length))] || 0.01;
  let s0 = smin + radius, s1 = smax - radius;
  if (s0 > s1) s0 = s1 = (smin + smax) / 2;
  return { a: [c[0] + s0 * u[0], c[1] + s0 * u[1], c[2] + s0 * u[2]], b: [c[0] + s1 * u[0], c[1] + s1 * u[1], c[2] + s1 * u[2]], radius };
}

function xf(m: Float64Array, p: V3): V3 {
  return [m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[9], m[3] * p[0] + m[4] * p[1] + m[5] * p[2] + m[10], m[6] * p[0] + m[7] * p[1] + m[8] * p[2] + m[11]];
}

/** Capsules for every link of the robot (fixed-joint children are attached to their moving parent). */
export function buildProxies(kin: Kinematics, opts: { minRadius?: number } = {}): ProxySet {
  const caps: Capsule[] = [];
  const body = (l: number) => {
    let k = l;
    while (k > 0 && kin.linkDof(k) < 0) k = kin.linkParent[k];
    return k;
  };
  kin.fk(zeroPose(kin));
  const P = kin.pose;
  // Transform from link l to its body frame (at the zero pose the fixed chain is constant).
  const toBody = (l: number, p: V3): V3 => {
    const b = body(l);
    if (b === l) return p;
    const w = new Float64Array(3);
    kin.pointWorld(l, p, w);
    const o = 12 * b;
    const d = [w[0] - P[o + 9], w[1] - P[o + 10], w[2] - P[o + 11]];
    return [P[o] * d[0] + P[o + 3] * d[1] + P[o + 6] * d[2], P[o + 1] * d[0] + P[o + 4] * d[1] + P[o + 7] * d[2], P[o + 2] * d[0] + P[o + 5] * d[1] + P[o + 8] * d[2]];
  };
  const m = new Float64Array(12);
  for (let l = 0; l < kin.nLinks; l++) {
    const link = kin.robot.links.find((k) => k.name === kin.linkNames[l])!;
    for (const c of link.collisions) {
      originToTransform(c.origin, m, 0);
      const g = c.geometry;
      let a: V3, b: V3, r: number;
      if (g.kind === 'sphere') { a = b = [0, 0, 0]; r = g.radius; }
      else if (g.kind === 'cylinder' || g.kind === 'capsule') { a = [0, 0, -g.length / 2]; b = [0, 0, g.length / 2]; r = g.radius; }
      else if (g.kind === 'box') {
        const s = g.size;
        const k = s.indexOf(Math.max(...s));
        const others = s.filter((_, i) => i !== k);
        r = (others[0] + others[1]) / 4;
        const h = Math.max(0, s[k] / 2 - r);
        a = [0, 0, 0]; b = [0, 0, 0];
        a[k] = -h; b[k] = h;
      } else {
        const f = meshCapsule(g.file, g.scale);
        if (!f) continue;
        a = f.a; b = f.b; r = f.radius;
      }
      if (r < (opts.minRadius ?? 0.012)) continue;
      caps.push({ link: body(l), a: toBody(l, xf(m, a)), b: toBody(l, xf(m, b)), radius: r, from: g.kind });
    }
  }
  // Moving links with no usable geometry on their body: a capsule along the link to its child, sized by mass.
  const hasCap = new Set(caps.map((c) => c.link));
  for (let l = 1; l < kin.nLinks; l++) {
    if (kin.linkDof(l) < 0 || hasCap.has(l)) continue;
    const kids = [];
    for (let k = 0; k < kin.nLinks; k++) if (kin.linkParent[k] === l && kin.linkDof(k) >= 0) kids.push(k);
    if (kids.length !== 1) continue;
    const c = kids[0];
    const d = Math.hypot(P[12 * c + 9] - P[12 * l + 9], P[12 * c + 10] - P[12 * l + 10], P[12 * c + 11] - P[12 * l + 11]);
    if (d < 0.08) continue;
    const mass = kin.robot.links.find((k) => k.name === kin.linkNames[l])!.inertial?.mass ?? 1;
    const r = Math.min(0.07, Math.max(0.025, Math.sqrt(mass / (1000 * Math.PI * d))));
    const j = kin.linkJoint[c]!;
    caps.push({ link: l, a: [0, 0, 0], b: [...j.origin.xyz] as V3, radius: r, from: 'chain' });
  }

  // Pairs: bodies more than two moving joints apart, and clear of each other at the zero pose.
  const hops = (a: number, b: number) => {
    const da = new Map<number, number>();
    let n = 0;
    for (let k = a; k >= 0; k = kin.linkParent[k]) { da.set(k, n); if (kin.linkDof(k) >= 0) n++; }
    let m2 = 0;
    for (let k = b; k >= 0; k = kin.linkParent[k]) {
      if (da.has(k)) return da.get(k)! + m2;
      if (kin.linkDof(k) >= 0) m2++;
    }
    return Infinity;
  };
  const pairs: number[] = [];
  const out = new Float64Array(8);
  for (let i = 0; i < caps.length; i++) {
    for (let j = i + 1; j < caps.length; j++) {
      if (caps[i].link === caps[j].link) continue;
      if (hops(caps[i].link, caps[j].link) <= 2) continue;
      if (capsuleDistance(kin.pose, caps[i], caps[j], out) < 0.01) continue;
      pairs.push(i, j);
    }
  }
  return { capsules: caps, pairs: Int32Array.from(pairs) };
}

/**
 * The same proxies without the pairs that lie entirely inside one group of links (e.g. one hand: its
 * finger-finger and finger-palm contacts belong to the hand retargeter).
 */
export function withoutPairsWithin(p: ProxySet, groups: Set<number>[]): ProxySet {
  const keep: number[] = [];
  for (let k = 0; k < p.pairs.length; k += 2) {
    const a = p.capsules[p.pairs[k]].link, b = p.capsules[p.pairs[k + 1]].link;
    if (groups.some((g) => g.has(a) && g.has(b))) continue;
    keep.push(p.pairs[k], p.pairs[k + 1]);
  }
  return { capsules: p.capsules, pairs: Int32Array.from(keep) };
}

/**
 * Signed distance between two capsules (surface to surface; negative = penetration) for link poses P.
 * Writes the closest points (world) to out[0..3] (on a) and out[3..6] (on b).
 */
export function capsuleDistance(P: Float64Array, A: Capsule, B: Capsule, out: Float64Array): number {
  if (out.length >= 7) { capsuleDistanceInto(P, A, B, out); return out[6]; }
  const o7 = new Float64Array(7);
  capsuleDistanceInto(P, A, B, o7);
  out.set(o7.subarray(0, 6));
  return o7[6];
}

/**
 * As capsuleDistance, with the distance written to out[6] (out holds 7 values): returns nothing, so a hot
 * loop allocates nothing (a double returned from a call that is not inlined is boxed).
 */
export function capsuleDistanceInto(P: Float64Array, A: Capsule, B: Capsule, out: Float64Array): void {
  const oa = 12 * A.link, ob = 12 * B.link;
  const p1x = P[oa] * A.a[0] + P[oa + 1] * A.a[1] + P[oa + 2] * A.a[2] + P[oa + 9];
  const p1y = P[oa + 3] * A.a[0] + P[oa + 4] * A.a[1] + P[oa + 5] * A.a[2] + P[oa + 10];
  const p1z = P[oa + 6] * A.a[0] + P[oa + 7] * A.a[1] + P[oa + 8] * A.a[2] + P[oa + 11];
  const q1x = P[oa] * A.b[0] + P[oa + 1] * A.b[1] + P[oa + 2] * A.b[2] + P[oa + 9];
  const q1y = P[oa + 3] * A.b[0] + P[oa + 4] * A.b[1] + P[oa + 5] * A.b[2] + P[oa + 10];
  const q1z = P[oa + 6] * A.b[0] + P[oa + 7] * A.b[1] + P[oa + 8] * A.b[2] + P[oa + 11];
  const p2x = P[ob] * B.a[0] + P[ob + 1] * B.a[1] + P[ob + 2] * B.a[2] + P[ob + 9];
  const p2y = P[ob + 3] * B.a[0] + P[ob + 4] * B.a[1] + P[ob + 5] * B.a[2] + P[ob + 10];
  const p2z = P[ob + 6] * B.a[0] + P[ob + 7] * B.a[1] + P[ob + 8] * B.a[2] + P[ob + 11];
  const q2x = P[ob] * B.b[0] + P[ob + 1] * B.b[1] + P[ob + 2] * B.b[2] + P[ob + 9];
  const q2y = P[ob + 3] * B.b[0] + P[ob + 4] * B.b[1] + P[ob + 5] * B.b[2] + P[ob + 10];
  const q2z = P[ob + 6] * B.b[0] + P[ob + 7] * B.b[1] + P[ob + 8] * B.b[2] + P[ob + 11];
  SEG[0] = p1x; SEG[1] = p1y; SEG[2] = p1z; SEG[3] = q1x; SEG[4] = q1y; SEG[5] = q1z;
  SEG[6] = p2x; SEG[7] = p2y; SEG[8] = p2z; SEG[9] = q2x; SEG[10] = q2y; SEG[11] = q2z;
  segmentClosest(SEG, 0, 3, SEG, 6, 9, ST);
  const s = ST[0], t = ST[1];
  const d1x = q1x - p1x, d1y = q1y - p1y, d1z = q1z - p1z;
  const d2x = q2x - p2x, d2y = q2y - p2y, d2z = q2z - p2z;
  out[0] = p1x + d1x * s; out[1] = p1y + d1y * s; out[2] = p1z + d1z * s;
  out[3] = p2x + d2x * t; out[4] = p2y + d2y * t; out[5] = p2z + d2z * t;
  const ex = out[0] - out[3], ey = out[1] - out[4], ez = out[2] - out[5];
  out[6] = Math.sqrt(ex * ex + ey * ey + ez * ez) - A.radius - B.radius;
}

const SEG = new Float64Array(12), ST = new Float64Array(2);

/** Lowest world z of a capsule for link poses P. */
export function capsuleBottom(P: Float64Array, C: Capsule): number {
  const o = 12 * C.link;
  const za = P[o + 6] * C.a[0] + P[o + 7] * C.a[1] + P[o + 8] * C.a[2] + P[o + 11];
  const zb = P[o + 6] * C.b[0] + P[o + 7] * C.b[1] + P[o + 8] * C.b[2] + P[o + 11];
  return Math.min(za, zb) - C.radius;
}

export function describeProxies(kin: Kinematics, p: ProxySet): { capsules: number; pairs: number; fitted_from: Record<string, number> } {
  const from: Record<string, number> = {};
  for (const c of p.capsules) from[c.from] = (from[c.from] ?? 0) + 1;
  void path; void kin;
  return { capsules: p.capsules.length, pairs: p.pairs.length / 2, fitted_from: from };
}
