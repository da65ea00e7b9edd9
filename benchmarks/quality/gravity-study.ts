/**
 * Can gravity tell a wrong frame-rate label on the clips the rate check misses? (benchmarks/quality/RESULTS.md
 * run (1b); `run.ts --gate-only --gravity-study`.)
 *
 * Gravity is the one clock a pose track carries whatever the person chooses to do: g is 9.81 m/s² at every
 * speed, so a figure in units of g grows with k² under a k× label and has a physical bound, not a corpus
 * maximum. Per clean clip (as the benchmark crops it):
 * - flight: fraction of frames with neither ankle resting (speed < 0.2 × the feet's 95th percentile speed, the
 *   gate's stance test); landings: foot landings seen (rest after a fast phase); swings: complete swings the
 *   gate measured (it needs 2);
 * - walking Froude number v²/(g·L) of the pelvis's horizontal speed (95th percentile) with L the hip–ankle
 *   length: an inverted-pendulum walk cannot exceed 1 (the stance foot would leave the ground); people
 *   change to running near 0.5;
 * - the pelvis's downward acceleration (the gate's fall figure): bound 1 g without a hand-hold;
 * - balance: with the whole-body centre of mass (segment masses after de Leva 1996, segment midpoints), the
 *   centre of pressure its horizontal acceleration needs, |a_xy|·h/(g + a_z), divided by the farthest a
 *   resting foot reaches from the centre of mass (+ 0.1 m of foot): above 1 the feet cannot produce it.
 * For each, the least label factor that would take the clip over the bound ((bound / value)^(1/2) for the
 * three in g-units, all of which scale with k²).
 */
import type { PoseTrack } from '../../src/pose/track.ts';
import { assessQuality, loadThresholds } from '../../src/quality/index.ts';
import { medianFiltered } from '../../src/quality/plausibility.ts';
import { median, quantile } from '../../src/math/stats.ts';

const G = 9.81;
/** Segment (from joint, to joint, fraction of body mass); a segment with from = to is a point mass at that joint. */
const SEGMENTS: [string, string, number][] = [
  ['pelvis', 'neck', 0.43], ['neck', 'head', 0.08],
  ['left_shoulder', 'left_elbow', 0.027], ['right_shoulder', 'right_elbow', 0.027],
  ['left_elbow', 'left_wrist', 0.016], ['right_elbow', 'right_wrist', 0.016],
  ['left_wrist', 'left_wrist', 0.006], ['right_wrist', 'right_wrist', 0.006],
  ['left_hip', 'left_knee', 0.142], ['right_hip', 'right_knee', 0.142],
  ['left_knee', 'left_ankle', 0.043], ['right_knee', 'right_ankle', 0.043],
  ['left_ankle', 'left_ankle', 0.014], ['right_ankle', 'right_ankle', 0.014],
];

export interface GravityClip {
  clip: string; verdict: string; headroom: number | null;
  flight: number | null; landings: number | null; swings: number;
  froude: number | null; fall_g: number | null; balance: number | null;
}

export function gravityStudy(clip: string, track: PoseTrack): GravityClip {
  const q = assessQuality(track);
  const pm = q.metrics.plausibility as { headroom?: number | null; swings?: number; figures?: Record<string, number> };
  const out: GravityClip = {
    clip, verdict: q.verdict, headroom: pm.headroom ?? null, flight: null, landings: null, swings: pm.swings ?? 0,
    froude: null, fall_g: pm.figures?.pelvis_fall_g ?? null, balance: null,
  };
  const T = track.timestamps.length;
  const J = track.jointNames.length;
  const idx = (n: string) => track.jointNames.indexOf(n);
  const pel = idx('pelvis');
  const ankles = [idx('left_ankle'), idx('right_ankle')];
  const hips = [idx('left_hip'), idx('right_hip')];
  if (pel < 0 || ankles.some((j) => j < 0) || hips.some((j) => j < 0) || T < 9) return out;
  const th = loadThresholds();
  const seen = new Uint8Array(T * J);
  for (let k = 0; k < T * J; k++) seen[k] = track.confidence[k] >= th.min_joint_confidence && Number.isFinite(track.positions[3 * k]) ? 1 : 0;
  const dts: number[] = [];
  for (let t = 1; t < T; t++) dts.push(track.timestamps[t] - track.timestamps[t - 1]);
  const dt = median(dts);
  const contiguous = new Uint8Array(T);
  for (let t = 1; t < T; t++) contiguous[t] = dts[t - 1] > 0 && dts[t - 1] <= 1.5 * dt ? 1 : 0;
  const F = medianFiltered(track, seen, contiguous);
  const at = (t: number, j: number, c: number) => F[(t * J + j) * 3 + c];
  // A pelvis that never moves (hip-centred world landmarks) carries no gravity.
  const zs: number[] = [];
  for (let t = 0; t < T; t++) if (Number.isFinite(at(t, pel, 2))) zs.push(at(t, pel, 2));
  if (!zs.length || Math.max(...zs) - Math.min(...zs) < 1e-6) return out;
  const speed = (j: number, t: number) => Math.hypot(at(t + 1, j, 0) - at(t - 1, j, 0), at(t + 1, j, 1) - at(t - 1, j, 1), at(t + 1, j, 2) - at(t - 1, j, 2)) / (2 * dt);
  const sp = ankles.map((j) => Array.from({ length: T }, (_, t) => (t < 1 || t >= T - 1 ? NaN : speed(j, t))));
  const peak = Math.max(...sp.map((s) => quantile(s.filter(Number.isFinite), 0.95)));
  const still = (k: number, t: number) => Number.isFinite(sp[k][t]) && sp[k][t] < 0.2 * peak;
  let judged = 0, flight = 0, landings = 0;
  for (let k = 0; k < 2; k++) {
    let fast = false;
    for (let t = 0; t < T; t++) {
      if (!Number.isFinite(sp[k][t])) continue;
      if (sp[k][t] > 0.5 * peak) fast = true;
      else if (still(k, t) && fast) { landings++; fast = false; }
    }
  }
  for (let t = 0; t < T; t++) {
    if (!Number.isFinite(sp[0][t]) || !Number.isFinite(sp[1][t])) continue;
    judged++;
    if (!still(0, t) && !still(1, t)) flight++;
  }
  out.flight = judged ? flight / judged : null;
  out.landings = landings;
  const legs: number[] = [];
  for (let t = 0; t < T; t++) for (let s = 0; s < 2; s++) {
    const l = Math.hypot(at(t, hips[s], 0) - at(t, ankles[s], 0), at(t, hips[s], 1) - at(t, ankles[s], 1), at(t, hips[s], 2) - at(t, ankles[s], 2));
    if (Number.isFinite(l)) legs.push(l);
  }
  const L = median(legs);
  const vh: number[] = [];
  for (let t = 1; t < T - 1; t++) {
    const v = Math.hypot(at(t + 1, pel, 0) - at(t - 1, pel, 0), at(t + 1, pel, 1) - at(t - 1, pel, 1)) / (2 * dt);
    if (Number.isFinite(v)) vh.push(v);
  }
  if (vh.length >= 5 && L > 0) out.froude = quantile(vh, 0.95) ** 2 / (G * L);
  // Whole-body centre of mass and the balance figure.
  const segs = SEGMENTS.map(([a, b, m]) => [idx(a), idx(b), m] as const).filter(([a, b]) => a >= 0 && b >= 0);
  const M = segs.reduce((s, x) => s + x[2], 0);
  const com = new Float64Array(T * 3).fill(NaN);
  for (let t = 0; t < T; t++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (const [a, b, m] of segs) s += m * 0.5 * (at(t, a, c) + at(t, b, c));
    com[t * 3 + c] = s / M;
  }
  const toes = [idx('left_toe'), idx('right_toe')];
  const H = 2;
  const r: number[] = [];
  for (let t = H; t < T - H; t++) {
    const a = [0, 1, 2].map((c) => (com[(t + H) * 3 + c] - 2 * com[t * 3 + c] + com[(t - H) * 3 + c]) / (H * dt) ** 2);
    if (!a.every(Number.isFinite)) continue;
    const pts = [0, 1].filter((k) => still(k, t)).flatMap((k) => [ankles[k], toes[k]].filter((j) => j >= 0 && Number.isFinite(at(t, j, 0))));
    if (!pts.length) continue;
    const ground = Math.min(...pts.map((j) => at(t, j, 2)));
    const h = com[t * 3 + 2] - ground;
    const need = (Math.hypot(a[0], a[1]) * h) / Math.max(0.1 * G, G + a[2]);
    const reach = Math.max(...pts.map((j) => Math.hypot(at(t, j, 0) - com[t * 3], at(t, j, 1) - com[t * 3 + 1]))) + 0.1;
    r.push(need / reach);
  }
  if (r.length >= 5) out.balance = quantile(r, 0.95);
  return out;
}

export function gravityStudyMarkdown(clips: GravityClip[]): string {
  const f = (v: number | null, d = 2) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));
  const k = (v: number | null, bound: number) => (v === null || !(v > 0) ? '–' : `${Math.sqrt(bound / v).toFixed(2)}×`);
  const lines = [
    '| clip | verdict | rate check flags from | flight | landings | swings | walking Froude (95th) → label reaching 1 | pelvis fall, g → label reaching 1 g | balance (95th) → label reaching 1 |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of clips) {
    lines.push(`| ${c.clip} | ${c.verdict} | ${c.headroom === null ? '–' : `${c.headroom.toFixed(2)}×`} | ${f(c.flight)} | ${c.landings ?? '–'} | ${c.swings} | ${f(c.froude)} → ${k(c.froude, 1)} | ${f(c.fall_g)} → ${k(c.fall_g, 1)} | ${f(c.balance)} → ${k(c.balance, 1)} |`);
  }
  const over = clips.filter((c) => c.balance !== null && c.balance > 1).map((c) => `${c.clip} ${c.balance!.toFixed(2)}`);
  const none = clips.filter((c) => c.froude === null).map((c) => c.clip);
  lines.push('', `- No gravity figure (no ankles, or a pelvis that never moves): ${none.length} of ${clips.length} (${none.join(', ')}).`);
  lines.push(`- Clean clips already over the balance bound at their own rate: ${over.length} (${over.join(', ') || 'none'}).`);
  return lines.join('\n');
}
