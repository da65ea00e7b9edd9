import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseUrdf } from '../../src/robot/urdf.ts';
import { symEig3 } from '../../src/sim/math.ts';
import { convexHull2d, inverseDynamics, polygonOutside } from '../../src/sim/dynamics.ts';
import { robotGeometry, hullVolume } from '../../src/sim/geometry.ts';
import { buildWorld } from '../../src/sim/world.ts';
import { loadRapier } from '../../src/sim/rapier.ts';
import { buildReference } from '../../src/sim/reference.ts';
import { findFeet, trackContacts } from '../../src/sim/contacts.ts';
import { standingMotion } from '../../src/sim/synthetic.ts';
import { decimatePoints, splitByPrincipalAxis } from '../../src/sim/hull.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-sim-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('small numerics', () => {
  it('symEig3 diagonalises a full inertia tensor into a rotation', () => {
    const A = [2, 0.3, -0.1, 0.3, 1.5, 0.2, -0.1, 0.2, 1];
    const { values, vectors: V } = symEig3(A);
    // V diag(values) V^T == A, det V = 1
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += V[3 * r + k] * values[k] * V[3 * c + k];
      expect(s).toBeCloseTo(A[3 * r + c], 10);
    }
    const det = V[0] * (V[4] * V[8] - V[5] * V[7]) - V[1] * (V[3] * V[8] - V[5] * V[6]) + V[2] * (V[3] * V[7] - V[4] * V[6]);
    expect(det).toBeCloseTo(1, 10);
  });

  it('support polygon: 2D hull and signed distance outside', () => {
    const poly = convexHull2d([0, 0, 1, 0, 1, 1, 0, 1, 0.5, 0.5, 0.2, 0.9]);
    expect(poly.length).toBe(8);
    expect(polygonOutside(poly, 0.5, 0.5)).toBeCloseTo(-0.5, 10);
    expect(polygonOutside(poly, 1.3, 0.5)).toBeCloseTo(0.3, 10);
    expect(polygonOutside(poly, 2, 2)).toBeCloseTo(Math.SQRT2, 10);
  });

  it('hull decimation keeps the extent; splitting an L-shape gives two tighter hulls', async () => {
    // Points of an L: a 1x0.2 bar along x and a 0.2x1 bar along y.
    const pts: number[] = [];
    for (let i = 0; i <= 20; i++) for (let j = 0; j <= 4; j++) for (const z of [0, 0.2]) {
      pts.push(i / 20, (j / 4) * 0.2, z);
      pts.push((j / 4) * 0.2, i / 20, z);
    }
    const P = Float32Array.from(pts);
    await loadRapier(); // hullVolume asks Rapier for the hull
    const d = decimatePoints(P, 1 / 12);
    expect(d.length).toBeLessThan(P.length);
    const one = hullVolume(d);
    // Hull of the L: the unit square minus the triangle cut off by the segment (1,0.2)-(0.2,1), times 0.2.
    const exact = (1 - 0.5 * 0.8 * 0.8) * 0.2;
    expect(hullVolume(P)).toBeCloseTo(exact, 4);
    // Decimated points are a subset: the hull can only shrink, and only a little.
    expect(one).toBeLessThanOrEqual(exact + 1e-6);
    expect(one).toBeGreaterThan(0.9 * exact);
    const halves = splitByPrincipalAxis(d)!;
    const two = hullVolume(halves[0]) + hullVolume(halves[1]);
    expect(two).toBeLessThan(one * 0.8);
  });
});

/** A one-link robot: a 1 m long, 0.1 m radius URDF cylinder along its Z axis. */
const CYL = `<robot name="cyl"><link name="body"><inertial><origin xyz="0 0 0"/><mass value="2"/><inertia ixx="0.17" ixy="0" ixz="0" iyy="0.17" iyz="0" izz="0.01"/></inertial>
  <collision><geometry><cylinder radius="0.1" length="1"/></geometry></collision></link></robot>`;

describe('world building', () => {
  it('URDF cylinders lie along Z: a cylinder dropped upright rests on its end at half its length', async () => {
    const robot = parseUrdf(CYL, { file: path.join(tmp, 'cyl.urdf') });
    const geom = await robotGeometry(robot);
    await loadRapier(); // a robot of primitives builds its geometry without Rapier; its world needs it
    const sim = buildWorld(geom, [], { pos: [0, 0, 0.6], quat: [1, 0, 0, 0] }, { dt: 1 / 240, solverIterations: 4, joints: 'multibody', fixedBase: false, friction: 0.9, selfCollision: true, gravity: 9.81 });
    for (let i = 0; i < 480; i++) sim.world.step();
    const z = sim.bodies[0].translation().z;
    sim.free();
    expect(z).toBeGreaterThan(0.49); // lying down it would rest at 0.1
    expect(z).toBeLessThan(0.51);
    expect(sim.totalMass).toBe(2);
  });

  it('a body leaning beyond the toes: the ground force stays inside the feet, the least external wrench makes up the rest', async () => {
    // The same biped with its 10 kg pelvis mass 0.4 m ahead of the hips: the COM (x = 0.268) is past the feet's
    // front edge (x = 0.12). The ground can put its centre of pressure at most at the toes, with a force
    // (a, b) m g (forward, up) inside the friction cone; the external wrench makes up the rest: force
    // (-a, 1 - b) m g and, about the COM (height h, toes r = (-d h, -h) from it, d = (x_c - x_f) / h), the moment
    // (a - d b) m g h. The least a^2 + (1 - b)^2 + (a - d b)^2 is at b = 1 / (1 + d^2 / 2), a = d b / 2 (a / b
    // = 0.15, inside the cone).
    const robot = parseUrdf(bipedUrdf(0.4), { file: path.join(tmp, 'leaning.urdf') });
    const geom = await robotGeometry(robot);
    const ref = buildReference(await standingMotion(robot, 1, 50), geom.kin);
    const feet = findFeet(geom, 0.02);
    const id = inverseDynamics(ref, geom, trackContacts(ref, geom, feet, { contactHeight: 0.02, footTolerance: 0.02 }), 9.81, 0.1, { mu: 0.9 });
    const t = 25, M = 15;
    const xc = (10 * 0.4 + 2 * 0.5 * 0.02) / M;
    // COM height: pelvis COM 0.1 above the hips, legs' 0.25 below, feet's 0.53 below; the soles' bottom at 0.54 below.
    const zc = 0.54 + (10 * 0.1 - 2 * 2 * 0.25 - 2 * 0.5 * 0.53) / M;
    const d = (xc - 0.12) / zc;
    expect(id.zmpOutside[t]).toBeGreaterThan(0.1); // the ZMP is past the toes
    const bb = 1 / (1 + (d * d) / 2), aa = (d * bb) / 2;
    expect(id.residualForce[t]).toBeCloseTo(Math.hypot(aa, 1 - bb), 2);
    expect(id.residualTorque[t]).toBeCloseTo((d * bb) / 2, 2);
    // Each ankle (0.04 m above the ground) carries its foot's share of that ground force at the toes, 0.12 m
    // ahead, less the foot's own weight 0.02 m ahead — not the whole body's moment (about 19.7 Nm each).
    const nq = geom.kin.nq, half = (M * 9.81) / 2;
    for (const ankle of ['l_ankle', 'r_ankle']) {
      const tau = Math.abs(id.tau[t * nq + geom.kin.dofIndex(ankle)]);
      expect(tau).toBeCloseTo(bb * half * 0.12 + aa * half * 0.04 - 0.5 * 9.81 * 0.02, 0);
    }
  });

  it('two feet down: the ground forces are the least-effort split (largest |tau| / effort minimised), not the least squares', async () => {
    // The biped with a weak left ankle (2 N m) and a stronger right one (6 N m), hips 1000 N m, its 10 kg pelvis
    // p ahead of the hips, standing still. However the ground shares the load, the two ankles together hold the
    // pelvis' gravity moment K = 10 g p (the legs' weight acts through the ankles, and each foot's own weight is
    // carried by its own ankle whatever the split). The least largest ratio is both ankles at K / (2 + 6) of their
    // effort (0.90 here, the centres of pressure 2.6 and 7.5 cm ahead of the ankles, inside the 12 cm of sole); the
    // least sum of squares of tau / effort puts K 6^2 / (2^2 + 6^2) on the right ankle: 1.08 x its effort.
    const p = 0.0734;
    const robot = parseUrdf(bipedUrdf(p, { hip: 1000, l_ankle: 2, r_ankle: 6 }), { file: path.join(tmp, 'weak-ankle.urdf') });
    const geom = await robotGeometry(robot);
    const ref = buildReference(await standingMotion(robot, 1, 50), geom.kin);
    const ct = trackContacts(ref, geom, findFeet(geom, 0.02), { contactHeight: 0.02, footTolerance: 0.02 });
    const t = 25, nq = geom.kin.nq, K = 10 * 9.81 * p;
    const ankles = (tau: Float64Array) => [Math.abs(tau[t * nq + geom.kin.dofIndex('l_ankle')]) / 2, Math.abs(tau[t * nq + geom.kin.dofIndex('r_ankle')]) / 6];
    const best = inverseDynamics(ref, geom, ct, 9.81, 0.1, { mu: 0.9 });
    const [l, r] = ankles(best.tau);
    expect(l).toBeCloseTo(K / 8, 2);
    expect(r).toBeCloseTo(K / 8, 2);
    expect(Math.max(l, r)).toBeLessThan(1);
    expect(best.residualForce[t]).toBeLessThan(1e-3); // the ground still supplies the whole wrench
    // The same frame with the least-squares split kept (never re-solved): the right ankle over its effort.
    const ls = inverseDynamics(ref, geom, ct, 9.81, 0.1, { mu: 0.9, leastEffortAbove: Infinity });
    const [l2, r2] = ankles(ls.tau);
    expect(r2).toBeCloseTo((K * 6) / 40, 1);
    expect(r2).toBeGreaterThan(1);
    expect(l2 * 2 + r2 * 6).toBeCloseTo(K, 2);
  });

  it('inverse dynamics of standing still: the ground carries the weight under the COM, feet share it', async () => {
    const robot = parseUrdf(bipedUrdf(0.05), { file: path.join(tmp, 'biped.urdf') });
    const geom = await robotGeometry(robot);
    const m = await standingMotion(robot, 1, 50);
    const ref = buildReference(m, geom.kin);
    const feet = findFeet(geom, 0.02);
    expect(feet.map((f) => geom.bodies[f].name).sort()).toEqual(['l_foot', 'r_foot']);
    const ct = trackContacts(ref, geom, feet, { contactHeight: 0.02, footTolerance: 0.02 });
    const id = inverseDynamics(ref, geom, ct);
    const M = 15;
    const t = 25;
    expect(id.wrench[6 * t + 2]).toBeCloseTo(M * 9.81, 6);
    // ZMP under the COM: x = (10*0.05 + 2*0.5*0.02)/15, y = 0 (symmetric)
    expect(id.zmp[2 * t]).toBeCloseTo((10 * 0.05 + 2 * 0.5 * 0.02) / M, 4);
    expect(id.zmp[2 * t + 1]).toBeCloseTo(0, 6);
    expect(id.zmpOutside[t]).toBeLessThan(0);
    // Each hip holds half the pelvis' gravity moment (10 kg, 5 cm ahead of the hip axis).
    const nq = geom.kin.nq;
    for (const hip of ['l_hip', 'r_hip']) expect(Math.abs(id.tau[t * nq + geom.kin.dofIndex(hip)])).toBeCloseTo((10 * 9.81 * 0.05) / 2, 3);
    expect(Number.isNaN(id.flightResidual[t])).toBe(true);
  });
});

/** A 15 kg biped: 10 kg pelvis with its COM `pelvisX` ahead of the hips, 0.5 m legs, 0.2 x 0.08 m box feet;
 *  efforts (N m) of the hips and of the left and right ankles. */
function bipedUrdf(pelvisX: number, effort: { hip: number; l_ankle: number; r_ankle: number } = { hip: 100, l_ankle: 50, r_ankle: 50 }): string {
  return `<robot name="biped">
      <link name="base"><inertial><origin xyz="${pelvisX} 0 0.1"/><mass value="10"/><inertia ixx="0.1" ixy="0" ixz="0" iyy="0.1" iyz="0" izz="0.1"/></inertial>
        <collision><geometry><box size="0.2 0.3 0.2"/></geometry></collision></link>
      ${['l', 'r'].map((s, i) => `
      <joint name="${s}_hip" type="revolute"><parent link="base"/><child link="${s}_leg"/><origin xyz="0 ${i ? -0.1 : 0.1} 0"/><axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="${effort.hip}" velocity="10"/></joint>
      <link name="${s}_leg"><inertial><origin xyz="0 0 -0.25"/><mass value="2"/><inertia ixx="0.04" ixy="0" ixz="0" iyy="0.04" iyz="0" izz="0.01"/></inertial>
        <collision><origin xyz="0 0 -0.25"/><geometry><cylinder radius="0.03" length="0.5"/></geometry></collision></link>
      <joint name="${s}_ankle" type="revolute"><parent link="${s}_leg"/><child link="${s}_foot"/><origin xyz="0 0 -0.5"/><axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="${s === 'l' ? effort.l_ankle : effort.r_ankle}" velocity="10"/></joint>
      <link name="${s}_foot"><inertial><origin xyz="0.02 0 -0.03"/><mass value="0.5"/><inertia ixx="0.001" ixy="0" ixz="0" iyy="0.001" iyz="0" izz="0.001"/></inertial>
        <collision><origin xyz="0.02 0 -0.03"/><geometry><box size="0.2 0.08 0.02"/></geometry></collision></link>`).join('')}
    </robot>`;
}
