/**
 * The viewer in a real headless Chromium (Debian's chromium driven by playwright-core): the page loads,
 * the robot is drawn, scrubbing moves it, clicking a marked frame on a timeline jumps there.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
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
    // Mark a validation event at frame 60 so the lane has something to click.
    const ep = source.get('motion');
    ep.validation = { feasible: false, events: [{ frame: 60, kind: 'velocity_limit', detail: 'left_shoulder_pitch_joint' }] };
    const server = await startViewer(source, { port: 0 });
    servers.push(server);
    const page = await open(server.url);
    const st = await page.evaluate(() => ({ ...(window as any).__viewer, linkPosition: undefined, setFrame: undefined }));
    expect(st.robotLoaded).toBe(true);
    expect(st.robotMeshes).toBeGreaterThan(20); // one per primitive visual (and collision) of the humanoid
    expect(st.frames).toBe(90);
    expect(st.markers.validation).toBe(1);

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
    expect(await page.locator('#info').textContent()).toContain('velocity_limit');
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
