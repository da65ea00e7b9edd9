/**
 * Physics stage benchmark (issue 14 targets): every clean clip of ../shared/data (CMU BVH, DeepMimic walk,
 * OpenSim walk, the squats video, the built-in pick-and-place) on H1, G1 and T1, first 10 s at the clip's own
 * frame rate: kinematic retarget, then the physics stage; verdicts, deviations of corrected clips, and CPU time
 * of both stages in the same process.
 *
 *   npx tsx benchmarks/physics/run.ts [--out benchmarks/physics/results.json] [--no-video] [--cross-check]
 *
 * --cross-check: each clip the stage follows is run again by the same controller on Rapier's multibody world
 * (PhysicsOptions.crossCheck); the row gets report.engines (agree, and why not).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listCorpus, loadClip } from '../../src/bench/corpus.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { retargetFile } from '../../src/retarget/run.ts';
import { physicsCorrect } from '../../src/physics/index.ts';
import { writeFileAtomic } from '../../src/io/atomic.ts';
import type { PoseTrack } from '../../src/pose/track.ts';

const DATA = process.env.REEL2REAL_SHARED_DATA ?? path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data');
const args = process.argv.slice(2);
const outFile = args.includes('--out') ? args[args.indexOf('--out') + 1] : path.join(import.meta.dirname, 'results.json');
const withVideo = !args.includes('--no-video');
const crossCheck = args.includes('--cross-check');
const ROBOTS: Record<string, string> = {
  H1: 'robots/unitree_h1/urdf/h1.urdf',
  G1: 'robots/unitree_g1/g1_29dof_rev_1_0.urdf',
  T1: 'robots/booster_t1/T1_serial.urdf',
};
const corpus = [
  'motions/cmu_small_gods_game', 'motions/cmu_bvh11', 'motions/cmu_01_01_forward_jumps_turn_around.bvh',
  'motions/deepmimic/humanoid3d_walk.json', 'motions/opensim_rajagopal2016_walk/markers_walk.trc',
  ...(withVideo ? ['videos/tfjs_pose_squats.mp4'] : []),
].map((p) => path.join(DATA, p));
const clips = [...listCorpus(corpus, { videos: withVideo }), ...listCorpus(['builtin:pick-and-place'])]
  .filter((c) => !/scaled_metres/.test(c.id)); // the same take as 131_01 in other units
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

const load0 = os.loadavg().map((v) => +v.toFixed(2));
const tracks = new Map<string, PoseTrack>();
const rows: Record<string, unknown>[] = [];
const t0 = performance.now();
for (const c of clips) {
  try {
    tracks.set(c.id, await loadClip(c, { maxSeconds: 10, fps: 1000 }));
  } catch (e) {
    console.error(`skip ${c.id}: ${(e as Error).message}`);
  }
}
for (const [name, rel] of Object.entries(ROBOTS)) {
  const robot = loadUrdf(path.join(DATA, rel));
  for (const [id, track] of tracks) {
    const seconds = track.timestamps[track.timestamps.length - 1] - track.timestamps[0];
    const c0 = cpu();
    let motion;
    try {
      motion = retargetFile(track, robot, { file: id }).motion;
    } catch (e) {
      rows.push({ robot: name, clip: id, status: 'retarget-error', reason: (e as Error).message });
      continue;
    }
    const c1 = cpu();
    const { report } = await physicsCorrect(motion, robot, { file: id, crossCheck });
    const c2 = cpu();
    const d = report.deviation;
    const hands = d ? Object.entries(d.keypoints).filter(([k]) => k.startsWith('hand:')).map(([, v]) => v.mean_m) : [];
    const row = {
      robot: name, clip: id, seconds: +seconds.toFixed(2), fps: track.fps, status: report.status, output: report.output,
      reasons: report.reasons.map((r) => `${r.kind}: ${r.message}`),
      max_change_m: d?.max_change_m ?? null, stance_foot_max_m: d?.stance_foot.max_m ?? null,
      hand_mean_m: hands.length ? Math.max(...hands) : null, heading_max_deg: d?.heading.max_deg ?? null,
      root_path_mean_m: d?.root_path.mean_m ?? null, fell_at_s: report.fell_at_frame !== undefined ? +(report.fell_at_frame / track.fps).toFixed(2) : null,
      simulated_s: +(report.sim.steps * report.sim.dt).toFixed(2),
      retarget_cpu_s: +(c1 - c0).toFixed(3), physics_cpu_s: +(c2 - c1).toFixed(3),
      physics_realtime_x: +(seconds / Math.max(c2 - c1, 1e-9)).toFixed(2),
      physics_sim_realtime_x: report.sim.realtime_factor,
      ...(report.engines ? { engines: report.engines } : {}),
    };
    rows.push(row);
    console.log(`${name} ${id}: ${row.status} ${row.reasons[0] ?? ''}${report.engines ? ` [${report.engines.engine}: ${report.engines.agree ? 'agrees' : report.engines.disagreement.join('; ')}]` : ''} | retarget ${row.retarget_cpu_s} s CPU, physics ${row.physics_cpu_s} s CPU for ${row.seconds} s (${row.physics_realtime_x}x)`);
  }
}
// Speed: G1, the physics stage simulating the whole clip (fall stop off), beside the kinematic retarget.
const speed: Record<string, unknown>[] = [];
{
  const robot = loadUrdf(path.join(DATA, ROBOTS.G1));
  for (const id of ['cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh', 'cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh', 'builtin:pick-and-place']) {
    const track = tracks.get(id);
    if (!track) continue;
    const seconds = track.timestamps[track.timestamps.length - 1] - track.timestamps[0];
    const c0 = cpu();
    const motion = retargetFile(track, robot, { file: id }).motion;
    const c1 = cpu();
    const { report } = await physicsCorrect(motion, robot, { file: id, validateReference: false, overrides: { verdict: { fall_height_fraction: 0, fall_tilt_deg: 180 } } });
    const c2 = cpu();
    const simulated = report.sim.steps * report.sim.dt;
    speed.push({ clip: id, seconds: +seconds.toFixed(2), fps: track.fps, simulated_s: +simulated.toFixed(2), retarget_cpu_s: +(c1 - c0).toFixed(3), physics_cpu_s: +(c2 - c1).toFixed(3), physics_realtime_x: +(simulated / (c2 - c1)).toFixed(2), retarget_realtime_x: +(seconds / (c1 - c0)).toFixed(2) });
    console.log('speed', JSON.stringify(speed[speed.length - 1]));
  }
}
const summary: Record<string, unknown> = {};
for (const name of Object.keys(ROBOTS)) {
  const r = rows.filter((x) => x.robot === name);
  const ok = r.filter((x) => x.status === 'feasible' || x.status === 'corrected');
  summary[name] = { clips: r.length, feasible: r.filter((x) => x.status === 'feasible').length, corrected: r.filter((x) => x.status === 'corrected').length, infeasible: r.filter((x) => x.status === 'infeasible').length, success_rate: r.length ? +(ok.length / r.length).toFixed(3) : null };
}
const out = {
  command: `npx tsx benchmarks/physics/run.ts ${args.join(' ')}`.trim(), date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg_start: load0, loadavg_end: os.loadavg().map((v) => +v.toFixed(2)), node: process.version },
  wall_s: +((performance.now() - t0) / 1000).toFixed(1), summary, speed, rows,
};
writeFileAtomic(outFile, JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(summary, null, 2));
