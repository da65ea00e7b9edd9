/**
 * Why a wrong frame-rate label is missed on some clips, measured (benchmarks/quality/RESULTS.md, run (1)):
 * could other rate-dependent figures, or limits set from the corpus itself ("faster than any other clip of
 * this kind"), see the labels the gate's human figures cannot? Run by `run.ts --gate-only --rate-study`.
 *
 * For every clean clip: its figures as the gate computes them (metrics.plausibility.figures: limb angular
 * speeds, wrist/ankle speeds, the pelvis's fall in g, the swing time), and the 95th percentile of each limb's
 * angular acceleration (second difference of the bone direction over ±2 frames of the gate's median-filtered
 * positions), which a k× label multiplies by k² instead of k. Two kinds of limit per figure kind (left and
 * right pooled):
 * - in-sample: the largest value over every clean clip (the best any limit of this corpus can do: no clean
 *   clip exceeds it by construction);
 * - leave-one-source-out: the largest value over the clips of the *other* sources (the same recording read
 *   from another file or captured from its video counts as one source), i.e. what a new clip meets.
 * Per clip and limit set: the largest ratio (a false alarm when > 1) and the headroom (the least label factor
 * the limits can flag: min over figures of (1/ratio)^(1/power)).
 */
import type { PoseTrack } from '../../src/pose/track.ts';
import { assessQuality, loadThresholds } from '../../src/quality/index.ts';
import { LIMBS, medianFiltered } from '../../src/quality/plausibility.ts';
import { median, quantile } from '../../src/math/stats.ts';

interface Fig { value: number; power: number }
export interface StudyClip { clip: string; source: string; verdict: string; figs: Record<string, Fig> }

/** One recording, whichever file or capture it was read from. */
export function sourceOf(clip: string): string {
  if (/dex_retargeting/.test(clip)) return 'dex-retargeting hand recording';
  if (/tfjs_pose_squats/.test(clip)) return 'tfjs squats recording';
  if (/cmu_131_01/.test(clip)) return 'cmu 131_01';
  return clip;
}

/** Per limb kind (upper arm, forearm, ...), the 95th percentile of its bone direction's angular acceleration, rad/s². */
export function angularAccelerations(track: PoseTrack): Record<string, number> {
  const th = loadThresholds();
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const seen = new Uint8Array(T * J);
  for (let k = 0; k < T * J; k++) seen[k] = track.confidence[k] >= th.min_joint_confidence && Number.isFinite(track.positions[3 * k]) ? 1 : 0;
  const dts: number[] = [];
  for (let t = 1; t < T; t++) dts.push(track.timestamps[t] - track.timestamps[t - 1]);
  const dt = median(dts);
  const contiguous = new Uint8Array(T);
  for (let t = 1; t < T; t++) contiguous[t] = dts[t - 1] > 0 && dts[t - 1] <= 1.5 * dt ? 1 : 0;
  const F = medianFiltered(track, seen, contiguous);
  const out: Record<string, number> = {};
  const h = 2;
  for (const l of LIMBS) {
    const a = track.jointNames.indexOf(l.from), b = track.jointNames.indexOf(l.to);
    if (a < 0 || b < 0) continue;
    const dir = (t: number): number[] | null => {
      const d = [0, 1, 2].map((c) => F[(t * J + b) * 3 + c] - F[(t * J + a) * 3 + c]);
      const n = Math.hypot(d[0], d[1], d[2]);
      return Number.isFinite(n) && n > 1e-4 ? d.map((x) => x / n) : null;
    };
    const acc: number[] = [];
    for (let t = h; t < T - h; t++) {
      let ok = true;
      for (let i = t - h + 1; i <= t + h; i++) if (!contiguous[i]) ok = false;
      const p = dir(t - h), c = dir(t), n = dir(t + h);
      if (!ok || !p || !c || !n) continue;
      acc.push(Math.hypot(n[0] - 2 * c[0] + p[0], n[1] - 2 * c[1] + p[1], n[2] - 2 * c[2] + p[2]) / (h * h * dt * dt));
    }
    if (acc.length < 5) continue;
    const kind = `${l.name.replace(/^(left|right) /, '').replaceAll(' ', '_')}_rad_s2`;
    out[kind] = Math.max(out[kind] ?? 0, quantile(acc, 0.95));
  }
  return out;
}

/** A clean clip's figures: the gate's (by kind, sides pooled) and the angular accelerations. */
export function studyClip(clip: string, track: PoseTrack): StudyClip {
  const q = assessQuality(track);
  const figs: Record<string, Fig> = {};
  const raw = ((q.metrics.plausibility as { figures?: Record<string, number> }).figures) ?? {};
  for (const [k, v] of Object.entries(raw)) {
    const kind = k.replace(/^(left|right)_/, '');
    const power = kind === 'pelvis_fall_g' ? 2 : kind === 'swing_time' ? -1 : 1;
    const prev = figs[kind];
    if (!prev || (power > 0 ? v > prev.value : v < prev.value)) figs[kind] = { value: v, power };
  }
  for (const [k, v] of Object.entries(angularAccelerations(track))) figs[k] = { value: v, power: 2 };
  return { clip, source: sourceOf(clip), verdict: q.verdict, figs };
}

/** Largest ratio and headroom of `c` against limits taken from `others` (kinds in `use` only). */
function judge(c: StudyClip, others: StudyClip[], use: (kind: string) => boolean): { ratio: number; headroom: number; worst: string } {
  let ratio = 0, headroom = Infinity, worst = '';
  for (const [kind, f] of Object.entries(c.figs)) {
    if (!use(kind)) continue;
    const vals = others.map((o) => o.figs[kind]?.value).filter((v): v is number => Number.isFinite(v) && v > 0);
    if (!vals.length || !(f.value > 0)) continue;
    const r = f.power > 0 ? f.value / Math.max(...vals) : Math.min(...vals) / f.value;
    if (r > ratio) { ratio = r; worst = kind; }
    headroom = Math.min(headroom, (1 / r) ** (1 / Math.abs(f.power)));
  }
  return { ratio, headroom, worst };
}

export function rateStudyMarkdown(clips: StudyClip[]): string {
  const speeds = (k: string) => !k.endsWith('_rad_s2');
  const all = () => true;
  const sets = [
    { name: 'speeds, fall, swing (the gate\'s figures)', use: speeds },
    { name: 'the same + limb angular accelerations', use: all },
  ];
  const lines: string[] = [];
  lines.push('| clip | source | ' + sets.flatMap((s) => [`in-sample headroom: ${s.name}`, `leave-one-source-out ratio / headroom: ${s.name}`]).join(' | ') + ' |');
  lines.push('|---|---|' + sets.map(() => '---|---|').join(''));
  const sum = sets.map(() => ({ in15: 0, in2: 0, loo15: 0, loo2: 0, fa: [] as string[] }));
  const passed = clips.filter((c) => c.verdict === 'pass');
  for (const c of clips) {
    const cells: string[] = [];
    sets.forEach((s, i) => {
      const ins = judge(c, clips, s.use);
      const loo = judge(c, clips.filter((o) => o.source !== c.source), s.use);
      cells.push(`${ins.headroom.toFixed(2)}×`, `${loo.ratio.toFixed(2)} (${loo.worst}) / ${loo.headroom.toFixed(2)}×`);
      if (loo.ratio > 1) sum[i].fa.push(c.clip);
      if (c.verdict !== 'pass') return;
      if (ins.headroom < 1.5) sum[i].in15++;
      if (ins.headroom < 2) sum[i].in2++;
      // A clip the held-out limits flag at its own rate is a false alarm, not a catch.
      if (loo.ratio <= 1 && loo.headroom < 1.5) sum[i].loo15++;
      if (loo.ratio <= 1 && loo.headroom < 2) sum[i].loo2++;
    });
    lines.push(`| ${c.clip} | ${c.source} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  sets.forEach((s, i) => {
    const z = sum[i];
    lines.push(`- ${s.name}: limits at the corpus maximum would flag a 1.5× label on ${z.in15}/${passed.length} passed clips and a 2× label on ${z.in2}/${passed.length}; ` +
      `limits from the other sources flag ${z.fa.length}/${clips.length} clean clips at their own rate${z.fa.length ? ` (${z.fa.join(', ')})` : ''} ` +
      `and, of the passed clips they do not flag clean, flag a 1.5× label on ${z.loo15}/${passed.length} and a 2× label on ${z.loo2}/${passed.length}.`);
  });
  return lines.join('\n');
}

/**
 * Are the angular-acceleration figures a property of the motion or of the sampling? The same correctly
 * labelled clip (first `seconds`) resampled to 30 fps, 60 fps and read at its own rate: a figure fit for a
 * fixed limit reads the same at every rate.
 */
export function rateDependenceMarkdown(clips: { clip: string; track: PoseTrack }[], crop: (t: PoseTrack, fps: number) => PoseTrack): string {
  const lines = ['| clip (own rate) | upper arm, rad/s² (30 / 60 / own fps) | forearm | thigh | shank |', '|---|---|---|---|---|'];
  for (const { clip, track } of clips) {
    const at = [30, 60, 1e6].map((f) => angularAccelerations(crop(track, f)));
    const cell = (k: string) => at.map((a) => (a[k] === undefined ? '–' : a[k].toFixed(0))).join(' / ');
    lines.push(`| ${clip} (${Math.round(track.fps)} fps) | ${cell('upper_arm_rad_s2')} | ${cell('forearm_rad_s2')} | ${cell('thigh_rad_s2')} | ${cell('shank_rad_s2')} |`);
  }
  return lines.join('\n');
}
