/**
 * The plant interface (src/sim/plant.ts) on both engines, with the project's own 29-DoF humanoid
 * (robots/r2r_humanoid, always present): standing under PD stays up, a dropped robot lands and comes to rest
 * on its feet, the total joint torque is capped at the URDF effort, a base wrench that cancels gravity
 * (force at the root origin, torque about it) holds the robot in the air, and reset/read round-trips the state.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { robotGeometry, pdGains, bodySamplePoints, type RobotGeometry } from '../../src/sim/geometry.ts';
import { createPlant, makePlantState, type Plant, type PlantState } from '../../src/sim/plant.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

const URDF = path.join(PROJECT_ROOT, 'robots', 'r2r_humanoid', 'r2r_humanoid.urdf');

let geom: RobotGeometry;
let standZ = 0;
beforeAll(async () => {
  geom = await robotGeometry(loadUrdf(URDF));
  // Root height at which the lowest collision point of the zero pose touches the ground.
  const kin = geom.kin;
  kin.fk(new Float64Array(kin.nq));
  let low = Infinity;
  for (const b of geom.bodies) {
    const p = bodySamplePoints(b), o = 12 * b.top, P = kin.pose;
    for (let i = 0; i < p.length; i += 3) low = Math.min(low, P[o + 6] * p[i] + P[o + 7] * p[i + 1] + P[o + 8] * p[i + 2] + P[o + 11]);
  }
  standZ = -low;
});

function standing(nq: number, z: number): PlantState {
  const s = makePlantState(nq);
  s.rootPos[2] = z;
  return s;
}

function tiltOf(q: Float64Array): number {
  // Angle between the root's z axis and the world's: 1 - 2(x^2 + y^2) is its z component.
  return Math.acos(Math.max(-1, Math.min(1, 1 - 2 * (q[1] * q[1] + q[2] * q[2]))));
}

async function holdPose(engine: 'articulated' | 'rapier', dt: number, z0: number, seconds: number) {
  const plant = await createPlant(geom, { engine, dt, fixedBase: false, friction: 0.9, gravity: 9.81 });
  const nq = plant.nq;
  const q0 = new Float64Array(nq);
  const g = pdGains(geom, q0, { saturationAngle: 0.1, kdRatio: 0.03, dt, explicit: plant.pd === 'explicit' });
  plant.reset(standing(nq, z0));
  const s = makePlantState(nq);
  let minZ = Infinity, maxTilt = 0, maxContacts = 0;
  const cmd = { tau: new Float64Array(nq), qRef: q0, qdRef: new Float64Array(nq), kp: g.kp, kd: g.kd };
  for (let i = 0; i < Math.round(seconds / dt); i++) {
    plant.step(cmd);
    plant.read(s);
    minZ = Math.min(minZ, s.rootPos[2]);
    maxTilt = Math.max(maxTilt, tiltOf(s.rootQuat));
    maxContacts = Math.max(maxContacts, plant.contacts().count);
  }
  return { plant, s, minZ, maxTilt, maxContacts };
}

describe('plant (r2r_humanoid)', () => {
  it('articulated: standing under PD stays up, on its feet, at rest', async () => {
    const { plant, s, minZ, maxTilt, maxContacts } = await holdPose('articulated', 0.005, standZ + 0.002, 1.0);
    expect(plant.engine).toBe('articulated');
    expect(plant.selfContacts).toBe(false);
    expect(minZ).toBeGreaterThan(standZ - 0.03);
    expect(maxTilt).toBeLessThan(0.1);
    expect(maxContacts).toBeGreaterThanOrEqual(4); // both soles on the ground
    expect(Math.hypot(s.rootVel[0], s.rootVel[1], s.rootVel[2])).toBeLessThan(0.05);
  });

  it('articulated: a robot dropped from 0.3 m lands and comes to rest at standing height', async () => {
    const { s, minZ, maxTilt } = await holdPose('articulated', 0.005, standZ + 0.3, 1.5);
    expect(minZ).toBeGreaterThan(standZ - 0.1); // the legs absorb the landing, no collapse
    expect(Math.abs(s.rootPos[2] - standZ)).toBeLessThan(0.04);
    expect(Math.abs(s.rootVel[2])).toBeLessThan(0.05);
    expect(maxTilt).toBeLessThan(0.2);
  });

  it('rapier: standing under PD stays up; self-contact simulated; explicit PD', async () => {
    const { plant, s, minZ, maxTilt } = await holdPose('rapier', 0.002, standZ + 0.002, 0.3);
    expect(plant.engine).toBe('rapier-multibody');
    expect(plant.selfContacts).toBe(true);
    expect(plant.pd).toBe('explicit');
    expect(minZ).toBeGreaterThan(standZ - 0.03);
    expect(maxTilt).toBeLessThan(0.1);
    expect(Math.hypot(s.rootVel[0], s.rootVel[1], s.rootVel[2])).toBeLessThan(0.1);
    expect(plant.jointDrift()).toBeLessThan(0.002);
    plant.dispose();
  });

  for (const engine of ['articulated', 'rapier'] as const) {
    it(`${engine}: total torque (feed-forward + PD) is capped at the URDF effort`, async () => {
      const plant = await createPlant(geom, { engine, dt: 0.002, fixedBase: false, friction: 0.9, gravity: 9.81 });
      const nq = plant.nq, eff = geom.kin.effortLimit;
      plant.reset(standing(nq, standZ + 0.5));
      const tau = Float64Array.from(eff, (e, d) => (d % 2 ? -10 : 10) * (Number.isFinite(e) ? e : 1));
      // PD alone would ask far less; the sum must still be capped.
      plant.step({ tau, qRef: new Float64Array(nq), kp: new Float64Array(nq).fill(10), kd: new Float64Array(nq).fill(1) });
      const capped = eff.filter((e) => Number.isFinite(e)).length;
      expect(capped).toBeGreaterThan(0);
      expect(plant.saturated).toBe(capped);
      for (let d = 0; d < nq; d++) if (Number.isFinite(eff[d])) expect(plant.appliedTau[d]).toBe((d % 2 ? -1 : 1) * eff[d]);
      plant.dispose();
    });

    it(`${engine}: a base wrench cancelling gravity about the root origin holds the robot in the air`, async () => {
      const dt = 0.004;
      const plant = await createPlant(geom, { engine, dt, fixedBase: false, friction: 0.9, gravity: 9.81 });
      const nq = plant.nq;
      const q0 = new Float64Array(nq);
      const g = pdGains(geom, q0, { saturationAngle: 0.1, kdRatio: 0.03, dt, explicit: plant.pd === 'explicit' });
      const z0 = standZ + 1;
      plant.reset(standing(nq, z0));
      // Weight m g at the COM = force m g at the root origin + torque (c - o) x (m g) about it.
      const kin = geom.kin;
      kin.fk(q0, { pos: [0, 0, z0], quat: [1, 0, 0, 0] });
      let m = 0, cx = 0, cy = 0;
      for (const b of geom.bodies) {
        const P = kin.pose, o = 12 * b.top;
        const x = P[o] * b.com[0] + P[o + 1] * b.com[1] + P[o + 2] * b.com[2] + P[o + 9];
        const y = P[o + 3] * b.com[0] + P[o + 4] * b.com[1] + P[o + 5] * b.com[2] + P[o + 10];
        m += b.mass; cx += b.mass * x; cy += b.mass * y;
      }
      cx /= m; cy /= m;
      const F = m * 9.81;
      const wrench = Float64Array.of(0, 0, F, cy * F, -cx * F, 0); // (c - o) x (0, 0, F), o at the origin of x, y
      const cmd = { tau: new Float64Array(nq), qRef: q0, kp: g.kp, kd: g.kd, baseWrench: wrench };
      const s = makePlantState(nq);
      for (let i = 0; i < 100; i++) plant.step(cmd);
      plant.read(s);
      expect(Math.abs(s.rootPos[2] - z0)).toBeLessThan(0.005); // free fall would drop it 0.78 m
      expect(tiltOf(s.rootQuat)).toBeLessThan(0.02);
      // Without the wrench it falls.
      plant.reset(standing(nq, z0));
      for (let i = 0; i < 100; i++) plant.step({ ...cmd, baseWrench: null });
      plant.read(s);
      expect(z0 - s.rootPos[2]).toBeGreaterThan(0.7); // free fall: 0.78 m in 0.4 s
      plant.dispose();
    });

    it(`${engine}: reset then read returns the state (positions, velocities)`, async () => {
      const plant: Plant = await createPlant(geom, { engine, dt: 0.002, fixedBase: false, friction: 0.9, gravity: 9.81 });
      const nq = plant.nq;
      const s0 = standing(nq, standZ + 0.7);
      for (let d = 0; d < nq; d++) { s0.q[d] = 0.1 * Math.sin(d + 1); s0.qd[d] = 0.2 * Math.cos(d); }
      s0.rootQuat.set([Math.cos(0.1), 0, 0, Math.sin(0.1)]);
      s0.rootVel.set([0.1, -0.2, 0.3]);
      s0.rootAngVel.set([0.05, 0.1, -0.2]);
      plant.reset(s0);
      const s = makePlantState(nq);
      plant.read(s);
      for (const k of ['rootPos', 'rootQuat', 'rootVel', 'rootAngVel', 'q', 'qd'] as const) {
        for (let i = 0; i < s0[k].length; i++) expect(s[k][i]).toBeCloseTo(s0[k][i], 4);
      }
      plant.dispose();
    });
  }
});

describe('joint stops on both engines (PlantOptions.jointStops)', () => {
  // Rapier's multibody bindings have no joint limits; the Rapier plant adds the same one-sided stop as the articulated
  // one, so a controller cannot drive a joint through its range on one engine and not on the other.
  it.each(['articulated', 'rapier'] as const)('%s: a joint driven at full effort against its limit stops there with stops on, and runs past without', async (engine) => {
    const kin = geom.kin;
    const d = kin.dofNames.findIndex((_, i) => Number.isFinite(kin.upper[i]) && kin.upper[i] - kin.lower[i] < 3 && kin.upper[i] > 0.1);
    expect(d).toBeGreaterThanOrEqual(0);
    const effort = Number.isFinite(kin.effortLimit[d]) && kin.effortLimit[d] > 0 ? kin.effortLimit[d] : 50;
    const run = async (stops: boolean): Promise<{ over: number; stopPeak: number; stopEnd: number }> => {
      const plant = await createPlant(geom, { engine, dt: 0.002, fixedBase: true, friction: 0.9, gravity: 0, jointStops: stops, jointStopHz: 60 });
      plant.reset(standing(plant.nq, 1));
      const s = makePlantState(plant.nq);
      const cmd = { tau: new Float64Array(plant.nq) };
      cmd.tau[d] = effort;
      let worst = -Infinity, stopPeak = 0;
      for (let i = 0; i < 500; i++) { plant.step(cmd); plant.read(s); worst = Math.max(worst, s.q[d]); stopPeak = Math.min(stopPeak, plant.stopTorque[d]); }
      const stopEnd = plant.stopTorque[d];
      plant.dispose();
      return { over: worst - kin.upper[d], stopPeak, stopEnd };
    };
    const free = await run(false), stopped = await run(true);
    expect(free.over).toBeGreaterThan(0.3);
    expect(free.stopPeak).toBe(0); // no stops, no stop torque
    expect(stopped.over).toBeLessThan(0.03);
    // plant.stopTorque: what the stop added beyond the actuator: more than the effort when the joint arrives, about
    // -effort once it holds it (the other joints still swing a little).
    expect(stopped.stopPeak).toBeLessThan(-effort);
    expect(Math.abs(stopped.stopEnd + effort)).toBeLessThan(0.05 * effort);
  });
});
