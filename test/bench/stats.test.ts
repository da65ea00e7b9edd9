import { describe, expect, it } from 'vitest';
import { auroc, aurocDetail, partialFromR, partialSpearman, pearson, ranks, rng, spearman, stratifiedAuroc, terciles, wilson } from '../../src/bench/stats.ts';

describe('bench statistics', () => {
  it('mid-ranks share tied positions', () => {
    expect(Array.from(ranks([10, 20, 20, 5, 20]))).toEqual([2, 4, 4, 1, 4]);
  });

  it('Spearman with ties equals the hand-computed 3/sqrt(10)', () => {
    // ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4] → Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(3 / Math.sqrt(10), 12);
    // monotone but non-linear → 1; reversed → -1
    expect(spearman([1, 2, 3, 4, 5], [1, 8, 27, 64, 125])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4, 5], [9, 7, 5, 2, 1])).toBeCloseTo(-1, 12);
  });

  it('Spearman drops missing values pairwise and is NaN for a constant side', () => {
    expect(spearman([1, null, 2, 2, NaN, 3], [1, 100, 3, 2, 7, 4])).toBeCloseTo(3 / Math.sqrt(10), 12);
    expect(Number.isNaN(spearman([1, 1, 1, 1], [1, 2, 3, 4]))).toBe(true);
  });

  it('AUROC is Mann-Whitney U / (n1·n2) with ties counted as ½', () => {
    // positives 3, 2; negatives 1, 2, 0: wins 3+2, one tie → 5.5 / 6
    const score = [3, 1, 2, 2, 0];
    const pos = [true, false, true, false, false];
    const d = aurocDetail(score, pos);
    expect(d.u).toBeCloseTo(5.5, 12);
    expect(d.pairs).toBe(6);
    expect(d.auc).toBeCloseTo(5.5 / 6, 12);
    // flipping the score's sign gives 1 - AUROC
    expect(auroc(score.map((s) => -s), pos)).toBeCloseTo(0.5 / 6, 12);
    // all tied → 0.5; one class empty → NaN
    expect(auroc([1, 1, 1, 1], [true, false, true, false])).toBe(0.5);
    expect(Number.isNaN(auroc([1, 2], [true, true]))).toBe(true);
  });

  it('stratified AUROC compares pairs only within a stratum', () => {
    // stratum 0: pos 2 vs neg 1 → 1/1; stratum 1: pos 0 vs neg 5, 6 → 0/2; pooled 1/3
    const score = [2, 1, 0, 5, 6];
    const pos = [true, false, true, false, false];
    const st = [0, 0, 1, 1, 1];
    const d = stratifiedAuroc(score, pos, st);
    expect(d.pairs).toBe(3);
    expect(d.auc).toBeCloseTo(1 / 3, 12);
    expect(auroc(score, pos)).toBeCloseTo(1 / 6, 12); // unstratified: 2>1 only
  });

  it('partial correlation matches the formula and removes a shared covariate', () => {
    expect(partialFromR(0.5, 0.3, 0.4)).toBeCloseTo(0.38 / Math.sqrt(0.91 * 0.84), 12);
    const R = rng(7);
    const n = 400;
    const z = Array.from({ length: n }, (_, i) => i);
    const x = z.map((v) => v + 40 * R.gauss());
    const y = z.map((v) => v + 40 * R.gauss());
    expect(spearman(x, y)).toBeGreaterThan(0.8);
    expect(Math.abs(partialSpearman(x, y, z))).toBeLessThan(0.1);
    // When y depends on x beyond z, the partial correlation stays clearly positive.
    const y2 = z.map((v, i) => v + 40 * R.gauss() + 3 * (x[i] - v));
    expect(partialSpearman(x, y2, z)).toBeGreaterThan(0.5);
  });

  it('pearson, terciles, Wilson interval', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(terciles([5, 1, 9, 3, 7, 11])).toEqual([1, 0, 2, 0, 1, 2]);
    const [lo, hi] = wilson(5, 10);
    expect(lo).toBeCloseTo(0.2366, 3);
    expect(hi).toBeCloseTo(0.7634, 3);
  });
});
