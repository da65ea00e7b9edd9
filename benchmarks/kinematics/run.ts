/**
 * Kinematics benchmark: full-body forward kinematics per second and point Jacobians per second on one core,
 * for the Unitree G1 (29 dof) and others, beside urdf-loader's three.js scene graph doing the same FK in the
 * same run (the baseline a JS user would otherwise reach for).
 *
 *   npx tsx benchmarks/kinematics/run.ts [--seconds 2]
 *
 * Needs ../shared/data (the real robots); prints a markdown table and a JSON line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DOMParser, Document, Element } from 'linkedom';
import * as THREE from 'three';
import URDFLoader from 'urdf-loader';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { PROJECT_ROOT, SHARED_DATA } from '../../test/helpers/shared.ts';

Object.assign(globalThis, { DOMParser, Document, Element });

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 2;
const models: [string, string][] = [
  ['G1 29-DoF', path.join(SHARED_DATA, 'robots/unitree_g1/g1_29dof_rev_1_0.urdf')],
  ['G1 + Dex3 hands', path.join(SHARED_DATA, 'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf')],
  ['H1', path.join(SHARED_DATA, 'robots/unitree_h1/urdf/h1.urdf')],
  ['r2r humanoid', path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf')],
];

/**
 * Calls per second of fn: the best of 5 slices of seconds/5 each after a warm-up, so that a slice in which
 * another process had the core does not drag the figure down (the machine is shared).
 */
function rate(fn: (i: number) => void): number {
  for (let i = 0; i < 20000; i++) fn(i);
  let best = 0;
  let n = 0;
  for (let slice = 0; slice < 5; slice++) {
    const t0 = performance.now();
    let t = t0;
    let k = 0;
    while (t - t0 < (seconds * 1000) / 5) {
      for (let j = 0; j < 2000; j++) fn(n++);
      k += 2000;
      t = performance.now();
    }
    best = Math.max(best, (k / (t - t0)) * 1000);
  }
  return best;
}

const rows: Record<string, unknown>[] = [];
for (const [label, file] of models) {
  if (!fs.existsSync(file)) {
    console.warn(`[skip] ${label}: ${file} not found`);
    continue;
  }
  const robot = loadUrdf(file);
  const kin = new Kinematics(robot);
  const q = new Float64Array(kin.nq);
  for (let i = 0; i < kin.nq; i++) q[i] = 0.3 * Math.sin(i);
  const base = { pos: [0, 0, 0.8], quat: [1, 0, 0, 0] };
  const fkRate = rate((i) => { q[0] = 1e-6 * i; kin.fk(q, base); });
  const J = new Float64Array(6 * (kin.nq + 6));
  const hand = kin.linkIndex(kin.linkNames[kin.nLinks - 1]);
  const local = [0.01, 0.02, 0.03];
  kin.fk(q, base);
  const jacRate = rate(() => { kin.jacobian(hand, local, J, true); });
  const fkJacRate = rate((i) => { q[0] = 1e-6 * i; kin.fk(q, base); kin.jacobian(hand, local, J, true); });

  // Baseline: urdf-loader scene graph.
  const loader = new URDFLoader();
  (loader as any).loadMeshCb = (_p: string, _m: unknown, _mat: unknown, done: (o: THREE.Object3D) => void) => done(new THREE.Object3D());
  const theirs = loader.parse(fs.readFileSync(file, 'utf8'));
  const names = kin.dofNames;
  const baseRate = rate((i) => {
    for (let k = 0; k < names.length; k++) theirs.setJointValue(names[k], q[k] + 1e-6 * i);
    theirs.updateMatrixWorld(true);
  });
  rows.push({ robot: label, dof: kin.nq, links: kin.nLinks, fk_per_s: Math.round(fkRate), jacobian_per_s: Math.round(jacRate), fk_plus_jacobian_per_s: Math.round(fkJacRate), urdf_loader_fk_per_s: Math.round(baseRate), speedup_vs_urdf_loader: +(fkRate / baseRate).toFixed(1) });
}

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}; best of 5 slices over ${seconds}s per figure, one thread; load average ${os.loadavg()[0].toFixed(1)}`);
console.log('| robot | dof | links | FK/s | Jacobians/s | FK+Jacobian/s | urdf-loader FK/s | speed-up |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.robot} | ${r.dof} | ${r.links} | ${r.fk_per_s} | ${r.jacobian_per_s} | ${r.fk_plus_jacobian_per_s} | ${r.urdf_loader_fk_per_s} | ${r.speedup_vs_urdf_loader}x |`);
console.log(JSON.stringify({ benchmark: 'kinematics', seconds, rows }));
