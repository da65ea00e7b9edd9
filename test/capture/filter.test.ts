import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTER } from '../../src/capture/assemble.ts';
import { oneEuroInPlace } from '../../src/capture/filter.ts';

/** Deterministic pseudo-random noise in [-1, 1]. */
function noise(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

describe('One Euro filter', () => {
  const T = 300;
  const times = Float64Array.from({ length: T }, (_, i) => i / 30);

  it('removes jitter from a still point', () => {
    const rnd = noise(1);
    const pos = new Float32Array(T * 3);
    for (let i = 0; i < pos.length; i++) pos[i] = 0.5 + 0.005 * rnd();
    const raw = pos.slice();
    oneEuroInPlace(pos, T, 1, times, DEFAULT_FILTER.body);
    const spread = (a: Float32Array) => {
      let s = 0;
      for (let t = 100; t < T; t++) s += Math.abs(a[3 * t] - a[3 * (t - 1)]);
      return s / (T - 100);
    };
    expect(spread(pos)).toBeLessThan(spread(raw) / 5);
  });

  it('follows real motion without lag: a hand moving at 1 m/s is within 1 cm of where it is', () => {
    const rnd = noise(2);
    const pos = new Float32Array(T * 3);
    for (let t = 0; t < T; t++) pos[3 * t] = (t < 100 ? 0 : (t - 100) / 30) + 0.002 * rnd();
    oneEuroInPlace(pos, T, 1, times, DEFAULT_FILTER.body);
    for (let t = 110; t < T; t++) expect(Math.abs(pos[3 * t] - (t - 100) / 30)).toBeLessThan(0.01);
  });

  it('uses the real timestamps and never bridges a gap', () => {
    const pos = new Float32Array(T * 3);
    for (let t = 0; t < T; t++) pos[3 * t] = t < 150 ? 0 : 1;
    for (let a = 0; a < 3; a++) pos[3 * 149 + a] = NaN;
    oneEuroInPlace(pos, T, 1, times, DEFAULT_FILTER.body);
    expect(Number.isNaN(pos[3 * 149])).toBe(true);
    expect(pos[3 * 150]).toBe(1); // restarted on the first sample after the gap: no pull toward the old value
    expect(pos[3 * 148]).toBe(0);
  });
});
