/**
 * Sample points of a link's geometry in the link frame: primitive shapes by their corners / rims, meshes
 * by their vertices (src/robot/mesh.ts). Collision geometry first, visual geometry when a link has none.
 * Set-up code only (results cached per link).
 */
import type { Geometry, Link, Origin } from '../../robot/urdf.ts';
import { loadMesh } from '../../robot/mesh.ts';

const cache = new WeakMap<Link, Float64Array | null>();

/** Flat xyz points in the link frame, or null when the link has no usable geometry. */
export function linkShapePoints(link: Link): Float64Array | null {
  if (cache.has(link)) return cache.get(link)!;
  let pts: number[] = [];
  for (const shapes of [link.collisions, link.visuals]) {
    for (const s of shapes) {
      const p = shapePoints(s.geometry);
      if (p) pts = pts.concat(place(p, s.origin));
    }
    if (pts.length) break;
  }
  const out = pts.length ? Float64Array.from(pts) : null;
  cache.set(link, out);
  return out;
}

function shapePoints(g: Geometry): number[] | null {
  switch (g.kind) {
    case 'box': {
      const [a, b, c] = g.size.map((v) => v / 2);
      const out: number[] = [];
      for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) out.push(sx * a, sy * b, sz * c);
      return out;
    }
    case 'sphere': {
      const r = g.radius, out: number[] = [];
      for (const [x, y, z] of [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]) out.push(r * x, r * y, r * z);
      return out;
    }
    case 'cylinder':
    case 'capsule': {
      const out: number[] = [];
      const h = g.length / 2;
      for (const z of [-h, h]) for (let k = 0; k < 12; k++) {
        const t = (k / 12) * 2 * Math.PI;
        out.push(g.radius * Math.cos(t), g.radius * Math.sin(t), z);
      }
      if (g.kind === 'capsule') out.push(0, 0, h + g.radius, 0, 0, -h - g.radius);
      return out;
    }
    case 'mesh': {
      try {
        return Array.from(loadMesh(g.file, g.scale).positions);
      } catch {
        return null; // missing or unreadable mesh: the caller falls back to estimates
      }
    }
  }
}

function place(p: number[], o: Origin): number[] {
  const [r, pi, y] = o.rpy;
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(pi), sp = Math.sin(pi), cy = Math.cos(y), sy = Math.sin(y);
  const R = [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr, sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr, -sp, cp * sr, cp * cr];
  const out = new Array<number>(p.length);
  for (let i = 0; i < p.length; i += 3) {
    out[i] = R[0] * p[i] + R[1] * p[i + 1] + R[2] * p[i + 2] + o.xyz[0];
    out[i + 1] = R[3] * p[i] + R[4] * p[i + 1] + R[5] * p[i + 2] + o.xyz[1];
    out[i + 2] = R[6] * p[i] + R[7] * p[i + 1] + R[8] * p[i + 2] + o.xyz[2];
  }
  return out;
}

/**
 * The fingertip on a link's geometry: the centre of the points within `band` of the farthest extent along
 * `dir` (link frame), pushed out to that extent. Null when the link has no geometry.
 */
export function farPoint(link: Link, dir: ArrayLike<number>, band = 0.003): [number, number, number] | null {
  const pts = linkShapePoints(link);
  if (!pts) return null;
  let P = -Infinity;
  for (let i = 0; i < pts.length; i += 3) P = Math.max(P, pts[i] * dir[0] + pts[i + 1] * dir[1] + pts[i + 2] * dir[2]);
  let n = 0;
  const c = [0, 0, 0];
  for (let i = 0; i < pts.length; i += 3) {
    if (pts[i] * dir[0] + pts[i + 1] * dir[1] + pts[i + 2] * dir[2] < P - band) continue;
    c[0] += pts[i]; c[1] += pts[i + 1]; c[2] += pts[i + 2]; n++;
  }
  for (let k = 0; k < 3; k++) c[k] /= n;
  const along = c[0] * dir[0] + c[1] * dir[1] + c[2] * dir[2];
  return [c[0] + (P - along) * dir[0], c[1] + (P - along) * dir[1], c[2] + (P - along) * dir[2]];
}

/**
 * Radius of a capsule around segment a→b (link frame) fitted to the link's geometry: the median distance
 * from the segment's axis of the points whose projection falls in the middle 70 % of the segment.
 * Null when there is no geometry or the segment is degenerate.
 */
export function fitRadius(link: Link, a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  const pts = linkShapePoints(link);
  if (!pts) return null;
  const d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const L2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
  if (L2 < 1e-8) return null;
  const dist: number[] = [];
  for (let i = 0; i < pts.length; i += 3) {
    const x = pts[i] - a[0], y = pts[i + 1] - a[1], z = pts[i + 2] - a[2];
    const t = (x * d[0] + y * d[1] + z * d[2]) / L2;
    if (t < 0.15 || t > 0.85) continue;
    const px = x - t * d[0], py = y - t * d[1], pz = z - t * d[2];
    dist.push(Math.hypot(px, py, pz));
  }
  if (dist.length < 4) return null;
  dist.sort((p, q) => p - q);
  return dist[dist.length >> 1];
}
