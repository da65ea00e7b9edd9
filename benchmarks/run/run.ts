/**
 * End-to-end benchmark (issue 17 item 5): `reel2real run` on a 60 s real 720p 30 fps video with the Unitree G1
 * → consent gate → capture → quality → retarget → validate → stored episode. Whole command from process start,
 * wall time and each stage's share (the command's own per-stage seconds), CPU time and peak RSS.
 *
 *   npx tsx benchmarks/run/run.ts [--clip walk60|hand60] [--mode both|assisted|unassisted] [--runs N]
 *
 * Clips are made at run time in a temp dir (never committed) from ../shared/data: walk60 = sports2d_demo.mp4
 * (real 1768×994 30 fps footage of people walking) scaled to 1280×720 and looped 8× (61.3 s, 1840 frames);
 * hand60 = dex_retargeting_human_hand_video.mp4 (real 1280×720 30 fps) looped 3× (62.1 s, 1863 frames). A
 * throw-away operator key signs a consent manifest for the clip (as an operator would with `consent sign`).
 * `--keep-rejected` is passed so that every stage runs and an episode is stored even when the quality gate
 * rejects the clip (the looped clips jump at each loop point; walk60 also has a second person).
 * The machine's load (`uptime`) is recorded before and after each run; results go to benchmarks/run/tmp/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const data = process.env.REEL2REAL_SHARED_DATA ?? path.resolve(root, '..', 'shared', 'data');
const G1 = path.join(data, 'robots', 'unitree_g1', 'g1_29dof_rev_1_0.urdf');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

function makeClip(name: string, dir: string): string {
  const out = path.join(dir, `${name}.mp4`);
  if (fs.existsSync(out)) return out;
  if (name === 'walk60') ffmpeg(['-stream_loop', '7', '-i', path.join(data, 'videos', 'sports2d_demo.mp4'), '-an', '-vf', 'scale=1280:720', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-r', '30', out]);
  else if (name === 'hand60') ffmpeg(['-stream_loop', '2', '-i', path.join(data, 'videos', 'dex_retargeting_human_hand_video.mp4'), '-c', 'copy', out]);
  else throw new Error(`unknown clip ${name}`);
  return out;
}

const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const cli = (args: string[], env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [path.join(root, 'bin', 'reel2real.js'), ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });

function main(): void {
  if (!fs.existsSync(G1)) throw new Error(`missing ${G1} (../shared/data)`);
  const clipName = arg('clip', 'walk60');
  const mode = arg('mode', 'both');
  const runs = Number(arg('runs', '1'));
  const dir = path.join(os.tmpdir(), 'reel2real-run-bench');
  fs.mkdirSync(dir, { recursive: true });
  const clip = makeClip(clipName, dir);
  const env = { ...process.env, REEL2REAL_PSEUDONYM_KEY: randomBytes(32).toString('hex') };
  const manifest = path.join(dir, `${clipName}.consent.json`);
  const sha = createHash('sha256').update(fs.readFileSync(clip)).digest('hex');
  fs.writeFileSync(manifest, JSON.stringify({ consent_id: 'c-bench', contributor: 'bench', consent_version: '1', scopes: ['robot-training'], granted: '2026-01-01', expires: null, withdrawn: null, retention_days: null, recordings: [sha] }));
  const signed = cli(['consent', 'sign', manifest], env);
  if (signed.status !== 0) throw new Error(`consent sign: ${signed.stderr}`);
  const head = spawnSync('git', ['-C', root, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim();
  console.log(`code: ${head}\nclip: ${clipName} (${path.basename(clip)}), robot G1 ${path.basename(G1)}, mode ${mode}`);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}`);
  const out: unknown[] = [];
  for (let k = 0; k < runs; k++) {
    const store = path.join(dir, `store-${Date.now()}`);
    const timeFile = path.join(dir, 'time.txt');
    const before = load();
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, path.join(root, 'bin', 'reel2real.js'), 'run', clip, '--robot', G1, '--store', store, '--consent', manifest, '--mode', mode, '--keep-rejected', '--json'], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
    const wallJs = (performance.now() - t0) / 1000;
    const after = load();
    // GNU time puts "Command exited with non-zero status N" first when the exit status is not 0.
    const [wall, user, sys, rssKb] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(/\s+/).map(Number);
    let res: any;
    try {
      res = JSON.parse(r.stdout).results[0];
    } catch {
      throw new Error(`run exited ${r.status}: ${r.stderr.slice(-2000)}`);
    }
    const stages = res.seconds as Record<string, number>;
    const inStages = Object.values(stages).reduce((a, b) => a + b, 0);
    const row = { clip: clipName, mode, exit: r.status, status: res.status, feasible: res.feasible, quality: res.quality, frames: res.frames, wall, cpu: user + sys, peakRssMb: Math.round(rssKb / 1024), loadBefore: before, loadAfter: after, stages, outsideStages: +(wall - inStages).toFixed(2), reasons: res.reasons };
    out.push(row);
    console.log(`\nrun ${k + 1}: ${res.status}${res.feasible === undefined ? '' : res.feasible ? ', feasible' : ', infeasible'}, quality ${res.quality}, ${res.frames} frames; exit ${r.status}`);
    console.log(`whole command ${wall.toFixed(1)} s wall (${wallJs.toFixed(1)} s measured here), CPU ${(user + sys).toFixed(1)} s, peak RSS ${row.peakRssMb} MB, load ${before} → ${after}`);
    console.log('| stage | seconds | share of wall |\n|---|---|---|');
    for (const [s, v] of Object.entries(stages)) console.log(`| ${s} | ${v.toFixed(2)} | ${((100 * v) / wall).toFixed(1)} % |`);
    console.log(`| start-up, loading, exit (outside the stages) | ${row.outsideStages.toFixed(2)} | ${((100 * row.outsideStages) / wall).toFixed(1)} % |`);
    fs.rmSync(store, { recursive: true, force: true });
  }
  const tmp = path.join(here, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const file = path.join(tmp, `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ code: head, results: out }, null, 1));
  console.log(`\nraw: ${path.relative(root, file)}`);
}

main();
