/**
 * In-browser capture rate of the contributor page: Debian's chromium, headless, body + both hands (the page opened
 * with a fixed-camera task that needs both hands), on real footage at its own frame rate (every frame captured
 * once, never a repeated frame). Per clip and page:
 *   - whole page from page start: a fresh page opened, the file chosen at once (the models load then), frames /
 *     seconds from opening the page to the review;
 *   - steady state: the same footage chosen again in that page (models loaded), frames / seconds from choosing the
 *     file to the review (decode, pixel copies, models, overlay, checks);
 *   - the camera path: Chromium's fake camera fed with sports2d at 1280×720 and 30 fps, recording 5 s after a
 *     1.5 s warm preview; frames tracked / seconds recorded.
 * With `--baseline DIR` (a checkout of another version of the project, with node_modules) its page runs beside
 * this one, alternating, in the same browser and minutes: an A/B. Prints one JSON line per run and a Markdown table.
 *
 *   npx tsx benchmarks/contribute/run.ts [--frames 60] [--rounds 2] [--baseline DIR] [--query hand-model=lite]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, reviewedTrack, tmpDir } from '../../test/contribute/helpers.ts';
import { shared } from '../../test/helpers/shared.ts';

const arg = (name: string, dflt: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const frames = Number(arg('--frames', '60'));
const rounds = Number(arg('--rounds', '2'));
const baseline = arg('--baseline', '');
/** Extra query for this checkout's page (e.g. `hand-model=lite`). */
const query = arg('--query', '');
const dir = tmpDir('contribute-bench');
const key = Buffer.alloc(32, 1);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * CPU seconds used so far by this process's children and their descendants (the browser's processes: playwright
 * starts chromium as a child of this one), from /proc: a figure that does not depend on how busy the machine is.
 */
function browserCpu(): number {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      cpu.set(Number(d), (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0;
  for (const [pid, c] of cpu) {
    for (let p = parent.get(pid); p; p = parent.get(p)) {
      if (p === process.pid) {
        sum += c;
        break;
      }
    }
  }
  return sum;
}

// sports2d (1768×994, 30 fps, people walking, whole body) is scaled to 1280×720 for the 720p figures: every frame
// kept once (a re-encode: H.264 for the file path, raw y4m for the fake camera).
const SPORTS = shared('videos/sports2d_demo.mp4');
const clips = [
  { name: 'sports2d 1280×720 30 fps (whole body, walking)', src: SPORTS, scale: true },
  { name: 'hand video 1280×720 30 fps (hands, no body in view)', src: shared('videos/dex_retargeting_human_hand_video.mp4'), scale: false },
  { name: 'squats 720×1280 5 fps (person + hands)', src: shared('videos/tfjs_pose_squats.mp4'), scale: false },
];

/** A contribute server of the project checkout at `root` (its own page bundle), with one contributor. */
async function serve(root: string, label: string, extra = '') {
  const { startContribute } = await import(path.join(root, 'src/contribute/server.ts'));
  const { registerContributor } = await import(path.join(root, 'src/contribute/auth.ts'));
  const store = path.join(dir, `store-${label}`);
  const server = await startContribute({ store, robot: shared('robots/unitree_h1/urdf/h1.urdf'), key, bind: '127.0.0.1:0' });
  const token = registerContributor(store, 'bench', key).token as string;
  let commit = '';
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    commit = '(not a git checkout)';
  }
  return { label, root, commit, server, url: `${server.url}?task=wash-dishes${extra ? `&${extra}` : ''}`, token };
}

const pages = [await serve(here, query ? `this, ${query}` : 'this', query)];
if (baseline) pages.unshift(await serve(path.resolve(baseline), 'baseline'));
for (const p of pages) console.log(`page "${p.label}": ${p.root} at ${p.commit}`);

const camY4m = path.join(dir, 'cam.y4m');
execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', SPORTS, '-frames:v', '200', '-vf', 'scale=1280:720', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', camY4m]);
const browser = await launch(camY4m);

interface Line { page: string; clip: string; round: number; [k: string]: unknown }
const lines: Line[] = [];
const out = (l: Line) => {
  lines.push(l);
  console.log(JSON.stringify(l));
};

for (let round = 1; round <= rounds; round++) {
  for (const c of clips) {
    const clip = path.join(dir, `clip-${path.basename(c.src)}`);
    if (!fs.existsSync(clip)) {
      if (c.scale) execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', c.src, '-frames:v', String(frames), '-vf', 'scale=1280:720', '-an', '-c:v', 'libx264', '-crf', '18', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', clip]);
      else execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', c.src, '-frames:v', String(frames), '-an', '-c', 'copy', clip]);
      // The same footage under a second name, for the steady-state run (an older page ignores the same file chosen twice).
      fs.copyFileSync(clip, clip.replace(/\.mp4$/, '-again.mp4'));
    }
    for (const p of round % 2 ? pages : [...pages].reverse()) {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (/^file \(/.test(m.text())) console.log(`  ${p.label} page: ${m.text()}`);
      });
      const l0 = load();
      const t0 = performance.now();
      await page.goto(`${p.url}#token=${p.token}`);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 300_000 });
      await page.setInputFiles('#file', clip);
      await page.waitForSelector('#review:not([hidden])', { timeout: 1_800_000 });
      const whole = (performance.now() - t0) / 1000;
      const first = (await reviewedTrack(page)).track;
      const l1 = load();
      await page.evaluate(() => document.getElementById('review')!.setAttribute('hidden', ''));
      const c1 = browserCpu();
      const t1 = performance.now();
      await page.setInputFiles('#file', clip.replace(/\.mp4$/, '-again.mp4'));
      await page.waitForSelector('#review:not([hidden])', { timeout: 1_800_000 });
      const steady = (performance.now() - t1) / 1000;
      const cpuSteady = browserCpu() - c1;
      const { track } = await reviewedTrack(page);
      const cap = track.meta!.capture as { models: Record<string, string>; frame_source: string; workers?: number; detection_rates: Record<string, number> };
      if (!cap.models.body) throw new Error('the page did not track the body: the benchmark measures body + both hands');
      const T = track.timestamps.length;
      if (first.timestamps.length !== T) throw new Error(`${c.name}: ${first.timestamps.length} then ${T} frames`);
      out({
        page: p.label, clip: c.name, round, frames: T, frame_source: cap.frame_source, workers: cap.workers ?? 0, hand_model: cap.models.hand,
        whole_from_page_start_s: +whole.toFixed(2), fps_whole_from_page_start: +(T / whole).toFixed(2),
        steady_s: +steady.toFixed(2), fps_steady: +(T / steady).toFixed(2), browser_cpu_ms_per_frame_steady: Math.round((1000 * cpuSteady) / T), detection_rates: cap.detection_rates,
        load_start: l0, load_mid: l1, load_end: load(),
      });
      await page.close();
    }
  }
  // The camera path (what a contributor recording live gets): frames tracked per second of recording.
  for (const p of round % 2 ? pages : [...pages].reverse()) {
    const page = await browser.newPage();
    await page.goto(`${p.url}#token=${p.token}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 300_000 });
    await page.click('#useCamera');
    await page.waitForSelector('#record:not([disabled])', { timeout: 300_000 });
    await page.waitForTimeout(1500); // models warm on the preview
    const l0 = load();
    const c0 = browserCpu();
    await page.click('#record');
    await page.waitForTimeout(5000);
    await page.click('#record');
    const cpuRec = browserCpu() - c0;
    await page.waitForSelector('#review:not([hidden])', { timeout: 300_000 });
    const { track } = await reviewedTrack(page);
    const cap = track.meta!.capture as { models: Record<string, string>; workers?: number; detection_rates: Record<string, number> };
    if (!cap.models.body) throw new Error('the page did not track the body: the benchmark measures body + both hands');
    const T = track.timestamps.length;
    const span = track.timestamps[T - 1] - track.timestamps[0];
    out({ page: p.label, clip: 'camera: fake device, sports2d 1280×720 at 30 fps', round, frames: T, workers: cap.workers ?? 0, recording_s: +span.toFixed(2), fps_camera: +((T - 1) / span).toFixed(2), browser_cpu_s_while_recording: +cpuRec.toFixed(2), detection_rates: cap.detection_rates, load_start: l0, load_end: load() });
    await page.close();
  }
}
await browser.close();
for (const p of pages) await p.server.close();
fs.rmSync(dir, { recursive: true, force: true });

console.log(`\nPages: ${pages.map((p) => `${p.label} = ${p.commit}`).join(', ')}\n`);
console.log('| clip | page | round | frames | frames read by | fps whole, from page start | fps steady (file chosen again) | browser CPU ms per frame (steady) | load (1, 5, 15 min) start → end |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const l of lines.filter((x) => 'fps_steady' in x)) console.log(`| ${l.clip} | ${l.page} | ${l.round} | ${l.frames} | ${l.frame_source}, ${(l.workers as number) >= 2 ? `${l.workers} workers` : 'page thread'} | ${l.fps_whole_from_page_start} (${l.whole_from_page_start_s} s) | **${l.fps_steady}** (${l.steady_s} s) | ${l.browser_cpu_ms_per_frame_steady} | ${l.load_start} → ${l.load_end} |`);
console.log('\n| camera path | page | round | frames tracked | fps (frames tracked / recording time) | browser CPU s while recording 5 s | load start → end |');
console.log('|---|---|---|---|---|---|---|');
for (const l of lines.filter((x) => 'fps_camera' in x)) console.log(`| ${l.clip} | ${l.page} | ${l.round} | ${l.frames} in ${l.recording_s} s | **${l.fps_camera}** | ${l.browser_cpu_s_while_recording} | ${l.load_start} → ${l.load_end} |`);
