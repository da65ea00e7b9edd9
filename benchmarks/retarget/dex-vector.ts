/**
 * Hands on dex-retargeting's own measure (issue 15): for each hand's `teleop_vector_*.yml` in
 * ../shared/data/hands/<hand>/dex_retargeting_configs/, the mean over frames and target vectors of
 * |robot (task link − origin link) − scaling_factor × human (landmark j1 − landmark j0)|, in mm, with
 * the robot at the URDF root frame and the human keypoints as stored (MANO wrist frame,
 * keypoints/dex_retargeting_human_joint_right.json). reel2real's motion comes from `retargetHand` on the
 * same keypoints (no dex config). Also frames/s of the solve (one warm-up, then `--passes`).
 *
 *   npx tsx benchmarks/retarget/dex-vector.ts [--passes 3]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retargetHand } from '../../src/retarget/hand/index.ts';
import { parseYaml } from '../../src/io/text.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const i = process.argv.indexOf('--passes');
const passes = i >= 0 ? Number(process.argv[i + 1]) : 3;
const kpFile = path.join(SHARED_DATA, 'keypoints/dex_retargeting_human_joint_right.json');
const raw = JSON.parse(fs.readFileSync(kpFile, 'utf8')) as { frames: (number[][] | null)[] };
const track = importPose(kpFile);

/** Mean vector error (m) of a hand motion on a dex-retargeting vector config. */
export function dexVectorError(kin: Kinematics, q: Float32Array, T: number, cfg: { origin: string[]; task: string[]; human: [number[], number[]]; scale: number }): number {
  const nq = kin.nq, qq = new Float64Array(nq);
  const o = cfg.origin.map((n) => kin.linkIndex(n)), k = cfg.task.map((n) => kin.linkIndex(n));
  let sum = 0, n = 0;
  for (let t = 0; t < T; t++) {
    const h = raw.frames[t];
    if (!h) continue;
    for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d];
    kin.fk(qq);
    const P = kin.pose;
    for (let v = 0; v < o.length; v++) {
      const a = 12 * o[v], b = 12 * k[v], j0 = cfg.human[0][v], j1 = cfg.human[1][v];
      let e = 0;
      for (let c = 0; c < 3; c++) { const r = P[b + 9 + c] - P[a + 9 + c] - cfg.scale * (h[j1][c] - h[j0][c]); e += r * r; }
      sum += Math.sqrt(e); n++;
    }
  }
  return sum / Math.max(1, n);
}

const HANDS = ['allegro', 'inspire', 'leap', 'shadow'];
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('dex-vector.ts')) {
  console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  console.log('');
  console.log('| hand | frames | vector error, dex config measure (mm) | frames/s (wall, solve, median) | frames/s (CPU, whole retargetHand call, median) | lag median (frames) | penetration frames (capsules) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const h of HANDS) {
    const dir = path.join(SHARED_DATA, 'hands', `${h}_right`);
    const yml = path.join(dir, 'dex_retargeting_configs', `teleop_vector_${h}_hand_right.yml`);
    const y = parseYaml(fs.readFileSync(yml, 'utf8'), yml) as { retargeting: Record<string, any> };
    const r = y.retargeting;
    const robot = loadUrdf(path.join(dir, `${h}_hand_right.urdf`));
    const kin = new Kinematics(robot);
    retargetHand(track, robot);
    const wall: number[] = [], cpu: number[] = [];
    let m = retargetHand(track, robot);
    for (let p = 0; p < passes; p++) {
      const c0 = process.cpuUsage();
      m = retargetHand(track, robot);
      const c = process.cpuUsage(c0);
      wall.push((m.quality as any).frames_per_second);
      cpu.push(m.timestamps.length / ((c.user + c.system) / 1e6));
    }
    const med = (x: number[]) => x.slice().sort((a, b) => a - b)[x.length >> 1];
    const err = dexVectorError(kin, m.q, m.timestamps.length, { origin: r.target_origin_link_names, task: r.target_task_link_names, human: r.target_link_human_indices, scale: r.scaling_factor });
    const q = m.quality as any;
    console.log(`| ${h} | ${m.timestamps.length} | ${(err * 1000).toFixed(1)} | ${Math.round(med(wall))} | ${Math.round(med(cpu))} | ${q.lag?.median_frames} | ${q.penetration_frames} |`);
  }
  console.log('');
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}
