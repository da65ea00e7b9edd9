/** The bench report in a real Chromium 1400 px wide: no table runs off the page (wide ones scroll inside their box). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { analyze, renderHtml, type BenchRow, type BenchRun } from '../../src/bench/index.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

// Six continuous validation figures (as a real run has) and long metric names: the widest main table.
const FIGS = ['assisted.residual_force_mean_weight', 'assisted.residual_force_max_weight', 'torque.max_ratio_to_effort', 'unassisted.tracking_error_rad', 'zmp.max_outside_support_m', 'foot_skating.max_speed_m_s'];
function row(clip: string, level: number, x: number, success: boolean): BenchRow {
  return {
    clip, degradation: level ? 'noise' : 'none', level, frames: 90, duration_s: 3, verdict: success ? 'pass' : 'reject', reason_codes: success ? [] : ['jitter.high'],
    metrics: { 'jitter.noise_mm': x, 'presence.rate': 1 - x / 100, 'bones.length_cv_max_over_segments': x / 10, 'framing.subject_height_fraction_median': 0.5 },
    success, failed_stage: success ? null : 'validate', figures: Object.fromEntries(FIGS.map((f, i) => [f, x * (i + 1)])), outcome_reasons: [], failed_checks: success ? [] : ['torque', 'zmp'], seconds: 1,
  };
}

describe.skipIf(!CHROMIUM)('bench report layout in Chromium', () => {
  it('at 1400 px every table stays inside the page; a wider one scrolls in its own box', async () => {
    const rows: BenchRow[] = [];
    for (const [k, c] of ['a', 'b', 'c', 'd'].entries()) for (const lv of [0, 10, 30, 60]) rows.push(row(c, lv, lv + k, lv < 30));
    const run: BenchRun = {
      robot: { name: 'unitree_h1', file: null, urdf_sha256: 'x' }, rows, skipped: [],
      levels: { noise: [10, 30, 60], spikes: [], drop: [], occlusion: [], fps: [] }, seed: 1, fps: 30, max_seconds: 3, seconds: 1,
    };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-bench-')), 'report.html');
    fs.writeFileSync(file, renderHtml([{ run, analysis: analyze(run) }], { command: 'reel2real bench quality' }));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`file://${file}`);
      const tables = await page.$$eval('table', (ts) => ts.map((t) => {
        const r = t.getBoundingClientRect();
        return { right: r.right, scroll: t.scrollWidth, client: t.clientWidth, overflow: getComputedStyle(t).overflowX };
      }));
      expect(tables.length).toBeGreaterThan(3);
      for (const t of tables) {
        expect(t.right).toBeLessThanOrEqual(1400);
        // Whatever does not fit can be scrolled to, inside the table's box.
        if (t.scroll > t.client) expect(t.overflow).toBe('auto');
      }
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1400);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
