/** Small 3-vector helpers on plain tuples (set-up code) and flat arrays (hot paths). */

export type V3 = [number, number, number];

export const sub = (a: ArrayLike<number>, b: ArrayLike<number>): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const add = (a: ArrayLike<number>, b: ArrayLike<number>): V3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const scale = (a: ArrayLike<number>, s: number): V3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: ArrayLike<number>, b: ArrayLike<number>): V3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
export const norm = (a: ArrayLike<number>): number => Math.hypot(a[0], a[1], a[2]);
export function unit(a: ArrayLike<number>): V3 {
  const n = norm(a);
  return n > 1e-12 ? [a[0] / n, a[1] / n, a[2] / n] : [0, 0, 0];
}
/** a with its component along unit vector u removed. */
export const reject = (a: ArrayLike<number>, u: ArrayLike<number>): V3 => sub(a, scale(u, dot(a, u)));

export { median } from '../../math/stats.ts';

export { segmentClosest } from '../../math/segment.ts';
