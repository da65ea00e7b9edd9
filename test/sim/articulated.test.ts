/**
 * The reduced-coordinate dynamics (src/sim/articulated.ts) against independent computations on the
 * project's own 29-DoF humanoid (robots/r2r_humanoid.urdf, always present): the mass matrix against
 * sum_b m J_v^T J_v + J_w^T I J_w from Kinematics.jacobian, gravity forces against J^T m g, conservation of
 * energy and momentum in free flight, free fall, and standing on the ground under PD.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { robotGeometry } from '../../src/sim/geometry.ts';
import { ArticulatedBody } from '../../src/sim/articulated.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

const URDF = path.join(PROJECT_ROOT, 'robots', 'r2r_humanoid', 'r2r_humanoid.urdf');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

async function setup(gravity: number) {
  const geom = await robotGeometry(loadUrdf(URDF));
  const sim = new ArticulatedBody(geom, { dt: 0.0005, gravity, friction: 0.9, fixedBase: false });
  const r = rng(7);
  const q = Float64Array.from({ length: geom.kin.nq }, () => 0.4 * r());
  const quat = [1, 0.2 * r(), 0.2 * r(), 0.2 * r()];
  const nrm = Math.hypot(...quat);
  sim.reset(q, { pos: [0.3, -0.2, 5], quat: quat.map((v) => v / nrm) });
  for (let i = 0; i < sim.n; i++) sim.u[i] = r();
  sim.prepare();
  return { geom, sim, r };
}

describe('articulated dynamics (r2r_humanoid)', () => {
  it('mass matrix equals sum of m Jv^T Jv + Jw^T I Jw over bodies (Kinematics.jacobian at each COM)', async () => {
    const { geom, sim } = await setup(9.81);
    const kin = geom.kin, n = sim.n;
    const M = Float64Array.from(sim.massMatrix());
    const ref = new Float64Array(n * n);
    const J = new Float64Array(6 * n);
    geom.bodies.forEach((b, bi) => {
      kin.jacobian(b.top, b.com, J, true);
      const P = kin.pose, o = 12 * b.top;
      // World inertia R I R^T.
      const I = new Float64Array(9);
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) s += P[o + 3 * r + k] * b.inertia[3 * k + l] * P[o + 3 * c + l];
        I[3 * r + c] = s;
      }
      for (let a = 0; a < n; a++) for (let c = 0; c < n; c++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += b.mass * J[k * n + a] * J[k * n + c];
        for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) s += J[(3 + k) * n + a] * I[3 * k + l] * J[(3 + l) * n + c];
        ref[a * n + c] += s;
      }
      expect(bi).toBeGreaterThanOrEqual(0);
    });
    let maxErr = 0, maxVal = 0;
    for (let i = 0; i < n * n; i++) { maxErr = Math.max(maxErr, Math.abs(M[i] - ref[i])); maxVal = Math.max(maxVal, Math.abs(ref[i])); }
    expect(maxVal).toBeGreaterThan(1);
    expect(maxErr / maxVal).toBeLessThan(1e-10);
  });

  it('at rest, the bias forces are the gravity load J^T m g', async () => {
    const { geom, sim } = await setup(9.81);
    sim.u.fill(0);
    sim.prepare();
    const C = Float64Array.from(sim.bias(null));
    const kin = geom.kin, n = sim.n;
    const G = new Float64Array(n);
    const J = new Float64Array(6 * n);
    for (const b of geom.bodies) {
      kin.jacobian(b.top, b.com, J, true);
      for (let a = 0; a < n; a++) G[a] += J[2 * n + a] * b.mass * 9.81;
    }
    let maxErr = 0;
    for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(C[i] - G[i]));
    expect(Math.abs(G[2])).toBeGreaterThan(100); // the whole weight on the base's vertical coordinate
    expect(maxErr).toBeLessThan(1e-9 * Math.abs(G[2]));
  });

  it('free flight without gravity conserves kinetic energy and linear momentum', async () => {
    const { sim } = await setup(0);
    const zero = new Float64Array(sim.nq);
    sim.massMatrix();
    const e0 = sim.kineticEnergy();
    const mom = () => { sim.prepare(); const M = sim.massMatrix(); const p = [0, 0, 0]; for (let k = 0; k < 3; k++) for (let i = 0; i < sim.n; i++) p[k] += M[k * sim.n + i] * sim.u[i]; return p; };
    const p0 = mom();
    for (let i = 0; i < 1000; i++) sim.step(zero, zero, zero, null); // 0.5 s
    sim.prepare();
    sim.massMatrix();
    const e1 = sim.kineticEnergy();
    const p1 = mom();
    expect(e0).toBeGreaterThan(1);
    expect(Math.abs(e1 - e0) / e0).toBeLessThan(0.01);
    for (let k = 0; k < 3; k++) expect(Math.abs(p1[k] - p0[k])).toBeLessThan(1e-4 * Math.hypot(...p0));
  });

  it('in free fall every body accelerates at g and the joints do not move relative to each other', async () => {
    const { sim } = await setup(9.81);
    sim.u.fill(0);
    const zero = new Float64Array(sim.nq);
    const q0 = Float64Array.from(sim.q);
    const z0 = sim.basePos[2];
    const steps = 200; // 0.1 s
    for (let i = 0; i < steps; i++) sim.step(zero, zero, zero, null);
    const t = steps * sim.dt;
    expect(sim.u[2]).toBeCloseTo(-9.81 * t, 6);
    for (let d = 0; d < sim.nq; d++) expect(Math.abs(sim.q[d] - q0[d])).toBeLessThan(1e-9);
    expect(z0 - sim.basePos[2]).toBeGreaterThan(0.5 * 9.81 * t * t * 0.99);
  });

  it('standing: PD on the neutral pose on the ground holds the robot up; the feet carry its weight', async () => {
    const geom = await robotGeometry(loadUrdf(URDF));
    const kin = geom.kin;
    const q = new Float64Array(kin.nq);
    kin.fk(q);
    let low = Infinity;
    for (let l = 0; l < kin.nLinks; l++) low = Math.min(low, kin.pose[12 * l + 11]);
    // Lowest contact point: from the sim's own contact points after placing the root.
    const dt = 0.005;
    const sim = new ArticulatedBody(geom, { dt, gravity: 9.81, friction: 0.9, fixedBase: false });
    sim.reset(q, { pos: [0, 0, 0], quat: [1, 0, 0, 0] });
    // Find the lowest sample point and lift the robot so it rests on it.
    let minZ = Infinity;
    for (const b of geom.bodies) {
      const { bodySamplePoints } = await import('../../src/sim/geometry.ts');
      const pts = bodySamplePoints(b), P = kin.pose, o = 12 * b.top;
      for (let i = 0; i < pts.length; i += 3) minZ = Math.min(minZ, P[o + 6] * pts[i] + P[o + 7] * pts[i + 1] + P[o + 8] * pts[i + 2] + P[o + 11]);
    }
    sim.reset(q, { pos: [0, 0, -minZ], quat: [1, 0, 0, 0] });
    const kp = new Float64Array(kin.nq), kd = new Float64Array(kin.nq), tau = new Float64Array(kin.nq);
    for (let d = 0; d < kin.nq; d++) { const e = Number.isFinite(kin.effortLimit[d]) ? kin.effortLimit[d] : 50; kp[d] = e / 0.1; kd[d] = 0.03 * kp[d]; }
    const z0 = sim.basePos[2];
    let impulse = 0;
    const steps = 400; // 2 s
    for (let i = 0; i < steps; i++) {
      for (let d = 0; d < kin.nq; d++) tau[d] = -kp[d] * sim.q[d] - kd[d] * sim.u[6 + d];
      sim.step(tau, kp, kd, null);
      if (i >= steps - 100) for (let k = 0; k < sim.nContacts; k++) impulse += sim.contactImpulse[k];
    }
    const mass = geom.bodies.reduce((a, b) => a + b.mass, 0);
    expect(Math.abs(sim.basePos[2] - z0)).toBeLessThan(0.02);
    expect(sim.nContacts).toBeGreaterThanOrEqual(4);
    // Mean normal force over the last 0.5 s equals the weight.
    const force = impulse / (100 * dt);
    expect(Math.abs(force - mass * 9.81) / (mass * 9.81)).toBeLessThan(0.02);
    for (let d = 0; d < kin.nq; d++) expect(Math.abs(sim.q[d])).toBeLessThan(0.05);
  });

  it('a fixed-base hand mounted at the ground: points of the held palm get no contact, the fingers still hold their pose', async () => {
    const geom = await robotGeometry(loadUrdf(path.join(PROJECT_ROOT, 'robots', 'r2r_hand', 'r2r_hand.urdf')));
    const kin = geom.kin;
    const sim = new ArticulatedBody(geom, { dt: 0.005, gravity: 9.81, friction: 0.9, fixedBase: true });
    const q = new Float64Array(kin.nq).fill(0.3);
    sim.reset(q, { pos: [0, 0, 0], quat: [1, 0, 0, 0] }); // palm origin on the ground plane
    const kp = new Float64Array(kin.nq), kd = new Float64Array(kin.nq), tau = new Float64Array(kin.nq);
    for (let d = 0; d < kin.nq; d++) { kp[d] = 10; kd[d] = 0.3; }
    for (let i = 0; i < 200; i++) {
      for (let d = 0; d < kin.nq; d++) tau[d] = kp[d] * (0.3 - sim.q[d]) - kd[d] * sim.u[d];
      sim.step(tau, kp, kd, null);
    }
    for (let d = 0; d < kin.nq; d++) {
      expect(Number.isFinite(sim.q[d])).toBe(true);
      expect(Math.abs(sim.q[d] - 0.3)).toBeLessThan(0.1);
    }
  });
});


describe('joint stops (ArticulatedOptions.jointStops)', () => {
  it('a joint driven hard against its URDF limit stops there with stops on, and runs past it without', async () => {
    const geom = await robotGeometry(loadUrdf(URDF));
    const kin = geom.kin;
    // A joint with a finite range; drive it with its full effort (or 50 N m) towards the upper limit for 1 s.
    const d = kin.dofNames.findIndex((_, i) => Number.isFinite(kin.upper[i]) && kin.upper[i] - kin.lower[i] < 3);
    expect(d).toBeGreaterThanOrEqual(0);
    const effort = Number.isFinite(kin.effortLimit[d]) && kin.effortLimit[d] > 0 ? kin.effortLimit[d] : 50;
    const run = (stops: boolean): number => {
      const sim = new ArticulatedBody(geom, { dt: 0.005, gravity: 0, friction: 0.9, fixedBase: true, jointStops: stops });
      sim.reset(new Float64Array(kin.nq), { pos: [0, 0, 1], quat: [1, 0, 0, 0] });
      const tau = new Float64Array(kin.nq), zero = new Float64Array(kin.nq);
      tau[d] = effort;
      let worst = -Infinity;
      for (let i = 0; i < 200; i++) { sim.step(tau, zero, zero, null); worst = Math.max(worst, sim.q[d]); }
      return worst - kin.upper[d];
    };
    const over = run(false), stopped = run(true);
    expect(over).toBeGreaterThan(0.3); // without stops the actuator takes it far past the range
    expect(stopped).toBeLessThan(0.02); // with stops it stays within 0.02 rad of the limit
  });

  it('stopTorque is what the stop applied: beyond the actuator at the impact, about -effort once it holds the joint, 0 elsewhere', async () => {
    const geom = await robotGeometry(loadUrdf(URDF));
    const kin = geom.kin;
    const d = kin.dofNames.findIndex((_, i) => Number.isFinite(kin.upper[i]) && kin.upper[i] - kin.lower[i] < 3);
    const effort = Number.isFinite(kin.effortLimit[d]) && kin.effortLimit[d] > 0 ? kin.effortLimit[d] : 50;
    const sim = new ArticulatedBody(geom, { dt: 0.005, gravity: 0, friction: 0.9, fixedBase: true, jointStops: true });
    sim.reset(new Float64Array(kin.nq), { pos: [0, 0, 1], quat: [1, 0, 0, 0] });
    const tau = new Float64Array(kin.nq), zero = new Float64Array(kin.nq);
    tau[d] = effort;
    let peak = 0, before = 0, hits = -1;
    for (let i = 0; i < 200; i++) {
      const u0 = sim.u[d];
      sim.step(tau, zero, zero, null);
      // (The other joints are free and swing with the driven one; one well inside its range has no stop force.)
      for (let k = 0; k < kin.nq; k++) if (k !== d && sim.q[k] > kin.lower[k] + 0.05 && sim.q[k] < kin.upper[k] - 0.05) expect(sim.stopTorque[k]).toBe(0);
      if (sim.stopTorque[d] !== 0 && hits < 0) { hits = i; before = u0; }
      peak = Math.min(peak, sim.stopTorque[d]);
    }
    // The joint arrives moving (no gravity, nothing else acts on it) and the stop takes that speed out: more than
    // the actuator's effort in the opposite direction; at rest against the stop it cancels the actuator exactly.
    expect(hits).toBeGreaterThan(0);
    expect(before).toBeGreaterThan(0.5);
    expect(peak).toBeLessThan(-effort);
    // (within 2 %: the free joints still swing, and what they pull on it the stop takes too)
    expect(Math.abs(sim.stopTorque[d] + effort)).toBeLessThan(0.02 * effort);
    expect(Math.abs(sim.u[d])).toBeLessThan(0.01);
  });
});

describe('velocity-product acceleration (biasAcceleration)', () => {
  it('equals the time derivative of J u at fixed u, by finite differences, for points across the tree', async () => {
    const geom = await robotGeometry(loadUrdf(URDF));
    const kin = geom.kin;
    const sim = new ArticulatedBody(geom, { dt: 0.001, gravity: 9.81, friction: 0.9, fixedBase: false });
    const r = rng(7);
    const q = new Float64Array(kin.nq).map(() => 0.5 * r());
    const quat = [0.96, 0.1, -0.2, 0.15];
    const qn = Math.hypot(...quat);
    const base = { pos: [0.1, -0.2, 1], quat: quat.map((v) => v / qn) };
    sim.reset(q, base);
    for (let i = 0; i < sim.n; i++) sim.u[i] = 1.5 * r();
    sim.prepare();
    sim.bias(null);
    const n = sim.n, J = new Float64Array(6 * n), out = new Float64Array(6);
    const vel = (qq: ArrayLike<number>, b: { pos: number[]; quat: number[] }, link: number): number[] => {
      kin.fk(qq, b);
      kin.jacobian(link, null, J, true);
      const v = [0, 0, 0, 0, 0, 0];
      for (let k = 0; k < 6; k++) for (let i = 0; i < n; i++) v[k] += J[k * n + i] * sim.u[i];
      return v;
    };
    const eps = 1e-6;
    // State advanced by eps along u: joints, root position, root orientation (world angular velocity).
    const q2 = q.map((v, d) => v + eps * sim.u[6 + d]);
    const w = [sim.u[3] * eps, sim.u[4] * eps, sim.u[5] * eps];
    const [qw, qx, qy, qz] = base.quat;
    const dq = [1, w[0] / 2, w[1] / 2, w[2] / 2];
    const quat2 = [
      dq[0] * qw - dq[1] * qx - dq[2] * qy - dq[3] * qz, dq[0] * qx + dq[1] * qw + dq[2] * qz - dq[3] * qy,
      dq[0] * qy - dq[1] * qz + dq[2] * qw + dq[3] * qx, dq[0] * qz + dq[1] * qy - dq[2] * qx + dq[3] * qw,
    ];
    const n2 = Math.hypot(...quat2);
    const base2 = { pos: base.pos.map((v, k) => v + eps * sim.u[k]), quat: quat2.map((v) => v / n2) };
    let checked = 0;
    for (let link = 1; link < kin.nLinks; link += 3) {
      const v1 = vel(q, base, link);
      const P = kin.pose;
      const px = P[12 * link + 9], py = P[12 * link + 10], pz = P[12 * link + 11];
      sim.prepare(); sim.bias(null); // fk above moved the shared kinematics: recompute the model's quantities
      sim.biasAcceleration(geom.bodyOfLink[link], px, py, pz, out);
      const v2 = vel(q2, base2, link);
      for (let k = 0; k < 6; k++) {
        const fd = (v2[k] - v1[k]) / eps;
        expect(Math.abs(out[k] - fd)).toBeLessThan(1e-3 * (1 + Math.abs(fd)));
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });
});
