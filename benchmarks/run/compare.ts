/**
 * `reel2real run` on a real mocap clip, this checkout against a baseline checkout, whole commands from process
 * start, runs alternating so both see the same load. Each checkout runs its own compiled dist/ (`npm run build`
 * in each). Prints wall and CPU (user + system, `/usr/bin/time`) per run and their medians, the machine's load
 * before and after, the command's own stage seconds, and whether both checkouts stored the same episode (the
 * store's id is the hash of the episode's content, so equal ids mean equal stored content).
 *
 *   npx tsx benchmarks/run/compare.ts --baseline <checkout> [--clip <bvh under ../shared/data>] [--robot <urdf under
 *     ../shared/data>] [--start 0] [--end 2.5] [--mode both] [--runs 5] [--physics on|off]
 *
 * The clip is frames [start, end) s of the BVH at its own rate (120 fps for CMU), saved as a pose track in a temp
 * dir (never committed) with a consent manifest signed by a throw-away operator key.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importPose } from '../../src/pose/import.ts';
import { saveTrack } from '../../src/pose/track.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const data = process.env.REEL2REAL_SHARED_DATA ?? path.resolve(root, '..', 'shared', 'data');
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const baseline = path.resolve(arg('baseline', ''));
if (!fs.existsSync(path.join(baseline, 'bin', 'reel2real.js'))) throw new Error('--baseline <checkout with a built dist/> is required');
const bvh = path.join(data, arg('clip', 'motions/cmu_small_gods_game/cmu_141_16_wave_hello.bvh'));
const urdf = path.join(data, arg('robot', 'robots/unitree_g1/g1_29dof_rev_1_0.urdf'));
const [t0, t1] = [Number(arg('start', '0')), Number(arg('end', '2.5'))];
const mode = arg('mode', 'both');
const runs = Number(arg('runs', '5'));
const physics = arg('physics', 'on');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-run-compare-'));
const t = importPose(bvh);
const J = t.jointNames.length;
const keep = [...t.timestamps.keys()].filter((i) => t.timestamps[i] >= t0 && t.timestamps[i] < t1);
const a = keep[0], b = keep[keep.length - 1] + 1;
const input = path.join(dir, `${path.basename(bvh, '.bvh')}.npz`);
saveTrack(input, {
  ...t, positions: t.positions.slice(a * J * 3, b * J * 3), confidence: t.confidence.slice(a * J, b * J),
  timestamps: t.timestamps.slice(a, b).map((x) => x - t.timestamps[a]), extras: undefined,
});
const env = { ...process.env, REEL2REAL_PSEUDONYM_KEY: randomBytes(32).toString('hex') };
const sha = spawnSync('sha256sum', [input], { encoding: 'utf8' }).stdout.split(' ')[0];
const manifest = path.join(dir, 'consent.json');
fs.writeFileSync(manifest, JSON.stringify({ consent_id: 'c-bench', contributor: 'bench', consent_version: '1', scopes: ['robot-training'], granted: '2026-01-01', expires: null, withdrawn: null, retention_days: null, recordings: [sha] }));
const signed = spawnSync(process.execPath, [path.join(root, 'bin', 'reel2real.js'), 'consent', 'sign', manifest], { encoding: 'utf8', env });
if (signed.status !== 0) throw new Error(`consent sign: ${signed.stderr}`);

const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
const head = (c: string) => spawnSync('git', ['-C', c, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).stdout.trim();
const sides = [{ name: `this work (${head(root)})`, dir: root }, { name: `baseline (${head(baseline)})`, dir: baseline }];
const res = new Map<string, { wall: number[]; cpu: number[]; ids: Set<string>; stages: Record<string, number>[] }>();
for (const s of sides) res.set(s.name, { wall: [], cpu: [], ids: new Set(), stages: [] });
console.log(`clip ${path.basename(bvh)} [${t0}, ${t1}) s, ${b - a} frames; robot ${path.basename(urdf)}; mode ${mode}; physics ${physics}; load ${load()}`);
for (let k = 0; k < runs; k++) {
  for (const s of k % 2 ? [...sides].reverse() : sides) {
    const store = path.join(dir, `store-${k}-${s.dir === root ? 'a' : 'b'}`);
    const timeFile = path.join(dir, 'time.txt');
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', '-o', timeFile, process.execPath, path.join(s.dir, 'bin', 'reel2real.js'), 'run', input, '--robot', urdf, '--store', store, '--consent', manifest, '--mode', mode, '--physics', physics, '--json'], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
    const [wall, user, sys] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(/\s+/).map(Number);
    let out: any;
    try {
      out = JSON.parse(r.stdout).results[0];
    } catch {
      throw new Error(`${s.name}: run exited ${r.status}: ${r.stderr.slice(-2000)}`);
    }
    const e = res.get(s.name)!;
    e.wall.push(wall); e.cpu.push(user + sys); e.ids.add(out.id); e.stages.push(out.seconds);
    console.log(`${s.name.padEnd(24)} run ${k + 1}: ${wall.toFixed(2)} s wall, ${(user + sys).toFixed(2)} s CPU; ${out.status}, physics ${out.physics}, feasible ${out.feasible}, id ${out.id}; stages ${JSON.stringify(out.seconds)}`);
    fs.rmSync(store, { recursive: true, force: true });
  }
}
console.log(`load after ${load()}`);
console.log('| checkout | wall (s), median [min–max] | CPU (s), median [min–max] | physics + validate stage seconds, median |\n|---|---|---|---|');
for (const [name, e] of res) {
  const pv = e.stages.map((s) => (s.physics ?? 0) + (s.validate ?? 0));
  console.log(`| ${name} | ${median(e.wall).toFixed(2)} [${Math.min(...e.wall).toFixed(2)}–${Math.max(...e.wall).toFixed(2)}] | ${median(e.cpu).toFixed(2)} [${Math.min(...e.cpu).toFixed(2)}–${Math.max(...e.cpu).toFixed(2)}] | ${median(pv).toFixed(2)} |`);
}
const ids = [...res.values()].map((e) => [...e.ids].join(','));
console.log(`stored episodes: ${ids.join(' vs ')} — ${new Set(ids).size === 1 && !ids[0].includes(',') ? 'identical content' : 'DIFFER'}`);
fs.rmSync(dir, { recursive: true, force: true });
