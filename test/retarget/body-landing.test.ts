/**
 * The landing foot (issue 15): on the CMU 104_02 walk onto the G1, a foot that touches down is placed, not
 * dragged under the floor; and the retarget report's stance/skating figures are the project's one
 * definition (src/robot/stance.ts) measured on the saved motion.
 */
import { expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retarget, type RetargetReport } from '../../src/retarget/index.ts';
import { feetOfMotion, motionFootContacts, skateSummary, stanceThresholds } from '../../src/robot/stance.ts';
import { checkFeasibility } from '../../src/sim/index.ts';

const WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';
const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';

describeShared('landing foot on the 104_02 walk (G1, 120 fps)', [WALK, G1], () => {
  const robot = loadUrdf(shared(G1));
  const m = retarget(importPose(shared(WALK)), robot);
  const q = m.quality as unknown as RetargetReport;
  const kin = new Kinematics(robot);
  const got = feetOfMotion(m.mapping, (n) => kin.linkIndex(n))!;
  const c = motionFootContacts(kin, m, got.feet, stanceThresholds(got.legLength));
  const nF = got.feet.length;

  it('the report is the shared definition measured on the motion (same figures validate and the viewer get from the motion file)', () => {
    const s = skateSummary(c);
    expect(got.feet.map((f) => f.name)).toEqual(['left', 'right']);
    expect(q.stance_frames).toEqual(s.stance_frames);
    expect(q.skate_frames).toBe(s.skate_frames);
    expect(q.stance_skate_max_cm_s).toBeCloseTo(100 * s.skate_max_m_s, 3);
    // Both feet stand most of the walk (stance from the robot's own feet, not from the person).
    expect(s.stance_frames.left).toBeGreaterThan(400);
    expect(s.stance_frames.right).toBeGreaterThan(400);
  });

  it('frames 110-145 (right foot landing): the foot is never on or under the floor while it moves fast', () => {
    // Before the fix: frames 119-138 at 0.0-0.6 mm below the floor sliding at 2.0-2.4 m/s.
    for (let t = 110; t <= 145; t++) {
      const i = t * nF + 1;
      if (c.height[i] <= c.thresholds.touchHeight) expect(c.speed[i], `frame ${t}`).toBeLessThan(1.0);
    }
  });

  it('over the clip: skating is rare and brief (old code: 148 skating frames, 18.7 cm/s mean, 2.75 m/s max)', () => {
    expect(q.skate_frames).toBeLessThan(15);
    expect(q.stance_skate_mean_cm_s).toBeLessThan(2);
    expect(q.ground_penetration_max_m).toBeLessThan(0.002);
    expect(q.joint_limit_violations).toBe(0);
    expect(q.self_collision_frames).toBe(0);
  });
});

describeShared('landing foot at 30 fps; retarget report and validate agree', [WALK, G1], () => {
  const robot = loadUrdf(shared(G1));
  const m = retarget(importPose(shared(WALK)), robot, { fps: 30 });
  const q = m.quality as unknown as RetargetReport;

  it('the root keeps walking: no run of frozen frames (a landing cone tied to the solved foot position stalled 12 frames, then jumped 20 cm)', () => {
    for (let t = 5; t <= 150; t += 5) { // the steady walk (the clip slows down near its end)
      const d = Math.hypot(m.rootPos[3 * t] - m.rootPos[3 * (t - 5)], m.rootPos[3 * t + 1] - m.rootPos[3 * (t - 5) + 1]);
      expect(d, `root travel over frames ${t - 5}-${t}`).toBeGreaterThan(0.01);
      expect(d, `root travel over frames ${t - 5}-${t}`).toBeLessThan(0.4);
    }
    expect(q.skate_frames).toBeLessThan(8);
    expect(q.stance_skate_max_cm_s).toBeLessThan(100);
  });

  it('validate measures the same stance and skating on the same motion', async () => {
    const r = await checkFeasibility(m, robot, { mode: 'assisted' });
    const fs = r.metrics.foot_skating as { stance_frames: Record<string, number>; skate_frames: number; max_stance_speed_mps: number; mean_stance_speed_mps: number };
    expect(fs.stance_frames).toEqual(q.stance_frames);
    expect(fs.skate_frames).toBe(q.skate_frames);
    expect(fs.max_stance_speed_mps).toBeCloseTo(q.stance_skate_max_cm_s / 100, 3);
    expect(fs.mean_stance_speed_mps).toBeCloseTo(q.stance_skate_mean_cm_s / 100, 3);
  }, 300_000);
});
