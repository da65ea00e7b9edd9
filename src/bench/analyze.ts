/**
 * Statistics of a benchmark run: for each metric (and the gate's verdict) against validation success —
 * Spearman ρ with success, with each continuous outcome figure, AUROC for predicting failure (score
 * oriented by the metric's a-priori direction: larger = worse), and two length controls: the partial
 * Spearman ρ with clip duration (seconds simulated) as covariate, and the AUROC with pairs compared only
 * within the same duration tercile. Dose-response: per degradation type, strength vs success rate and the
 * median of each metric.
 */
import { auroc, partialSpearman, spearman, stratifiedAuroc, terciles, median, quantile, wilson, rng } from './stats.ts';
import { CLEAN_LEVEL, DEGRADATIONS, LEVEL_UNITS, type DegradationType } from './degrade.ts';
import { METRICS, type BenchRow, type BenchRun } from './run.ts';

export interface PredictorStat {
  key: string;
  label: string;
  group: 'quality' | 'retarget' | 'gate';
  worse: 'high' | 'low';
  /** Rows with a value. */
  n: number;
  n_fail: number;
  /** Spearman ρ between the metric (as is) and success (1/0). */
  spearman_success: number | null;
  /** AUROC of the oriented metric for predicting failure (0.5 = no information, 1 = perfect). */
  auroc_failure: number | null;
  /** 95% interval of that AUROC from a cluster bootstrap over clips (a clip and all its degradations resampled together). */
  auroc_failure_ci95: [number, number] | null;
  /** Partial Spearman ρ(metric, success | duration). */
  partial_spearman_success_given_duration: number | null;
  /** AUROC for failure comparing only clips in the same duration tercile. */
  auroc_failure_within_duration_tercile: number | null;
  /** Spearman ρ between the metric and each continuous outcome figure. */
  spearman_figures: Record<string, number | null>;
  /** Partial Spearman ρ(metric, figure | duration). */
  partial_spearman_figures_given_duration: Record<string, number | null>;
  /** AUROC of the oriented metric for predicting that each validation check fails (checks with ≥ 2 runs of each class). */
  auroc_check_failure: Record<string, number | null>;
}

export interface CheckCount { kind: string; failed: number; passed: number }

export interface DoseLevel {
  level: number;
  n: number;
  successes: number;
  success_rate: number | null;
  success_ci95: [number, number] | null;
  verdicts: Record<string, number>;
  metrics: Record<string, number | null>;
  figures: Record<string, number | null>;
}

export interface DoseCurve {
  degradation: DegradationType;
  unit: string;
  /** The clips degraded (those with a clean row and degraded rows). */
  clips: string[];
  levels: DoseLevel[];
}

export interface GateConfusion {
  /** Gate says "not pass" (flag or reject) / "reject" as a failure prediction. */
  rule: 'flag_or_reject' | 'reject';
  true_positive: number; false_positive: number; true_negative: number; false_negative: number;
  sensitivity: number | null; specificity: number | null;
}

export interface BenchAnalysis {
  n: number;
  successes: number;
  failures: number;
  failed_in_retarget: number;
  figures: string[];
  /** Validation checks and how many runs failed them. */
  checks: CheckCount[];
  predictors: PredictorStat[];
  gate_confusion: GateConfusion[];
  dose_response: DoseCurve[];
  length_control: string;
}

const VERDICT_SCORE: Record<string, number> = { pass: 0, flag: 1, reject: 2 };

const fin = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);

/** Outcome figures that say something about the run: finite in at least half of the rows, not constant, not the clip's length. */
export function figureKeys(rows: BenchRow[]): string[] {
  const vals = new Map<string, number[]>();
  for (const r of rows) for (const [k, v] of Object.entries(r.figures)) if (typeof v === 'number' && Number.isFinite(v)) { const a = vals.get(k) ?? []; a.push(v); vals.set(k, a); }
  return [...vals.entries()]
    .filter(([k, a]) => a.length * 2 >= rows.length && !['frames', 'duration_s'].includes(k) && a.some((v) => v !== a[0]))
    .map(([k]) => k).sort();
}

/** Figures shown first in the report when present (the rest stay in the JSON). */
export const KEY_FIGURES = [
  'physics.up_fraction', 'physics.fell_at_s', 'physics.torque_saturation_s', 'physics.keypoint_mean_m',
  'assisted.residual_force_mean_weight', 'assisted.residual_force_max_weight', 'torque.max_ratio_to_effort', 'assisted.body_error_mean_m',
  'unassisted.body_error_mean_m', 'unassisted.fell_at_frame', 'zmp.max_outside_support_m', 'joint_velocity.max_ratio_to_limit', 'friction.max_ratio',
];

export function keyFigures(figs: string[], n = 6): string[] {
  const first = KEY_FIGURES.filter((f) => figs.includes(f));
  return [...first, ...figs.filter((f) => !first.includes(f))].slice(0, n);
}

function predictor(rows: BenchRow[], key: string, label: string, group: PredictorStat['group'], worse: 'high' | 'low', values: (number | null)[], figs: string[], checks: CheckCount[]): PredictorStat {
  const success = rows.map((r) => (r.success ? 1 : 0));
  const fail = rows.map((r) => !r.success);
  const dur = rows.map((r) => r.duration_s);
  const oriented = values.map((v) => (v === null ? null : worse === 'high' ? v : -v));
  const have = values.map((v) => v !== null && Number.isFinite(v));
  const idx = rows.map((_, i) => i).filter((i) => have[i]);
  const strata = terciles(idx.map((i) => dur[i]));
  const spearmanFigures: Record<string, number | null> = {};
  const partialFigures: Record<string, number | null> = {};
  for (const f of figs) {
    const fv = rows.map((r) => r.figures[f] ?? null);
    spearmanFigures[f] = fin(spearman(values, fv));
    partialFigures[f] = fin(partialSpearman(values, fv, dur));
  }
  const checkAuc: Record<string, number | null> = {};
  for (const c of checks) checkAuc[c.kind] = fin(auroc(oriented, rows.map((r) => r.failed_checks.includes(c.kind))));
  return {
    key, label, group, worse,
    n: idx.length,
    n_fail: idx.filter((i) => fail[i]).length,
    spearman_success: fin(spearman(values, success)),
    auroc_failure: fin(auroc(oriented, fail)),
    auroc_failure_ci95: clusterBootstrap(rows, oriented, fail),
    partial_spearman_success_given_duration: fin(partialSpearman(values, success, dur)),
    auroc_failure_within_duration_tercile: fin(stratifiedAuroc(idx.map((i) => oriented[i]), idx.map((i) => fail[i]), strata).auc),
    spearman_figures: spearmanFigures,
    partial_spearman_figures_given_duration: partialFigures,
    auroc_check_failure: checkAuc,
  };
}

const BOOTSTRAP = 400;

/** 2.5/97.5 percentiles of the AUROC over clip-level bootstrap resamples (seeded; resamples with one class only are dropped). */
function clusterBootstrap(rows: BenchRow[], score: (number | null)[], fail: boolean[]): [number, number] | null {
  const clips = [...new Set(rows.map((r) => r.clip))];
  if (clips.length < 3) return null;
  const byClip = clips.map((c) => rows.map((r, i) => (r.clip === c ? i : -1)).filter((i) => i >= 0));
  const R = rng(12345);
  const vals: number[] = [];
  for (let b = 0; b < BOOTSTRAP; b++) {
    const s: (number | null)[] = [];
    const f: boolean[] = [];
    for (let k = 0; k < clips.length; k++) {
      for (const i of byClip[Math.floor(R.next() * clips.length)]) { s.push(score[i]); f.push(fail[i]); }
    }
    const a = auroc(s, f);
    if (Number.isFinite(a)) vals.push(a);
  }
  if (vals.length < BOOTSTRAP / 2) return null;
  return [fin(quantile(vals, 0.025))!, fin(quantile(vals, 0.975))!];
}

export function analyze(run: BenchRun): BenchAnalysis {
  const rows = run.rows;
  const figs = figureKeys(rows);
  const kinds = [...new Set(rows.flatMap((r) => r.failed_checks))].sort();
  const allChecks = kinds.map((kind) => { const failed = rows.filter((r) => r.failed_checks.includes(kind)).length; return { kind, failed, passed: rows.length - failed }; });
  const checks = allChecks.filter((c) => c.failed >= 2 && c.passed >= 2);
  const predictors: PredictorStat[] = [];
  for (const m of METRICS) {
    const vals = rows.map((r) => r.metrics[m.key] ?? null);
    if (vals.every((v) => v === null)) continue;
    predictors.push(predictor(rows, m.key, m.label, m.group, m.worse, vals, figs, checks));
  }
  predictors.push(predictor(rows, 'gate.verdict', 'gate verdict (pass 0 < flag 1 < reject 2)', 'gate', 'high', rows.map((r) => VERDICT_SCORE[r.verdict]), figs, checks));
  predictors.push(predictor(rows, 'gate.reason_count', 'number of gate reasons', 'gate', 'high', rows.map((r) => r.reason_codes.length), figs, checks));

  const confusion = (rule: GateConfusion['rule']): GateConfusion => {
    let tp = 0, fp = 0, tn = 0, fn = 0;
    for (const r of rows) {
      const predFail = rule === 'reject' ? r.verdict === 'reject' : r.verdict !== 'pass';
      if (predFail && !r.success) tp++;
      else if (predFail) fp++;
      else if (!r.success) fn++;
      else tn++;
    }
    return {
      rule, true_positive: tp, false_positive: fp, true_negative: tn, false_negative: fn,
      sensitivity: tp + fn ? fin(tp / (tp + fn)) : null, specificity: tn + fp ? fin(tn / (tn + fp)) : null,
    };
  };

  const dose: DoseCurve[] = [];
  for (const d of DEGRADATIONS) {
    const degraded = rows.filter((r) => r.degradation === d);
    if (!degraded.length) continue;
    const clips = [...new Set(degraded.map((r) => r.clip))].sort();
    const cleanRows = rows.filter((r) => r.degradation === 'none' && clips.includes(r.clip));
    const levels = [CLEAN_LEVEL[d], ...run.levels[d].filter((l) => l !== CLEAN_LEVEL[d])];
    const out: DoseLevel[] = [];
    for (const lv of levels) {
      const rs = lv === CLEAN_LEVEL[d] ? cleanRows : degraded.filter((r) => r.level === lv);
      const k = rs.filter((r) => r.success).length;
      const verdicts: Record<string, number> = { pass: 0, flag: 0, reject: 0 };
      for (const r of rs) verdicts[r.verdict]++;
      const metrics: Record<string, number | null> = {};
      for (const m of METRICS) metrics[m.key] = fin(median(rs.map((r) => r.metrics[m.key] ?? NaN)));
      const figures: Record<string, number | null> = {};
      for (const f of figs) figures[f] = fin(median(rs.map((r) => r.figures[f] ?? NaN)));
      const ci = wilson(k, rs.length);
      out.push({
        level: lv, n: rs.length, successes: k, success_rate: rs.length ? fin(k / rs.length) : null,
        success_ci95: rs.length ? [fin(ci[0])!, fin(ci[1])!] : null, verdicts, metrics, figures,
      });
    }
    dose.push({ degradation: d, unit: LEVEL_UNITS[d], clips, levels: out });
  }

  return {
    n: rows.length,
    successes: rows.filter((r) => r.success).length,
    failures: rows.filter((r) => !r.success).length,
    failed_in_retarget: rows.filter((r) => r.failed_stage === 'retarget').length,
    figures: figs,
    checks: allChecks,
    predictors,
    gate_confusion: [confusion('flag_or_reject'), confusion('reject')],
    dose_response: dose,
    length_control:
      'clip length = duration in seconds of the track assessed and simulated; partial Spearman ρ(metric, success | length) ' +
      'on ranks, and AUROC with failure/success pairs compared only within the same length tercile (pooled Mann-Whitney U)',
  };
}

/** Quartiles of a metric among successes and failures (for the strip/box plots). */
export function splitBySuccess(rows: BenchRow[], key: string, read: (r: BenchRow) => number | null = (r) => r.metrics[key] ?? null) {
  const s = rows.filter((r) => r.success).map(read).filter((v): v is number => v !== null && Number.isFinite(v));
  const f = rows.filter((r) => !r.success).map(read).filter((v): v is number => v !== null && Number.isFinite(v));
  const q = (a: number[]) => (a.length ? [quantile(a, 0), quantile(a, 0.25), quantile(a, 0.5), quantile(a, 0.75), quantile(a, 1)] : null);
  return { success: s, failure: f, successQ: q(s), failureQ: q(f) };
}
