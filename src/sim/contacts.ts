/**
 * Feet and stance from the reference motion: which bodies are feet (the lowest bodies in the neutral
 * pose), when each is in stance (its sole within a contact height of the ground), the support polygon (2D
 * convex hull of the sole points touching the ground) and floating/skating/penetration per frame.
 */
import type { RobotGeometry } from './geometry.ts';
import { bodySamplePoints } from './geometry.ts';
import type { Reference } from './reference.ts';
import { convexHull2d, type ContactFrames } from './dynamics.ts';
import { hypot2 } from '../math/hypot.ts';

export interface ContactOptions {
  /** A sole point within this height of the ground (z = 0) touches it (m). */
  contactHeight: number;
  /** Bodies whose lowest point in the neutral pose is within this of the lowest are feet (m). */
  footTolerance: number;
}

export interface FootTrack extends ContactFrames {
  /** [T, nFeet] lowest sole point height (m). */
  height: Float64Array;
  /** [T, nFeet] horizontal speed of the foot body origin (m/s). */
  speed: Float64Array;
  /** [T] lowest point of the whole robot (m). */
  lowest: Float64Array;
  lowestBody: Int32Array;
  /** [T * nFeet] each stance foot's own ground-touching points, as a 2D convex hull (x, y pairs, ccw; empty in swing). */
  footPolygons: Float64Array[];
}

/** Feet: bodies (other than the root) whose lowest sample point, with all joints at 0 and the root upright, is near the lowest of all. */
export function findFeet(geom: RobotGeometry, tolerance: number): number[] {
  const kin = geom.kin;
  kin.fk(new Float64Array(kin.nq));
  const low = geom.bodies.map((b) => {
    const pts = bodySamplePoints(b);
    if (!pts.length) return Infinity;
    const o = 12 * b.top;
    const P = kin.pose;
    let m = Infinity;
    for (let i = 0; i < pts.length; i += 3) m = Math.min(m, P[o + 6] * pts[i] + P[o + 7] * pts[i + 1] + P[o + 8] * pts[i + 2] + P[o + 11]);
    return m;
  });
  const min = Math.min(...low);
  return low.map((z, i) => (i > 0 && z <= min + tolerance ? i : -1)).filter((i) => i >= 0);
}

export function trackContacts(ref: Reference, geom: RobotGeometry, feet: number[], o: ContactOptions): FootTrack {
  const T = ref.T, L = geom.kin.nLinks, nF = feet.length, nb = geom.bodies.length;
  const pts = geom.bodies.map(bodySamplePoints);
  const stance = new Uint8Array(T * nF);
  const height = new Float64Array(T * nF);
  const speed = new Float64Array(T * nF);
  const centroids = new Float64Array(T * nF * 2);
  const polygons: Float64Array[] = [];
  const footPolygons: Float64Array[] = [];
  const EMPTY = new Float64Array(0);
  const lowest = new Float64Array(T);
  const lowestBody = new Int32Array(T);
  const P = ref.pose;
  for (let t = 0; t < T; t++) {
    let low = Infinity, lowB = -1;
    for (let b = 0; b < nb; b++) {
      const p = pts[b];
      const off = (t * L + geom.bodies[b].top) * 12;
      for (let i = 0; i < p.length; i += 3) {
        const z = P[off + 6] * p[i] + P[off + 7] * p[i + 1] + P[off + 8] * p[i + 2] + P[off + 11];
        if (z < low) { low = z; lowB = b; }
      }
    }
    lowest[t] = low;
    lowestBody[t] = lowB;
    const poly: number[] = [];
    for (let f = 0; f < nF; f++) {
      const b = feet[f];
      const p = pts[b];
      const off = (t * L + geom.bodies[b].top) * 12;
      let h = Infinity;
      for (let i = 0; i < p.length; i += 3) h = Math.min(h, P[off + 6] * p[i] + P[off + 7] * p[i + 1] + P[off + 8] * p[i + 2] + P[off + 11]);
      height[t * nF + f] = h;
      footPolygons.push(EMPTY);
      if (h <= o.contactHeight) {
        stance[t * nF + f] = 1;
        let cx = 0, cy = 0, n = 0;
        const own: number[] = [];
        for (let i = 0; i < p.length; i += 3) {
          const z = P[off + 6] * p[i] + P[off + 7] * p[i + 1] + P[off + 8] * p[i + 2] + P[off + 11];
          if (z > h + o.contactHeight) continue;
          const x = P[off] * p[i] + P[off + 1] * p[i + 1] + P[off + 2] * p[i + 2] + P[off + 9];
          const y = P[off + 3] * p[i] + P[off + 4] * p[i + 1] + P[off + 5] * p[i + 2] + P[off + 10];
          poly.push(x, y);
          own.push(x, y);
          cx += x; cy += y; n++;
        }
        footPolygons[t * nF + f] = convexHull2d(own);
        centroids[(t * nF + f) * 2] = cx / n;
        centroids[(t * nF + f) * 2 + 1] = cy / n;
      }
    }
    polygons.push(poly.length ? convexHull2d(poly) : new Float64Array(0));
  }
  for (let t = 0; t < T; t++) {
    const a = Math.max(0, t - 1), c = Math.min(T - 1, t + 1);
    for (let f = 0; f < nF; f++) {
      const top = geom.bodies[feet[f]].top;
      const oa = (a * L + top) * 12, oc = (c * L + top) * 12;
      speed[t * nF + f] = hypot2(P[oc + 9] - P[oa + 9], P[oc + 10] - P[oa + 10]) / ((c - a) * ref.dt);
    }
  }
  return { feet, stance, polygons, centroids, height, speed, lowest, lowestBody, footPolygons };
}
