/**
 * Cost of the least-effort ground-force split (src/sim/dynamics.ts, DynamicsOptions.leastEffortAbove): the
 * validator's inverse dynamics of a motion with the least-squares split only and with frames over their effort
 * re-solved, alternating in one process (median of --runs after two warm-up rounds), with the frames re-solved,
 * the worst torque ratio each way and the load average.
 *
 *   npx tsx benchmarks/validate/contacts.ts --motion test/sim/golden/h1_cmu_104_02_walk.npz --robot ../shared/data/robots/unitree_h1/urdf/h1.urdf [--runs 7]
 */
import * as os from 'node:os';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { loadMotion } from '../../src/robot/motion.ts';
import { robotGeometry } from '../../src/sim/geometry.ts';
import { buildReference } from '../../src/sim/reference.ts';
import { findFeet, trackContacts } from '../../src/sim/contacts.ts';
import { loadValidationConfig } from '../../src/sim/config.ts';
import { inverseDynamics } from '../../src/sim/dynamics.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const motion = opt('motion'), urdf = opt('robot');
if (!motion || !urdf) throw new Error('usage: contacts.ts --motion <file.npz> --robot <urdf> [--runs N]');
const runs = Number(opt('runs') ?? 7);
const load0 = os.loadavg()[0];
const cfg = loadValidationConfig(), g = cfg.geometry;
const geom = await robotGeometry(loadUrdf(urdf), {
  defaultMass: g.default_mass, decimateCell: g.decimate_cell, hullVolumeRatio: g.hull_volume_ratio, maxHullsPerMesh: g.max_hulls_per_mesh,
  missingCollision: g.missing_collision, armaturePerEffort: g.armature_per_effort, armatureMax: g.armature_max,
});
const kin = geom.kin;
const ref = buildReference(loadMotion(motion), kin);
const ct = trackContacts(ref, geom, findFeet(geom, cfg.contacts.foot_tolerance), { contactHeight: cfg.contacts.contact_height, footTolerance: cfg.contacts.foot_tolerance });
const mu = Number(cfg.checks.friction_cone.mu), factor = Number(cfg.checks.torque.factor);
const worst = (tau: Float64Array): string => {
  let m = 0, d = -1;
  for (let i = 0; i < tau.length; i++) {
    const e = kin.effortLimit[i % kin.nq];
    if (e > 0 && Number.isFinite(e) && Math.abs(tau[i]) / e > m) { m = Math.abs(tau[i]) / e; d = i % kin.nq; }
  }
  return `${m.toFixed(3)}x (${d >= 0 ? kin.dofNames[d] : '-'})`;
};
const time = (above: number): { ms: number; tau: Float64Array } => {
  const t0 = performance.now();
  const id = inverseDynamics(ref, geom, ct, cfg.sim.gravity, cfg.contacts.smoothing, { mu, leastEffortAbove: above });
  return { ms: performance.now() - t0, tau: id.tau };
};
for (let i = 0; i < 2; i++) { time(Infinity); time(factor); }
const ls: number[] = [], le: number[] = [];
let tauLs: Float64Array = new Float64Array(0), tauLe: Float64Array = new Float64Array(0);
for (let i = 0; i < runs; i++) {
  const a = time(Infinity), b = time(factor);
  ls.push(a.ms); le.push(b.ms); tauLs = a.tau; tauLe = b.tau;
}
const med = (x: number[]): number => x.slice().sort((p, q) => p - q)[Math.floor(x.length / 2)];
// Frames re-solved: those whose torques differ between the two.
let refined = 0;
for (let t = 0; t < ref.T; t++) for (let d = 0; d < kin.nq; d++) if (tauLs[t * kin.nq + d] !== tauLe[t * kin.nq + d]) { refined++; break; }
console.log(`${motion}: ${ref.T} frames; least squares ${med(ls).toFixed(1)} ms, least effort ${med(le).toFixed(1)} ms (median of ${runs}); ` +
  `${refined} frames re-solved (+${refined ? ((med(le) - med(ls)) / refined).toFixed(2) : '0'} ms each); worst ratio ${worst(tauLs)} -> ${worst(tauLe)}; ` +
  `load ${load0.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)}, ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}`);
