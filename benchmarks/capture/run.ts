/**
 * Capture benchmark: what a user gets from `reel2real capture` on real footage at its own frame rate.
 *
 *   npx tsx benchmarks/capture/run.ts [--quick] [--runs N] [--baseline /path/to/other/checkout] [--only 'label;label…']
 *
 * Clips (made at run time in a temp dir, never committed; ../shared/data must be present):
 *   hand60  dex_retargeting_human_hand_video.mp4 (real 1280×720, 30 fps, 621 frames) looped 3× with
 *           `ffmpeg -stream_loop 2 -c copy`: 62.1 s, 1863 frames, every frame a real frame at its own time
 *   walk60  sports2d_demo.mp4 (real 1768×994, 30 fps, 230 frames; people walking, full body) scaled to 1280×720
 *           and looped 8×: 61.3 s, 1840 frames (re-encoded once with x264 -crf 18 for the scale)
 *   hand21  the hand video itself (20.7 s): the clip of issue 17's measurements
 * Each configuration is a whole command, `node bin/reel2real.js capture <clip> --out … --json`, timed from
 * process start to exit (module loading, model sessions, decode and writing the track included), under
 * /usr/bin/time for CPU time (the process and its ffmpeg children) and peak RSS. Beside it, the steady-state
 * rate of the tracking loop (frames / the longest segment's loop time, start-up excluded) from the command's
 * own summary. `uptime`'s load is recorded before and after every run: on a shared machine the wall figures
 * mostly measure the neighbours, CPU per frame is the steadier figure. With --baseline, the same commands run
 * with that checkout's bin/reel2real.js right after each one of ours, for ratios under the same load.
 * Results: printed as a Markdown table and written to benchmarks/capture/tmp/run-<time>.json.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const data = process.env.REEL2REAL_SHARED_DATA ?? path.resolve(root, '..', 'shared', 'data');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

function probe(file: string): { width: number; height: number; fps: string; frames: number; duration: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=width,height,r_frame_rate,nb_read_packets:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout);
  const s = j.streams[0];
  return { width: s.width, height: s.height, fps: s.r_frame_rate, frames: Number(s.nb_read_packets), duration: Number(j.format.duration) };
}

/** The clips, made once per temp dir. */
function clips(dir: string): Record<string, string> {
  const hand = path.join(data, 'videos', 'dex_retargeting_human_hand_video.mp4');
  const walk = path.join(data, 'videos', 'sports2d_demo.mp4');
  for (const f of [hand, walk]) if (!fs.existsSync(f)) throw new Error(`missing ${f} (../shared/data)`);
  const out = { hand60: path.join(dir, 'hand60.mp4'), walk60: path.join(dir, 'walk60.mp4'), hand21: hand };
  if (!fs.existsSync(out.hand60)) ffmpeg(['-stream_loop', '2', '-i', hand, '-c', 'copy', out.hand60]);
  if (!fs.existsSync(out.walk60)) ffmpeg(['-stream_loop', '7', '-i', walk, '-an', '-vf', 'scale=1280:720', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-r', '30', out.walk60]);
  return out;
}

const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface Run {
  code: string;
  label: string;
  clip: string;
  args: string[];
  wall: number;
  cpu: number;
  peakRssMb: number;
  loadBefore: string;
  loadAfter: string;
  frames: number;
  fpsWhole: number;
  fpsCapture: number;
  fpsSteady: number | null;
  workers: number;
  rates: Record<string, number>;
  timing?: unknown;
}

function runOnce(code: string, repo: string, label: string, clip: string, args: string[], tmp: string): Run {
  const out = path.join(tmp, `${label}.npz`);
  const timeFile = path.join(tmp, 'time.txt');
  const loadBefore = load();
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, path.join(repo, 'bin', 'reel2real.js'), 'capture', clip, '--out', out, '--json', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const loadAfter = load();
  if (r.status !== 0) throw new Error(`${code} ${label}: exit ${r.status}: ${r.stderr}`);
  const [wall, user, sys, rssKb] = fs.readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  fs.rmSync(out, { force: true });
  return {
    code, label, clip: path.basename(clip), args, wall, cpu: user + sys, peakRssMb: Math.round(rssKb / 1024), loadBefore, loadAfter,
    frames: s.frames, fpsWhole: s.frames / wall, fpsCapture: s.fps, fpsSteady: s.steady_fps ?? null, workers: s.workers, rates: s.rates, timing: s.timing,
  };
}

async function main(): Promise<void> {
  const tmp = path.join(here, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const clipDir = path.join(os.tmpdir(), 'reel2real-capture-bench');
  fs.mkdirSync(clipDir, { recursive: true });
  const c = clips(clipDir);
  const baseline = arg('baseline');
  const runs = Number(arg('runs') ?? 1);
  let configs: { label: string; clip: string; args: string[] }[] = [
    { label: 'hand60 body+hands', clip: c.hand60, args: [] },
    { label: 'walk60 body+hands', clip: c.walk60, args: [] },
    { label: 'hand21 body+hands', clip: c.hand21, args: [] },
    { label: 'hand60 body+hands, 1 worker', clip: c.hand60, args: ['--workers', '1'] },
    { label: 'walk60 body+hands, lite models', clip: c.walk60, args: ['--body-model', 'lite', '--hand-model', 'lite'] },
  ];
  if (process.argv.includes('--quick')) configs = configs.slice(0, 1);
  const only = arg('only');
  if (only) configs = configs.filter((x) => only.split(';').includes(x.label));
  for (const [name, f] of Object.entries(c)) {
    const p = probe(f);
    console.log(`clip ${name}: ${path.basename(f)} ${p.width}x${p.height} ${p.fps} fps, ${p.frames} frames, ${p.duration.toFixed(1)} s`);
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`;
  console.log(`machine: ${machine}`);
  const results: Run[] = [];
  for (let k = 0; k < runs; k++) {
    for (const cfg of configs) {
      const mine = runOnce('this', root, cfg.label, cfg.clip, cfg.args, tmp);
      results.push(mine);
      console.log(JSON.stringify(mine));
      if (baseline) {
        const base = runOnce('baseline', baseline, cfg.label, cfg.clip, cfg.args, tmp);
        results.push(base);
        console.log(JSON.stringify(base));
      }
    }
  }
  const file = path.join(tmp, `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine, baseline: baseline ?? null, results }, null, 1));
  console.log(`\n| configuration | code | frames | whole command: wall s / fps | capture fps | steady fps | CPU s (ms/frame) | peak RSS | load before → after |`);
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.label} | ${r.code} | ${r.frames} | ${r.wall.toFixed(1)} / **${r.fpsWhole.toFixed(1)}** | ${r.fpsCapture.toFixed(1)} | ${r.fpsSteady?.toFixed(1) ?? '–'} | ${r.cpu.toFixed(1)} (${((1000 * r.cpu) / r.frames).toFixed(1)}) | ${r.peakRssMb} MB | ${r.loadBefore} → ${r.loadAfter} |`);
  }
  console.log(`\nraw: ${path.relative(root, file)}`);
}

await main();
