/**
 * End to end, through the real CLI: two CMU clips and the built-in motion cropped to 2.5 s, on Unitree H1
 * (its primitive collision shapes simulate about twice as fast as the project's humanoid here: 4.7 s vs
 * 10 s for 3 s of motion, assisted mode), real simulation validation, a few degradations. Checks the
 * report files and that the gate's jitter metric rises with the noise strength.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeShared, shared, PROJECT_ROOT } from '../helpers/shared.ts';
import { runCli } from '../helpers/cli.ts';

const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const CLIPS = ['motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh', 'motions/cmu_small_gods_game/cmu_141_16_wave_hello.bvh'];
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

describeShared('bench quality end to end', [...CLIPS, H1], () => {
  it('writes report.html and report.json with rows, statistics and a monotone noise dose-response', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-bench-'));
    dirs.push(out);
    const r = runCli(['bench', 'quality', ...CLIPS.map(shared), 'builtin:pick-and-place', '--robot', shared(H1), '--out', out,
      '--max-seconds', '2.5', '--mode', 'assisted', '--levels', 'noise=10,40', 'spikes=', 'drop=0.3', 'occlusion=', 'fps=', '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.html).toBe(path.join(out, 'report.html'));

    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(rep.kind).toBe('reel2real-bench-quality');
    expect(rep.robots).toHaveLength(1);
    const R = rep.robots[0];
    expect(R.robot.name).toBe('h1_description');
    const clean = R.rows.filter((x: any) => x.degradation === 'none');
    expect(clean.map((x: any) => x.clip).sort()).toEqual(['builtin:pick-and-place', 'cmu_141_16_wave_hello.bvh', 'cmu_62_07_hammering_a_nail.bvh']);
    for (const row of clean) expect(row.duration_s).toBeLessThanOrEqual(2.5001);
    // Each clip that passed clean is degraded 2 (noise) + 1 (drop) times.
    const passed = clean.filter((x: any) => x.verdict === 'pass').length;
    expect(passed).toBeGreaterThan(0);
    expect(R.rows.length).toBe(clean.length + 3 * passed);
    for (const row of R.rows) {
      expect(typeof row.success).toBe('boolean');
      expect(['pass', 'flag', 'reject']).toContain(row.verdict);
      if (row.failed_stage !== 'retarget') {
        expect(row.figures['assisted.residual_force_mean_weight']).toBeGreaterThanOrEqual(0); // the simulator's figures
        expect(row.success).toBe(row.failed_checks.length === 0 || !row.outcome_reasons.some((m: string) => !m.startsWith('(soft)')));
      }
    }

    const A = R.analysis;
    expect(A.n).toBe(R.rows.length);
    expect(A.successes + A.failures).toBe(A.n);
    const keys = A.predictors.map((p: any) => p.key);
    for (const k of ['jitter.noise_mm', 'bones.cv', 'timing.dropped_rate', 'presence.rate', 'gate.verdict']) expect(keys).toContain(k);
    for (const p of A.predictors) {
      for (const v of [p.auroc_failure, p.auroc_failure_within_duration_tercile]) if (v !== null) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(1); }
      for (const v of [p.spearman_success, p.partial_spearman_success_given_duration]) if (v !== null) { expect(Math.abs(v)).toBeLessThanOrEqual(1); }
    }
    expect(A.gate_confusion.map((g: any) => g.rule)).toEqual(['flag_or_reject', 'reject']);
    const g = A.gate_confusion[0];
    expect(g.true_positive + g.false_positive + g.true_negative + g.false_negative).toBe(A.n);

    // Dose-response: noise strengths in order, the jitter metric strictly rising with them.
    const noise = A.dose_response.find((d: any) => d.degradation === 'noise');
    expect(noise.levels.map((l: any) => l.level)).toEqual([0, 10, 40]);
    const jit = noise.levels.map((l: any) => l.metrics['jitter.noise_mm']);
    for (let i = 1; i < jit.length; i++) expect(jit[i]).toBeGreaterThan(jit[i - 1]);
    expect(jit[2]).toBeGreaterThan(30);
    expect(noise.levels.every((l: any) => l.n === passed)).toBe(true);
    const drop = A.dose_response.find((d: any) => d.degradation === 'drop');
    expect(drop.levels[1].metrics['timing.dropped_rate']).toBeGreaterThan(0.2);
    expect(A.dose_response.find((d: any) => d.degradation === 'spikes')).toBeUndefined();

    // HTML: self-contained, with plots and the table.
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThan(15);
    expect(html).toContain('AUROC');
    expect(html).toContain('Dose-response');
    expect(html).not.toMatch(/<script|<link |src="|href="http/);
  }, 150_000);
});

it('bench quality: a missing clip is a one-line error naming it, and nothing is written', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-bench-'));
  dirs.push(out);
  const robot = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');
  const r = runCli(['bench', 'quality', '/nonexistent/clip.bvh', '--robot', robot, '--out', path.join(out, 'rep')]);
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe('reel2real: /nonexistent/clip.bvh: no such file or directory');
  expect(fs.existsSync(path.join(out, 'rep'))).toBe(false);
  const bad = runCli(['bench', 'quality', 'builtin:pick-and-place', '--robot', robot, '--out', out, '--levels', 'blur=3']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^reel2real: --levels 'blur=3'/);
});
