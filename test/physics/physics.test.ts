/**
 * The physics-consistent stage on real robots: motions with known answers (standing, a slow arm wave on H1 made
 * feasible by construction; a 1 m jump; a first frame in the air) get the verdict they must get, and the output
 * keeps the reference beside the simulated motion, with no NaN anywhere.
 */
import { beforeAll, expect, it } from 'vitest';
import { loadUrdf, type UrdfRobot } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import { physicsCorrect, referenceOf } from '../../src/physics/index.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const H1 = 'robots/unitree_h1/urdf/h1.urdf';

/** A motion of the robot standing in its zero pose (feet flat on the ground), with `edit` applied per frame. */
function standing(robot: UrdfRobot, seconds: number, fps: number, edit?: (t: number, q: Float64Array, root: Float64Array, kin: Kinematics) => void): RobotMotion {
  const kin = new Kinematics(robot);
  const nq = kin.nq;
  const q0 = new Float64Array(nq);
  kin.fk(q0);
  let low = Infinity;
  for (let l = 0; l < kin.nLinks; l++) low = Math.min(low, kin.pose[12 * l + 11]);
  const T = Math.round(seconds * fps) + 1;
  const q = new Float32Array(T * nq), rootPos = new Float32Array(3 * T), rootQuat = new Float32Array(4 * T), ts = new Float64Array(T);
  const qt = new Float64Array(nq), root = new Float64Array(3);
  for (let t = 0; t < T; t++) {
    qt.fill(0);
    root[0] = 0; root[1] = 0; root[2] = 0;
    edit?.(t / fps, qt, root, kin);
    q.set(qt, t * nq);
    rootPos[3 * t] = root[0]; rootPos[3 * t + 1] = root[1]; rootPos[3 * t + 2] = root[2];
    rootQuat[4 * t] = 1;
    ts[t] = t / fps;
  }
  // Root height: the lowest link origin of the zero pose (the ankles) lifted by the sole found below it.
  const m: RobotMotion = { q, rootPos, rootQuat, timestamps: ts, fps, jointNames: kin.dofNames, rootLink: robot.rootLink, robot: { name: robot.name, urdf_sha256: robot.sha256 } };
  void low;
  return m;
}

/** Lift a standing motion so its feet stand on z = 0 (the lowest sole point of frame 0). */
async function onGround(m: RobotMotion, robot: UrdfRobot): Promise<RobotMotion> {
  const { robotGeometry, bodySamplePoints } = await import('../../src/sim/geometry.ts');
  const geom = await robotGeometry(robot);
  const kin = geom.kin;
  kin.fk(m.q.subarray(0, kin.nq), { pos: [0, 0, 0], quat: [1, 0, 0, 0] });
  let low = Infinity;
  for (const b of geom.bodies) {
    const p = bodySamplePoints(b), o = 12 * b.top, P = kin.pose;
    for (let i = 0; i < p.length; i += 3) low = Math.min(low, P[o + 6] * p[i] + P[o + 7] * p[i + 1] + P[o + 8] * p[i + 2] + P[o + 11]);
  }
  for (let t = 0; t < m.timestamps.length; t++) m.rootPos[3 * t + 2] += -low;
  return m;
}

function finite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

describeShared('physics stage on H1', [H1], () => {
  let robot: UrdfRobot;
  beforeAll(() => { robot = loadUrdf(shared(H1)); });

  it('standing still with a slow arm wave is feasible and changed by less than 1 cm; the output keeps the reference', async () => {
    const m = await onGround(standing(robot, 2, 50, (t, q, _root, kin) => {
      const d = kin.dofIndex('left_shoulder_roll_joint');
      q[d] = 0.4 * (1 - Math.cos(Math.PI * t)) / 2; // 0 -> 0.4 rad over 1 s and back: slow
    }), robot);
    const { motion, report } = await physicsCorrect(m, robot);
    expect(report.reasons).toEqual([]);
    expect(report.deviation!.max_change_m).toBeLessThan(0.01);
    expect(report.reference_feasible).toBe(true);
    expect(report.status).toBe('feasible');
    expect(report.output).toBe('simulated');
    expect(report.base).toBe('floating');
    expect(report.engine).toBe('articulated');
    expect(finite(motion.q) && finite(motion.rootPos) && finite(motion.rootQuat)).toBe(true);
    // The simulated motion is not a copy of the reference, and the reference is kept verbatim.
    const ref = referenceOf(motion)!;
    expect(Array.from(ref.q)).toEqual(Array.from(m.q));
    expect(Array.from(motion.q)).not.toEqual(Array.from(m.q));
    expect((motion.meta!.physics as { status: string }).status).toBe('feasible');
  }, 60_000);

  it('the same controller keeps the robot standing on Rapier too: the engines agree (crossCheck)', async () => {
    const m = await onGround(standing(robot, 1, 50, (t, q, _root, kin) => {
      q[kin.dofIndex('right_shoulder_roll_joint')] = -0.3 * (1 - Math.cos(Math.PI * t)) / 2;
    }), robot);
    const { report } = await physicsCorrect(m, robot, { crossCheck: true, validateReference: false });
    expect(report.status).toBe('corrected');
    expect(report.engines!.engine).toBe('rapier-multibody');
    expect(report.engines!.status).toBe('corrected');
    expect(report.engines!.max_change_m!).toBeLessThan(0.01);
    expect(report.engines!.agree).toBe(true);
  }, 120_000);

  it('a 1 m jump is infeasible, with a reason', async () => {
    // Crouch-free vertical jump: the whole body rises 1 m and comes back within 0.9 s (needs a take-off the motion does not have).
    const m = await onGround(standing(robot, 2, 50, (t, _q, root) => {
      if (t > 0.5 && t < 1.4) root[2] = 1.0 * Math.sin((Math.PI * (t - 0.5)) / 0.9);
    }), robot);
    const { motion, report } = await physicsCorrect(m, robot);
    expect(report.status).toBe('infeasible');
    expect(report.reasons.length).toBeGreaterThan(0);
    // The robot cannot leave the ground: the root path is off by about the jump height.
    expect(report.deviation!.keypoints.root.max_m).toBeGreaterThan(0.5);
    console.log('jump:', report.reasons.map((r) => r.message).join(' | '));
    expect(report.reasons.some((r) => ['fell', 'root_path', 'stance_foot', 'torque'].includes(r.kind))).toBe(true);
    // A fall says what preceded it: torques at their limits, or none (balance lost).
    for (const r of report.reasons) if (r.kind === 'fell') expect(r.message).toMatch(/effort limit for \d\.\d\d s of the 0\.5 s before|balance lost/);
    // A motion the controller cannot follow keeps the kinematic retarget as its output.
    expect(report.output).toBe('reference');
    expect(Array.from(motion.q)).toEqual(Array.from(m.q));
    expect(finite(motion.q) && finite(motion.rootPos)).toBe(true);
  }, 60_000);

  it('a first frame far from standing gets a one-line reason and the reference unchanged, no NaN', async () => {
    const m = await onGround(standing(robot, 1, 50), robot);
    for (let t = 0; t < m.timestamps.length; t++) m.rootPos[3 * t + 2] += 0.5;
    const { motion, report } = await physicsCorrect(m, robot);
    expect(report.status).toBe('infeasible');
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0].kind).toBe('start');
    expect(report.reasons[0].message).toMatch(/first frame is not a standing pose: lowest foot 50\.\d cm above the ground/);
    expect(report.reasons[0].message).not.toMatch(/\n/);
    expect(Array.from(motion.q)).toEqual(Array.from(m.q));
    expect(finite(motion.q) && finite(motion.rootPos)).toBe(true);
  }, 60_000);
});

const WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';

describeShared('physics stage on a real walk (H1)', [H1, WALK], () => {
  // Target of issue 14, not met yet: the controller keeps H1 up for about 1.5-2 s of this walk, then the body
  // drifts sideways over the stance foot and it falls (benchmarks/physics/RESULTS.md). Enable when it passes.
  it.skip('CMU 104_02 walk comes back corrected: stance feet within 5 cm, hands within 8 cm mean, heading within 10 deg, and validate passes the output', async () => {
    const { importPose } = await import('../../src/pose/import.ts');
    const { retarget } = await import('../../src/retarget/index.ts');
    const { checkFeasibility } = await import('../../src/sim/index.ts');
    const robot = loadUrdf(shared(H1));
    const m = retarget(importPose(shared(WALK)), robot, {});
    const { motion, report } = await physicsCorrect(m, robot);
    expect(report.status).toBe('corrected');
    const d = report.deviation!;
    expect(d.stance_foot.max_m).toBeLessThan(0.05);
    for (const [k, v] of Object.entries(d.keypoints)) if (k.startsWith('hand:')) expect(v.mean_m).toBeLessThan(0.08);
    expect(d.heading.max_deg).toBeLessThan(10);
    expect((await checkFeasibility(motion, robot, { mode: 'both' })).feasible).toBe(true);
  });
});

describeShared('ankle reach (com.ankle_reach) on a real robot', ['robots/booster_t1/T1_serial.urdf'], () => {
  it('clips a sole to effort / (share m g) about the ankle pitch axis, and leaves a sole already inside alone', async () => {
    const { ankleReachCorners } = await import('../../src/physics/index.ts');
    const robot = loadUrdf(shared('robots/booster_t1/T1_serial.urdf'));
    const kin = new Kinematics(robot);
    const pitchDof = kin.dofNames.indexOf('Left_Ankle_Pitch');
    expect(pitchDof).toBeGreaterThanOrEqual(0);
    const foot = kin.linkIndex('left_foot_link'); // below Left_Ankle_Pitch and Left_Ankle_Roll
    expect(foot).toBeGreaterThan(0);
    const wide = new Float64Array([-0.5, -0.5, 0, 0.5, -0.5, 0, 0.5, 0.5, 0, -0.5, 0.5, 0]);
    const weight = 31.6 * 9.81, eff = kin.effortLimit[pitchDof];
    const span = (c: Float64Array) => Math.max(c[0], c[3], c[6], c[9]) - Math.min(c[0], c[3], c[6], c[9]);
    const one = ankleReachCorners(kin, { link: foot, corners: wide }, weight, 1);
    const two = ankleReachCorners(kin, { link: foot, corners: wide }, weight, 0.5);
    expect(span(one)).toBeCloseTo((2 * eff) / weight, 6); // 20 N m on 31.6 kg: +-6.5 cm
    expect(span(two)).toBeCloseTo((4 * eff) / weight, 6);
    const small = new Float64Array([-0.01, -0.01, 0, 0.01, -0.01, 0, 0.01, 0.01, 0, -0.01, 0.01, 0]);
    const kept = ankleReachCorners(kin, { link: foot, corners: small }, weight, 1);
    // A sole within the reach of the axes is not changed (the ankle axes pass within 1 cm of the foot link origin here).
    expect(span(kept)).toBeLessThanOrEqual(0.02 + 1e-12);
  });
});

const HAMMERING = 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh';
describeShared('the stage calls a motion it followed corrected exactly when validate accepts it (T1)', ['robots/booster_t1/T1_serial.urdf', HAMMERING], () => {
  // The controller follows both clips on T1 within every deviation limit, its torques clamped to the URDF efforts.
  // Measured 00:35 UTC (issue 14): validate of the simulated pick-and-place needed 1.06x an ankle pitch's effort
  // with its old sum-of-squares ground-force split and 0.97x with the least-effort split (the simulator's own
  // contact forces needed 0.98x), so it passes; the hammering's first 2 s are rejected: the right hip roll hits
  // its 0.2 rad joint stop at 3.2 rad/s with the motor at its 30 N m effort, and the stop adds 108 N m for one
  // 4 ms step, which validate's inverse dynamics sees as 1.26x the effort. Either way the stage's verdict is validate's.
  for (const clip of ['builtin:pick-and-place', HAMMERING]) {
    it(`${clip}: followed within the limits; corrected if validate passes the simulated motion, else infeasible with validate's reasons`, async () => {
      const { builtinMotion } = await import('../../src/pose/builtin.ts');
      const { importPose } = await import('../../src/pose/import.ts');
      const { cropAndResample } = await import('../../src/bench/corpus.ts');
      const { retarget } = await import('../../src/retarget/index.ts');
      const { checkFeasibility } = await import('../../src/sim/index.ts');
      const robot = loadUrdf(shared('robots/booster_t1/T1_serial.urdf'));
      const track = clip.startsWith('builtin:') ? builtinMotion('pick-and-place') : cropAndResample(importPose(shared(clip)), 2, 1000);
      const m = retarget(track, robot, {});
      // Without the stage's reruns (retry), so the verdict is this run's.
      const noRetry = { retry: { rounds: 0 } };
      const own = await physicsCorrect(m, robot, { validateReference: false, validateOutput: false, overrides: noRetry });
      expect(own.report.status).toBe('corrected');
      expect(own.report.torque_saturation.longest_s).toBeLessThanOrEqual(0.25);
      const v = await checkFeasibility(own.motion, robot, { mode: 'both' });
      const hard = v.reasons.filter((r) => r.hard);
      console.log(`${clip}: validate of the corrected motion:`, v.feasible, hard.map((r) => r.message).join(' | '));
      const graded = await physicsCorrect(m, robot, { validateReference: false, overrides: noRetry });
      const why = graded.report.reasons.filter((r) => r.kind === 'validate').map((r) => r.message);
      if (v.feasible) {
        expect(graded.report.status).toBe('corrected');
        expect(graded.report.output).toBe('simulated');
        expect(why).toEqual([]);
      } else {
        expect(graded.report.status).toBe('infeasible');
        expect(graded.report.output).toBe('reference');
        expect(why.length).toBe(hard.length);
        for (const r of hard) expect(why.some((w) => w.endsWith(r.message))).toBe(true);
        // With reruns: corrected only with more headroom and an output validate passes, else infeasible with the
        // reruns on record.
        const rerun = await physicsCorrect(m, robot, { validateReference: false });
        console.log(`${clip}: with reruns:`, rerun.report.status, JSON.stringify(rerun.report.headroom ?? rerun.report.headroom_retry ?? {}));
        if (rerun.report.status === 'corrected') {
          expect(rerun.report.headroom).toBeDefined();
          expect((await checkFeasibility(rerun.motion, robot, { mode: 'both' })).feasible).toBe(true);
        } else {
          expect(rerun.report.status).toBe('infeasible');
          expect(rerun.report.headroom_retry?.rounds ?? 0).toBeGreaterThan(0);
        }
      }
    }, 240_000);
  }
});

describeShared('lift-off gate: a step taken before the weight is over the other foot (H1, built-in pick-and-place)', [H1], () => {
  // The person steps forward twice. On H1 (3 cm wide soles, no ankle roll) the robot lifting its rear foot at the
  // reference's moment, with its capture point still behind the front foot, fell (2.6 s); the gate keeps the foot
  // down until the weight has come over (controller.liftoff_gate).
  it('falls with the gate off; corrected within the deviation limits with it, and validate passes the output', async () => {
    const { builtinMotion } = await import('../../src/pose/builtin.ts');
    const { retarget } = await import('../../src/retarget/index.ts');
    const { checkFeasibility } = await import('../../src/sim/index.ts');
    const robot = loadUrdf(shared(H1));
    const m = retarget(builtinMotion('pick-and-place'), robot, {});
    const off = await physicsCorrect(m, robot, { validateReference: false, validateOutput: false, overrides: { controller: { liftoff_gate: { max_delay: 0 } }, retry: { rounds: 0 } } });
    expect(off.report.status).toBe('infeasible');
    expect(off.report.reasons.map((r) => r.kind)).toContain('fell');
    const on = await physicsCorrect(m, robot, { validateReference: false });
    console.log('H1 pick-and-place:', on.report.status, JSON.stringify(on.report.headroom ?? {}), on.report.reasons.map((r) => r.message).join(' | '));
    expect(on.report.status).toBe('corrected');
    const d = on.report.deviation!;
    expect(d.stance_foot.max_m).toBeLessThanOrEqual(0.05);
    expect(d.heading.max_deg).toBeLessThanOrEqual(10);
    for (const [k, v] of Object.entries(d.keypoints)) if (k.startsWith('hand:')) expect(v.mean_m).toBeLessThanOrEqual(0.08);
    expect((await checkFeasibility(on.motion, robot, { mode: 'assisted' })).feasible).toBe(true);
  }, 240_000);
});

describeShared('rerun with wider balance margins (G1, the squats video)', ['robots/unitree_g1/g1_29dof_rev_1_0.urdf', 'videos/tfjs_pose_squats.mp4'], () => {
  // The retarget of the captured squats puts the CoM at the edge of a sole at the bottom of a squat; with the default
  // margins the robot falls there (7.6 s). The stage reruns a clip that fell with the planned ZMP and the balanced
  // reference kept `retry.widen` further inside the support.
  it('falls without reruns; corrected with the widened rerun, within the deviation limits, and validate passes it', async () => {
    const { listCorpus, loadClip } = await import('../../src/bench/corpus.ts');
    const { retarget } = await import('../../src/retarget/index.ts');
    const { checkFeasibility } = await import('../../src/sim/index.ts');
    const robot = loadUrdf(shared('robots/unitree_g1/g1_29dof_rev_1_0.urdf'));
    const [clip] = listCorpus([shared('videos/tfjs_pose_squats.mp4')], { videos: true });
    const m = retarget(await loadClip(clip, { maxSeconds: 10, fps: 1000 }), robot, {});
    const once = await physicsCorrect(m, robot, { validateReference: false, overrides: { retry: { rounds: 0 } } });
    expect(once.report.status).toBe('infeasible');
    expect(once.report.reasons.map((r) => r.kind)).toContain('fell');
    const res = await physicsCorrect(m, robot, { validateReference: false });
    console.log('G1 squats:', res.report.status, JSON.stringify(res.report.headroom ?? {}), res.report.reasons.map((r) => r.message).join(' | '));
    expect(res.report.status).toBe('corrected');
    expect(res.report.headroom?.widen).toBeGreaterThan(0);
    const d = res.report.deviation!;
    expect(d.stance_foot.max_m).toBeLessThanOrEqual(0.05);
    for (const [k, v] of Object.entries(d.keypoints)) if (k.startsWith('hand:')) expect(v.mean_m).toBeLessThanOrEqual(0.08);
    expect((await checkFeasibility(res.motion, robot, { mode: 'assisted' })).feasible).toBe(true);
  }, 240_000);
});
