/**
 * Validation benchmark: simulation steps per second, real-time factor and joint drift for H1, G1 and T1.
 *
 * Part 1 (the figure of record): `checkFeasibility` on a 10 s clip (slow squats) per robot, unassisted mode,
 * at the configured time step (configs/validation.yaml), reporting `report.sim`.
 * Part 2 (the joint-model choice): PD tracking of a 2 s squat with the articulated model (our reduced-coordinate
 * dynamics, src/sim/articulated.ts), Rapier multibody joints (our PD torques) and impulse joints (Rapier's PD motors), at a few dt / solver-iteration settings, in the same run: steps/s,
 * max anchor separation (mm), whether the robot stayed up, tracking error.
 *
 *   npx tsx benchmarks/validate/run.ts [--clip 10] [--matrix-clip 2] [--robots h1,g1,t1] [--skip-matrix]
 *
 * Needs ../shared/data. Prints markdown tables and writes benchmarks/validate/tmp/results.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { checkFeasibility, buildReference, inverseDynamics, robotGeometry, pdGains, trackMotion, createPlant, defaultValidationConfig } from '../../src/sim/index.ts';
import { squatMotion } from '../../src/sim/synthetic.ts';
import { findFeet, trackContacts } from '../../src/sim/contacts.ts';
import { PROJECT_ROOT, SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const clip = Number(arg('clip', '10'));
const matrixClip = Number(arg('matrix-clip', '2'));
const which = arg('robots', 'h1,g1,t1').split(',');
const skipMatrix = process.argv.includes('--skip-matrix');
const ROBOTS: Record<string, string> = {
  h1: 'robots/unitree_h1/urdf/h1.urdf',
  g1: 'robots/unitree_g1/g1_29dof_rev_1_0.urdf',
  t1: 'robots/booster_t1/T1_serial.urdf',
};

const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')} at start`;
console.log(`machine: ${machine}`);
const results: Record<string, unknown> = { machine, command: `npx tsx benchmarks/validate/run.ts ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString() };

// ---- Part 1 --------------------------------------------------------------------------------------------
const main: Record<string, unknown>[] = [];
console.log(`\n## ${clip} s clip (slow squats), checkFeasibility --mode unassisted, configs/validation.yaml settings\n`);
console.log('| robot | dt (s) | steps | steps/s | real-time factor | joint drift (mm) | wall (s) | feasible |');
console.log('|---|---|---|---|---|---|---|---|');
for (const name of which) {
  const robot = loadUrdf(path.join(SHARED_DATA, ROBOTS[name]));
  const m = await squatMotion(robot, clip, 50, 0.5, Math.max(1, Math.round(clip / 3)));
  const t0 = performance.now();
  const r = await checkFeasibility(m, robot, { mode: 'unassisted' });
  const wall = (performance.now() - t0) / 1000;
  const row = { robot: name, ...r.sim, wall_s: +wall.toFixed(1), feasible: r.feasible, reasons: r.reasons.map((x) => x.kind) };
  main.push(row);
  console.log(`| ${name} | ${r.sim.dt} | ${r.sim.steps} | ${r.sim.steps_per_second} | ${r.sim.realtime_factor} | ${r.sim.joint_drift_mm} | ${row.wall_s} | ${r.feasible} |`);
}
results.clip = main;

// ---- Part 2 --------------------------------------------------------------------------------------------
if (!skipMatrix) {
  const cfg = defaultValidationConfig();
  const armCfg = { per: cfg.geometry.armature_per_effort, max: cfg.geometry.armature_max };
  const settings: { joints: 'articulated' | 'multibody'; dt: number; iters: number; armature: boolean }[] = [];
  for (const dt of [0.002, 0.005, 0.01]) settings.push({ joints: 'articulated', dt, iters: cfg.sim.contact_iterations, armature: true });
  for (const joints of ['multibody'] as const) {
    for (const [dt, iters] of [[0.002, 4], [0.005, 4]] as const) settings.push({ joints, dt, iters, armature: false });
    for (const [dt, iters] of [[0.002, 4], [0.005, 4], [0.005, 2], [0.01, 4]] as const) settings.push({ joints, dt, iters, armature: true });
  }
  const rows: Record<string, unknown>[] = [];
  console.log(`\n## Joint model: PD tracking of a ${matrixClip} s squat, unassisted\n`);
  console.log('| robot | joints | armature | dt (s) | iterations | steps/s | RTF | max joint drift (mm) | stayed up | mean body error (mm) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const name of which) {
    const robot = loadUrdf(path.join(SHARED_DATA, ROBOTS[name]));
    const motion = await squatMotion(robot, matrixClip, 50, 0.5, 1);
    for (const s of settings) {
      const geom = await robotGeometry(robot, s.armature ? { armaturePerEffort: armCfg.per, armatureMax: armCfg.max } : {});
      const ref = buildReference(motion, geom.kin);
      const feet = findFeet(geom, 0.02);
      const id = inverseDynamics(ref, geom, trackContacts(ref, geom, feet, { contactHeight: 0.02, footTolerance: 0.02 }), 9.81, 0.1);
      const nq = geom.kin.nq;
      const gains = pdGains(geom, ref.q.subarray(0, nq), { saturationAngle: 0.1, kdRatio: 0.03, dt: s.dt, explicit: s.joints === 'multibody' });
      const trackOpts = { mode: 'unassisted' as const, kp: gains.kp, kd: gains.kd, feedforward: id.tau, baseFrequency: 2, baseDamping: 1, stopOnFall: false, fallHeightFraction: 0.6, fallTiltDeg: 45 };
      const plant = await createPlant(geom, {
        engine: s.joints === 'articulated' ? 'articulated' : 'rapier', dt: s.dt, fixedBase: false, friction: 0.9, gravity: 9.81,
        contactIterations: s.iters, solverIterations: s.iters,
      });
      const r = trackMotion(plant, geom, ref, trackOpts);
      plant.dispose();
      const drift = Math.max(0, ...Array.from(r.jointDrift).filter(Number.isFinite)) * 1000;
      const be = Array.from(r.bodyError).filter(Number.isFinite);
      const row = {
        robot: name, ...s, steps_per_second: Math.round(r.steps / r.wallSeconds), realtime_factor: +(r.simSeconds / r.wallSeconds).toFixed(2),
        joint_drift_mm: +drift.toFixed(3), stayed_up: r.fellAt < 0, body_error_mean_mm: +((be.reduce((a, b) => a + b, 0) / be.length) * 1000).toFixed(1),
      };
      rows.push(row);
      console.log(`| ${name} | ${s.joints} | ${s.armature ? 'yes' : 'no'} | ${s.dt} | ${s.iters} | ${row.steps_per_second} | ${row.realtime_factor} | ${row.joint_drift_mm} | ${row.stayed_up} | ${row.body_error_mean_mm} |`);
    }
  }
  results.matrix = rows;
}
results.load_average_end = os.loadavg();
const out = path.join(PROJECT_ROOT, 'benchmarks', 'validate', 'tmp');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 2));
console.log(`\nload average at end: ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
