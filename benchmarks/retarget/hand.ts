/**
 * Hand retargeting benchmark: frames per second on one core for the dex-retargeting keypoints (621 frames of
 * a real right hand) onto Allegro, with the quality report; the same for Inspire, LEAP and Shadow. In the
 * same run, a baseline: the rate of one bare Gauss–Newton evaluation (FK of the hand + the 4 fingertip
 * Jacobians), so the result can be read as "evaluations' worth of work per frame" on any machine.
 *
 *   npx tsx benchmarks/retarget/hand.ts [--passes 5]
 *
 * Needs ../shared/data; prints a markdown table and a JSON line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { createHandRetargeter, handLandmarks, measureHumanHand, retargetHand } from '../../src/retarget/hand/index.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const passes = arg('--passes', 5);
const keypoints = path.join(SHARED_DATA, 'keypoints/dex_retargeting_human_joint_right.json');
const hands: [string, string][] = [
  ['Allegro', 'hands/allegro_right/allegro_hand_right.urdf'],
  ['Inspire', 'hands/inspire_right/inspire_hand_right.urdf'],
  ['LEAP', 'hands/leap_right/leap_hand_right.urdf'],
  ['Shadow', 'hands/shadow_right/shadow_hand_right.urdf'],
];
if (!fs.existsSync(keypoints)) {
  console.warn(`[skip] ${keypoints} not found`);
  process.exit(0);
}
const track = importPose(keypoints);
const lm = handLandmarks(track, 'right')!;
const T = track.timestamps.length;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * The clip solved `passes` times (after one warm-up pass), each pass followed by a slice of the baseline
 * (one bare Gauss–Newton evaluation: FK of the hand + a Jacobian per fingertip) so that both see the same
 * machine load. Wall-clock and CPU-time rates per pass.
 */
function measure(kin: Kinematics): { wall: number[]; cpu: number[]; baseWall: number[]; baseCpu: number[] } {
  const hr = createHandRetargeter(kin);
  hr.calibrate(measureHumanHand(lm, T));
  const q = new Float64Array(kin.nq);
  const frames: Float32Array[] = [];
  for (let t = 0; t < T; t++) frames.push(lm.subarray(63 * t, 63 * t + 63));
  const tipLinks = hr.fingers.map((f) => f.tipLinkIndex), tipLocals = hr.fingers.map((f) => f.tipLocal);
  const qb = new Float64Array(kin.nq);
  const J = new Float64Array(6 * kin.nq);
  const baseline = (n: number) => {
    for (let i = 0; i < n; i++) {
      qb[i % kin.nq] = 0.2 * Math.sin(i);
      kin.fk(qb);
      for (let k = 0; k < tipLinks.length; k++) kin.jacobian(tipLinks[k], tipLocals[k], J);
    }
  };
  const out = { wall: [] as number[], cpu: [] as number[], baseWall: [] as number[], baseCpu: [] as number[] };
  const N = 30000;
  for (let p = 0; p < passes + 1; p++) {
    hr.reset();
    q.set(hr.model.qRef);
    let c0 = process.cpuUsage();
    let t0 = performance.now();
    for (let t = 0; t < T; t++) hr.solveFrame(frames[t], q, 1 / 30);
    let ms = performance.now() - t0;
    let c = process.cpuUsage(c0);
    if (p > 0) { out.wall.push((T / ms) * 1000); out.cpu.push((T / ((c.user + c.system) / 1000)) * 1000); }
    c0 = process.cpuUsage();
    t0 = performance.now();
    baseline(N);
    ms = performance.now() - t0;
    c = process.cpuUsage(c0);
    if (p > 0) { out.baseWall.push((N / ms) * 1000); out.baseCpu.push((N / ((c.user + c.system) / 1000)) * 1000); }
  }
  return out;
}

const rows: Record<string, unknown>[] = [];
for (const [label, rel] of hands) {
  const file = path.join(SHARED_DATA, rel);
  if (!fs.existsSync(file)) { console.warn(`[skip] ${label}: not found`); continue; }
  const robot = loadUrdf(file);
  const kin = new Kinematics(robot);
  const motion = retargetHand(track, robot);
  const Q = motion.quality as Record<string, any>;
  const dof = createHandRetargeter(kin).dofs.length;
  const r = measure(kin);
  rows.push({
    hand: label, dof, frames: T, passes,
    fps_median: Math.round(median(r.wall)), fps_best: Math.round(Math.max(...r.wall)), cpu_fps_median: Math.round(median(r.cpu)),
    eval_baseline_cpu_per_s: Math.round(median(r.baseCpu)),
    // Work per frame in baseline evaluations, from CPU time (robust to the other processes on the machine).
    evals_per_frame: Number((median(r.baseCpu) / median(r.cpu)).toFixed(1)),
    mean_iterations: Q.mean_iterations,
    fingertip_error_mean_m: Q.fingertip_error_mean_m, fingertip_direction_error_mean_deg: Q.fingertip_direction_error_mean_deg,
    joint_limit_violations: Q.joint_limit_violations, velocity_limit_violations: Q.velocity_limit_violations,
    penetration_frames: Q.penetration_frames, penetration_max_depth_m: Q.penetration_max_depth_m,
    max_joint_jump_rad: Q.max_joint_jump_rad, mean_jerk_rad_s3: Q.mean_jerk_rad_s3,
    pinch_robot_distance_mean_m: Q.pinch.robot_distance_mean_m,
    quality: label === 'Allegro' ? Q : undefined,
  });
}

// Ablation on Allegro, same run: the objective set of dex-retargeting's "vector" retargeting (wrist → tip
// vectors + low-pass) as the baseline, then adding each of our terms.
const ablations: [string, Record<string, number>][] = [
  ['vector only (baseline)', { fingerShape: 0, thumbFree: 0, pinch: 0, penetration: 0 }],
  ['+ DexPilot pinch', { fingerShape: 0, penetration: 0 }],
  ['+ finger shape', { penetration: 0 }],
  ['+ penetration (default)', {}],
];
const ablationRows: Record<string, unknown>[] = [];
{
  const robot = loadUrdf(path.join(SHARED_DATA, hands[0][1]));
  const kin = new Kinematics(robot);
  for (const [label, weights] of ablations) {
    const m = retargetHand(track, robot, { weights });
    const Q = m.quality as Record<string, any>;
    const hr = createHandRetargeter(kin);
    // Curl correlation per non-thumb finger: human 1 − |MCP→tip| / bone length vs the robot's signed joint sum.
    const curls = hr.fingers.slice(1).map((f) => {
      const [a, b, c, d] = { index: [5, 6, 7, 8], middle: [9, 10, 11, 12], ring: [13, 14, 15, 16], pinky: [17, 18, 19, 20], thumb: [1, 2, 3, 4] }[f.name];
      const h: number[] = [], r: number[] = [];
      for (let t = 0; t < T; t++) {
        const p = (j: number) => [lm[63 * t + 3 * j], lm[63 * t + 3 * j + 1], lm[63 * t + 3 * j + 2]];
        const dist = (x: number[], y: number[]) => Math.hypot(x[0] - y[0], x[1] - y[1], x[2] - y[2]);
        h.push(1 - dist(p(a), p(d)) / (dist(p(a), p(b)) + dist(p(b), p(c)) + dist(p(c), p(d))));
        r.push(f.dofs.reduce((s, dd, k) => s + f.flexSign[k] * m.q[t * kin.nq + dd], 0));
      }
      const mh = h.reduce((s, v) => s + v, 0) / T, mr = r.reduce((s, v) => s + v, 0) / T;
      let sab = 0, saa = 0, sbb = 0;
      for (let t = 0; t < T; t++) { sab += (h[t] - mh) * (r[t] - mr); saa += (h[t] - mh) ** 2; sbb += (r[t] - mr) ** 2; }
      return sab / Math.sqrt(saa * sbb);
    });
    ablationRows.push({
      objectives: label,
      fingertip_error_mean_m: Q.fingertip_error_mean_m, fingertip_direction_error_mean_deg: Q.fingertip_direction_error_mean_deg,
      curl_correlation_min: Number(Math.min(...curls).toFixed(3)),
      pinch_gap_index_m: Q.pinch.robot_gap_mean_m.index, pinch_tip_distance_index_m: Q.pinch.robot_distance_mean_m.index,
      penetration_frames: Q.penetration_frames, penetration_max_depth_m: Q.penetration_max_depth_m,
      mean_jerk_rad_s3: Q.mean_jerk_rad_s3,
    });
  }
}

const cpus = os.cpus();
console.log(`Machine: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`Clip: dex-retargeting keypoints, ${T} frames; ${passes} timed passes after one warm-up pass; one thread.\n`);
console.log('| hand | dof | frames/s (wall, median) | best pass | frames/s (CPU time) | baseline evals/s (CPU time) | baseline evals per frame | iterations | tip err (m) | dir err (°) | limit viol. | vel. viol. | penetration (mm) | max jump (rad) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows as any[]) {
  console.log(`| ${r.hand} | ${r.dof} | ${r.fps_median.toLocaleString('en-US')} | ${r.fps_best.toLocaleString('en-US')} | ${r.cpu_fps_median.toLocaleString('en-US')} | ${r.eval_baseline_cpu_per_s.toLocaleString('en-US')} | ${r.evals_per_frame} | ${r.mean_iterations} | ${r.fingertip_error_mean_m} | ${r.fingertip_direction_error_mean_deg} | ${r.joint_limit_violations} | ${r.velocity_limit_violations} | ${(r.penetration_max_depth_m * 1000).toFixed(2)} | ${r.max_joint_jump_rad} |`);
}
console.log('\nAllegro, objectives added one at a time (same solver, same run):\n');
console.log('| objectives | tip err (m) | dir err (°) | min curl correlation | thumb–index gap in human pinches (m) | tip distance (m) | penetration frames | deepest (mm) | mean jerk (rad/s³) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of ablationRows as any[]) {
  console.log(`| ${r.objectives} | ${r.fingertip_error_mean_m} | ${r.fingertip_direction_error_mean_deg} | ${r.curl_correlation_min} | ${r.pinch_gap_index_m} | ${r.pinch_tip_distance_index_m} | ${r.penetration_frames} | ${(r.penetration_max_depth_m * 1000).toFixed(2)} | ${r.mean_jerk_rad_s3} |`);
}
console.log('\n' + JSON.stringify({ benchmark: 'retarget-hand', rows, ablation: ablationRows }));
