/**
 * Start-up as users meet it: whole commands from process start (a fresh `node bin/reel2real.js ...` per run,
 * compiled dist/), wall and CPU time (user + system, from /usr/bin/time), for this checkout and for baseline
 * checkouts given with --baseline, runs alternating so every checkout sees the same machine load. `node -e 0`
 * is timed in the same rounds: the floor no command can go below.
 *
 *   npx tsx benchmarks/startup/startup.ts [--runs 7] [--baseline DIR ...] [--validate motion.npz --robot urdf]
 *     [--retarget clip.bvh --robot urdf] [--capture video.mp4] [--only]
 *
 * Commands timed: `--help`, `robot --help` (one command module loaded, yargs renders its help), with --robot
 * `robot inspect <urdf>` (a command that reads a URDF and prints), and with --validate as well
 * `validate <motion> --robot <urdf> --json` (give it a clip of 2 frames: that is the command's fixed cost), with
 * --retarget `retarget <clip> --robot <urdf> --out <tmp>.npz`, with --capture `capture <video> --out <tmp>.npz --json`
 * (short clips again). --only: just those commands (no `--help` rows; `node -e 0` stays as the floor). A baseline DIR is another checkout with its own dist/ built (`node bin/build.mjs`) and node_modules.
 * Prints a markdown table (median [min–max]) and the load average before and after.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../test/helpers/shared.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const runs = Number(opt('runs') ?? 7);
const roots = [PROJECT_ROOT, ...args.flatMap((a, i) => (a === '--baseline' ? [path.resolve(args[i + 1])] : []))];
const motion = opt('validate'), robot = opt('robot'), clip = opt('retarget'), video = opt('capture');
const only = args.includes('--only');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-startup-'));

const commands: { label: string; argv: (root: string) => string[] }[] = [
  { label: '`node -e 0`', argv: () => ['-e', '0'] },
];
if (!only) {
  commands.push({ label: '`reel2real --help`', argv: (root) => [path.join(root, 'bin', 'reel2real.js'), '--help'] });
  commands.push({ label: '`reel2real robot --help`', argv: (root) => [path.join(root, 'bin', 'reel2real.js'), 'robot', '--help'] });
}
if (robot && !only) commands.push({ label: `\`reel2real robot inspect ${path.basename(robot)}\``, argv: (root) => [path.join(root, 'bin', 'reel2real.js'), 'robot', 'inspect', robot] });
if (motion && robot) commands.push({ label: `\`reel2real validate ${path.basename(motion)} --robot ${path.basename(robot)} --json\``, argv: (root) => [path.join(root, 'bin', 'reel2real.js'), 'validate', motion, '--robot', robot, '--json'] });

if (clip && robot) commands.push({ label: `\`reel2real retarget ${path.basename(clip)} --robot ${path.basename(robot)}\``, argv: (root) => [path.join(root, 'bin', 'reel2real.js'), 'retarget', clip, '--robot', robot, '--out', path.join(tmp, 'r.npz')] });
if (video) commands.push({ label: `\`reel2real capture ${path.basename(video)} --json\``, argv: (root) => [path.join(root, 'bin', 'reel2real.js'), 'capture', video, '--out', path.join(tmp, 'c.npz'), '--json'] });

const times = new Map<string, { wall: number[]; cpu: number[] }>();
const load0 = os.loadavg();
for (let k = 0; k < runs; k++) {
  for (const c of commands) {
    for (const root of c.label === '`node -e 0`' ? [roots[0]] : roots) {
      const p = spawnSync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, ...c.argv(root)], {
        cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, REEL2REAL_FROM_SOURCE: '0', LC_ALL: '', LANG: 'C.UTF-8' },
      });
      if (p.status !== 0) throw new Error(`${root}: ${c.label}: exit ${p.status}: ${p.stderr}`);
      const [wall, user, sys] = p.stderr.trim().split('\n').pop()!.split(' ').map(Number);
      const key = `${c.label}|${root}`;
      if (!times.has(key)) times.set(key, { wall: [], cpu: [] });
      times.get(key)!.wall.push(wall);
      times.get(key)!.cpu.push(user + sys);
    }
  }
}
const load1 = os.loadavg();
fs.rmSync(tmp, { recursive: true, force: true });
const med = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
const fmt = (a: number[]): string => `${med(a).toFixed(2)} [${Math.min(...a).toFixed(2)}–${Math.max(...a).toFixed(2)}]`;
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, Node ${process.version}; load average ${load0.map((v) => v.toFixed(1)).join(' ')} before, ${load1.map((v) => v.toFixed(1)).join(' ')} after; ${runs} runs each, alternating\n`);
console.log('| command | checkout | wall (s), median [min–max] | CPU (s), median [min–max] |');
console.log('|---|---|---|---|');
for (const [key, t] of times) {
  const [label, root] = key.split('|');
  console.log(`| ${label} | ${label === '`node -e 0`' ? '—' : root} | ${fmt(t.wall)} | ${fmt(t.cpu)} |`);
}
