/**
 * Point-set helpers for convex collision shapes: grid decimation (a hull of a 200k-triangle mesh needs a
 * few hundred points, not 100k) and a split along the principal axis (the step of a simple convex
 * decomposition). The hull itself is computed by Rapier (`ColliderDesc.convexHull`).
 */
import { symEig3 } from './math.ts';

/**
 * Keep one point per occupied grid cell (the point farthest from the cloud's centre in that cell, so the
 * hull shrinks as little as possible). `cellFraction` is the cell size relative to the bounding-box
 * diagonal. The extreme points along each axis are always kept.
 */
export function decimatePoints(points: Float32Array, cellFraction: number): Float32Array {
  const n = points.length / 3;
  if (n <= 64) return points.slice();
  let minx = Infinity, miny = Infinity, minz = Infinity, maxx = -Infinity, maxy = -Infinity, maxz = -Infinity;
  let cx = 0, cy = 0, cz = 0;
  for (let i = 0; i < n; i++) {
    const x = points[3 * i], y = points[3 * i + 1], z = points[3 * i + 2];
    if (x < minx) minx = x; if (x > maxx) maxx = x;
    if (y < miny) miny = y; if (y > maxy) maxy = y;
    if (z < minz) minz = z; if (z > maxz) maxz = z;
    cx += x; cy += y; cz += z;
  }
  cx /= n; cy /= n; cz /= n;
  const diag = Math.hypot(maxx - minx, maxy - miny, maxz - minz);
  const cell = Math.max(diag * cellFraction, 1e-9);
  const best = new Map<number, number>();
  const bestD = new Map<number, number>();
  const nx = Math.floor((maxx - minx) / cell) + 1, ny = Math.floor((maxy - miny) / cell) + 1;
  for (let i = 0; i < n; i++) {
    const x = points[3 * i], y = points[3 * i + 1], z = points[3 * i + 2];
    const key = Math.floor((x - minx) / cell) + nx * (Math.floor((y - miny) / cell) + ny * Math.floor((z - minz) / cell));
    const d = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2;
    const prev = bestD.get(key);
    if (prev === undefined || d > prev) { bestD.set(key, d); best.set(key, i); }
  }
  const keep = [...best.values()].sort((a, b) => a - b);
  const out = new Float32Array(3 * keep.length);
  keep.forEach((i, k) => { out[3 * k] = points[3 * i]; out[3 * k + 1] = points[3 * i + 1]; out[3 * k + 2] = points[3 * i + 2]; });
  return out;
}

/**
 * Split a point set in two at the median along its principal (largest-variance) axis. Points within a
 * small band around the cut go to both halves so the two hulls meet without a gap. Null when the set is
 * too small to split.
 */
export function splitByPrincipalAxis(points: Float32Array): [Float32Array, Float32Array] | null {
  const n = points.length / 3;
  if (n < 16) return null;
  let cx = 0, cy = 0, cz = 0;
  for (let i = 0; i < n; i++) { cx += points[3 * i]; cy += points[3 * i + 1]; cz += points[3 * i + 2]; }
  cx /= n; cy /= n; cz /= n;
  const C = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const d = [points[3 * i] - cx, points[3 * i + 1] - cy, points[3 * i + 2] - cz];
    for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) C[3 * r + s] += d[r] * d[s];
  }
  const { values, vectors } = symEig3(C);
  let k = 0;
  if (values[1] > values[k]) k = 1;
  if (values[2] > values[k]) k = 2;
  const ax = vectors[k], ay = vectors[3 + k], az = vectors[6 + k];
  const proj = new Float64Array(n);
  for (let i = 0; i < n; i++) proj[i] = (points[3 * i] - cx) * ax + (points[3 * i + 1] - cy) * ay + (points[3 * i + 2] - cz) * az;
  const sorted = Float64Array.from(proj).sort();
  const median = sorted[n >> 1];
  const band = (sorted[n - 1] - sorted[0]) * 0.01;
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < n; i++) {
    if (proj[i] <= median + band) a.push(i);
    if (proj[i] >= median - band) b.push(i);
  }
  if (a.length < 4 || b.length < 4) return null;
  const pick = (idx: number[]): Float32Array => {
    const out = new Float32Array(3 * idx.length);
    idx.forEach((i, j) => { out[3 * j] = points[3 * i]; out[3 * j + 1] = points[3 * i + 1]; out[3 * j + 2] = points[3 * i + 2]; });
    return out;
  };
  return [pick(a), pick(b)];
}
