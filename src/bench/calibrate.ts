/**
 * Recalibrating the quality gate's levels against simulation outcomes without fitting them to the very
 * clips they are judged on (issue 20 item 5).
 *
 * A benchmark run holds, per (clip, degradation, level), the gate's summary metrics and whether the robot
 * succeeded. The gate's verdict is recomputed from those metrics (`verdictFromMetrics`, checked against the
 * verdict the gate gave), so any one level can be varied and the rule "the gate flags or rejects → the run
 * fails" re-scored. For each level of each check:
 *
 * - current: the level in configs/quality.yaml, scored on every run (it was not fitted to these runs);
 * - in-sample: the level that maximises Youden's J (sensitivity + specificity − 1) on every run — what
 *   fitting to this data would claim;
 * - held out (leave-one-clip-out): for each clip, the level is fitted on the runs of the *other* clips and
 *   applied to the held-out clip's runs (all its degradations: a clip's variants share its motion, so they
 *   must leave together); the pooled held-out predictions give the held-out sensitivity/specificity.
 *
 * A fitted level may not make the check cross on a clean clip of the fitting set (issue 20 item 4: the gate
 * must not flag clean footage because a robot cannot do the motion). A level is moved only when the held-out
 * J beats the current level's J with a 95 % clip-bootstrap interval of the difference above zero.
 */
import type { Level, QualityThresholds } from '../quality/config.ts';
import type { BenchRow } from './run.ts';
import { rng, wilson } from './stats.ts';

/** A gate check judged from one summary metric of a benchmark row. */
export interface CalibCheck {
  /** Metric key in BenchRow.metrics. */
  metric: string;
  /** Threshold path in configs/quality.yaml, e.g. 'plausibility.ratio'. */
  level: string;
  dir: 'max' | 'min';
}

/** The gate's whole-clip checks that a row's metrics carry (without a task, video or 2D landmarks). */
export const CALIB_CHECKS: CalibCheck[] = [
  { metric: 'presence.rate', level: 'presence.rate', dir: 'min' },
  { metric: 'presence.longest_gap_s', level: 'presence.longest_gap_s', dir: 'max' },
  { metric: 'confidence.min', level: 'confidence.mean', dir: 'min' },
  { metric: 'jitter.noise_mm', level: 'jitter.noise_mm', dir: 'max' },
  { metric: 'bones.cv', level: 'bones.cv', dir: 'max' },
  { metric: 'timing.dropped_rate', level: 'timing.dropped_rate', dir: 'max' },
  { metric: 'timing.interval_cv', level: 'timing.interval_cv', dir: 'max' },
  { metric: 'timing.fps_mismatch', level: 'timing.fps_mismatch', dir: 'max' },
  { metric: 'plausibility.ratio', level: 'plausibility.ratio', dir: 'max' },
  { metric: 'spikes.rate', level: 'spikes.rate', dir: 'max' },
  { metric: 'limbs.min_visible', level: 'parts.limb_visible_rate', dir: 'min' },
];

export function getLevel(th: QualityThresholds, path: string): Level {
  const [a, b] = path.split('.');
  return (th as unknown as Record<string, Record<string, Level>>)[a][b];
}

type Sev = 0 | 1 | 2; // pass, flag, reject

function crosses(v: number, thr: number, dir: 'max' | 'min'): boolean {
  return dir === 'max' ? v > thr : v < thr;
}

/** Severity of one check on one row at the given level (0 when the metric is missing). */
export function checkSeverity(row: BenchRow, c: CalibCheck, lv: Level): Sev {
  const v = row.metrics[c.metric];
  if (typeof v !== 'number' || !Number.isFinite(v)) return 0;
  // dropped_rate is only judged when a frame was dropped; the gate skips it otherwise.
  if (c.metric === 'timing.dropped_rate' && !(v > 0)) return 0;
  return crosses(v, lv.reject, c.dir) ? 2 : crosses(v, lv.flag, c.dir) ? 1 : 0;
}

/** The verdict the gate's whole-clip checks give from a row's metrics. */
export function verdictFromMetrics(row: BenchRow, th: QualityThresholds, checks = CALIB_CHECKS): 'pass' | 'flag' | 'reject' {
  let s = 0;
  for (const c of checks) s = Math.max(s, checkSeverity(row, c, getLevel(th, c.level)));
  return s === 2 ? 'reject' : s === 1 ? 'flag' : 'pass';
}

export interface Confusion { tp: number; fp: number; tn: number; fn: number; sensitivity: number; specificity: number; j: number }

export function confusion(pred: boolean[], fail: boolean[]): Confusion {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < pred.length; i++) {
    if (fail[i]) pred[i] ? tp++ : fn++;
    else pred[i] ? fp++ : tn++;
  }
  const sensitivity = tp + fn ? tp / (tp + fn) : NaN;
  const specificity = tn + fp ? tn / (tn + fp) : NaN;
  return { tp, fp, tn, fn, sensitivity, specificity, j: sensitivity + specificity - 1 };
}

export interface Changed { added: number; addedFail: number; removed: number; removedFail: number; clips: number; baseFailRate: number }

export interface LevelCalibration {
  check: CalibCheck;
  /** 'flag': the rule "flag or reject predicts failure" with this check's flag level varied; 'reject': "reject predicts failure" with its reject level varied. */
  which: 'flag' | 'reject';
  current: number;
  currentScore: Confusion;
  /** Level fitted on every run, and its (optimistic) score. */
  inSample: number;
  inSampleScore: Confusion;
  /** Pooled leave-one-clip-out score, and the levels the folds chose (min, max). */
  heldOutScore: Confusion;
  foldLevels: [number, number];
  /** 95 % clip-bootstrap interval of held-out J − current J. */
  gainCi95: [number, number];
  /** The runs whose held-out prediction differs from today's, and how many of them fail. */
  changed: Changed;
  move: boolean;
  /** One line: moved, or why not. */
  decision: string;
}

export interface CalibrationResult {
  rows: number;
  clips: number;
  failures: number;
  /** Rows whose recomputed verdict differs from the one the gate gave (should be 0). */
  verdictMismatches: { clip: string; degradation: string; level: number; gate: string; recomputed: string }[];
  levels: LevelCalibration[];
}

/**
 * Leave-one-clip-out recalibration of every level in `checks`, against `row.success`. Pure: returns the
 * figures and decisions; configs/quality.yaml is edited by hand from them (with a comment saying so).
 */
export function calibrateLevels(rows: BenchRow[], th: QualityThresholds, opts: { checks?: CalibCheck[]; bootstrap?: number; seed?: number } = {}): CalibrationResult {
  const checks = opts.checks ?? CALIB_CHECKS;
  const B = opts.bootstrap ?? 2000;
  const fail = rows.map((r) => !r.success);
  const clean = rows.map((r) => r.degradation === 'none');
  const clipIds = [...new Set(rows.map((r) => r.clip))];
  const clipOf = rows.map((r) => clipIds.indexOf(r.clip));
  const verdictMismatches = rows.flatMap((r) => {
    const v = verdictFromMetrics(r, th, checks);
    return v === r.verdict ? [] : [{ clip: r.clip, degradation: r.degradation, level: r.level, gate: r.verdict, recomputed: v }];
  });
  // Severity of every check at its current levels: the rest of the gate while one level varies.
  const base = checks.map((c) => rows.map((r) => checkSeverity(r, c, getLevel(th, c.level))));
  const levels: LevelCalibration[] = [];
  for (let ci = 0; ci < checks.length; ci++) {
    const c = checks[ci];
    const cur = getLevel(th, c.level);
    for (const which of ['flag', 'reject'] as const) {
      const need: Sev = which === 'flag' ? 1 : 2;
      // The rest of the gate at this rule: does any other check reach `need` on the row?
      const rest = rows.map((_, i) => checks.some((_c, k) => k !== ci && base[k][i] >= need));
      const val = rows.map((r) => r.metrics[c.metric]);
      const has = val.map((v) => typeof v === 'number' && Number.isFinite(v) && !(c.metric === 'timing.dropped_rate' && !(v > 0)));
      // The other level of this check stays as it is (a flag level cannot pass what the reject level rejects).
      const other = which === 'flag' ? cur.reject : cur.flag;
      const hit = (i: number, thr: number) => has[i] && (crosses(val[i] as number, thr, c.dir) || (which === 'flag' && crosses(val[i] as number, other, c.dir)));
      const pred = (i: number, thr: number) => rest[i] || hit(i, thr);
      // Candidates: the current level and midpoints between the distinct values (kept on the right side of the other level).
      const vs = [...new Set(rows.flatMap((_, i) => (has[i] ? [val[i] as number] : [])))].sort((a, b) => a - b);
      const cand = [cur[which]];
      for (let k = 0; k + 1 < vs.length; k++) cand.push((vs[k] + vs[k + 1]) / 2);
      if (vs.length) cand.push(c.dir === 'max' ? vs[vs.length - 1] + 1e-9 : vs[0] - 1e-9);
      const okOrder = (thr: number) => (which === 'flag' ? (c.dir === 'max' ? thr <= cur.reject : thr >= cur.reject) : (c.dir === 'max' ? thr >= cur.flag : thr <= cur.flag));
      const cands = cand.filter(okOrder);
      const fit = (train: (i: number) => boolean): number => {
        let best = cur[which];
        let bestJ = -Infinity;
        for (const thr of cands) {
          // No clean clip of the fitting set may cross this level.
          let bad = false;
          const p: boolean[] = [];
          const f: boolean[] = [];
          for (let i = 0; i < rows.length; i++) {
            if (!train(i)) continue;
            if (clean[i] && hit(i, thr) && !crosses(val[i] as number, cur[which], c.dir)) { bad = true; break; }
            p.push(pred(i, thr));
            f.push(fail[i]);
          }
          if (bad) continue;
          const j = confusion(p, f).j;
          // Ties: the level nearest the current one (do not move without a reason).
          if (j > bestJ + 1e-12 || (Math.abs(j - bestJ) <= 1e-12 && Math.abs(thr - cur[which]) < Math.abs(best - cur[which]))) { bestJ = j; best = thr; }
        }
        return best;
      };
      const all = rows.map((_, i) => i);
      const currentPred = all.map((i) => pred(i, cur[which]));
      const inSample = fit(() => true);
      const foldLevel = clipIds.map((_, k) => fit((i) => clipOf[i] !== k));
      const heldPred = all.map((i) => pred(i, foldLevel[clipOf[i]]));
      const heldOutScore = confusion(heldPred, fail);
      const currentScore = confusion(currentPred, fail);
      // Clip bootstrap of held-out J − current J (the held-out predictions fixed).
      const r = rng(opts.seed ?? 20);
      const gains: number[] = [];
      for (let b = 0; b < B; b++) {
        const hp: boolean[] = [], cp: boolean[] = [], f: boolean[] = [];
        for (let k = 0; k < clipIds.length; k++) {
          const pick = Math.floor(r.next() * clipIds.length);
          for (let i = 0; i < rows.length; i++) if (clipOf[i] === pick) { hp.push(heldPred[i]); cp.push(currentPred[i]); f.push(fail[i]); }
        }
        const g = confusion(hp, f).j - confusion(cp, f).j;
        if (Number.isFinite(g)) gains.push(g);
      }
      gains.sort((a, b) => a - b);
      const q = (p: number) => gains.length ? gains[Math.min(gains.length - 1, Math.max(0, Math.floor(p * gains.length)))] : NaN;
      const gainCi95: [number, number] = [q(0.025), q(0.975)];
      // The runs whose held-out prediction differs from today's: the move is supported only when their
      // failure rate is credibly on the right side of the base rate (J gains exactly when the added
      // predictions fail more often, or the removed ones less often, than runs do overall). A bootstrap of
      // J alone cannot say this when the changed runs are few and all of one outcome.
      const baseRate = fail.filter(Boolean).length / rows.length;
      const added = all.filter((i) => heldPred[i] && !currentPred[i]);
      const removed = all.filter((i) => !heldPred[i] && currentPred[i]);
      const nf = (ix: number[]) => ix.filter((i) => fail[i]).length;
      const addCi = wilson(nf(added), added.length);
      const remCi = wilson(nf(removed), removed.length);
      const changedClips = new Set([...added, ...removed].map((i) => clipOf[i])).size;
      const changed: Changed = { added: added.length, addedFail: nf(added), removed: removed.length, removedFail: nf(removed), clips: changedClips, baseFailRate: baseRate };
      const same = Math.abs(inSample - cur[which]) < 1e-12;
      const supported = heldOutScore.j > currentScore.j
        && (!added.length || addCi[0] > baseRate) && (!removed.length || remCi[1] < baseRate) && changedClips >= 3;
      const move = !same && supported;
      const why = `${added.length ? `it adds ${added.length} runs of which ${nf(added)} fail (95 % CI ${pct(addCi[0])}–${pct(addCi[1])})` : ''}${added.length && removed.length ? ' and ' : ''}${removed.length ? `it drops ${removed.length} runs of which ${nf(removed)} fail (95 % CI ${pct(remCi[0])}–${pct(remCi[1])})` : ''}, from ${changedClips} clip(s), against ${pct(baseRate)} of all runs failing`;
      const decision = same
        ? 'kept: the current level is already the best on these runs'
        : move
          ? `moved to ${round(inSample)}: held-out J ${fmt(heldOutScore.j)} vs ${fmt(currentScore.j)} now; ${why}`
          : !(heldOutScore.j > currentScore.j)
            ? `kept: fitted, held out it scores J ${fmt(heldOutScore.j)} vs ${fmt(currentScore.j)} now`
            : `kept: held out J ${fmt(heldOutScore.j)} vs ${fmt(currentScore.j)} now, but ${why}`;
      levels.push({
        check: c, which, current: cur[which], currentScore,
        inSample, inSampleScore: confusion(all.map((i) => pred(i, inSample)), fail),
        heldOutScore, foldLevels: [Math.min(...foldLevel), Math.max(...foldLevel)], gainCi95, changed, move, decision,
      });
    }
  }
  return { rows: rows.length, clips: clipIds.length, failures: fail.filter(Boolean).length, verdictMismatches, levels };
}

function round(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const d = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(v))));
  return Number(v.toFixed(d));
}
const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const pct = (v: number) => (Number.isFinite(v) ? `${Math.round(100 * v)} %` : '–');

/** The calibration as markdown for RESULTS.md. */
export function calibrationMarkdown(res: CalibrationResult): string {
  const s = (c: Confusion) => `${fmt(c.sensitivity)} / ${fmt(c.specificity)} (J ${fmt(c.j)})`;
  const out: string[] = [];
  out.push(`${res.rows} runs of ${res.clips} clips, ${res.failures} failures. Gate verdicts recomputed from the runs' metrics: ${res.rows - res.verdictMismatches.length}/${res.rows} equal to the gate's.`, '');
  out.push('| level | rule | current | sens / spec now | in-sample best level | sens / spec in-sample | sens / spec held out (leave-one-clip-out) | fold levels | held-out J − now [95 % clip bootstrap] | runs changed held out: added (fail) / dropped (fail) | decision |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of res.levels) {
    out.push(`| \`${l.check.level}.${l.which}\` | ${l.which === 'flag' ? 'flag or reject' : 'reject'} | ${round(l.current)} | ${s(l.currentScore)} | ${round(l.inSample)} | ${s(l.inSampleScore)} | ${s(l.heldOutScore)} | ${round(l.foldLevels[0])}–${round(l.foldLevels[1])} | ${fmt(l.heldOutScore.j - l.currentScore.j)} [${fmt(l.gainCi95[0])}, ${fmt(l.gainCi95[1])}] | ${l.changed.added} (${l.changed.addedFail}) / ${l.changed.removed} (${l.changed.removedFail}) | ${l.move ? '**moved**' : 'kept'} |`);
  }
  const notable = res.levels.filter((l) => Math.abs(l.inSample - l.current) > 1e-12);
  if (notable.length) out.push('', ...notable.map((l) => `- \`${l.check.level}.${l.which}\`: ${l.decision}.`));
  if (res.verdictMismatches.length) out.push('', 'Verdicts not reproduced from the metrics: ' + res.verdictMismatches.map((m) => `${m.clip} ${m.degradation}=${m.level} (gate ${m.gate}, recomputed ${m.recomputed})`).join('; '));
  return out.join('\n');
}
