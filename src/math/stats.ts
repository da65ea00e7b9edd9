/**
 * The project's one set of summary statistics. Every function ignores non-finite values (NaN marks a missing
 * sample throughout the project) and returns NaN when no finite value is left.
 *
 * Quantiles interpolate linearly between order statistics — numpy's default (`method="linear"`, R type 7) —
 * so figures computed here match what a Python user computes from the same files. The median is the 0.5
 * quantile (the mean of the two middle values for an even count).
 */

/** The finite values, sorted ascending (a new array). */
export function sortedFinite(values: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out.push(values[i]);
  return out.sort((a, b) => a - b);
}

/** Quantile q (0..1) of values already sorted ascending and all finite (for callers that sort once). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Quantile q (0..1) of the finite values, linear interpolation (numpy's default). */
export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileSorted(sortedFinite(values), q);
}

/** Median of the finite values. */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** Mean of the finite values. */
export function mean(values: ArrayLike<number>): number {
  let s = 0, n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) { s += values[i]; n++; }
  return n ? s / n : NaN;
}
