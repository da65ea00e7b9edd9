/**
 * Balance task: the centre-of-mass Jacobian against finite differences (our own humanoid, and H1), and the
 * CoM kept over the stance foot in the single-stance frames of a CMU walk on H1, where without the task it
 * is not.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { importPose } from '../../src/pose/import.ts';
import { ComModel, SupportRegion, comOutsideSupport, soleRectangle, supportFoot } from '../../src/retarget/balance.ts';
import { discoverBody } from '../../src/retarget/discover.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import { IkState } from '../../src/retarget/solver.ts';
import { retarget } from '../../src/retarget/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const R2R = path.resolve(here, '../../robots/r2r_humanoid/r2r_humanoid.urdf');
const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';

function checkJacobian(urdf: string): number {
  const kin = new Kinematics(loadUrdf(urdf));
  const s = new IkState(kin);
  const model = new ComModel(kin);
  expect(model.totalMass).toBeGreaterThan(1);
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < kin.nq; i++) s.q[i] = kin.lower[i] + (kin.upper[i] - kin.lower[i]) * (0.2 + 0.6 * rnd());
  s.basePos.set([0.3, -0.2, 0.9]);
  const h = Math.sqrt(0.5);
  s.baseQuat.set([h * Math.cos(0.3), 0.1, 0.05, h]);
  const n = Math.hypot(...s.baseQuat);
  for (let k = 0; k < 4; k++) s.baseQuat[k] /= n;
  const nv = kin.nq + 6;
  const Jc = new Float64Array(3 * nv);
  s.fk();
  model.jacobian(kin, Jc, s.J2, s.cols);
  const c0 = new Float64Array(3), c1 = new Float64Array(3), c2 = new Float64Array(3);
  const eps = 1e-6;
  const q0 = Float64Array.from(s.q), p0 = Float64Array.from(s.basePos), Q0 = Float64Array.from(s.baseQuat);
  const comAt = (out: Float64Array) => { s.fk(); model.com(kin, out); };
  const rotate = (w: number[]) => {
    // baseQuat := exp(w) * Q0 (w in world), as the solver applies steps.
    const th = Math.hypot(...w), hh = th / 2, sn = Math.sin(hh) / th;
    const d = [Math.cos(hh), w[0] * sn, w[1] * sn, w[2] * sn], [a, b, c, e] = Q0;
    s.baseQuat.set([d[0] * a - d[1] * b - d[2] * c - d[3] * e, d[0] * b + d[1] * a + d[2] * e - d[3] * c, d[0] * c - d[1] * e + d[2] * a + d[3] * b, d[0] * e + d[1] * c - d[2] * b + d[3] * a]);
  };
  let worst = 0;
  for (let col = 0; col < nv; col++) {
    for (const [sign, out] of [[1, c1], [-1, c2]] as const) {
      s.q.set(q0); s.basePos.set(p0); s.baseQuat.set(Q0);
      if (col < 3) s.basePos[col] += sign * eps;
      else if (col < 6) { const w = [0, 0, 0]; w[col - 3] = sign * eps; rotate(w); }
      else s.q[col - 6] += sign * eps;
      comAt(out);
    }
    for (let r = 0; r < 3; r++) {
      const fd = (c1[r] - c2[r]) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - Jc[r * nv + col]));
    }
  }
  s.q.set(q0); s.basePos.set(p0); s.baseQuat.set(Q0);
  comAt(c0);
  // The base-translation columns are the identity (a CoM moves with the body).
  expect(Jc[0]).toBeCloseTo(1, 9); expect(Jc[nv + 1]).toBeCloseTo(1, 9); expect(Jc[2 * nv + 2]).toBeCloseTo(1, 9);
  return worst;
}

it('support region: hull of two soles and the signed distance to it', () => {
  const r = new SupportRegion();
  // Two 0.2 x 0.1 soles, centres at y = +-0.1 (filled in directly, as addFoot would).
  const pts = [-0.1, 0.05, 0.1, 0.05, 0.1, 0.15, -0.1, 0.15, -0.1, -0.15, 0.1, -0.15, 0.1, -0.05, -0.1, -0.05];
  r.pts.set(pts); r.nPts = 8;
  r.build();
  expect(r.distance(0, 0)).toBeCloseTo(-0.1, 9); // between the feet: inside the hull, 0.1 from the front/back edges
  expect(r.distance(0.3, 0)).toBeCloseTo(0.2, 9);
  expect(r.dir[0]).toBeCloseTo(1, 9);
  expect(r.distance(0.13, 0.19)).toBeCloseTo(0.05, 9); // beyond the corner (0.1, 0.15)
  // One sole: the point between the feet is now outside by 0.05.
  r.clear(); r.pts.set(pts.slice(0, 8)); r.nPts = 4; r.build();
  expect(r.distance(0, 0)).toBeCloseTo(0.05, 9);
  expect(r.dir[1]).toBeCloseTo(-1, 9);
});

it('CoM Jacobian matches finite differences on r2r_humanoid', () => {
  expect(checkJacobian(R2R)).toBeLessThan(1e-6);
});

/** Mean |second difference| of the CoM's ground projection (m / frame^2) and the CoM path of a motion. */
function comAccel(urdf: string, m: RobotMotion): number {
  const kin = new Kinematics(loadUrdf(urdf));
  const model = new ComModel(kin);
  const T = m.timestamps.length, nq = kin.nq;
  const c = new Float64Array(3 * T), w = new Float64Array(3);
  for (let t = 0; t < T; t++) {
    kin.fk(Float64Array.from(m.q.subarray(t * nq, (t + 1) * nq)), { pos: Float64Array.from(m.rootPos.subarray(3 * t, 3 * t + 3)), quat: Float64Array.from(m.rootQuat.subarray(4 * t, 4 * t + 4)) });
    model.com(kin, w);
    c.set(w, 3 * t);
  }
  let sum = 0;
  for (let t = 1; t < T - 1; t++) sum += Math.hypot(c[3 * t + 3] - 2 * c[3 * t] + c[3 * t - 3], c[3 * t + 4] - 2 * c[3 * t + 1] + c[3 * t - 2]);
  return sum / (T - 2);
}

describeShared('balance on H1', [H1, WALK], () => {
  it('smoothed balance: a smoother CoM than without balance, and closer to the support', () => {
    const robot = loadUrdf(shared(H1));
    const track = importPose(shared(WALK));
    const off = retarget(track, robot, { duration: 4, fps: 30, balance: false });
    const on = retarget(track, robot, { duration: 4, fps: 30, balance: true });
    const aOff = comAccel(shared(H1), off), aOn = comAccel(shared(H1), on);
    const qOff = off.quality as Record<string, number>, qOn = on.quality as Record<string, number>;
    console.log(`H1 walk, smoothed balance: CoM mean |second difference| ${(aOff * 1000).toFixed(3)} -> ${(aOn * 1000).toFixed(3)} mm/frame^2; CoM outside support mean ${qOff.com_outside_support_mean_m} -> ${qOn.com_outside_support_mean_m} m; keypoint error ${qOff.keypoint_error_mean_m} -> ${qOn.keypoint_error_mean_m} m`);
    expect((on.quality as Record<string, unknown>).balance).toMatchObject({ smoothing_s: 0.35 });
    expect(aOn).toBeLessThan(aOff);
    expect(qOn.com_outside_support_mean_m).toBeLessThan(qOff.com_outside_support_mean_m);
    expect(qOn.joint_limit_violations).toBe(0);
    expect(qOn.velocity_limit_violations).toBe(0);
  }, 60_000);

  it('CoM Jacobian matches finite differences on H1', () => {
    expect(checkJacobian(shared(H1))).toBeLessThan(1e-6);
  });

  it('keeps the CoM over the stance foot in single stance of a CMU walk (it is not without)', () => {
    const robot = loadUrdf(shared(H1));
    const track = importPose(shared(WALK));
    const opts = { duration: 4, fps: 30 };
    const off = retarget(track, robot, { ...opts, balance: false });
    const on = retarget(track, robot, { ...opts, config: { weights: { balance: 300, balance_lookahead: 0.3, balance_smoothing: 0 } } });
    const qOff = off.quality as Record<string, number>, qOn = on.quality as Record<string, number>;
    // Single-stance frames after the balance weight's 0.5 s fade-in.
    const kin = new Kinematics(robot);
    const map = discoverBody(kin);
    const feet = {
      left: supportFoot(kin.linkIndex(map.feet.left.link), soleRectangle(map.feet.left)),
      right: supportFoot(kin.linkIndex(map.feet.right.link), soleRectangle(map.feet.right)),
    };
    const single = (m: RobotMotion) => {
      const st = (m.extras!.stance as { data: Uint8Array }).data, T = m.timestamps.length;
      const out = { left: new Uint8Array(T), right: new Uint8Array(T) };
      for (let t = 15; t < T; t++) if (st[2 * t] !== st[2 * t + 1]) { out.left[t] = st[2 * t]; out.right[t] = st[2 * t + 1]; }
      return out;
    };
    const sOff = comOutsideSupport(kin, new ComModel(kin), feet, single(off), off);
    const sOn = comOutsideSupport(kin, new ComModel(kin), feet, single(on), on);
    console.log(`H1 walk, ${sOn.support_frames} single-stance frames: CoM outside the stance sole max ${sOff.com_outside_support_max_m} -> ${sOn.com_outside_support_max_m} m, frames beyond 1 mm ${sOff.com_outside_support_frames} -> ${sOn.com_outside_support_frames}; whole clip max ${qOff.com_outside_support_max_m} -> ${qOn.com_outside_support_max_m} m; keypoint error ${qOff.keypoint_error_mean_m} -> ${qOn.keypoint_error_mean_m} m; skate ${qOff.stance_skate_mean_cm_s} -> ${qOn.stance_skate_mean_cm_s} cm/s`);
    expect(sOn.support_frames).toBeGreaterThan(20);
    expect(sOff.com_outside_support_max_m).toBeGreaterThan(0.1);
    expect(sOn.com_outside_support_max_m).toBeLessThan(0.03);
    expect(qOn.joint_limit_violations).toBe(0);
    expect(qOn.velocity_limit_violations).toBe(0);
  }, 60_000);
});
