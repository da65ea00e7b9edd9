import { describe, expect, it } from 'vitest';
import { segmentClosest } from '../../src/math/segment.ts';
import { capsuleDistance, type Capsule } from '../../src/retarget/proxies.ts';

describe('one segment/capsule distance (src/math/segment.ts)', () => {
  const st = new Float64Array(2);
  it('crossing, parallel, end-to-end and degenerate segments', () => {
    // Crossing at right angles, 1 apart in z: closest at the middles.
    expect(segmentClosest([-1, 0, 0, 1, 0, 0], 0, 3, [0, -1, 1, 0, 1, 1], 0, 3, st)).toBeCloseTo(1, 12);
    expect(Array.from(st)).toEqual([0.5, 0.5]);
    // Collinear, apart end to end by 2.
    expect(segmentClosest([0, 0, 0, 1, 0, 0], 0, 3, [3, 0, 0, 4, 0, 0], 0, 3, st)).toBeCloseTo(4, 12);
    expect(Array.from(st)).toEqual([1, 0]);
    // A point against a segment.
    expect(segmentClosest([0.5, 2, 0, 0.5, 2, 0], 0, 3, [0, 0, 0, 1, 0, 0], 0, 3, st)).toBeCloseTo(4, 12);
    expect(st[1]).toBeCloseTo(0.5, 12);
  });
  it('the body proxies\' capsule distance is surface to surface through it (negative when they overlap)', () => {
    const P = new Float64Array(24);
    for (const o of [0, 12]) { P[o] = P[o + 4] = P[o + 8] = 1; }
    P[12 + 11] = 0.1; // link 1 raised 10 cm
    const A: Capsule = { link: 0, a: [-1, 0, 0], b: [1, 0, 0], radius: 0.03 } as Capsule;
    const B: Capsule = { link: 1, a: [0, -1, 0], b: [0, 1, 0], radius: 0.04 } as Capsule;
    const out = new Float64Array(7);
    expect(capsuleDistance(P, A, B, out)).toBeCloseTo(0.03, 12);
    expect(Array.from(out.subarray(0, 6)).map((x) => Math.round(x * 1e9) / 1e9)).toEqual([0, 0, 0, 0, 0, 0.1]);
    P[12 + 11] = 0.05;
    expect(capsuleDistance(P, A, B, out)).toBeCloseTo(-0.02, 12);
  });
});
