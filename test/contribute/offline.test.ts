/**
 * Offline-first (issue 19, item 4) in Debian's chromium: after one visit the service worker has cached the page,
 * its script, the task scripts and consent text, the four models and TF.js's wasm. Then the server is stopped
 * (connections refused: a real outage, not an emulated one): the page still opens, captures a file on the
 * device, and keeps the upload in its outbox. When the server is back on the same address the upload is sent
 * once and the server answers it; sending again stores nothing twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { registerContributor } from '../../src/contribute/auth.ts';
import { startContribute, type ContributeServer } from '../../src/contribute/server.ts';
import { openStore } from '../../src/store/store.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { CHROMIUM, FFMPEG, launch, losslessClip, reviewedTrack, tmpDir } from './helpers.ts';

const SQUATS = 'videos/tfjs_pose_squats.mp4';
const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const ready = Boolean(CHROMIUM && FFMPEG);

describeShared('contributor page offline', [SQUATS, H1], () => describe.skipIf(!ready)('in headless chromium', () => {
  const key = Buffer.alloc(32, 0x6b);
  let dir = '';
  let store = '';
  let server: ContributeServer | null = null;
  let browser: Browser;
  let page: Page;
  let bind = '';
  let clip = '';
  const opts = () => ({ store, robot: shared(H1), key, bind, mode: 'assisted' as const });

  beforeAll(async () => {
    dir = tmpDir('contribute-offline');
    const tasks = path.join(dir, 'tasks');
    fs.mkdirSync(tasks);
    fs.writeFileSync(path.join(tasks, 'squats.yaml'), 'id: squats\ntitle: Squats\ninstructions: |\n  Stand facing the camera, whole body in frame, and do slow squats.\ncamera: fixed\nvisible: [full_body]\nduration_s: { min: 1, max: 60 }\nmotion:\n  hands: none\n');
    process.env.REEL2REAL_TASKS_DIR = tasks;
    clip = losslessClip(shared(SQUATS), path.join(dir, 'squats.mp4'), 12);
    store = path.join(dir, 'store');
    bind = '127.0.0.1:0';
    server = await startContribute(opts());
    bind = `127.0.0.1:${new URL(server.url).port}`; // the restarted server comes back on the same address
    const token = registerContributor(store, 'worker-offline', key).token;
    browser = await launch('/dev/null');
    page = await browser.newPage();
    await page.goto(`${server.url}?task=squats#token=${token}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    delete process.env.REEL2REAL_TASKS_DIR;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the first visit installs the service worker and caches what the page needs offline', async () => {
    // Installed (precache done) and controlling the page.
    await page.evaluate(`navigator.serviceWorker.ready`);
    await page.waitForFunction(`Boolean(navigator.serviceWorker.controller)`, null, { timeout: 60_000 });
    const cached: string[] = await page.evaluate(`(async () => {
      const out = [];
      for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname);
      return out.sort();
    })()`);
    for (const p of ['/', '/app.js', '/worker.js', '/api/tasks', '/api/consent', '/models/blazepose-full.bin', '/models/handlandmark-full.bin', '/vendor/tfjs-wasm/tfjs-backend-wasm-threaded-simd.wasm']) expect(cached).toContain(p);
    // Nothing signed or personal is cached.
    expect(cached.filter((p) => p.startsWith('/api/'))).toEqual(['/api/consent', '/api/tasks']);
  }, 120_000);

  it('with the server down: the page opens, captures on the device and keeps the upload', async () => {
    await server!.close();
    server = null;
    await expect(fetch(`http://${bind}/`)).rejects.toThrow(); // really unreachable
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120_000 });
    expect(await page.evaluate(`[...document.querySelectorAll('#taskSelect option')].map((o) => o.value)`)).toEqual(['squats']);
    expect(await page.locator('input[name=scope]').count()).toBeGreaterThan(1);
    await page.setInputFiles('#file', clip);
    await page.waitForSelector('#review:not([hidden])', { timeout: 300_000 });
    const { track } = await reviewedTrack(page);
    expect(track.timestamps.length).toBe(12);
    expect((track.meta!.capture as { detection_rates: { body: number } }).detection_rates.body).toBeGreaterThan(0.9);
    await page.check('input[name=scope][value=robot-training]');
    await page.click('#send');
    await page.waitForFunction(() => /Not sent yet/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 60_000 });
    // The outbox line follows from an IndexedDB read after the status line: wait for it.
    await page.waitForFunction(() => /1 upload\(s\) waiting/.test(document.getElementById('outboxInfo')!.textContent ?? ''), null, { timeout: 30_000 }).catch(() => undefined);
    expect(await page.textContent('#outboxInfo')).toContain('1 upload(s) waiting');
  }, 600_000);

  it('the server back: the kept upload is sent once and answered; a second send stores nothing twice', async () => {
    server = await startContribute(opts());
    await page.evaluate(`globalThis.reel2real.flushOutbox()`);
    await page.waitForSelector('#result p[data-status]', { timeout: 300_000 });
    const status = await page.getAttribute('#result p[data-status]', 'data-status');
    expect(status, (await page.textContent('#result')) ?? '').toBe('stored');
    expect(await page.textContent('#outboxInfo')).toBe('');
    expect(openStore(store).list()).toHaveLength(1);
    expect(fs.readdirSync(path.join(store, 'contribute', 'uploads'))).toHaveLength(1);
    await page.evaluate(`(async () => { const r = globalThis.reel2real.review(); await globalThis.reel2real.send(r.npz, r.report, r.contentId); })()`);
    await page.waitForFunction(() => /already received/.test(document.querySelector('#result p')?.textContent ?? ''), null, { timeout: 60_000 });
    expect(openStore(store).list()).toHaveLength(1);
  }, 600_000);
}));
