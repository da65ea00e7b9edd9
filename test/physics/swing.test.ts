/**
 * Steps the robot can take (src/physics/swing.ts), the per-joint torque saturation rule (src/physics/saturation.ts)
 * and the balanced reference's knot spline (src/physics/rebalance.ts), on small constructed inputs with known answers.
 */
import { describe, expect, it } from 'vitest';
import { lengthenSwings, shapeSwings } from '../../src/physics/swing.ts';
import { jointSaturation } from '../../src/physics/saturation.ts';
import { spline } from '../../src/physics/rebalance.ts';

/** Two feet, T frames, both standing, with the given swing frames per foot. */
function stanceOf(T: number, swings: [number, number, number][]): Uint8Array {
  const s = new Uint8Array(2 * T).fill(1);
  for (const [foot, a, b] of swings) for (let t = a; t <= b; t++) s[2 * t + foot] = 0;
  return s;
}
const swingFrames = (s: Uint8Array, T: number, foot: number): number[] => Array.from({ length: T }, (_, t) => t).filter((t) => !s[2 * t + foot]);

describe('lengthenSwings', () => {
  it('lengthens a 3-frame swing to the minimum, equally into the stances before and after', () => {
    const s = stanceOf(40, [[1, 20, 22]]);
    const added = lengthenSwings(s, 40, 2, 9);
    expect(swingFrames(s, 40, 1)).toEqual([17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(swingFrames(s, 40, 0)).toEqual([]);
    expect(Array.from({ length: 40 }, (_, t) => added[2 * t + 1]).reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('never takes a frame where the other foot is in the air, and takes the time from the other side instead', () => {
    const s = stanceOf(40, [[0, 14, 18], [1, 20, 22]]);
    lengthenSwings(s, 40, 2, 9);
    const f1 = swingFrames(s, 40, 1);
    expect(f1.length).toBe(9);
    for (const t of f1) expect(s[2 * t]).toBe(1); // foot 0 stands wherever foot 1 swings
    expect(f1[0]).toBeGreaterThan(18);
  });

  it('leaves swings long enough, and swings at the start or end of the clip, as they are', () => {
    const s = stanceOf(40, [[1, 0, 2], [1, 10, 25], [0, 37, 39]]);
    const before = Uint8Array.from(s);
    lengthenSwings(s, 40, 2, 9);
    expect(Array.from(s)).toEqual(Array.from(before));
  });

  it('keeps at least one frame of each neighbouring stance', () => {
    const s = stanceOf(12, [[1, 2, 3], [1, 6, 7]]);
    lengthenSwings(s, 12, 2, 20);
    expect(s[2 * 1 + 1] + s[2 * 5 + 1] + s[2 * 10 + 1]).toBeGreaterThan(0);
    expect(s[2 * 0 + 1]).toBe(1);
    expect(s[2 * 11 + 1]).toBe(1);
  });
});

describe('shapeSwings', () => {
  const T = 30, dt = 0.01;
  function flatTrack(): { pos: Float64Array; vel: Float64Array; quat: Float64Array } {
    // A foot that slides 0.2 m along x on the floor (z = 0.05, its link origin) between frames 10 and 13.
    const pos = new Float64Array(3 * T), quat = new Float64Array(4 * T);
    for (let t = 0; t < T; t++) { pos[3 * t] = t <= 10 ? 0 : t >= 13 ? 0.2 : (0.2 * (t - 10)) / 3; pos[3 * t + 2] = 0.05; quat[4 * t] = 1; }
    return { pos, vel: new Float64Array(3 * T), quat };
  }

  it('lifts every swing at least the clearance above the lift-off to touch-down line mid-swing', () => {
    const tr = flatTrack();
    const s = stanceOf(T, [[0, 8, 16]]);
    shapeSwings(tr, s, new Uint8Array(2 * T), T, 2, 0, dt, 0.03, 0);
    // Mid-swing (frame 12 of the swing 7..17): sin(pi * 5/10) = 1.
    expect(tr.pos[3 * 12 + 2]).toBeCloseTo(0.08, 6);
    for (let t = 8; t <= 16; t++) expect(tr.pos[3 * t + 2]).toBeGreaterThanOrEqual(0.05);
    expect(tr.pos[3 * 7 + 2]).toBe(0.05); // stance frames untouched
    expect(tr.vel[3 * 11 + 2]).toBeGreaterThan(0); // velocities follow the new path
  });

  it('keeps a reference path that is already higher', () => {
    const tr = flatTrack();
    for (let t = 8; t <= 16; t++) tr.pos[3 * t + 2] = 0.2;
    const s = stanceOf(T, [[0, 8, 16]]);
    shapeSwings(tr, s, new Uint8Array(2 * T), T, 2, 0, dt, 0.03, 0);
    for (let t = 8; t <= 16; t++) expect(tr.pos[3 * t + 2]).toBe(0.2);
  });

  it('rises before it travels and stops travelling before it comes down (hold 0.2)', () => {
    const tr = flatTrack();
    const s = stanceOf(T, [[0, 6, 14]]); // swing 6..14: lift-off at 5, touch-down at 15 (s = (t - 5) / 10)
    shapeSwings(tr, s, new Uint8Array(2 * T), T, 2, 0, dt, 0.03, 0.2);
    for (const t of [6, 7]) { expect(tr.pos[3 * t]).toBe(0); expect(tr.pos[3 * t + 2]).toBeGreaterThan(0.055); }
    for (const t of [13, 14]) { expect(tr.pos[3 * t]).toBeCloseTo(0.2, 12); expect(tr.pos[3 * t + 2]).toBeGreaterThan(0.055); }
    // In between, the reference's own path (its slide, frames 10-13), retimed and never backwards.
    let prev = 0;
    for (let t = 8; t <= 12; t++) { expect(tr.pos[3 * t]).toBeGreaterThanOrEqual(prev); prev = tr.pos[3 * t]; }
    expect(tr.pos[3 * 10]).toBe(0); // mid-swing is the reference at mid-swing (frame 10, before its slide)
  });

  it('puts a lengthened swing on a minimum-jerk path from lift-off to touch-down', () => {
    const tr = flatTrack();
    const s = stanceOf(T, [[0, 11, 12]]);
    const added = lengthenSwings(s, T, 2, 10);
    shapeSwings(tr, s, added, T, 2, 0, dt, 0.03, 0);
    const sw = swingFrames(s, T, 0);
    const p = sw[0] - 1, n = sw.at(-1)! + 1;
    let prev = -Infinity;
    for (let t = p; t <= n; t++) { expect(tr.pos[3 * t]).toBeGreaterThanOrEqual(prev); prev = tr.pos[3 * t]; }
    // The slide of 0.2 m in 3 frames is now spread over the whole swing: no frame moves more than 2x the mean.
    let worst = 0;
    for (let t = p + 1; t <= n; t++) worst = Math.max(worst, tr.pos[3 * t] - tr.pos[3 * t - 3]);
    expect(worst).toBeLessThan((2 * 0.2) / (n - p));
    expect(tr.pos[3 * n]).toBeCloseTo(0.2, 9);
  });
});

describe('jointSaturation', () => {
  it('counts runs per joint: two joints at their limits in turn are not one long run', () => {
    const T = 100, nq = 3, dt = 0.01;
    const sat = new Float64Array(T * nq);
    for (let t = 0; t < 40; t++) sat[t * nq + (Math.floor(t / 10) % 2)] = dt; // joints 0 and 1, 0.1 s each, in turn
    const a = jointSaturation(sat, T, nq, 0.25);
    expect(a.longest).toBeCloseTo(0.1, 9);
    expect(a.joints).toEqual([]);
    for (let t = 50; t < 80; t++) sat[t * nq + 2] = dt; // joint 2 held 0.3 s
    const b = jointSaturation(sat, T, nq, 0.25);
    expect(b.longest).toBeCloseTo(0.3, 9);
    expect(b.joints.map((j) => [j.joint, j.runs])).toEqual([[2, [[50, 79]]]]);
  });
  it('counts the time at the limit, not whole frames: a 5 fps clip with one saturated control step per frame', () => {
    // 5 fps (0.2 s frames), control every 10 ms: 6 consecutive frames each with one step at the limit are 0.06 s
    // at the limit, not 1.2 s; 6 frames held at the limit throughout are 1.2 s.
    const T = 10, nq = 1;
    const sat = new Float64Array(T * nq);
    for (let t = 2; t < 8; t++) sat[t] = 0.01;
    expect(jointSaturation(sat, T, nq, 0.25).longest).toBeCloseTo(0.06, 9);
    expect(jointSaturation(sat, T, nq, 0.25).joints).toEqual([]);
    for (let t = 2; t < 8; t++) sat[t] = 0.2;
    const held = jointSaturation(sat, T, nq, 0.25);
    expect(held.longest).toBeCloseTo(1.2, 9);
    expect(held.joints.map((j) => [j.joint, j.runs])).toEqual([[0, [[2, 7]]]]);
  });
});

describe('knot spline of the balanced reference', () => {
  // Knots as the balanced reference places them: a regular stride with a stance knot one frame from a regular one.
  const knots = [0, 6, 7, 12, 18, 19, 24];
  function through(f: (t: number) => number): Float64Array {
    const x = new Float64Array(25);
    for (let j = 0; j + 1 < knots.length; j++) {
      const a = knots[j], b = knots[j + 1], a0 = knots[Math.max(0, j - 1)], b1 = knots[Math.min(knots.length - 1, j + 2)];
      for (let t = a; t <= b; t++) x[t] = spline(f(a0), f(a), f(b), f(b1), a0, a, b, b1, (t - a) / (b - a));
    }
    return x;
  }
  const worstSecondDifference = (x: Float64Array) => { let w = 0; for (let t = 1; t < x.length - 1; t++) w = Math.max(w, Math.abs(x[t + 1] - 2 * x[t] + x[t - 1])); return w; };

  it('moves at constant speed through unevenly spaced knots sampled from constant speed', () => {
    // A uniform Catmull-Rom over these knots steps the velocity by 30 % where a 1-frame segment meets a 5-frame one
    // (second difference 0.003 here); the spline with tangents in time units reproduces the line.
    const x = through((t) => 0.01 * t);
    for (let t = 0; t < 25; t++) expect(x[t]).toBeCloseTo(0.01 * t, 12);
    expect(worstSecondDifference(x)).toBeLessThan(1e-12);
  });

  it('keeps the acceleration of a parabola within a few times its own (0.002; a uniform Catmull-Rom: 0.014)', () => {
    expect(worstSecondDifference(through((t) => 0.001 * t * t))).toBeLessThan(0.01);
  });
});
