/**
 * A new user's path (issue 8): `reel2real run` on a real video from ../shared/data/videos with the G1 URDF,
 * then `reel2real view` of the store in a real headless Chromium. (`npm run demo` is in pipeline.test.ts.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { openStore } from '../../src/store/store.ts';
import { storeSource } from '../../src/viewer/store-source.ts';
import { startViewer } from '../../src/viewer/server.ts';
import { runCli } from '../helpers/cli.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { writeConsent } from '../helpers/consent.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const VIDEO = 'videos/tfjs_pose_squats.mp4';
const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';

describeShared('new user: run on a real video with the G1, then view it', [VIDEO, G1], () => {
  it('captures, gates, retargets, validates and stores the clip, then the viewer draws the G1 and scrubs', async (ctx) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-newuser-'));
    const manifest = path.join(dir, 'consent.json');
    // Bound to the video's sha256 and signed with the operator key the tests run with (vitest.config.ts).
    writeConsent(manifest, shared(VIDEO), {
      consent_id: 'c-squats', contributor: 'worker-1', consent_version: '1', scopes: ['robot-training'],
      granted: '2026-01-01', expires: '2030-01-01', withdrawn: null, retention_days: 365,
    });
    const store = path.join(dir, 'store');
    const r = runCli(['run', shared(VIDEO), '--robot', shared(G1), '--store', store, '--consent', manifest, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [res] = JSON.parse(r.stdout).results;
    expect(res.status).toBe('stored');
    expect(res.frames).toBe(65);
    expect(['pass', 'flag']).toContain(res.quality);
    // Every verdict comes with its reasons.
    if (res.feasible === false) expect(res.reasons.some((x: string) => x.startsWith('validation infeasible'))).toBe(true);
    const ep = openStore(store).get(res.id);
    expect(ep.motion!.robot.name).toBe('g1_29dof_rev_1_0');
    expect(ep.track!.meta?.video).toBeTruthy();

    if (!CHROMIUM) return ctx.skip('viewer part: no Debian chromium at /usr/bin/chromium (the pipeline checks above ran)');
    const server = await startViewer(storeSource(store, { robot: shared(G1) }), { port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      await page.goto(server.url);
      await page.waitForFunction(() => (window as any).__viewer?.ready || (window as any).__viewer?.error, null, { timeout: 90_000 });
      const st = await page.evaluate(() => { const v = (window as any).__viewer; return { error: v.error, robotMeshes: v.robotMeshes, frames: v.frames, markers: v.markers }; });
      expect(st.error).toBeNull();
      expect(st.robotMeshes).toBeGreaterThan(25);
      expect(st.frames).toBe(65);
      expect(st.markers.quality + st.markers.validation).toBeGreaterThan(0); // the flagged and infeasible frames are marked
      const knee0 = await page.evaluate(() => (window as any).__viewer.linkPosition('left_knee_link'));
      // Scrub to the deepest squat: the knee moves.
      const drop = await page.evaluate(() => {
        const v = (window as any).__viewer;
        let best = 0, at = 0;
        for (let f = 0; f < v.frames; f++) { v.setFrame(f); const p = v.linkPosition('pelvis'); if (f === 0 || p[2] < best) { best = p[2]; at = f; } }
        return at;
      });
      await page.locator('#scrub').fill(String(drop));
      const knee1 = await page.evaluate(() => (window as any).__viewer.linkPosition('left_knee_link'));
      expect(Math.hypot(knee1[0] - knee0[0], knee1[1] - knee0[1], knee1[2] - knee0[2])).toBeGreaterThan(0.05);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 600_000);
});
