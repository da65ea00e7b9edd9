/**
 * `reel2real validate` speed as users meet it: the whole command from process start (a fresh `node
 * bin/reel2real.js validate <motion> --robot <urdf> --json` per run), wall and CPU time (user + system of the
 * child, from /usr/bin/time), and the closed loop's own rate (report.sim.realtime_factor), for this checkout and
 * for baseline checkouts given with --baseline, alternating runs so both see the same machine load.
 *
 *   npx tsx benchmarks/validate/speed.ts --motion stand20.npz --robot h1.urdf [--runs 5] [--baseline DIR ...]
 *
 * A baseline DIR is another checkout of the project with its own dist/ built (`node bin/build.mjs`) and
 * node_modules. The 20 s standing clip: `standingMotion(h1, 20, 50)` from src/sim/synthetic.ts, saved with
 * saveMotion (both feet down, 1001 frames). Prints a markdown table and the load average before and after.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../test/helpers/shared.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const motion = opt('motion'), robot = opt('robot');
if (!motion || !robot) throw new Error('usage: speed.ts --motion <file.npz> --robot <urdf> [--runs N] [--baseline DIR ...]');
const runs = Number(opt('runs') ?? 5);
const roots = [PROJECT_ROOT, ...args.flatMap((a, i) => (a === '--baseline' ? [path.resolve(args[i + 1])] : []))];

interface Run { wall: number; cpu: number; rtf: number; loopSec: number; duration: number; feasible: boolean }
const results = new Map<string, Run[]>(roots.map((r) => [r, []]));
const load0 = os.loadavg();
for (let k = 0; k < runs; k++) {
  for (const root of roots) {
    const p = spawnSync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, path.join(root, 'bin', 'reel2real.js'), 'validate', motion, '--robot', robot, '--json'], {
      encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, REEL2REAL_FROM_SOURCE: '0' },
    });
    if (p.status !== 0) throw new Error(`${root}: exit ${p.status}: ${p.stderr}`);
    const [wall, user, sys] = p.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    const rep = JSON.parse(p.stdout);
    const duration = Number(rep.metrics.duration_s);
    results.get(root)!.push({ wall, cpu: user + sys, rtf: rep.sim.realtime_factor, loopSec: rep.sim.steps / rep.sim.steps_per_second, duration, feasible: rep.feasible });
  }
}
const load1 = os.loadavg();
const med = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, Node ${process.version}; load average ${load0.map((v) => v.toFixed(1)).join(' ')} before, ${load1.map((v) => v.toFixed(1)).join(' ')} after`);
console.log(`command: node bin/reel2real.js validate ${motion} --robot ${robot} --json (${runs} runs each, alternating)\n`);
console.log('| checkout | clip (s) | whole command wall (s), median [min] | whole command CPU (s), median [min] | real time / wall | real time / CPU | loop: realtime_factor (both modes) median [max] | feasible |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [root, rs] of results) {
  const d = rs[0].duration;
  const w = rs.map((r) => r.wall), c = rs.map((r) => r.cpu), f = rs.map((r) => r.rtf);
  console.log(`| ${root} | ${d} | ${med(w).toFixed(2)} [${Math.min(...w).toFixed(2)}] | ${med(c).toFixed(2)} [${Math.min(...c).toFixed(2)}] | ${(d / med(w)).toFixed(1)}x | ${(d / med(c)).toFixed(1)}x | ${med(f)} [${Math.max(...f)}] | ${rs[0].feasible} |`);
}
