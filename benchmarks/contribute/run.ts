/**
 * In-browser capture rate of the contributor page: Debian's chromium, headless, the page's file path on real
 * footage (the clips as they are, at their own frame rate: every frame captured once), body + both hands. Beside
 * it, in the same run, `reel2real capture` of the same frames in Node (one worker, TF.js wasm, run twice). Prints one JSON line per configuration and a Markdown table.
 *
 *   npx tsx benchmarks/contribute/run.ts [--frames 60]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { captureVideo } from '../../src/capture/capture.ts';
import { registerContributor } from '../../src/contribute/auth.ts';
import { startContribute } from '../../src/contribute/server.ts';
import { launch, reviewedTrack, tmpDir, y4mClip } from '../../test/contribute/helpers.ts';
import { shared } from '../../test/helpers/shared.ts';

const frames = Number(process.argv[process.argv.indexOf('--frames') + 1] || 60);
const dir = tmpDir('contribute-bench');
const key = Buffer.alloc(32, 1);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

// sports2d (1768×994, 30 fps, people walking, whole body) is scaled to 1280×720 for the 720p figures: every frame
// kept once (a re-encode, H.264 for the file path, raw y4m for the fake camera).
const SPORTS = shared('videos/sports2d_demo.mp4');
const clips = [
  { name: 'squats (720×1280, 5 fps, person + hands)', src: shared('videos/tfjs_pose_squats.mp4'), fps: 5, scale: false },
  { name: 'hand video (1280×720, 30 fps)', src: shared('videos/dex_retargeting_human_hand_video.mp4'), fps: 30, scale: false },
  { name: 'sports2d scaled to 1280×720 (30 fps, whole body)', src: SPORTS, fps: 30, scale: true },
];
const rows: string[] = [];
const server = await startContribute({ store: path.join(dir, 'store'), robot: shared('robots/unitree_h1/urdf/h1.urdf'), key, bind: '127.0.0.1:0' });
const token = registerContributor(path.join(dir, 'store'), 'bench', key).token;
// The fake camera: sports2d at 1280×720, its own 30 fps, 200 frames (6.7 s; chromium loops the file, so the
// recording below stays shorter than that: no frame is shown twice).
const camY4m = path.join(dir, 'cam.y4m');
execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', SPORTS, '-frames:v', '200', '-vf', 'scale=1280:720', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', camY4m]);
const browser = await launch(camY4m);
for (const c of clips) {
  const clip = path.join(dir, `clip-${path.basename(c.src)}`);
  if (c.scale) execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', c.src, '-frames:v', String(frames), '-vf', 'scale=1280:720', '-an', '-c:v', 'libx264', '-crf', '18', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', clip]);
  else execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', c.src, '-frames:v', String(frames), '-c', 'copy', clip]);
  // The file path twice: WebCodecs (decode every frame once, the page's default for H.264/VP9 MP4) and seeking
  // the <video> element to each frame (the fallback), each in a fresh page after an untimed 2-frame pass.
  const warm = path.join(dir, `warm-${path.basename(c.src)}`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', clip, '-frames:v', '2', '-c', 'copy', warm]);
  const browserLines: Record<string, unknown>[] = [];
  for (const decoder of ['webcodecs', 'seek']) {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (/^file \(/.test(m.text())) console.log(`  page: ${m.text()}`);
    });
    // A fixed-camera task that needs both hands: the page tracks the body and both hands (a head-mounted task
    // would track the hands only).
    await page.goto(`${server.url}?task=wash-dishes${decoder === 'seek' ? '&decoder=seek' : ''}#token=${token}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 300_000 });
    await page.setInputFiles('#file', warm);
    await page.waitForSelector('#review:not([hidden])', { timeout: 600_000 });
    await page.evaluate(() => document.getElementById('review')!.setAttribute('hidden', ''));
    const loadStart = `${load()}`;
    const t0 = performance.now();
    await page.setInputFiles('#file', clip);
    await page.waitForSelector('#review:not([hidden])', { timeout: 1_800_000 });
    const wall = (performance.now() - t0) / 1000;
    const { track } = await reviewedTrack(page);
    const capture = track.meta!.capture as { model_seconds: number; fps_achieved: number; threads: boolean; simd: boolean; models: Record<string, string>; detection_rates: Record<string, number> };
    if (!capture.models.body) throw new Error('the page did not track the body: the benchmark measures body + both hands');
    const T = track.timestamps.length;
    const line = { config: `browser page (${decoder}), ${c.name}`, decoder, frames: T, wall_s: +wall.toFixed(2), fps_wall: +(T / wall).toFixed(2), fps_models: capture.fps_achieved, model_s: capture.model_seconds, detection_rates: capture.detection_rates, threads: capture.threads, simd: capture.simd, load_start: loadStart, load_end: load() };
    console.log(JSON.stringify(line));
    browserLines.push(line);
    await page.close();
  }
  const node: Record<string, unknown>[] = [];
  // Twice on wasm: the runtime is chosen once per process, so a second backend would need a second process.
  for (const backend of ['wasm', 'wasm'] as const) {
    const u0 = process.cpuUsage();
    const l0 = load();
    const n = await captureVideo(clip, { workers: 1, backend });
    const u = process.cpuUsage(u0);
    const line = { config: `reel2real capture (1 worker, ${n.summary.backend}), ${c.name}`, frames: n.timestamps.length, wall_s: +n.summary.seconds.toFixed(2), fps: +n.summary.fps.toFixed(2), cpu_ms_per_frame_this_process: +((u.user + u.system) / 1000 / n.timestamps.length).toFixed(0), load_start: l0, load_end: load() };
    console.log(JSON.stringify(line));
    node.push(line);
  }
  for (const b of browserLines) rows.push(`| ${c.name} | ${b.frames} | ${b.decoder} | ${b.fps_models} | ${b.fps_wall} | ${node.map((x) => `${x.fps}`).join(' / ')} | ${b.load_start} → ${b.load_end} |`);
}

// The camera path (what a contributor recording live gets): the trackers take the newest camera frame whenever
// they are free, so the rate is frames tracked per second of recording (at most the camera's 30 fps).
const camRows: string[] = [];
{
  const page = await browser.newPage();
  // A fixed-camera task that needs both hands: the page tracks the body and both hands (a head-mounted task
  // would track the hands only).
  await page.goto(`${server.url}?task=wash-dishes#token=${token}`);
  page.on('console', (m) => {
    if (/^file \(/.test(m.text())) console.log(`  page: ${m.text()}`);
  });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 300_000 });
  await page.click('#useCamera');
  await page.waitForSelector('#record:not([disabled])', { timeout: 300_000 });
  await page.waitForTimeout(1500); // models warm on the preview
  const l0 = load();
  const t0 = performance.now();
  await page.click('#record');
  await page.waitForTimeout(5000);
  await page.click('#record');
  const wall = (performance.now() - t0) / 1000;
  await page.waitForSelector('#review:not([hidden])', { timeout: 300_000 });
  const { track } = await reviewedTrack(page);
  const capture = track.meta!.capture as { model_seconds: number; fps_achieved: number; threads: boolean; simd: boolean; models: Record<string, string> };
  if (!capture.models.body) throw new Error('the page did not track the body: the benchmark measures body + both hands');
  const T = track.timestamps.length;
  const span = track.timestamps[T - 1] - track.timestamps[0];
  const line = { config: 'browser page, camera (fake device: sports2d 1280×720 at 30 fps)', frames: T, recording_s: +span.toFixed(2), wall_s: +wall.toFixed(2), fps_recorded: +((T - 1) / span).toFixed(2), fps_models: capture.fps_achieved, model_s: capture.model_seconds, body_rate: (track.meta!.capture as any).detection_rates, threads: capture.threads, simd: capture.simd, load_start: l0, load_end: load() };
  console.log(JSON.stringify(line));
  camRows.push(`| camera, sports2d 1280×720 at 30 fps | ${T} in ${span.toFixed(2)} s | ${line.fps_recorded} | ${line.fps_models} | ${l0} → ${line.load_end} |`);
  await page.close();
}
await browser.close();
await server.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log('\n| clip | frames | page decoder | browser fps (models) | browser fps (whole file path: decode, copy, models, overlay, checks) | Node capture fps wasm, 1st / 2nd run | load (1, 5, 15 min) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\n| camera path | frames tracked | fps (frames tracked / recording time) | fps (models) | load (1, 5, 15 min) |');
console.log('|---|---|---|---|---|');
for (const r of camRows) console.log(r);
