/**
 * Capture benchmark: end-to-end frames per second (decode included), CPU time per frame and peak memory for
 * body only, hands only and body + both hands, on 720p and 1080p clips derived from ../shared/data into a temp
 * dir; a single-thread run of the same clip as the baseline; and memory over time on a 10-minute clip.
 *
 *   npx tsx benchmarks/capture/run.ts [--quick] [--long-minutes 10] [--skip-long | --only-long]
 *                                     [--backends onnxruntime,wasm]
 *   Every configuration runs once per backend, back to back (same machine load), so ratios between backends
 *   are measured in the same run; onnxruntime also runs 1 worker with 2 intra-op threads (REEL2REAL_ORT_THREADS).
 *   (RSS_TRACE_FILE=path keeps the long run's memory trace on disk as it grows)
 *
 * Each configuration runs in a fresh child process (so peak RSS is its own); RSS is sampled every 200 ms and
 * includes the worker threads; ffmpeg's own CPU time is added from the child's reaped-children times.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const data = process.env.REEL2REAL_SHARED_DATA ?? path.resolve(root, '..', 'shared', 'data');

interface Result {
  label: string;
  clip: string;
  mode: string;
  workers: number;
  frames: number;
  seconds: number;
  fps: number;
  cpuMsPerFrame: number;
  ffmpegCpuMsPerFrame: number;
  peakRssMb: number;
  backend: string;
  rates: Record<string, number>;
  rerun?: number;
  rss?: [number, number, number][];
}

function clockTicks(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout.trim()) || 100;
}

/** utime+stime of reaped children (ffmpeg), seconds, from /proc/self/stat. */
function childCpu(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / clockTicks();
}

async function child(): Promise<void> {
  const [clip, mode, workers, label, traceRss] = process.argv.slice(3);
  const { captureVideo } = await import('../../src/capture/capture.ts');
  let peak = process.memoryUsage().rss;
  const trace: [number, number, number][] = [];
  let frames = 0;
  const t0 = performance.now();
  const timer = setInterval(() => {
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    if (traceRss === '1') {
      trace.push([Number(((performance.now() - t0) / 1000).toFixed(1)), frames, Math.round(rss / 1e6)]);
      // Keep the trace on disk as it grows, so a run stopped early still shows the memory over time.
      if (trace.length % 25 === 0 && process.env.RSS_TRACE_FILE) fs.writeFileSync(process.env.RSS_TRACE_FILE, JSON.stringify(trace));
    }
  }, 200);
  const cpu0 = process.cpuUsage();
  const cc0 = childCpu();
  const lite = mode.endsWith('-lite');
  const parts = mode.replace(/-lite$/, '');
  const track = await captureVideo(clip, {
    body: parts !== 'hands', hands: parts !== 'body', workers: Number(workers),
    ...(lite ? { bodyModel: 'lite' as const, handModel: 'lite' as const } : {}),
    onProgress: (p) => { frames = p.frames; },
  });
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const cpu = process.cpuUsage(cpu0);
  const s = track.summary;
  const out: Result = {
    label, clip: path.basename(clip), mode, workers: s.workers, frames: s.frames, seconds: s.seconds, fps: s.fps,
    cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / s.frames,
    ffmpegCpuMsPerFrame: ((childCpu() - cc0) * 1000) / s.frames,
    peakRssMb: Math.round(peak / 1e6), backend: `${s.backend}${s.simd ? '+simd' : ''}`, rates: s.rates,
    rerun: Number((track.meta?.capture as Record<string, unknown>)?.segments_rerun_for_identity ?? 0),
    ...(traceRss === '1' ? { rss: trace } : {}),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}

let backend = '';
let ortThreads = '1';

function runChild(clip: string, mode: string, workers: number, label: string, trace = false): Result {
  label = `${backend.padEnd(11)} ${label}${ortThreads !== '1' ? `, ${ortThreads} ORT threads` : ''}`;
  const env = { ...process.env, ...(backend ? { REEL2REAL_TF_BACKEND: backend } : {}), REEL2REAL_ORT_THREADS: ortThreads };
  const r = spawnSync(process.execPath, [path.join(here, 'boot.mjs'), '--child', clip, mode, String(workers), label, trace ? '1' : '0'], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`benchmark child failed (${label}): ${r.stderr.slice(-500)}`);
  const res = JSON.parse(line) as Result;
  console.log(`${label.padEnd(60)} ${res.frames} frames  ${res.fps.toFixed(1).padStart(5)} fps  cpu ${res.cpuMsPerFrame.toFixed(0)} ms/frame (+ffmpeg ${res.ffmpegCpuMsPerFrame.toFixed(1)})  peak RSS ${res.peakRssMb} MB  ${res.workers} worker(s)${res.rerun ? `, ${res.rerun} segment re-run` : ''}`);
  return res;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const skipLong = args.includes('--skip-long');
  const onlyLong = args.includes('--only-long');
  const longMin = Number(args[args.indexOf('--long-minutes') + 1]) || 10;
  const sports = path.join(data, 'videos', 'sports2d_demo.mp4');
  const hand = path.join(data, 'videos', 'dex_retargeting_human_hand_video.mp4');
  const squats = path.join(data, 'videos', 'tfjs_pose_squats.mp4');
  for (const f of [sports, hand, squats]) if (!fs.existsSync(f)) throw new Error(`missing ${f} (../shared/data)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reel2real-bench-'));
  const secs = quick ? '3' : '13';
  const clips = {
    // One person, full body, static camera: the squats clip (portrait 720×1280) resampled to 30 fps, and
    // upscaled to 1080×1920. Resampling repeats frames, but every frame still runs every model.
    person720: path.join(tmp, 'person_720p.mp4'),
    person1080: path.join(tmp, 'person_1080p.mp4'),
    // Two people (sports2d, 1768×994 scaled to 1280×720).
    people720: path.join(tmp, 'people_720p.mp4'),
    hand720: path.join(tmp, 'hand_720p.mp4'),
    hand1080: path.join(tmp, 'hand_1080p.mp4'),
  };
  console.log(`deriving clips in ${tmp} ...`);
  ffmpeg(['-i', squats, '-t', secs, '-vf', 'fps=30', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', clips.person720]);
  ffmpeg(['-i', squats, '-t', secs, '-vf', 'fps=30,scale=1080:1920', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', clips.person1080]);
  ffmpeg(['-i', sports, '-t', quick ? '3' : '7.7', '-an', '-vf', 'scale=1280:720', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', clips.people720]);
  ffmpeg(['-i', hand, '-t', quick ? '3' : '8', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', clips.hand720]);
  ffmpeg(['-i', hand, '-t', quick ? '3' : '8', '-vf', 'scale=1920:1080', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', clips.hand1080]);
  const cores = os.availableParallelism();
  const bi = args.indexOf('--backends');
  const backends = bi >= 0 ? args[bi + 1].split(',') : ['onnxruntime', 'wasm'];
  const results: Result[] = [];
  // Each configuration once per backend, back to back.
  const each = (f: () => Result) => {
    for (const b of backends) {
      backend = b;
      results.push(f());
    }
  };
  // Baseline: one thread, body + both hands, 720p, in the same run.
  if (!onlyLong) each(() => runChild(clips.person720, 'both', 1, 'baseline 720p body+hands 1 thread'));
  if (!onlyLong && backends.includes('onnxruntime')) {
    backend = 'onnxruntime';
    ortThreads = '2';
    results.push(runChild(clips.person720, 'both', 1, '720p body+hands 1 worker'));
    ortThreads = '1';
  }
  for (const [res, person, hands] of onlyLong ? [] : [['720p', clips.person720, clips.hand720], ['1080p', clips.person1080, clips.hand1080]] as const) {
    each(() => runChild(person, 'both', cores, `${res} body+hands`));
    each(() => runChild(person, 'body', cores, `${res} body`));
    each(() => runChild(hands, 'hands', cores, `${res} hands (hand video)`));
  }
  if (!onlyLong) {
    each(() => runChild(clips.person720, 'both-lite', cores, '720p body+hands, lite models'));
    each(() => runChild(clips.people720, 'both', cores, '720p body+hands, two people'));
  }
  backend = backends[0];
  let long: Result | null = null;
  if (!skipLong) {
    const longClip = path.join(tmp, 'long.mp4');
    // A 5 fps clip (the squats video looped) of the requested length: memory behaviour over a long file.
    ffmpeg(['-stream_loop', '-1', '-i', squats, '-t', String(longMin * 60), '-c', 'copy', longClip]);
    long = runChild(longClip, 'both', cores, `${longMin}-min clip body+hands`, true);
  }
  const out = { machine: { cpus: os.cpus()[0]?.model, cores, load: os.loadavg(), node: process.version, date: new Date().toISOString() }, results, long };
  fs.mkdirSync(path.join(here, 'tmp'), { recursive: true });
  const file = path.join(here, 'tmp', `results-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(out, null, 1));
  // Ratios between backends: each configuration against the last backend listed (wasm by default).
  if (backends.length > 1) {
    const ref = backends[backends.length - 1];
    const key = (r: Result) => r.label.slice(12);
    for (const r of results) {
      if (r.backend.startsWith(ref)) continue;
      const other = results.find((q) => q.backend.startsWith(ref) && key(q) === key(r));
      if (other) console.log(`${key(r).padEnd(48)} ${r.backend} / ${other.backend}: ${(r.fps / other.fps).toFixed(2)}x fps, ${(other.cpuMsPerFrame / r.cpuMsPerFrame).toFixed(2)}x less CPU per frame`);
    }
  }
  if (long?.rss?.length) {
    const pts = long.rss.filter((p) => p[0] > 30); // after warm-up
    const n = pts.length;
    if (n > 2) {
      const mx = pts.reduce((a, p) => a + p[1], 0) / n;
      const my = pts.reduce((a, p) => a + p[2], 0) / n;
      const slope = pts.reduce((a, p) => a + (p[1] - mx) * (p[2] - my), 0) / pts.reduce((a, p) => a + (p[1] - mx) ** 2, 0);
      console.log(`long clip: RSS ${Math.min(...pts.map((p) => p[2]))}–${Math.max(...pts.map((p) => p[2]))} MB after warm-up; slope ${(slope * 1000).toFixed(2)} MB per 1000 frames`);
    }
  }
  console.log(`raw results: ${file}`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

if (process.argv[2] === '--child') await child();
else await main();
