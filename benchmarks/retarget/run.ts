/**
 * Body retargeting benchmark: frames per second on one core and the quality report, for CMU walk (104_02)
 * and hammering (62_07) onto the G1 (29 dof), at the clips' 120 fps and at 30 fps. In the same run, a
 * baseline: the rate of one full-body forward kinematics of the G1 (all links, floating base), so the cost
 * of a frame can be read as "FK evaluations' worth of work" on any machine.
 *
 *   npx tsx benchmarks/retarget/run.ts [--passes 3]
 *
 * Needs ../shared/data; prints a markdown table and a JSON line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importPose } from '../../src/pose/import.ts';
import type { PoseTrack } from '../../src/pose/track.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retarget, type RetargetReport } from '../../src/retarget/index.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const passes = arg('--passes', 3);
const G1 = path.join(SHARED_DATA, 'robots/unitree_g1/g1_29dof_rev_1_0.urdf');
const CLIPS: [string, string][] = [
  ['walk 104_02', 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh'],
  ['hammering 62_07', 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh'],
];
if (!fs.existsSync(G1)) {
  console.warn(`[skip] ${G1} not found`);
  process.exit(0);
}
const robot = loadUrdf(G1);
const kin = new Kinematics(robot);

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Baseline slice: full-body FK of the G1 with a floating base, for about `ms` milliseconds. Returns evals/s (wall, CPU). */
function baseline(ms: number): { wall: number; cpu: number } {
  const q = new Float64Array(kin.nq);
  const base = { pos: new Float64Array([0, 0, 0.8]), quat: new Float64Array([1, 0, 0, 0]) };
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < 2000; k++) {
      q[k % kin.nq] = 0.001 * (k & 255);
      kin.fk(q, base);
    }
    n += 2000;
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: n / wall, cpu: n / ((c.user + c.system) / 1e6) };
}

interface Row {
  clip: string; fps: number; frames: number;
  wall: number; cpu: number; endToEndCpu: number; baseCpu: number; fkPerFrame: number;
  q: RetargetReport;
  noCollisionCpu: number;
}

const rows: Row[] = [];
for (const [name, rel] of CLIPS) {
  const track: PoseTrack = importPose(path.join(SHARED_DATA, rel));
  for (const fps of [120, 30]) {
    retarget(track, robot, { fps }); // warm-up (JIT, mesh capsule cache)
    const wall: number[] = [], cpu: number[] = [], e2e: number[] = [], base: number[] = [];
    let q!: RetargetReport;
    for (let p = 0; p < passes; p++) {
      const c0 = process.cpuUsage();
      const m = retarget(track, robot, { fps });
      const c = process.cpuUsage(c0);
      q = m.quality as unknown as RetargetReport;
      wall.push(q.frames_per_second);
      cpu.push(q.frames_per_cpu_second);
      e2e.push(q.frames / ((c.user + c.system) / 1e6));
      base.push(baseline(300).cpu);
    }
    const nc = retarget(track, robot, { fps, selfCollision: false }).quality as unknown as RetargetReport;
    const b = median(base);
    rows.push({
      clip: name, fps, frames: q.frames, wall: median(wall), cpu: median(cpu), endToEndCpu: median(e2e),
      baseCpu: b, fkPerFrame: b / median(cpu), q, noCollisionCpu: nc.frames_per_cpu_second,
    });
  }
}

const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
console.log('');
console.log('| clip | fps | frames | frames/s (wall, median) | frames/s (CPU time, solve) | frames/s (CPU time, end to end) | G1 FK evals/s (CPU time) | FK evals per frame | without self-collision (CPU) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.clip} | ${r.fps} | ${r.frames} | ${f(r.wall)} | ${f(r.cpu)} | ${f(r.endToEndCpu)} | ${f(r.baseCpu)} | ${f(r.fkPerFrame, 0)} | ${f(r.noCollisionCpu)} |`);
console.log('');
console.log('| clip | fps | kp err mean / max (m) | limit viol. | vel. viol. | self-coll. frames / deepest (cm) | ground pen. (cm) | stance skate mean / max (cm/s) | stance float mean / max (cm) | max jump (rad) | mean jerk (rad/s³) | root travel / target (m) | iterations |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const q = r.q;
  console.log(`| ${r.clip} | ${r.fps} | ${f(q.keypoint_error_mean_m, 4)} / ${f(q.keypoint_error_max_m, 3)} | ${q.joint_limit_violations} | ${q.velocity_limit_violations} | ${q.self_collision_frames} / ${f(q.self_collision_max_depth_m * 100, 2)} | ${f(q.ground_penetration_max_m * 100, 2)} | ${f(q.stance_skate_mean_cm_s, 2)} / ${f(q.stance_skate_max_cm_s, 1)} | ${f(q.stance_float_mean_cm, 2)} / ${f(q.stance_float_max_cm, 2)} | ${f(q.max_joint_jump_rad, 3)} | ${f(q.mean_jerk_rad_s3, 0)} | ${f(q.root_travel_m, 2)} / ${f(q.target_root_travel_m, 2)} | ${q.mean_iterations} |`);
}
console.log('');
console.log(JSON.stringify(rows.map((r) => ({ clip: r.clip, fps: r.fps, frames: r.frames, wall: r.wall, cpu: r.cpu, end_to_end_cpu: r.endToEndCpu, fk_evals_per_s_cpu: r.baseCpu, fk_per_frame: r.fkPerFrame, no_collision_cpu: r.noCollisionCpu, quality: r.q }))));
