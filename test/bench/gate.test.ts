import { expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { benchGate, gateDoseResponse, gateMarkdown, listCorpus } from '../../src/bench/index.ts';

const WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';

describeShared('bench: the gate dose-response without simulation', [WALK], () => {
  it('counts each degradation as caught by its intended check, and lists the clips it misses', async () => {
    const clips = listCorpus([shared(WALK)]);
    const run = await benchGate(clips, { maxSeconds: 4, fps: 30, levels: { noise: [], drop: [], fps: [1.25, 2], spikes: [0.05], occlusion: [0.3, 0.8] } });
    expect(run.rows.map((r) => `${r.degradation}=${r.level}:${r.verdict}`)).toEqual([
      'none=0:pass', 'spikes=0.05:reject', 'occlusion=0.3:pass', 'occlusion=0.8:flag', 'fps=1.25:pass', 'fps=2:reject',
    ]);
    const dose = Object.fromEntries(gateDoseResponse(run).map((d) => [d.degradation, d]));
    expect(dose.fps.levels).toMatchObject([{ level: 1.25, n: 1, intended: 0, missed: [clips[0].id] }, { level: 2, n: 1, intended: 1, intended_rejected: 1, missed: [] }]);
    expect(dose.spikes.levels[0]).toMatchObject({ intended: 1, intended_rejected: 1 });
    expect(dose.occlusion.levels.map((l) => l.intended)).toEqual([0, 1]);
    expect(dose.noise.levels).toEqual([]);
    const md = gateMarkdown(run);
    expect(md).toContain('| fps (speed-up factor (wrong fps label)) | `plausibility.too_fast` | 2 | 1 | 1/1 (100 %) | 1/1 (100 %) |');
    expect(md).toContain('Clean clips with a reason from the new checks: 0 of 1');
    // The clean walk's headroom says which labels the rate check can see: above 1.25× (passed), below 2× (rejected).
    const h = run.rows[0].rate_headroom!;
    expect(h).toBeGreaterThan(1.25);
    expect(h).toBeLessThan(2);
    expect(md).toContain(`| ${clips[0].id} | 120 | pass |  | ${h.toFixed(2)}× |`);
    expect(md).toContain('too slow for the rate check to flag a 1.5× label (headroom ≥ 1.5×): 0.');
  });

  it('bench quality --gate-only needs no robot and writes gate.md and gate.json', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-gate-'));
    try {
      const r = runCli(['bench', 'quality', shared(WALK), '--gate-only', '--out', out, '--max-seconds', '4', '--levels', 'noise=', 'drop=', 'spikes=', 'occlusion=', 'fps=2']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('| `plausibility.too_fast` | 2 | 1 | 1/1 (100 %) | 1/1 (100 %) |');
      expect(fs.readFileSync(path.join(out, 'gate.md'), 'utf8')).toBe(r.stdout);
      const run = JSON.parse(fs.readFileSync(path.join(out, 'gate.json'), 'utf8'));
      expect(run.rows.map((x: { verdict: string }) => x.verdict)).toEqual(['pass', 'reject']);
      expect(runCli(['bench', 'quality', shared(WALK), '--out', out]).stderr.trim()).toMatch(/--robot/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
