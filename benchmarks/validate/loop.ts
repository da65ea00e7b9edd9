/**
 * The closed loop alone: `trackMotion` on the articulated plant (unassisted, default gains and feedforward) of a
 * motion file, three repetitions in one process, CPU time per repetition and contact sweeps per step. With
 * --root DIR it loads another checkout's sources (for a before/after in the same run).
 *
 *   npx tsx benchmarks/validate/loop.ts --motion stand20.npz --robot h1.urdf [--root DIR]
 */
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../test/helpers/shared.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const ROOT = path.resolve(opt('root') ?? PROJECT_ROOT);
const motionFile = opt('motion'), urdf = opt('robot');
if (!motionFile || !urdf) throw new Error('usage: loop.ts --motion <file.npz> --robot <urdf> [--root DIR]');
const { loadUrdf } = await import(`${ROOT}/src/robot/urdf.ts`);
const { loadMotion } = await import(`${ROOT}/src/robot/motion.ts`);
const { robotGeometry, pdGains } = await import(`${ROOT}/src/sim/geometry.ts`);
const { buildReference } = await import(`${ROOT}/src/sim/reference.ts`);
const { createPlant } = await import(`${ROOT}/src/sim/plant.ts`);
const { trackMotion } = await import(`${ROOT}/src/sim/track.ts`);
const { findFeet, trackContacts } = await import(`${ROOT}/src/sim/contacts.ts`);
const { inverseDynamics } = await import(`${ROOT}/src/sim/dynamics.ts`);
const geom = await robotGeometry(loadUrdf(urdf), { armaturePerEffort: 0.0002, armatureMax: 0.03 });
const ref = buildReference(loadMotion(motionFile), geom.kin);
const id = inverseDynamics(ref, geom, trackContacts(ref, geom, findFeet(geom, 0.02), { contactHeight: 0.02, footTolerance: 0.02 }), 9.81, 0.1);
const gains = pdGains(geom, ref.q.subarray(0, geom.kin.nq), { saturationAngle: 0.1, kdRatio: 0.03, dt: 0.005, explicit: false });
for (let rep = 0; rep < 3; rep++) {
  const plant = await createPlant(geom, { engine: 'articulated', dt: 0.005, fixedBase: false, friction: 0.9, gravity: 9.81, contactIterations: 30 });
  const c0 = process.cpuUsage(), t0 = performance.now();
  const r = trackMotion(plant, geom, ref, { mode: 'unassisted', kp: gains.kp, kd: gains.kd, feedforward: id.tau, baseFrequency: 2, baseDamping: 1, stopOnFall: true, fallHeightFraction: 0.6, fallTiltDeg: 45 });
  const cpu = process.cpuUsage(c0);
  const b = (plant as unknown as { body: { sweepsDone?: number; solves?: number } }).body;
  const sweeps = b.sweepsDone !== undefined && b.solves ? (b.sweepsDone / b.solves).toFixed(2) : 'n/a';
  console.log(`${ROOT} rep ${rep}: ${r.steps} steps, ${((cpu.user + cpu.system) / 1e3).toFixed(0)} ms CPU, ${(performance.now() - t0).toFixed(0)} ms wall, ${sweeps} contact sweeps/step, final mean body error ${(r.bodyError[ref.T - 1] * 1000).toFixed(2)} mm`);
}
