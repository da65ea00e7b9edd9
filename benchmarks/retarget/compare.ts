/**
 * Issue 15 comparison: this reel2real's body retargeting against a previous one (a checkout of its
 * `src/`, e.g. `git archive <commit> src configs robots package.json | tar -x -C /tmp/base` with
 * node_modules linked), in the same process and run, on the full CMU 104_02 walk and 62_07 hammering at
 * 120 fps, onto H1, G1 and T1. Both motions are measured by the current code: limb-vector tracking error
 * (src/retarget/tracking.ts, the measure GMR was compared on), stance/skating (src/robot/stance.ts, on the
 * robot's feet), joint-limit and velocity-limit violations and self-collision frames from each report,
 * and frames per CPU-second of each solve (median of `--passes`, after one warm-up).
 *
 *   npx tsx benchmarks/retarget/compare.ts --baseline /tmp/base [--passes 3]
 *
 * GMR and dex-retargeting are not run (not installable here: PyPI is unreachable).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retarget, type RetargetReport } from '../../src/retarget/index.ts';
import { limbVectorError } from '../../src/retarget/tracking.ts';
import { feetOfMotion, motionFootContacts, skateSummary, stanceThresholds } from '../../src/robot/stance.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const argOf = (name: string) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined; };
const baseDir = argOf('--baseline');
if (!baseDir) { console.error('usage: compare.ts --baseline <dir with the previous src/>'); process.exit(2); }
const passes = Number(argOf('--passes') ?? 3);
const old = (await import(pathToFileURL(path.resolve(baseDir, 'src/retarget/index.ts')).href)) as { retarget: typeof retarget };

const CLIPS: [string, string][] = [
  ['walk 104_02', 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh'],
  ['hammering 62_07', 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh'],
];
const ROBOTS: [string, string][] = [
  ['G1', 'robots/unitree_g1/g1_29dof_rev_1_0.urdf'],
  ['H1', 'robots/unitree_h1/urdf/h1.urdf'],
  ['T1', 'robots/booster_t1/T1_serial.urdf'],
];
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const f = (x: number, d = 3) => x.toFixed(d);

console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
console.log('');
console.log('| robot | clip | frames | version | limb-vector error (leg lengths) | without per-limb offsets | worst per-end offset | skating frames | stance contact speed mean / max (cm/s) | limit / vel. viol. | self-coll. frames | ground pen. (mm) | frames/s (CPU, solve, median) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [rn, rf] of ROBOTS) {
  const robot = loadUrdf(path.join(SHARED_DATA, rf));
  const kin = new Kinematics(robot);
  for (const [cn, cf] of CLIPS) {
    const track = importPose(path.join(SHARED_DATA, cf));
    const runs: Record<string, { m: RobotMotion; cpu: number[] }> = {};
    for (const [ver, fn] of [['previous', old.retarget], ['this', retarget]] as const) {
      fn(track, robot); // warm-up
      const cpu: number[] = [];
      let m!: RobotMotion;
      for (let p = 0; p < passes; p++) { m = fn(track, robot); cpu.push((m.quality as unknown as RetargetReport).frames_per_cpu_second); }
      runs[ver] = { m, cpu };
    }
    const feet = feetOfMotion(runs.this.m.mapping, (n) => kin.linkIndex(n))!;
    for (const ver of ['previous', 'this']) {
      const { m, cpu } = runs[ver];
      const mp = m.mapping as { keypoints: Record<string, { link: string; local: number[] }>; robot_lengths_m: Record<string, number> };
      const R = mp.robot_lengths_m;
      const e = limbVectorError(kin, m, track, {
        point: (n) => ({ link: kin.linkIndex(mp.keypoints[n].link), local: mp.keypoints[n].local }),
        arm: R.upperarm + R.forearm, leg: R.thigh + R.shank,
      });
      const s = skateSummary(motionFootContacts(kin, m, feet.feet, stanceThresholds(feet.legLength)));
      const q = m.quality as unknown as RetargetReport;
      const off = Math.max(...Object.values(e.offset_by_end));
      console.log(`| ${rn} | ${cn} | ${q.frames} | ${ver} | ${f(e.mean, 4)} | ${f(e.mean_without_offsets, 4)} | ${f(off)} | ${s.skate_frames} | ${f(100 * s.skate_mean_m_s, 2)} / ${f(100 * s.skate_max_m_s, 0)} | ${q.joint_limit_violations} / ${q.velocity_limit_violations} | ${q.self_collision_frames} | ${f(Math.max(0, -s.min_height_m) * 1000, 1)} | ${Math.round(median(cpu))} |`);
    }
  }
}
console.log('');
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
