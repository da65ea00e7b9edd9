/**
 * The viewer in a real headless Chromium (Debian's chromium driven by playwright-core): the page loads,
 * the robot is drawn, scrubbing moves it, clicking a marked frame on a timeline jumps there, marks read in
 * words with failures apart from warnings, and a kept video sits beside the 3-D view and follows the slider.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { saveMotion, type RobotMotion } from '../../src/robot/motion.ts';
import { saveTrack } from '../../src/pose/track.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { motionFileSource, startViewer, type ViewerServer } from '../../src/viewer/server.ts';
import { PROJECT_ROOT, sharedPath } from '../helpers/shared.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM) console.warn('[skip] viewer: no Debian chromium at /usr/bin/chromium (apt-get install chromium)');

const HUMANOID = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');

/** A 3 s motion: the left arm swings, and the human track is the robot's own link positions. */
function makeMotion(urdf: string, dir: string) {
  const robot = loadUrdf(urdf);
  const kin = new Kinematics(robot);
  const T = 90;
  const fps = 30;
  const q = new Float32Array(T * kin.nq);
  const rootPos = new Float32Array(T * 3);
  const rootQuat = new Float32Array(T * 4);
  const timestamps = new Float64Array(T);
  const sh = kin.dofIndex(kin.dofNames.find((n) => /left_shoulder_pitch/.test(n))!);
  const names = kin.linkNames.slice(0, 12);
  const positions = new Float32Array(T * names.length * 3);
  for (let t = 0; t < T; t++) {
    timestamps[t] = t / fps;
    q[t * kin.nq + sh] = -1.2 * Math.sin((Math.PI * t) / (T - 1));
    rootPos.set([0, 0, 0.8], 3 * t);
    rootQuat.set([1, 0, 0, 0], 4 * t);
    kin.fk(q.subarray(t * kin.nq, (t + 1) * kin.nq), { pos: [0, 0, 0.8], quat: [1, 0, 0, 0] });
    names.forEach((n, j) => kin.pointWorld(kin.linkIndex(n), null, positions, (t * names.length + j) * 3));
  }
  const motion: RobotMotion = {
    q, rootPos, rootQuat, timestamps, fps, jointNames: kin.dofNames, rootLink: robot.rootLink,
    robot: { name: robot.name, urdf_sha256: robot.sha256, urdf },
  };
  const mfile = path.join(dir, 'motion.npz');
  saveMotion(mfile, motion);
  const parents = names.map((n) => { const p = kin.linkParent[kin.linkIndex(n)]; return p < 0 ? -1 : names.indexOf(kin.linkNames[p]); });
  const tfile = path.join(dir, 'track.npz');
  saveTrack(tfile, { positions, confidence: new Float32Array(T * names.length).fill(1), timestamps, jointNames: names, parents, fps, source: { format: 'synthetic' } });
  return { mfile, tfile, sh };
}

describe.skipIf(!CHROMIUM)('viewer in headless Chromium', () => {
  let browser: Browser;
  const servers: ViewerServer[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
  });

  async function open(url: string) {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => (window as any).__viewer?.ready || (window as any).__viewer?.error, null, { timeout: 60_000 });
    const err = await page.evaluate(() => (window as any).__viewer.error);
    expect(err).toBeNull();
    expect(errors).toEqual([]);
    return page;
  }

  it('draws the robot and the human, scrubbing moves the robot, a timeline click jumps to the marked frame', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-view-'));
    const { mfile, tfile } = makeMotion(HUMANOID, dir);
    const source = motionFileSource(mfile, { track: tfile });
    // Mark a hard validation event at frame 60 so the lane has something to click, a soft one at 20, and a
    // quality mask (with its union 'any', which is not drawn) at 10.
    const ep = source.get('motion');
    ep.validation = {
      feasible: false,
      reasons: [{ kind: 'velocity_limit', hard: true, message: 'joint velocity above the URDF limit: left_shoulder_pitch_joint' },
        { kind: 'foot_skating', hard: false, message: 'foot skating: a stance foot slides at up to 0.9 m/s' }],
      events: [{ frame: 20, kind: 'foot_skating', detail: 'left foot 0.9 m/s' }, { frame: 60, kind: 'velocity_limit', detail: 'left_shoulder_pitch_joint' }],
    };
    const mask = new Uint8Array(90); mask[10] = 1;
    ep.masks = { jitter: mask, any: mask };
    const server = await startViewer(source, { port: 0 });
    servers.push(server);
    const page = await open(server.url);
    const st = await page.evaluate(() => ({ ...(window as any).__viewer, linkPosition: undefined, setFrame: undefined }));
    expect(st.robotLoaded).toBe(true);
    expect(st.robotMeshes).toBeGreaterThan(20); // one per primitive visual (and collision) of the humanoid
    expect(st.frames).toBe(90);
    expect(st.markers.validation).toBe(2);
    expect(st.markers.quality).toBe(1);

    // The picture is not blank: the robot and the human differ from the background.
    const png = await page.locator('#scene canvas').screenshot();
    expect(png.length).toBeGreaterThan(10_000);

    const hand0 = await page.evaluate(() => (window as any).__viewer.linkPosition('left_hand_link'));
    await page.locator('#scrub').fill('45');
    const f = await page.evaluate(() => (window as any).__viewer.frame);
    expect(f).toBe(45);
    const hand45 = await page.evaluate(() => (window as any).__viewer.linkPosition('left_hand_link'));
    // The arm swung forward by 1.2 rad: the hand moved by tens of centimetres.
    expect(Math.hypot(hand45[0] - hand0[0], hand45[1] - hand0[1], hand45[2] - hand0[2])).toBeGreaterThan(0.2);

    // Click on the validation lane near the marked frame: the viewer jumps to it and shows why.
    const lane = page.locator('#lane-validation');
    const box = (await lane.boundingBox())!;
    await page.mouse.click(box.x + (box.width * 61) / 89, box.y + box.height / 2);
    expect(await page.evaluate(() => (window as any).__viewer.frame)).toBe(60);
    const info60 = page.locator('#info span');
    expect(await info60.count()).toBe(1);
    expect(await info60.textContent()).toBe('validation failure: joint velocity above the URDF limit — left_shoulder_pitch_joint');
    expect(await info60.getAttribute('class')).toBe('failure');
    // A soft reason is a warning, in another colour than a failure.
    await page.evaluate(() => (window as any).__viewer.setFrame(20));
    expect(await page.locator('#info span').textContent()).toBe('validation warning: foot skating — left foot 0.9 m/s');
    const colour = (sel: string) => page.locator(sel).evaluate((e) => getComputedStyle(e).color);
    const warn = await colour('#info span.warning');
    await page.evaluate(() => (window as any).__viewer.setFrame(60));
    expect(await colour('#info span.failure')).not.toBe(warn);
    // Quality masks read in words; their union 'any' is not shown.
    await page.evaluate(() => (window as any).__viewer.setFrame(10));
    expect(await page.locator('#info').textContent()).toBe('quality warning: keypoint jitter');
    await page.close();
  });

  it('the kept video is beside the 3-D view, not under it, and its currentTime follows the slider (HTTP ranges)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-view-'));
    const { mfile, tfile } = makeMotion(HUMANOID, dir);
    // A 3 s, 30 fps H.264 clip (as `run --keep-video` keeps), one keyframe per second: seeking must decode.
    const video = path.join(dir, 'kept.mp4');
    const ff = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30:duration=3',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '30', '-movflags', '+faststart', video], { encoding: 'utf8' });
    expect(ff.status, ff.stderr).toBe(0);
    const source = motionFileSource(mfile, { track: tfile });
    source.get('motion').video = video;
    const server = await startViewer(source, { port: 0 });
    servers.push(server);

    // The server answers ranges with their length, as a browser needs to seek.
    const size = fs.statSync(video).size;
    const videoUrl = new URL('api/episodes/motion/video', server.url).href;
    const whole = await fetch(videoUrl);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(size));
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect((await whole.arrayBuffer()).byteLength).toBe(size);
    const part = await fetch(videoUrl, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${size}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(fs.readFileSync(video).subarray(100, 200));
    const tail = await fetch(videoUrl, { headers: { range: 'bytes=-10' } });
    expect(tail.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expect((await fetch(videoUrl, { headers: { range: `bytes=${size}-` } })).status).toBe(416);

    const page = await open(server.url);
    await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).readyState >= 1, null, { timeout: 30_000 });
    // Beside, not covered: the canvas ends where the video begins, both visible.
    const canvas = (await page.locator('#scene canvas').boundingBox())!;
    const vbox = (await page.locator('#video').boundingBox())!;
    expect(vbox.width).toBeGreaterThan(200);
    expect(canvas.width).toBeGreaterThan(300);
    expect(canvas.x + canvas.width).toBeLessThanOrEqual(vbox.x + 0.5);
    const onTop = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.id, [vbox.x + vbox.width / 2, vbox.y + vbox.height / 2]);
    expect(onTop).toBe('video');

    const currentTimeAfter = async (frame: number) => {
      await page.locator('#scrub').fill(String(frame));
      await page.waitForFunction(() => { const v = document.getElementById('video') as HTMLVideoElement; return !v.seeking && v.readyState >= 2; }, null, { timeout: 30_000 });
      return page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).currentTime);
    };
    expect(await currentTimeAfter(45)).toBeCloseTo(1.5, 1);
    expect(await currentTimeAfter(80)).toBeCloseTo(80 / 30, 1);
    expect(await currentTimeAfter(10)).toBeCloseTo(10 / 30, 1);
    await page.close();
  });

  const g1 = sharedPath('robots/unitree_g1/g1_29dof_rev_1_0.urdf');
  it.skipIf(!g1)('loads a real robot with STL meshes (G1)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-view-'));
    const { mfile } = makeMotion(g1!, dir);
    const server = await startViewer(motionFileSource(mfile), { port: 0 });
    servers.push(server);
    const page = await open(server.url);
    const meshes = await page.evaluate(() => (window as any).__viewer.robotMeshes);
    expect(meshes).toBeGreaterThan(25);
    await page.close();
  });
});
