import { describe, expect, it } from 'vitest';
import { analyze, renderHtml, type BenchRow, type BenchRun } from '../../src/bench/index.ts';

function row(clip: string, degradation: BenchRow['degradation'], level: number, jitter: number, presence: number, success: boolean, verdict: BenchRow['verdict'], duration = 3): BenchRow {
  return {
    clip, degradation, level, frames: 90, duration_s: duration, verdict, reason_codes: verdict === 'pass' ? [] : ['jitter.high'],
    metrics: { 'jitter.noise_mm': jitter, 'presence.rate': presence, 'bones.cv': null },
    success, failed_stage: success ? null : 'validate', figures: { residual: jitter * 2 }, outcome_reasons: [], failed_checks: success ? [] : ['torque'], seconds: 1,
  };
}

describe('benchmark analysis', () => {
  // Three clips; noise raises jitter; failures at the two highest levels; presence points the wrong way.
  const rows: BenchRow[] = [];
  ['a', 'b', 'c'].forEach((c, k) => {
    rows.push(row(c, 'none', 0, 1 + k * 0.1, 1, true, 'pass', 2 + k));
    rows.push(row(c, 'noise', 10, 10 + k, 1, true, 'flag', 2 + k));
    rows.push(row(c, 'noise', 30, 30 + k, 1, false, 'reject', 2 + k));
    rows.push(row(c, 'noise', 60, 60 + k, 0.5, k !== 0 ? false : false, 'reject', 2 + k));
  });
  rows.push(row('c', 'drop', 0.3, 2, 0.95, true, 'reject', 4));
  const run: BenchRun = {
    robot: { name: 'toy', file: null, urdf_sha256: 'x' }, rows, skipped: [{ clip: 'h', reason: 'hand-only' }],
    levels: { noise: [10, 30, 60], spikes: [], drop: [0.3], occlusion: [], fps: [] }, seed: 1, fps: 30, max_seconds: 3, seconds: 1,
  };
  const a = analyze(run);

  it('AUROC, Spearman and the oriented direction per metric', () => {
    const jit = a.predictors.find((p) => p.key === 'jitter.noise_mm')!;
    expect(jit.n).toBe(13);
    expect(jit.n_fail).toBe(6);
    expect(jit.auroc_failure).toBe(1); // every failure has more jitter than every success
    expect(jit.spearman_success).toBeLessThan(-0.7);
    expect(jit.spearman_figures.residual).toBeCloseTo(1, 6);
    expect(jit.auroc_failure_ci95).not.toBeNull();
    expect(a.checks).toEqual([{ kind: 'torque', failed: 6, passed: 7 }]);
    expect(jit.auroc_check_failure.torque).toBe(1);
    expect(a.figures).toEqual(['residual']);
    // presence: lower is worse; the failures have presence ≤ the successes → AUROC > 0.5
    const pres = a.predictors.find((p) => p.key === 'presence.rate')!;
    expect(pres.worse).toBe('low');
    expect(pres.auroc_failure).toBeGreaterThan(0.5);
    // all-null metrics are left out
    expect(a.predictors.find((p) => p.key === 'bones.cv')).toBeUndefined();
  });

  it('the gate: verdict as an ordinal predictor and as a classifier', () => {
    const g = a.predictors.find((p) => p.key === 'gate.verdict')!;
    // failures: 6 rejects; successes: 3 pass, 3 flag, 1 reject → U = 6·(3 + 3 + 0.5) = 39 of 42
    expect(g.auroc_failure).toBeCloseTo(39 / 42, 4);
    const rej = a.gate_confusion.find((c) => c.rule === 'reject')!;
    expect([rej.true_positive, rej.false_positive, rej.true_negative, rej.false_negative]).toEqual([6, 1, 6, 0]);
    expect(rej.sensitivity).toBe(1);
    expect(rej.specificity).toBeCloseTo(6 / 7, 4);
  });

  it('dose-response per degradation, clean level first', () => {
    const n = a.dose_response.find((d) => d.degradation === 'noise')!;
    expect(n.levels.map((l) => l.level)).toEqual([0, 10, 30, 60]);
    expect(n.levels.map((l) => l.success_rate)).toEqual([1, 1, 0, 0]);
    expect(n.levels.map((l) => l.metrics['jitter.noise_mm'])).toEqual([1.1, 11, 31, 61]);
    const d = a.dose_response.find((x) => x.degradation === 'drop')!;
    expect(d.clips).toEqual(['c']);
    expect(d.levels.map((l) => l.n)).toEqual([1, 1]);
    expect(a.dose_response.find((x) => x.degradation === 'fps')).toBeUndefined();
  });

  it('renders self-contained HTML', () => {
    const html = renderHtml([{ run, analysis: a }], { command: 'x <y>' });
    expect(html).toContain('x &lt;y&gt;');
    expect(html).not.toMatch(/<script|src="/);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThan(8);
    expect(html).toContain('hand-only');
  });
});
