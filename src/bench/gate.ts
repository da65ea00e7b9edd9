/**
 * The gate's own dose-response, without retargeting or simulation: every clip as it is, and seeded
 * degradations of those the gate passes, through `assessQuality` only. For each degradation and strength:
 * how many clips the gate flags or rejects, how many it rejects, and how many are caught by the check meant
 * for that degradation (e.g. `plausibility.too_fast` for a wrong fps label). Fast (seconds), so it can run
 * on every change of the gate; `benchQuality` answers whether the gate predicts simulation success.
 */
import type { PoseTrack } from '../pose/track.ts';
import { assessQuality, type Verdict } from '../quality/index.ts';
import { CLEAN_LEVEL, DEFAULT_LEVELS, DEGRADATIONS, LEVEL_UNITS, degradedVariants, type DegradationType } from './degrade.ts';
import { loadBenchClip, type ClipEntry, type LoadOptions } from './corpus.ts';
import type { SkippedClip } from './run.ts';

/** The reason codes meant to catch each degradation. */
export const INTENDED_CODES: Record<DegradationType, RegExp> = {
  noise: /^jitter\.high$/,
  spikes: /^spikes\.high$/,
  drop: /^timing\.dropped_frames$/,
  occlusion: /^parts\.(limb_missing|not_visible)$/,
  fps: /^plausibility\.too_fast$/,
};

export interface GateRow {
  clip: string;
  degradation: DegradationType | 'none';
  level: number;
  frames: number;
  verdict: Verdict;
  /** code → severity of every reason. */
  reasons: Record<string, 'flag' | 'reject'>;
  /** The rate check's headroom (metrics.plausibility.headroom): the least wrong-label factor it can flag; null when it has no figure. */
  rate_headroom: number | null;
}

export interface GateLevel {
  level: number;
  n: number;
  /** Flagged or rejected, for any reason. */
  caught: number;
  rejected: number;
  /** Flagged or rejected by the intended check / rejected by it. */
  intended: number;
  intended_rejected: number;
  /** Clips not caught by the intended check. */
  missed: string[];
}

export interface GateDose { degradation: DegradationType; unit: string; intended: string; levels: GateLevel[] }

export interface GateRun { rows: GateRow[]; skipped: SkippedClip[]; levels: Record<DegradationType, number[]>; seed: number; seconds: number }

function gateRow(track: PoseTrack, clip: string, degradation: GateRow['degradation'], level: number): GateRow {
  const q = assessQuality(track);
  const reasons: GateRow['reasons'] = {};
  for (const r of q.reasons) if (reasons[r.code] !== 'reject') reasons[r.code] = r.severity;
  const headroom = (q.metrics.plausibility as { headroom?: number | null } | undefined)?.headroom;
  return { clip, degradation, level, frames: q.frames, verdict: q.verdict, reasons, rate_headroom: typeof headroom === 'number' ? headroom : null };
}

/** Gate verdicts on every clip and, for the clips whose clean verdict is `pass`, on their degradations. */
export async function benchGate(
  clips: ClipEntry[],
  opts: LoadOptions & { levels?: Partial<Record<DegradationType, number[]>>; seed?: number; onRow?: (r: GateRow) => void; onSkip?: (s: SkippedClip) => void } = {},
): Promise<GateRun> {
  const t0 = performance.now();
  const levels = Object.fromEntries(DEGRADATIONS.map((d) => [d, [...(opts.levels?.[d] ?? DEFAULT_LEVELS[d])]])) as Record<DegradationType, number[]>;
  const seed = opts.seed ?? 1;
  const rows: GateRow[] = [];
  const skipped: SkippedClip[] = [];
  const skip = (clip: string, reason: string) => { const s = { clip, reason }; skipped.push(s); opts.onSkip?.(s); };
  const push = (r: GateRow) => { rows.push(r); opts.onRow?.(r); };
  for (const c of clips) {
    const loaded = await loadBenchClip(c, opts);
    if ('skip' in loaded) { skip(c.id, loaded.skip); continue; }
    const track = loaded.track;
    const clean = gateRow(track, c.id, 'none', 0);
    push(clean);
    if (clean.verdict !== 'pass') continue;
    for (const v of degradedVariants(track, c.id, levels, seed, skip)) push(gateRow(v.track, c.id, v.degradation, v.level));
  }
  return { rows, skipped, levels, seed, seconds: Math.round(performance.now() - t0) / 1000 };
}

/** Per degradation and strength: clips caught (any reason, the intended check), rejected. */
export function gateDoseResponse(run: GateRun): GateDose[] {
  const out: GateDose[] = [];
  for (const d of DEGRADATIONS) {
    const levels: GateLevel[] = [];
    for (const lv of run.levels[d]) {
      if (lv === CLEAN_LEVEL[d]) continue;
      const rows = run.rows.filter((r) => r.degradation === d && r.level === lv);
      if (!rows.length) continue;
      const hit = (r: GateRow, sev?: 'reject') => Object.entries(r.reasons).some(([code, s]) => INTENDED_CODES[d].test(code) && (!sev || s === sev));
      levels.push({
        level: lv,
        n: rows.length,
        caught: rows.filter((r) => r.verdict !== 'pass').length,
        rejected: rows.filter((r) => r.verdict === 'reject').length,
        intended: rows.filter((r) => hit(r)).length,
        intended_rejected: rows.filter((r) => hit(r, 'reject')).length,
        missed: rows.filter((r) => !hit(r)).map((r) => r.clip),
      });
    }
    out.push({ degradation: d, unit: LEVEL_UNITS[d], intended: INTENDED_CODES[d].source.replace(/^\^|\$$/g, '').replaceAll('\\.', '.'), levels });
  }
  return out;
}

/** Markdown tables of a gate run: the clean verdicts and the dose-response. */
export function gateMarkdown(run: GateRun): string {
  const lines: string[] = [];
  const clean = run.rows.filter((r) => r.degradation === 'none');
  const NEW = /^(plausibility|spikes|parts\.limb_missing)/;
  lines.push(`${clean.length} clips; ${run.rows.length} assessments; ${run.seconds.toFixed(0)} s.`, '');
  lines.push('| clip | frames | verdict | reasons (new checks in bold) | rate check flags a label from |', '|---|---|---|---|---|');
  const hr = (r: GateRow) => (r.rate_headroom === null || r.rate_headroom === undefined ? '– (no figure)' : `${r.rate_headroom.toFixed(2)}×`);
  for (const r of clean) {
    const rs = Object.entries(r.reasons).map(([c, s]) => (NEW.test(c) ? `**${c}** (${s})` : `${c} (${s})`)).join(', ');
    lines.push(`| ${r.clip} | ${r.frames} | ${r.verdict} | ${rs} | ${hr(r)} |`);
  }
  const newFlag = clean.filter((r) => Object.keys(r.reasons).some((c) => NEW.test(c)));
  const newOnly = newFlag.filter((r) => Object.keys(r.reasons).every((c) => NEW.test(c)));
  const newReject = clean.filter((r) => Object.entries(r.reasons).some(([c, s]) => NEW.test(c) && s === 'reject'));
  lines.push('', `Clean clips with a reason from the new checks: ${newFlag.length} of ${clean.length}${newFlag.length ? ` (${newFlag.map((r) => r.clip).join(', ')})` : ''}; ` +
    `whose verdict the new checks change (no older reason): ${newOnly.length}; rejected by a new check: ${newReject.length}.`, '');
  // The rate check can only flag a label whose factor exceeds the clip's headroom (its motion is that much
  // slower than the human figures): clips with a headroom above a factor cannot be caught at that factor.
  const passed = clean.filter((r) => r.verdict === 'pass');
  for (const k of [1.5, 2]) {
    const blind = passed.filter((r) => r.rate_headroom === null || r.rate_headroom === undefined || r.rate_headroom >= k);
    lines.push(`Clean clips (of ${passed.length} passed) whose motion is too slow for the rate check to flag a ${k}× label (headroom ≥ ${k}×): ${blind.length}${blind.length ? ` (${blind.map((r) => `${r.clip} ${hr(r)}`).join(', ')})` : ''}.`);
  }
  lines.push('');
  lines.push('| degradation | intended check | level | clips | caught by the intended check | rejected by it | caught (any reason) | rejected (any) | missed by the intended check |', '|---|---|---|---|---|---|---|---|---|');
  for (const d of gateDoseResponse(run)) {
    for (const l of d.levels) {
      const pct = (k: number) => `${k}/${l.n} (${Math.round((100 * k) / l.n)} %)`;
      lines.push(`| ${d.degradation} (${d.unit}) | \`${d.intended}\` | ${l.level} | ${l.n} | ${pct(l.intended)} | ${pct(l.intended_rejected)} | ${pct(l.caught)} | ${pct(l.rejected)} | ${l.missed.join(', ')} |`);
    }
  }
  if (run.skipped.length) lines.push('', 'Skipped: ' + run.skipped.map((s) => `${s.clip} (${s.reason})`).join('; '));
  return lines.join('\n');
}
