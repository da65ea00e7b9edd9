import { describe, expect, it } from 'vitest';
import { hypot2, hypot3, hypot4 } from '../../src/math/hypot.ts';

// The simulation's results must not change by a bit when Math.hypot is replaced: every value is compared with
// Object.is (so -0/+0 and NaN count) against Math.hypot itself.
describe('hypot2/3/4 are Math.hypot bit for bit', () => {
  // Deterministic pseudo-random numbers over 14 decades, with zeros, signs and near-equal magnitudes.
  let seed = 12345;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const value = (): number => {
    const k = rnd();
    if (k < 0.03) return 0;
    if (k < 0.05) return -0;
    return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 14 - 7);
  };

  it('on 200,000 random argument lists', () => {
    let mismatches = 0;
    for (let i = 0; i < 200_000; i++) {
      const a = value(), b = value(), c = value(), d = value();
      if (!Object.is(hypot2(a, b), Math.hypot(a, b))) mismatches++;
      if (!Object.is(hypot3(a, b, c), Math.hypot(a, b, c))) mismatches++;
      if (!Object.is(hypot4(a, b, c, d), Math.hypot(a, b, c, d))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('where the compensated sum differs from sqrt(a^2 + b^2 + ...)', () => {
    // A case where plain sqrt of the sum of squares rounds differently: the replica must follow Math.hypot.
    let found = 0;
    for (let i = 0; i < 20_000 && found < 20; i++) {
      const a = value(), b = value(), c = value();
      if (Math.sqrt(a * a + b * b + c * c) !== Math.hypot(a, b, c)) {
        found++;
        expect(Object.is(hypot3(a, b, c), Math.hypot(a, b, c))).toBe(true);
      }
    }
    expect(found).toBeGreaterThan(0);
  });

  it('on infinities, NaN, zeros and extremes', () => {
    const special = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e308, -1e308, 5e-324, 3, 4];
    for (const a of special) for (const b of special) {
      expect(Object.is(hypot2(a, b), Math.hypot(a, b))).toBe(true);
      for (const c of special) {
        expect(Object.is(hypot3(a, b, c), Math.hypot(a, b, c))).toBe(true);
        for (const d of [0, NaN, Infinity, 2e-310, 7]) expect(Object.is(hypot4(a, b, c, d), Math.hypot(a, b, c, d))).toBe(true);
      }
    }
  });
});
