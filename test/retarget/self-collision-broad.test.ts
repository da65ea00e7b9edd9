/**
 * The self-collision task's bounding-sphere skip (src/retarget/tasks/self-collision.ts): a pair is skipped only
 * when its capsules are at least `activation` apart, so the task's cost is, to the bit, the sum over every pair
 * of the exact capsule distance's term. Random poses within the joint limits of H1, G1 and T1 (many pairs near
 * or through each other, many far apart).
 */
import { expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { buildProxies, capsuleDistance } from '../../src/retarget/proxies.ts';
import { SelfCollisionTask } from '../../src/retarget/tasks/self-collision.ts';
import { IkState } from '../../src/retarget/solver.ts';

const ROBOTS = {
  h1: 'robots/unitree_h1/urdf/h1.urdf',
  g1: 'robots/unitree_g1/g1_29dof_rev_1_0.urdf',
  t1: 'robots/booster_t1/T1_serial.urdf',
};

describeShared('self-collision task: the broad skip changes no cost', Object.values(ROBOTS), () => {
  for (const [name, file] of Object.entries(ROBOTS)) {
    it(`${name}: 300 random poses, cost equal to the sum of exact pair terms`, () => {
      const kin = new Kinematics(loadUrdf(shared(file)));
      const proxies = buildProxies(kin);
      const w = 3, margin = 0.01, act = 0.05;
      const task = new SelfCollisionTask(proxies, w, margin, act, kin.nq + 6);
      const s = new IkState(kin);
      let seed = 11;
      const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      const out = new Float64Array(8);
      let active = 0, far = 0;
      for (let n = 0; n < 300; n++) {
        for (let i = 0; i < kin.nq; i++) s.q[i] = Number.isFinite(kin.lower[i]) && Number.isFinite(kin.upper[i]) ? kin.lower[i] + rnd() * (kin.upper[i] - kin.lower[i]) : 0;
        s.fk(false);
        s.costOnly = true;
        const got = task.accumulate(s);
        s.costOnly = false;
        let want = 0;
        for (let k = 0; k < proxies.pairs.length; k += 2) {
          const d = capsuleDistance(kin.pose, proxies.capsules[proxies.pairs[k]], proxies.capsules[proxies.pairs[k + 1]], out);
          if (d >= act) { far++; continue; }
          active++;
          const r = d - act;
          want += (d < margin ? w * 10 : w) * r * r;
        }
        expect(got).toBe(want);
      }
      expect(active).toBeGreaterThan(50);
      expect(far).toBeGreaterThan(active);
    });
  }
});
