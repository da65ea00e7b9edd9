/**
 * A centre-of-mass reference the robot can realise, from the reference motion's own footsteps and timing.
 *
 * Cart-table model: the ZMP of a CoM path c(t) at height z is p = c - (z / g) c''. The reference's CoM
 * (smoothed) gives its ZMP; where that ZMP leaves the support polygon of the reference's stance feet (shrunk
 * by a margin) it is moved to the nearest point inside; the feasible CoM is then the path whose ZMP is exactly
 * that, found offline over the whole clip as the boundary-value problem
 *
 *     x_t - (z_t / g) (x_{t+1} - 2 x_t + x_{t-1}) / dt^2 = p_t,   x_0, x_{T-1} = the reference's,
 *
 * a diagonally dominant tridiagonal system (the non-causal counterpart of preview control: the CoM starts
 * moving before a step as far ahead as the model's time constant sqrt(z/g) requires). Where the reference's
 * ZMP is already inside the support, the solution is the reference's (smoothed) CoM.
 */

import { differentiate } from '../sim/reference.ts';

/** Moving average (centred, window w frames) of a [T, 3] signal, in place into out. */
function smooth3(x: Float64Array, T: number, w: number, out: Float64Array): void {
  const h = Math.max(0, Math.floor(w / 2));
  for (let t = 0; t < T; t++) {
    const a = Math.max(0, t - h), b = Math.min(T - 1, t + h);
    for (let k = 0; k < 3; k++) {
      let s = 0;
      for (let i = a; i <= b; i++) s += x[3 * i + k];
      out[3 * t + k] = s / (b - a + 1);
    }
  }
}

/**
 * Move (x, y) into a convex ccw polygon shrunk by `margin` (a polygon too small for the margin shrinks to its
 * centroid). Returns the distance moved; writes the point into out.
 */
export function clampIntoPolygon(poly: Float64Array, x: number, y: number, margin: number, out: Float64Array): number {
  const n = poly.length / 2;
  let px = x, py = y;
  if (n >= 3) {
    let cx = 0, cy = 0;
    for (let i = 0; i < n; i++) { cx += poly[2 * i]; cy += poly[2 * i + 1]; }
    cx /= n; cy /= n;
    // Alternating projections onto the shrunk half-planes (converges for convex sets; a few sweeps suffice).
    for (let it = 0; it < 20; it++) {
      let moved = false;
      for (let i = 0; i < n; i++) {
        const ax = poly[2 * i], ay = poly[2 * i + 1];
        const bx = poly[(2 * i + 2) % (2 * n)], by = poly[(2 * i + 3) % (2 * n)];
        const ex = bx - ax, ey = by - ay;
        const len = Math.hypot(ex, ey);
        if (len < 1e-9) continue;
        const nx = ey / len, ny = -ex / len; // outward normal
        const inC = (cx - ax) * nx + (cy - ay) * ny; // centroid's signed distance (negative)
        const m = Math.min(margin, -inC * 0.9);
        const s = (px - ax) * nx + (py - ay) * ny + m;
        if (s > 1e-9) { px -= s * nx; py -= s * ny; moved = true; }
      }
      if (!moved) break;
    }
  } else if (n === 2) {
    const ax = poly[0], ay = poly[1], ex = poly[2] - ax, ey = poly[3] - ay;
    const l2 = ex * ex + ey * ey;
    const u = l2 > 0 ? Math.min(1, Math.max(0, ((x - ax) * ex + (y - ay) * ey) / l2)) : 0;
    px = ax + u * ex; py = ay + u * ey;
  } else if (n === 1) {
    px = poly[0]; py = poly[1];
  }
  out[0] = px; out[1] = py;
  return Math.hypot(px - x, py - y);
}

export interface ComPlan {
  /** [T,3] feasible CoM, velocity, acceleration. */
  com: Float64Array;
  vel: Float64Array;
  acc: Float64Array;
  /** [T,2] the reference's ZMP and the clamped ZMP the plan realises. */
  zmpRef: Float64Array;
  zmp: Float64Array;
  /** Largest distance the ZMP had to be moved (m), and frames where it moved more than 1 mm. */
  maxShift: number;
  shiftedFrames: number;
}

/**
 * comRef: [T,3] reference CoM; polygons: support polygon per frame (empty = no support: the ZMP is left free);
 * smoothFrames: moving-average window for the reference CoM.
 */
export function planCom(comRef: Float64Array, T: number, dt: number, gravity: number, polygons: Float64Array[], margin: number, smoothFrames: number): ComPlan {
  const c = new Float64Array(3 * T);
  smooth3(comRef, T, smoothFrames, c);
  const zmpRef = new Float64Array(2 * T), zmp = new Float64Array(2 * T);
  const acc0 = new Float64Array(3 * T);
  secondDiff(c, T, dt, acc0);
  const pt = new Float64Array(2);
  let maxShift = 0, shifted = 0;
  const a = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    a[t] = Math.max(0.05, c[3 * t + 2]) / gravity;
    const zx = c[3 * t] - a[t] * acc0[3 * t], zy = c[3 * t + 1] - a[t] * acc0[3 * t + 1];
    zmpRef[2 * t] = zx; zmpRef[2 * t + 1] = zy;
    const poly = polygons[t];
    if (poly && poly.length) {
      const d = clampIntoPolygon(poly, zx, zy, margin, pt);
      zmp[2 * t] = pt[0]; zmp[2 * t + 1] = pt[1];
      if (d > maxShift) maxShift = d;
      if (d > 1e-3) shifted++;
    } else {
      zmp[2 * t] = zx; zmp[2 * t + 1] = zy;
    }
  }
  const com = new Float64Array(3 * T);
  com.set(c);
  // Ends fixed at the smoothed reference.
  cartTableInverse(zmp, a, T, dt, c[0], c[1], c[3 * (T - 1)], c[3 * (T - 1) + 1], com, 3);
  const vel = new Float64Array(3 * T), acc = new Float64Array(3 * T);
  differentiate(com, T, 3, dt, vel);
  secondDiff(com, T, dt, acc);
  return { com, vel, acc, zmpRef, zmp, maxShift, shiftedFrames: shifted };
}

export function secondDiff(x: Float64Array, T: number, dt: number, out: Float64Array): void {
  for (let t = 0; t < T; t++) {
    const i = Math.min(Math.max(t, 1), T - 2);
    for (let k = 0; k < 3; k++) out[3 * t + k] = T >= 3 ? (x[3 * (i + 1) + k] - 2 * x[3 * i + k] + x[3 * (i - 1) + k]) / (dt * dt) : 0;
  }
}

/**
 * The horizontal CoM shift dx ([T,2]) whose cart-table ZMP is dp ([T,2]): dx_t - (z_t / g) dx''_t = dp_t with
 * dx = 0 at both ends (z_t from com, [T,3]). Used to correct a motion's CoM by the part of its ZMP that leaves the
 * support.
 */
export function zmpShift(dp: Float64Array, com: Float64Array, T: number, dt: number, gravity: number): Float64Array {
  const out = new Float64Array(2 * T);
  const a = new Float64Array(T);
  for (let t = 0; t < T; t++) a[t] = Math.max(0.05, com[3 * t + 2]) / gravity;
  cartTableInverse(dp, a, T, dt, 0, 0, 0, 0, out, 2);
  return out;
}

/**
 * The horizontal path x ([T] per axis) whose cart-table ZMP is p ([T,2]): x_t - a_t (x_{t+1} - 2 x_t + x_{t-1}) / dt^2
 * = p_t for t = 1..T-2, a_t = z_t / g, with x_0 and x_{T-1} given (start, end). A diagonally dominant tridiagonal
 * system, solved per axis by the Thomas algorithm into out[t * stride + axis] (frames 0 and T-1 get the ends). T < 3
 * leaves out as it is.
 */
function cartTableInverse(p: Float64Array, a: Float64Array, T: number, dt: number, x0: number, y0: number, x1: number, y1: number, out: Float64Array, stride: number): void {
  if (T < 3) return;
  const cp = new Float64Array(T), d = new Float64Array(T);
  for (let k = 0; k < 2; k++) {
    const first = k === 0 ? x0 : y0, last = k === 0 ? x1 : y1;
    // Unknowns t = 1..T-2: -r x_{t-1} + (1 + 2 r) x_t - r x_{t+1} = p_t, r = a_t / dt^2.
    for (let t = 1; t <= T - 2; t++) {
      const r = a[t] / (dt * dt);
      const lower = -r, diag = 1 + 2 * r, upper = -r;
      let rhs = p[2 * t + k];
      if (t === 1) rhs -= lower * first;
      if (t === T - 2) rhs -= upper * last;
      const den = t === 1 ? diag : diag - lower * cp[t - 1];
      cp[t] = upper / den;
      d[t] = (rhs - (t === 1 ? 0 : lower * d[t - 1])) / den;
    }
    out[stride * (T - 2) + k] = d[T - 2];
    for (let t = T - 3; t >= 1; t--) out[stride * t + k] = d[t] - cp[t] * out[stride * (t + 1) + k];
    out[k] = first; out[stride * (T - 1) + k] = last;
  }
}
