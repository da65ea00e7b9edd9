/** src/math/stats.ts: numpy's default quantile, NaN-skipping, agreeing with numpy itself where it is installed. */
import { describe, expect, it } from 'vitest';
import { mean, median, quantile, quantileSorted } from '../../src/math/stats.ts';
import { pythonWith, runPython } from '../helpers/python.ts';

describe('stats', () => {
  it('interpolates between order statistics and skips missing values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5); // the mean of the two middle values, not the upper one
    expect(quantile([1, 2, 3, 4, 5], 0.1)).toBeCloseTo(1.4, 12);
    expect(quantile([NaN, 10, Infinity, 0], 0.25)).toBe(2.5);
    expect(median([NaN])).toBeNaN();
    expect(mean([1, NaN, 3])).toBe(2);
    expect(quantileSorted(Float64Array.of(0, 10), 0.99)).toBeCloseTo(9.9, 12);
  });

  it('equals numpy.quantile and numpy.median', (ctx) => {
    const py = pythonWith(['numpy']);
    if (!py) return ctx.skip('no python3 with numpy');
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const xs = Array.from({ length: 37 }, () => rnd() * 100 - 20);
    const qs = [0, 0.01, 0.03, 0.1, 0.5, 0.8, 0.9, 0.99, 1];
    const np = JSON.parse(runPython(py, 'import sys, json, numpy as np\nx = np.array(json.loads(sys.argv[1])); q = json.loads(sys.argv[2])\nprint(json.dumps([float(np.quantile(x, v)) for v in q] + [float(np.median(x)), float(np.median(x[:-1]))]))', [JSON.stringify(xs), JSON.stringify(qs)]));
    qs.forEach((q, i) => expect(quantile(xs, q)).toBeCloseTo(np[i], 10));
    expect(median(xs)).toBeCloseTo(np[qs.length], 10);
    expect(median(xs.slice(0, -1))).toBeCloseTo(np[qs.length + 1], 10);
  });
});
