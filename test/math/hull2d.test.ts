/** src/math/hull2d.ts: the hull holds every point, its vertices are input points, it turns counter-clockwise. */
import { describe, expect, it } from 'vitest';
import { convexHull2d, convexHull2dInto } from '../../src/math/hull2d.ts';

describe('convex hull 2-D', () => {
  it('a square with inner and collinear points gives its four corners, ccw', () => {
    const h = convexHull2d([0, 0, 1, 0, 0.5, 0, 1, 1, 0, 1, 0.5, 0.5, 0.2, 0.7]);
    expect(Array.from(h)).toEqual([0, 0, 1, 0, 1, 1, 0, 1]);
  });

  it('random point sets: every point inside or on the hull, edges turn left, allocation-free form agrees', () => {
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const out = new Float64Array(2 * 41), order = new Int32Array(40);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(rnd() * 40);
      const pts = Array.from({ length: 2 * n }, () => rnd() * 2 - 1);
      const h = convexHull2d(pts);
      const k = convexHull2dInto(pts, n, out, order);
      expect(Array.from(out.subarray(0, 2 * k))).toEqual(Array.from(h));
      const m = h.length / 2;
      for (let i = 0; i < m; i++) {
        // Each vertex is one of the input points.
        expect(Array.from({ length: n }, (_, p) => pts[2 * p] === h[2 * i] && pts[2 * p + 1] === h[2 * i + 1]).some(Boolean)).toBe(true);
        if (m < 3) continue;
        const [ax, ay, bx, by] = [h[2 * i], h[2 * i + 1], h[2 * ((i + 1) % m)], h[2 * ((i + 1) % m) + 1]];
        for (let p = 0; p < n; p++) expect((bx - ax) * (pts[2 * p + 1] - ay) - (by - ay) * (pts[2 * p] - ax)).toBeGreaterThanOrEqual(-1e-12);
      }
    }
  });
});
