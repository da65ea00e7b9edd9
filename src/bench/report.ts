/**
 * The benchmark's outputs: report.json (every row and every statistic) and report.html (self-contained:
 * inline SVG plots and CSS, no script, no external asset).
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { analyze, keyFigures, splitBySuccess, type BenchAnalysis, type DoseCurve, type PredictorStat } from './analyze.ts';
import { METRICS, type BenchRun } from './run.ts';
import type { DegradationType } from './degrade.ts';

export interface ReportInfo {
  command?: string;
  machine?: string;
  corpus?: string[];
  generated?: string;
}

export interface RobotResult { run: BenchRun; analysis: BenchAnalysis }

/** Metrics plotted against each degradation's strength (besides the success rate). */
export const DOSE_METRICS: Record<DegradationType, string[]> = {
  noise: ['jitter.noise_mm', 'bones.cv', 'masks.jitter_rate', 'retarget.keypoint_error_mean_m'],
  spikes: ['spikes.rate', 'jitter.noise_mm', 'jitter.worst_joint_mm', 'masks.bone_outlier_rate'],
  drop: ['timing.dropped_rate', 'timing.interval_cv', 'presence.longest_gap_s', 'retarget.max_joint_jump_rad'],
  occlusion: ['limbs.min_visible', 'masks.missing_rate', 'masks.any_rate', 'retarget.keypoint_error_mean_m'],
  fps: ['plausibility.ratio', 'retarget.max_joint_jump_rad', 'retarget.mean_jerk_rad_s3', 'retarget.keypoint_error_mean_m'],
};

export function reportJson(results: RobotResult[], info: ReportInfo = {}): Record<string, unknown> {
  return {
    kind: 'reel2real-bench-quality',
    version: 1,
    generated: info.generated ?? new Date().toISOString(),
    command: info.command ?? null,
    machine: info.machine ?? null,
    corpus: info.corpus ?? null,
    metrics: METRICS.map((m) => ({ key: m.key, label: m.label, group: m.group, worse: m.worse })),
    robots: results.map(({ run, analysis }) => ({
      robot: run.robot,
      settings: { fps: run.fps, max_seconds: run.max_seconds, seed: run.seed, levels: run.levels },
      seconds: run.seconds,
      skipped: run.skipped,
      analysis,
      rows: run.rows,
    })),
  };
}

/** Write report.json and report.html into `dir` (atomically); returns their paths. */
export function writeReport(dir: string, runs: BenchRun[], info: ReportInfo = {}): { json: string; html: string; results: RobotResult[] } {
  const results = runs.map((run) => ({ run, analysis: analyze(run) }));
  const json = path.join(dir, 'report.json');
  const html = path.join(dir, 'report.html');
  writeFileAtomic(json, JSON.stringify(reportJson(results, info)) + '\n');
  writeFileAtomic(html, renderHtml(results, info));
  return { json, html, results };
}

// ---- HTML ----------------------------------------------------------------------------------------------

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(d)).toString());
const label = (key: string) => METRICS.find((m) => m.key === key)?.label ?? key;

function niceTicks(lo: number, hi: number, n = 4): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** A plot title, squeezed to the plot's width when it is long. */
const titleText = (title: string, W: number) => `<text x="${W / 2}" y="12" class="t"${title.length * 5.6 > W - 8 ? ` textLength="${W - 8}" lengthAdjust="spacingAndGlyphs"` : ''}>${esc(title)}</text>`;

interface Axis { lo: number; hi: number }
const extent = (vals: number[], pad = 0.05): Axis => {
  const f = vals.filter((v) => Number.isFinite(v));
  if (!f.length) return { lo: 0, hi: 1 };
  let lo = Math.min(...f), hi = Math.max(...f);
  if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 0.5; hi += Math.abs(hi) * 0.1 || 0.5; }
  const p = (hi - lo) * pad;
  return { lo: lo - p, hi: hi + p };
};

/** Strip + box plot of one metric: successes and failures side by side. */
function stripPlot(run: BenchRun, key: string, title: string): string {
  const W = 230, H = 170, L = 46, B = 24, T = 18;
  const { success, failure, successQ, failureQ } = splitBySuccess(run.rows, key);
  const ax = extent([...success, ...failure]);
  const y = (v: number) => T + (H - T - B) * (1 - (v - ax.lo) / (ax.hi - ax.lo));
  const parts: string[] = [`<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img"><title>${esc(title)}</title>`];
  parts.push(titleText(title, W));
  for (const t of niceTicks(ax.lo, ax.hi)) parts.push(`<line x1="${L}" x2="${W - 6}" y1="${y(t)}" y2="${y(t)}" class="g"/><text x="${L - 4}" y="${y(t) + 3}" class="yl">${fmt(t)}</text>`);
  const cols: [string, number[], number[] | null, number, string][] = [['success', success, successQ, L + (W - L) * 0.3, 'ok'], ['failure', failure, failureQ, L + (W - L) * 0.72, 'bad']];
  for (const [name, vals, q, cx, cls] of cols) {
    if (q) {
      parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(q[0])}" y2="${y(q[4])}" class="wh"/>`);
      parts.push(`<rect x="${cx - 22}" y="${y(q[3])}" width="44" height="${Math.max(1, y(q[1]) - y(q[3]))}" class="box"/>`);
      parts.push(`<line x1="${cx - 22}" x2="${cx + 22}" y1="${y(q[2])}" y2="${y(q[2])}" class="med"/>`);
    }
    vals.forEach((v, i) => {
      const jx = (((i * 2654435761) >>> 0) % 1000) / 1000 - 0.5;
      parts.push(`<circle cx="${(cx + jx * 30).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.2" class="${cls}"/>`);
    });
    parts.push(`<text x="${cx}" y="${H - 8}" class="xl">${name} (${vals.length})</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** A line plot of y against the degradation level (x evenly spaced by level index, labelled by value). */
function linePlot(title: string, levels: number[], ys: (number | null)[], opts: { lo?: number; hi?: number; ci?: ([number, number] | null)[]; cls?: string } = {}): string {
  const W = 200, H = 140, L = 44, B = 22, T = 18, R = 8;
  const vals = ys.filter((v): v is number => v !== null);
  const e = extent([...vals, ...(opts.lo !== undefined ? [opts.lo] : []), ...(opts.hi !== undefined ? [opts.hi] : [])], opts.lo !== undefined ? 0 : 0.08);
  const x = (i: number) => L + ((W - L - R) * i) / Math.max(1, levels.length - 1);
  const y = (v: number) => T + (H - T - B) * (1 - (v - e.lo) / (e.hi - e.lo));
  const p: string[] = [`<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img"><title>${esc(title)}</title>${titleText(title, W)}`];
  for (const t of niceTicks(e.lo, e.hi)) p.push(`<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" class="g"/><text x="${L - 4}" y="${y(t) + 3}" class="yl">${fmt(t)}</text>`);
  levels.forEach((lv, i) => p.push(`<text x="${x(i)}" y="${H - 8}" class="xl">${fmt(lv)}</text>`));
  opts.ci?.forEach((c, i) => { if (c) p.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${y(c[0])}" y2="${y(c[1])}" class="wh"/>`); });
  const pts = ys.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
  if (pts.length > 1) p.push(`<polyline points="${pts.join(' ')}" class="ln ${opts.cls ?? ''}"/>`);
  ys.forEach((v, i) => { if (v !== null) p.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.6" class="pt ${opts.cls ?? ''}"/>`); });
  p.push('</svg>');
  return p.join('');
}

function doseSection(c: DoseCurve, figures: string[]): string {
  const levels = c.levels.map((l) => l.level);
  const plots: string[] = [];
  plots.push(linePlot('success rate', levels, c.levels.map((l) => l.success_rate), { lo: 0, hi: 1, ci: c.levels.map((l) => l.success_ci95), cls: 'sr' }));
  plots.push(linePlot('gate: share rejected', levels, c.levels.map((l) => (l.n ? l.verdicts.reject / l.n : null)), { lo: 0, hi: 1, cls: 'rj' }));
  for (const k of DOSE_METRICS[c.degradation]) plots.push(linePlot(label(k) + ' (median)', levels, c.levels.map((l) => l.metrics[k] ?? null)));
  for (const f of keyFigures(figures, 3)) plots.push(linePlot(`${f} (median)`, levels, c.levels.map((l) => l.figures[f] ?? null), { cls: 'fg' }));
  const counts = c.levels.map((l) => `${fmt(l.level)}: ${l.successes}/${l.n} ok, gate ${l.verdicts.pass}/${l.verdicts.flag}/${l.verdicts.reject}`).join(' · ');
  return `<h4>${esc(c.degradation)} <small>(level = ${esc(c.unit)}; ${c.clips.length} clips)</small></h4><div class="row">${plots.join('')}</div><p class="small">${esc(counts)} (pass/flag/reject)</p>`;
}

function predictorTable(preds: PredictorStat[], figures: string[]): string {
  const head = ['predictor', 'group', 'worse', 'n', 'fail', 'ρ(success)', 'AUROC(fail) [95% clip bootstrap]', 'partial ρ | length', 'AUROC within length tercile', ...figures.map((f) => `ρ(${f})`)];
  const rows = preds.map((p) => {
    const a = p.auroc_failure;
    const cls = a === null ? '' : a >= 0.7 ? 'good' : a <= 0.4 ? 'inv' : '';
    return `<tr><td>${esc(p.label)}<br><code>${esc(p.key)}</code></td><td>${p.group}</td><td>${p.worse}</td><td>${p.n}</td><td>${p.n_fail}</td><td>${fmt(p.spearman_success, 2)}</td><td class="${cls}">${fmt(a, 3)}${p.auroc_failure_ci95 ? `<br><small>${fmt(p.auroc_failure_ci95[0], 2)}–${fmt(p.auroc_failure_ci95[1], 2)}</small>` : ''}</td><td>${fmt(p.partial_spearman_success_given_duration, 2)}</td><td>${fmt(p.auroc_failure_within_duration_tercile, 3)}</td>${figures.map((f) => `<td>${fmt(p.spearman_figures[f], 2)}</td>`).join('')}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function robotSection({ run, analysis: a }: RobotResult): string {
  const out: string[] = [];
  out.push(`<h2>${esc(run.robot.name)} <small>${esc(run.robot.file ? path.basename(run.robot.file) : '')}</small></h2>`);
  const clips = new Set(run.rows.map((r) => r.clip)).size;
  out.push(`<p>${clips} clips, ${a.n} runs (clean + degraded): <b>${a.successes}</b> succeeded, <b>${a.failures}</b> failed (${a.failed_in_retarget} of them in retargeting). ${run.skipped.length} skipped. Clips cropped to ${run.max_seconds} s at ≤ ${run.fps} fps; seed ${run.seed}; ${fmt(run.seconds, 4)} s.</p>`);
  out.push('<h3>Metrics and the gate as predictors of failure</h3>');
  out.push(`<p class="small">AUROC: probability that a failing run scores worse than a succeeding one (ties count ½), with each metric oriented by its fixed direction (“worse”); 0.5 = no information, below 0.5 = the metric points the wrong way. ρ(success): Spearman with success = 1. Length control: ${esc(a.length_control)}.</p>`);
  const kf = keyFigures(a.figures);
  out.push(predictorTable(a.predictors, kf));
  const checks = a.checks.filter((c) => c.failed >= 2 && c.passed >= 2);
  out.push(`<h3>Which validation checks fail</h3><p class="small">${a.checks.map((c) => `${esc(c.kind)}: ${c.failed}/${a.n}`).join(' · ') || 'none'}</p>`);
  if (checks.length) {
    out.push('<h4>AUROC of each metric for predicting that a given validation check fails</h4><table><thead><tr><th>predictor</th>' + checks.map((c) => `<th>${esc(c.kind)}<br><small>${c.failed} fail / ${c.passed} pass</small></th>`).join('') + '</tr></thead><tbody>');
    for (const p of a.predictors) out.push(`<tr><td><code>${esc(p.key)}</code></td>${checks.map((c) => { const v = p.auroc_check_failure[c.kind]; return `<td class="${v === null || v === undefined ? '' : v >= 0.7 ? 'good' : v <= 0.4 ? 'inv' : ''}">${fmt(v, 3)}</td>`; }).join('')}</tr>`);
    out.push('</tbody></table>');
  }
  if (kf.length) {
    out.push('<h4>Rank correlation with the continuous validation figures, controlling for length (partial Spearman ρ given duration)</h4><table><thead><tr><th>predictor</th>' + kf.map((f) => `<th>${esc(f)}</th>`).join('') + '</tr></thead><tbody>');
    for (const p of a.predictors) out.push(`<tr><td><code>${esc(p.key)}</code></td>${kf.map((f) => `<td>${fmt(p.partial_spearman_figures_given_duration[f], 2)}</td>`).join('')}</tr>`);
    out.push('</tbody></table>');
  }
  out.push('<h3>The gate as a classifier of failure</h3><table><thead><tr><th>rule: predicts failure when</th><th>TP</th><th>FP</th><th>TN</th><th>FN</th><th>sensitivity</th><th>specificity</th></tr></thead><tbody>');
  for (const g of a.gate_confusion) out.push(`<tr><td>${g.rule === 'reject' ? 'verdict = reject' : 'verdict ≠ pass'}</td><td>${g.true_positive}</td><td>${g.false_positive}</td><td>${g.true_negative}</td><td>${g.false_negative}</td><td>${fmt(g.sensitivity)}</td><td>${fmt(g.specificity)}</td></tr>`);
  out.push('</tbody></table>');
  out.push('<h3>Dose-response</h3><p class="small">x = degradation level (level 0 / 1× = the clean clips that were degraded). Success rate with 95% Wilson interval.</p>');
  for (const c of a.dose_response) out.push(doseSection(c, a.figures));
  out.push('<h3>Each metric against success</h3><div class="row">');
  for (const p of a.predictors.filter((p) => p.group !== 'gate')) out.push(stripPlot(run, p.key, p.label));
  for (const f of keyFigures(a.figures)) out.push(stripPlot({ ...run, rows: run.rows.map((r) => ({ ...r, metrics: { [f]: r.figures[f] ?? null } })) }, f, `outcome: ${f}`));
  out.push('</div>');
  out.push('<h3>Clean clips</h3><table><thead><tr><th>clip</th><th>frames</th><th>s</th><th>gate</th><th>reasons</th><th>outcome</th><th>why</th></tr></thead><tbody>');
  for (const r of run.rows.filter((r) => r.degradation === 'none')) {
    out.push(`<tr><td>${esc(r.clip)}</td><td>${r.frames}</td><td>${fmt(r.duration_s)}</td><td>${r.verdict}</td><td>${esc(r.reason_codes.join(', '))}</td><td class="${r.success ? 'good' : 'inv'}">${r.success ? 'success' : 'failure'}</td><td class="small">${esc(r.outcome_reasons.join('; '))}</td></tr>`);
  }
  out.push('</tbody></table>');
  if (run.skipped.length) out.push(`<h3>Skipped</h3><ul>${run.skipped.map((s) => `<li>${esc(s.clip)}: ${esc(s.reason)}</li>`).join('')}</ul>`);
  return out.join('\n');
}

export function renderHtml(results: RobotResult[], info: ReportInfo = {}): string {
  const css = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}h2{border-bottom:2px solid #ddd;margin-top:36px}
table{border-collapse:collapse;font-size:12px;margin:8px 0;display:block;max-width:100%;overflow-x:auto}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right;vertical-align:top}th{max-width:10em;overflow-wrap:anywhere}td:first-child,th:first-child{text-align:left}
code{font-size:11px;color:#666}.good{background:#e3f4e3}.inv{background:#fbe4e4}.small{font-size:12px;color:#555}.row{display:flex;flex-wrap:wrap;gap:6px}
svg{background:#fafafa;border:1px solid #eee}svg text{font-size:9px;fill:#444}.t{text-anchor:middle;font-size:10px!important;font-weight:600}.yl{text-anchor:end}.xl{text-anchor:middle}
.g{stroke:#e4e4e4}.wh{stroke:#888}.box{fill:#dde6f3;stroke:#6d86ad}.med{stroke:#1f3f73;stroke-width:2}.ok{fill:#2e8b57;opacity:.7}.bad{fill:#c0392b;opacity:.7}
.ln{fill:none;stroke:#1f3f73;stroke-width:1.5}.pt{fill:#1f3f73}.sr.ln{stroke:#2e8b57}.sr.pt{fill:#2e8b57}.rj.ln{stroke:#c0392b}.rj.pt{fill:#c0392b}.fg.ln{stroke:#8e44ad}.fg.pt{fill:#8e44ad}`;
  const meta = [
    info.generated ? `generated ${esc(info.generated)}` : '',
    info.machine ? `machine: ${esc(info.machine)}` : '',
    info.command ? `command: <code>${esc(info.command)}</code>` : '',
  ].filter(Boolean).join('<br>');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>reel2real: data quality vs simulation success</title><style>${css}</style></head><body>
<h1>Data quality vs simulation success</h1><p class="small">${meta}</p>
<p>Every clip of the corpus, and seeded degradations (noise, spikes, dropped frames, occlusion of the right forearm and hand, a wrong frame-rate label) of the clips the gate passes clean, went through the quality gate, retargeting and simulation validation. Success = the validation judged the motion feasible (a clip that could not be retargeted counts as a failure).</p>
${results.map(robotSection).join('\n')}
</body></html>
`;
}
