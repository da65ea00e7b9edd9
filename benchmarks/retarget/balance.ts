/**
 * Balance benchmark: the body retargeter without balance, with the per-frame balance task (centre of mass
 * over the support feet, one-sided) and with the smoothed two-pass balance (default when on), each motion checked by the physical validator (assisted mode: a virtual base wrench holds
 * the base on the reference; reported are ZMP excess, residual force, torque ratio). CMU clips (first 4 s
 * at 30 fps) on H1 and G1, and the built-in motion on robots/r2r_humanoid.
 *
 *   npx tsx benchmarks/retarget/balance.ts [--duration 4] [--json out.json]
 *
 * Needs ../shared/data for the CMU clips and robots; prints a markdown table as rows finish.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importPose } from '../../src/pose/import.ts';
import { builtinMotion } from '../../src/pose/builtin.ts';
import type { PoseTrack } from '../../src/pose/track.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { retarget } from '../../src/retarget/index.ts';
import { checkFeasibility } from '../../src/sim/index.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : d;
};
const duration = Number(arg('--duration', '4'));
const jsonOut = arg('--json', '');
const here = path.dirname(fileURLToPath(import.meta.url));
const M = path.join(SHARED_DATA, 'motions/cmu_small_gods_game');
const ROBOTS: Record<string, string> = {
  H1: path.join(SHARED_DATA, 'robots/unitree_h1/urdf/h1.urdf'),
  G1: path.join(SHARED_DATA, 'robots/unitree_g1/g1_29dof_rev_1_0.urdf'),
  r2r_humanoid: path.resolve(here, '../../robots/r2r_humanoid/r2r_humanoid.urdf'),
};
const CLIPS = ['cmu_104_02_neutral_male_walk', 'cmu_62_07_hammering_a_nail', 'cmu_141_16_wave_hello', 'cmu_79_04_digging'];

const cases: { clip: string; robot: string; track: () => PoseTrack; opts: { duration?: number; fps?: number } }[] = [];
for (const r of ['H1', 'G1']) for (const c of CLIPS) {
  const f = path.join(M, `${c}.bvh`);
  if (!fs.existsSync(f) || !fs.existsSync(ROBOTS[r])) { console.warn(`[skip] ${f} or ${ROBOTS[r]} not found`); continue; }
  cases.push({ clip: c.replace(/^cmu_/, ''), robot: r, track: () => importPose(f), opts: { duration, fps: 30 } });
}
cases.push({ clip: 'builtin pick-and-place', robot: 'r2r_humanoid', track: () => builtinMotion(), opts: {} });

const round = (v: unknown, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);
console.log(`machine: ${os.cpus().length}-core ${os.cpus()[0]?.model ?? ''}, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, node ${process.version}`);
console.log('| clip | robot | balance | feasible | hard reasons | ZMP excess (m) | residual mean / max (m g) | max torque / effort | keypoint err mean (m) | CoM outside support max (m) / frames | skate mean (cm/s) | solve frames/s (CPU) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const rows: unknown[] = [];
for (const c of cases) {
  const robot = loadUrdf(ROBOTS[c.robot]);
  const track = c.track();
  for (const variant of ['off', 'per-frame', 'smoothed'] as const) {
    const balance = variant !== 'off';
    const config = variant === 'per-frame' ? { weights: { balance: 30, balance_smoothing: 0 } } : undefined;
    const motion = retarget(track, robot, { ...c.opts, balance, ...(config ? { config } : {}) });
    const q = motion.quality as Record<string, number>;
    const rep = await checkFeasibility(motion, robot, { mode: 'assisted' });
    const m = rep.metrics as Record<string, any>;
    const hard = [...new Set(rep.reasons.filter((r) => r.hard).map((r) => r.kind))];
    const row = {
      clip: c.clip, robot: c.robot, balance: variant, feasible: rep.feasible, hard,
      zmp_excess_m: round(m.zmp?.max_outside_support_m), residual_mean: round(m.assisted?.residual_force_mean_weight), residual_max: round(m.assisted?.residual_force_max_weight),
      torque_ratio: round(m.torque?.max_ratio_to_effort, 2), keypoint_error_mean_m: round(q.keypoint_error_mean_m, 4),
      com_outside_max_m: round(q.com_outside_support_max_m), com_outside_frames: q.com_outside_support_frames, frames: q.frames,
      skate_cm_s: round(q.stance_skate_mean_cm_s, 2), solve_fps_cpu: q.frames_per_cpu_second,
    };
    rows.push(row);
    console.log(`| ${row.clip} | ${row.robot} | ${variant} | ${row.feasible ? 'yes' : 'no'} | ${hard.join(', ') || '-'} | ${row.zmp_excess_m} | ${row.residual_mean} / ${row.residual_max} | ${row.torque_ratio} | ${row.keypoint_error_mean_m} | ${row.com_outside_max_m} / ${row.com_outside_frames} of ${row.frames} | ${row.skate_cm_s} | ${row.solve_fps_cpu} |`);
  }
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 1));
