/**
 * The balanced reference (src/physics/rebalance.ts) on a real clip: the CMU hammering take retargeted onto G1.
 * Its stance feet are pinned (a foot bearing weight does not move), its multibody ZMP leaves the support far less
 * often than the kinematic retarget's, and its hands stay near the retarget's.
 */
import { beforeAll, expect, it } from 'vitest';
import { loadUrdf, type UrdfRobot } from '../../src/robot/urdf.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import { retargetFile } from '../../src/retarget/run.ts';
import { listCorpus, loadClip } from '../../src/bench/corpus.ts';
import { physicsCorrect, type PhysicsResult } from '../../src/physics/index.ts';
import { robotGeometry } from '../../src/sim/geometry.ts';
import { buildReference } from '../../src/sim/reference.ts';
import { findFeet, trackContacts } from '../../src/sim/contacts.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const CLIP = 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh';

describeShared('balanced reference on G1 (CMU 62_07 hammering, first 4 s)', [G1, CLIP], () => {
  let robot: UrdfRobot;
  let motion: RobotMotion;
  let result: PhysicsResult;
  beforeAll(async () => {
    robot = loadUrdf(shared(G1));
    const track = await loadClip(listCorpus([shared(CLIP)])[0], { maxSeconds: 4, fps: 1000 }); // its own 120 fps
    motion = retargetFile(track, robot, { file: CLIP }).motion;
    result = await physicsCorrect(motion, robot, { validateReference: false });
  }, 120_000);

  it('the multibody ZMP leaves the pinned support in under a third as many frames as the retarget\'s', () => {
    const com = result.report.deviation!.com;
    console.log('ZMP > 1 cm outside the support: retarget', com.zmp_outside_fraction_before, 'balanced', com.zmp_outside_fraction_after);
    expect(com.zmp_outside_fraction_before!).toBeGreaterThan(0.05); // the retarget is not balanced as it is
    expect(com.zmp_outside_fraction_after!).toBeLessThan(com.zmp_outside_fraction_before! / 3);
  });

  it('a foot in stance stays put (within 3 mm through each stance) and the hands stay within 5 cm of the retarget\'s', async () => {
    const geom = await robotGeometry(robot);
    const kin = geom.kin;
    const ref = buildReference(motion, kin), bal = buildReference(result.balanced!, kin);
    const feet = findFeet(geom, 0.02);
    const ct = trackContacts(ref, geom, feet, { contactHeight: 0.02, footTolerance: 0.02 });
    const L = kin.nLinks, nF = feet.length;
    let worstDrift = 0, stances = 0, refDrift = 0;
    for (let i = 0; i < nF; i++) {
      const link = geom.bodies[feet[i]].top;
      for (let a = 0; a < ref.T; ) {
        if (!ct.stance[a * nF + i]) { a++; continue; }
        let b = a;
        while (b + 1 < ref.T && ct.stance[(b + 1) * nF + i]) b++;
        const drift = (P: Float64Array) => { let m = 0; for (let t = a; t <= b; t++) m = Math.max(m, Math.hypot(P[(t * L + link) * 12 + 9] - P[(a * L + link) * 12 + 9], P[(t * L + link) * 12 + 10] - P[(a * L + link) * 12 + 10])); return m; };
        worstDrift = Math.max(worstDrift, drift(bal.pose));
        refDrift = Math.max(refDrift, drift(ref.pose));
        stances++;
        a = b + 1;
      }
    }
    console.log('stances', stances, 'foot drift in stance: retarget', refDrift.toFixed(4), 'balanced', worstDrift.toFixed(4));
    expect(stances).toBeGreaterThan(0);
    expect(worstDrift).toBeLessThan(0.003);
    const hands = ['left_rubber_hand', 'right_rubber_hand'].map((n) => kin.linkIndex(n));
    for (const h of hands) {
      let s = 0;
      for (let t = 0; t < ref.T; t++) s += Math.hypot(bal.pose[(t * L + h) * 12 + 9] - ref.pose[(t * L + h) * 12 + 9], bal.pose[(t * L + h) * 12 + 10] - ref.pose[(t * L + h) * 12 + 10], bal.pose[(t * L + h) * 12 + 11] - ref.pose[(t * L + h) * 12 + 11]);
      expect(s / ref.T).toBeLessThan(0.05);
    }
  });
});

const HAMMER_FULL = CLIP;

describeShared('physics stage on a real clip (G1, CMU 62_07 hammering, whole 9.3 s at 120 fps)', [G1, HAMMER_FULL], () => {
  it('comes back corrected: stance feet within 5 cm, hands within 8 cm mean, heading within 10 deg; validate passes the output', async () => {
    const robot = loadUrdf(shared(G1));
    const track = await loadClip(listCorpus([shared(HAMMER_FULL)])[0], { maxSeconds: 10, fps: 1000 });
    const motion = retargetFile(track, robot, { file: HAMMER_FULL }).motion;
    const { motion: out, report } = await physicsCorrect(motion, robot, { validateReference: false });
    console.log('hammering:', report.status, report.reasons.map((r) => r.message).join(' | '), JSON.stringify(report.deviation?.stance_foot));
    expect(report.status).toBe('corrected');
    expect(report.output).toBe('simulated');
    const d = report.deviation!;
    expect(d.stance_foot.max_m).toBeLessThanOrEqual(0.05);
    for (const [k, v] of Object.entries(d.keypoints)) if (k.startsWith('hand:')) expect(v.mean_m).toBeLessThanOrEqual(0.08);
    expect(d.heading.max_deg).toBeLessThanOrEqual(10);
    const { checkFeasibility } = await import('../../src/sim/index.ts');
    const v = await checkFeasibility(out, robot, { mode: 'both' });
    expect(v.feasible).toBe(true);
  }, 180_000);
});
