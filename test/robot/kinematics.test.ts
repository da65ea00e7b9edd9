/**
 * Kinematics checked against an independent computation: urdf-loader's three.js scene graph (its own URDF
 * parsing, its own joint transforms, mimic handling and matrix composition) on every real robot and hand,
 * to 1e-6, for random configurations. Jacobians are checked against finite differences of FK.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOMParser as LinkeDOMParser, Document as LinkeDocument, Element as LinkeElement } from 'linkedom';
import * as THREE from 'three';
import URDFLoader from 'urdf-loader';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { describeShared, shared, PROJECT_ROOT } from '../helpers/shared.ts';
import * as path from 'node:path';

(globalThis as any).DOMParser = LinkeDOMParser;
(globalThis as any).Document = LinkeDocument;
(globalThis as any).Element = LinkeElement;

export const REAL_MODELS = [
  'robots/unitree_h1/urdf/h1.urdf',
  'robots/unitree_h1/urdf/h1_original_package_uris.urdf',
  'robots/unitree_g1/g1_29dof_rev_1_0.urdf',
  'robots/unitree_g1/g1_29dof_lock_waist_rev_1_0.urdf',
  'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf',
  'robots/booster_t1/T1_serial.urdf',
  'hands/allegro_right/allegro_hand_right.urdf',
  'hands/inspire_right/inspire_hand_right.urdf',
  'hands/leap_right/leap_hand_right.urdf',
  'hands/shadow_right/shadow_hand_right.urdf',
];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Random q within limits (a wide range for continuous joints). */
function randomQ(k: Kinematics, r: () => number): Float64Array {
  const q = new Float64Array(k.nq);
  for (let i = 0; i < k.nq; i++) {
    const lo = Number.isFinite(k.lower[i]) ? k.lower[i] : -Math.PI;
    const hi = Number.isFinite(k.upper[i]) ? k.upper[i] : Math.PI;
    q[i] = lo + (hi - lo) * r();
  }
  return q;
}

function compareWithUrdfLoader(file: string, seeds = 5) {
  const ours = loadUrdf(file);
  const kin = new Kinematics(ours);
  const loader = new URDFLoader();
  (loader as any).loadMeshCb = (_p: string, _m: unknown, _mat: unknown, done: (o: THREE.Object3D) => void) => done(new THREE.Object3D());
  (loader as any).workingPath = path.dirname(file) + '/';
  const theirs = loader.parse(fs.readFileSync(file, 'utf8'));
  const r = rng(42);
  let worst = 0;
  for (let s = 0; s < seeds; s++) {
    const q = s === 0 ? new Float64Array(kin.nq) : randomQ(kin, r);
    kin.fk(q);
    for (let i = 0; i < kin.nq; i++) theirs.setJointValue(kin.dofNames[i], q[i]);
    theirs.updateMatrixWorld(true);
    const rootInv = theirs.links[ours.rootLink].matrixWorld.clone().invert();
    for (let li = 0; li < kin.nLinks; li++) {
      const name = kin.linkNames[li];
      const m = rootInv.clone().multiply(theirs.links[name].matrixWorld).elements; // column-major
      const P = kin.pose;
      const o = 12 * li;
      const ourRot = [P[o], P[o + 3], P[o + 6], P[o + 1], P[o + 4], P[o + 7], P[o + 2], P[o + 5], P[o + 8]];
      const theirRot = [m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]];
      for (let k = 0; k < 9; k++) worst = Math.max(worst, Math.abs(ourRot[k] - theirRot[k]));
      worst = Math.max(worst, Math.abs(P[o + 9] - m[12]), Math.abs(P[o + 10] - m[13]), Math.abs(P[o + 11] - m[14]));
    }
  }
  return { worst, kin, ours };
}

describeShared('forward kinematics vs urdf-loader (independent three.js scene graph)', REAL_MODELS, () => {
  for (const rel of REAL_MODELS) {
    it(`${rel}: every link pose matches to 1e-6 for random configurations`, () => {
      const { worst, kin } = compareWithUrdfLoader(shared(rel));
      expect(kin.nLinks).toBeGreaterThan(10);
      expect(worst).toBeLessThan(1e-6);
    });
  }

  it('mimic joints follow their leader (Inspire: 6 actuated of 12 moving joints)', () => {
    const r = loadUrdf(shared('hands/inspire_right/inspire_hand_right.urdf'));
    const kin = new Kinematics(r);
    expect(kin.nq).toBe(6);
    const moving = r.joints.filter((j) => j.type !== 'fixed').length;
    expect(moving).toBe(12);
    const q = new Float64Array(kin.nq);
    const idx = kin.dofIndex('index_proximal_joint');
    const mimicLink = kin.linkIndex(r.joints.find((j) => j.mimic?.joint === 'index_proximal_joint')!.child);
    q[idx] = 0.8;
    const mim = r.joints.find((j) => j.mimic?.joint === 'index_proximal_joint')!.mimic!;
    expect(kin.jointValue(q, mimicLink)).toBeCloseTo(mim.multiplier * 0.8 + mim.offset, 12);
  });
});

describeShared('jacobians', ['robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf', 'hands/inspire_right/inspire_hand_right.urdf'], () => {
  for (const rel of ['robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf', 'hands/inspire_right/inspire_hand_right.urdf']) {
    it(`${rel}: point Jacobians (with floating base) equal finite differences of FK`, () => {
      const kin = new Kinematics(loadUrdf(shared(rel)));
      const r = rng(7);
      const q = randomQ(kin, r);
      const base = { pos: [0.1, -0.2, 0.9], quat: [0.9, 0.1, -0.2, 0.3] };
      const cols = kin.nq + 6;
      const J = new Float64Array(6 * cols);
      const local = [0.03, -0.02, 0.05];
      const p0 = new Float64Array(3);
      const p1 = new Float64Array(3);
      const h = 1e-6;
      let worst = 0;
      for (let li = 1; li < kin.nLinks; li += 3) {
        kin.fk(q, base);
        kin.jacobian(li, local, J, true);
        kin.pointWorld(li, local, p0);
        for (let c = 0; c < kin.nq; c++) {
          const qq = Float64Array.from(q);
          qq[c] += h;
          kin.fk(qq, base);
          kin.pointWorld(li, local, p1);
          for (let a = 0; a < 3; a++) worst = Math.max(worst, Math.abs((p1[a] - p0[a]) / h - J[a * cols + 6 + c]));
        }
        // Base translation columns.
        for (let a = 0; a < 3; a++) {
          const pos = [...base.pos];
          pos[a] += h;
          kin.fk(q, { pos, quat: base.quat });
          kin.pointWorld(li, local, p1);
          for (let b = 0; b < 3; b++) worst = Math.max(worst, Math.abs((p1[b] - p0[b]) / h - J[b * cols + a]));
        }
      }
      expect(worst).toBeLessThan(1e-4);
    });
  }
});

describe('own models', () => {
  it('the project humanoid and hand match urdf-loader too', () => {
    for (const f of ['robots/r2r_humanoid/r2r_humanoid.urdf', 'robots/r2r_hand/r2r_hand.urdf']) {
      const file = path.join(PROJECT_ROOT, f);
      const { worst, kin } = compareWithUrdfLoader(file, 4);
      expect(kin.nq).toBeGreaterThan(10);
      expect(worst).toBeLessThan(1e-6);
    }
  });
});
