/**
 * How low dex-retargeting's vector measure can go on a hand within its URDF velocity limits (issue 15): start
 * from reel2real's solve without the velocity box, plan it within the limits (src/retarget/hand/plan.ts), then
 * descend on the measure itself — the mean over frames and vectors of |robot (task − origin) − scaling_factor ×
 * human (j1 − j0)| of the hand's `teleop_vector_*.yml` — by projected gradient: a step along its gradient
 * (central differences per joint and frame), joint limits clamped, then projected back within the velocity
 * limits by the same plan. No pinch, collision or smoothness terms: a lower bound on what any solve that keeps
 * the limits reaches on this measure (as far as this descent finds; it stops when a step gains < 0.01 mm).
 *
 * `--start FILE`: start from another motion instead (a dex_run.py output, e.g. dex-retargeting's, which exceeds the
 * limits), planned within the limits first.
 *
 *   npx tsx benchmarks/retarget/hand-floor.ts <allegro|inspire|leap|shadow> [--step 3] [--iterations 80] [--hold WRJ2,WRJ1] [--start dex.json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retargetHand } from '../../src/retarget/hand/index.ts';
import { parseYaml } from '../../src/io/text.ts';
import { planVelocities } from '../../src/retarget/hand/plan.ts';
import { dexVectorError } from './dex-vector.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (k: string) => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1] : undefined; };
const h = process.argv[2];
if (!['allegro', 'inspire', 'leap', 'shadow'].includes(h)) { console.error('usage: hand-floor.ts <allegro|inspire|leap|shadow> [--step S] [--iterations N] [--hold joint,...]'); process.exit(2); }
const step = Number(arg('--step') ?? 3), iterations = Number(arg('--iterations') ?? 80);
const kpFile = path.join(SHARED_DATA, 'keypoints/dex_retargeting_human_joint_right.json');
const raw = (JSON.parse(fs.readFileSync(kpFile, 'utf8')) as { frames: (number[][] | null)[] }).frames;
const track = importPose(kpFile);
const dir = path.join(SHARED_DATA, 'hands', `${h}_right`);
const yml = path.join(dir, 'dex_retargeting_configs', `teleop_vector_${h}_hand_right.yml`);
const r = (parseYaml(fs.readFileSync(yml, 'utf8'), yml) as { retargeting: Record<string, any> }).retargeting;
const robot = loadUrdf(path.join(dir, `${h}_hand_right.urdf`));
const kin = new Kinematics(robot);
const cfg = { origin: r.target_origin_link_names as string[], task: r.target_task_link_names as string[], human: r.target_link_human_indices as [number[], number[]], scale: r.scaling_factor as number };
const T = track.timestamps.length, nq = kin.nq;
const hold = new Set((arg('--hold') ?? '').split(',').filter(Boolean).map((n) => kin.dofIndex(n)));
const o = cfg.origin.map((n) => kin.linkIndex(n)), k = cfg.task.map((n) => kin.linkIndex(n));
const qq = new Float64Array(nq);
/** The measure at one frame for qq. */
const frameError = (t: number): number => {
  const hh = raw[t];
  if (!hh) return 0;
  kin.fk(qq);
  const P = kin.pose;
  let s = 0;
  for (let v = 0; v < o.length; v++) {
    const a = 12 * o[v], b = 12 * k[v], j0 = cfg.human[0][v], j1 = cfg.human[1][v];
    let e = 0;
    for (let c = 0; c < 3; c++) { const x = P[b + 9 + c] - P[a + 9 + c] - cfg.scale * (hh[j1][c] - hh[j0][c]); e += x * x; }
    s += Math.sqrt(e);
  }
  return s / o.length;
};

console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
const dofs = Array.from({ length: nq }, (_, d) => d);
const free = retargetHand(track, robot, { velocityLimits: false, velocityPlan: false });
console.log(`${h}: reel2real without velocity limits ${(dexVectorError(kin, free.q, T, cfg) * 1000).toFixed(2)} mm`);
const Q = Float32Array.from(free.q);
const startFile = arg('--start');
if (startFile) {
  // A dex_run.py output: its joints mapped onto ours by name.
  const d = JSON.parse(fs.readFileSync(startFile, 'utf8')) as { joint_names: string[]; qpos: number[][] };
  const col = kin.dofNames.map((n) => d.joint_names.indexOf(n));
  if (col.some((c) => c < 0) || d.qpos.length !== T) throw new Error(`${startFile}: not a ${T}-frame motion of this hand's joints`);
  for (let t = 0; t < T; t++) for (let k = 0; k < nq; k++) Q[t * nq + k] = d.qpos[t][col[k]];
  console.log(`${h}: start ${startFile} ${(dexVectorError(kin, Q, T, cfg) * 1000).toFixed(2)} mm`);
}
planVelocities(Q, T, nq, dofs, track.timestamps, kin.velocityLimit, kin.lower, kin.upper);
let last = dexVectorError(kin, Q, T, cfg);
console.log(`${h}: planned within the velocity limits ${(last * 1000).toFixed(2)} mm`);
const G = new Float64Array(T * nq);
const eps = 1e-5;
for (let it = 1; it <= iterations; it++) {
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) qq[d] = Q[t * nq + d];
    for (let d = 0; d < nq; d++) {
      if (hold.has(d)) { G[t * nq + d] = 0; continue; }
      const v = qq[d];
      qq[d] = v + eps; const fp = frameError(t);
      qq[d] = v - eps; const fm = frameError(t);
      qq[d] = v;
      G[t * nq + d] = (fp - fm) / (2 * eps);
    }
  }
  for (let t = 0; t < T; t++) for (let d = 0; d < nq; d++) Q[t * nq + d] = Math.min(kin.upper[d], Math.max(kin.lower[d], Q[t * nq + d] - step * G[t * nq + d]));
  planVelocities(Q, T, nq, dofs, track.timestamps, kin.velocityLimit, kin.lower, kin.upper);
  const e = dexVectorError(kin, Q, T, cfg);
  if (it % 10 === 0 || last - e < 1e-5) console.log(`  iteration ${it}: ${(e * 1000).toFixed(2)} mm`);
  if (last - e < 1e-5) break;
  last = e;
}
let viol = 0;
for (let t = 1; t < T; t++) for (let d = 0; d < nq; d++) if (Math.abs(Q[t * nq + d] - Q[(t - 1) * nq + d]) * track.fps > kin.velocityLimit[d] * (1 + 1e-4) + 1e-6) viol++;
console.log(`${h}: lowest found within the velocity limits ${(dexVectorError(kin, Q, T, cfg) * 1000).toFixed(2)} mm (velocity-limit violations ${viol})${hold.size ? `, holding ${[...hold].map((d) => kin.dofNames[d]).join(', ')}` : ''}`);
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
