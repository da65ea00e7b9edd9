/**
 * Statistics for the quality-vs-success benchmark: ranks with ties, Pearson and Spearman correlation,
 * partial (rank) correlation with one covariate, AUROC as the Mann-Whitney U statistic, and AUROC within
 * strata (pairs compared only inside a stratum). NaN / null values are dropped pairwise.
 */

/** Mid-ranks (1-based; tied values share the mean of their ranks). */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]] === x[idx[i]]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]] = mid;
    i = j + 1;
  }
  return r;
}

/** Pearson correlation; NaN when fewer than 3 values or either side is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n !== y.length) throw new Error('pearson: lengths differ');
  if (n < 3) return NaN;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] - mx, b = y[i] - my;
    sxy += a * b; sxx += a * a; syy += b * b;
  }
  if (!(sxx > 0) || !(syy > 0)) return NaN;
  return sxy / Math.sqrt(sxx * syy);
}

/** Keep the indices where every array holds a finite number. */
export function complete(...cols: ArrayLike<number | null>[]): number[][] {
  const n = cols[0].length;
  const out: number[][] = cols.map(() => []);
  for (let i = 0; i < n; i++) {
    if (!cols.every((c) => typeof c[i] === 'number' && Number.isFinite(c[i] as number))) continue;
    cols.forEach((c, k) => out[k].push(c[i] as number));
  }
  return out;
}

/** Spearman rank correlation (Pearson on mid-ranks, so ties are handled), missing values dropped pairwise. */
export function spearman(x: ArrayLike<number | null>, y: ArrayLike<number | null>): number {
  const [a, b] = complete(x, y);
  return pearson(ranks(a), ranks(b));
}

/** Partial correlation of x and y given z, from the three pairwise correlations. */
export function partialFromR(rxy: number, rxz: number, ryz: number): number {
  const d = (1 - rxz * rxz) * (1 - ryz * ryz);
  if (!(d > 0)) return NaN;
  return (rxy - rxz * ryz) / Math.sqrt(d);
}

/** Partial Spearman: rank correlation of x and y with the covariate z (ranked) partialled out. */
export function partialSpearman(x: ArrayLike<number | null>, y: ArrayLike<number | null>, z: ArrayLike<number | null>): number {
  const [a, b, c] = complete(x, y, z);
  const ra = ranks(a), rb = ranks(b), rc = ranks(c);
  return partialFromR(pearson(ra, rb), pearson(ra, rc), pearson(rb, rc));
}

/**
 * AUROC of `score` for telling positives from negatives: the Mann-Whitney U of the positives divided by
 * n_pos·n_neg, i.e. P(score of a positive > score of a negative) + ½ P(tie). NaN when a class is empty.
 */
export function auroc(score: ArrayLike<number | null>, positive: ArrayLike<boolean>): number {
  return aurocDetail(score, positive).auc;
}

export interface AucDetail { auc: number; u: number; pairs: number; nPos: number; nNeg: number }

export function aurocDetail(score: ArrayLike<number | null>, positive: ArrayLike<boolean>): AucDetail {
  const s: number[] = [];
  const p: boolean[] = [];
  for (let i = 0; i < score.length; i++) {
    const v = score[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    s.push(v);
    p.push(!!positive[i]);
  }
  const r = ranks(s);
  let nPos = 0, rankSum = 0;
  for (let i = 0; i < s.length; i++) if (p[i]) { nPos++; rankSum += r[i]; }
  const nNeg = s.length - nPos;
  const u = rankSum - (nPos * (nPos + 1)) / 2;
  const pairs = nPos * nNeg;
  return { auc: pairs > 0 ? u / pairs : NaN, u, pairs, nPos, nNeg };
}

/**
 * AUROC with positives compared to negatives only inside the same stratum: the U statistics and pair
 * counts of the strata summed (the pooled within-stratum Mann-Whitney estimate). Strata with one class
 * only contribute nothing.
 */
export function stratifiedAuroc(score: ArrayLike<number | null>, positive: ArrayLike<boolean>, stratum: ArrayLike<number>): AucDetail {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < score.length; i++) {
    const g = groups.get(stratum[i]) ?? [];
    g.push(i);
    groups.set(stratum[i], g);
  }
  let u = 0, pairs = 0, nPos = 0, nNeg = 0;
  for (const idx of groups.values()) {
    const d = aurocDetail(idx.map((i) => score[i]), idx.map((i) => positive[i]));
    if (d.pairs > 0) { u += d.u; pairs += d.pairs; nPos += d.nPos; nNeg += d.nNeg; }
  }
  return { auc: pairs > 0 ? u / pairs : NaN, u, pairs, nPos, nNeg };
}

/** Tercile (0, 1, 2) of each value by rank; equal values land in the same tercile. */
export function terciles(x: ArrayLike<number>): number[] {
  const r = ranks(x);
  const n = x.length;
  return Array.from(r, (v) => Math.min(2, Math.floor(((v - 0.5) / n) * 3)));
}

export { mean, median, quantile } from '../math/stats.ts';

/** Wilson score interval of a proportion k/n (95%). */
export function wilson(k: number, n: number, z = 1.959964): [number, number] {
  if (n === 0) return [NaN, NaN];
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

/** Deterministic PRNG (mulberry32) and a Gaussian sampler on it. */
export function rng(seed: number): { next: () => number; gauss: () => number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | null = null;
  const gauss = () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    let u = 0;
    while (u <= 1e-300) u = next();
    const v = next();
    const m = Math.sqrt(-2 * Math.log(u));
    spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  };
  return { next, gauss };
}

/** 32-bit FNV-1a hash of a string (seeds per clip and degradation). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}
