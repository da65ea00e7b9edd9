/**
 * Body and fingers in one retarget: the built-in pick-and-place track (body + both hands' 21 landmarks,
 * hands open, close on a box, open) onto the G1 with Dex3 hands. The body solve places the wrists; the
 * hand retargeter (through the body retargeter's `fingers` hook) solves the 7 finger joints of each hand.
 */
import { expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { builtinMotion } from '../../src/pose/builtin.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retargetFile } from '../../src/retarget/run.ts';
import { discoverHand, handLandmarks } from '../../src/retarget/hand/index.ts';
import { corr as pearson, fingerFlex, humanCurl } from './hand-helpers.ts';

const G1 = 'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf';

describeShared('G1 + Dex3: fingers from the hand landmarks inside the body retarget', [G1], () => {
  it('both hands close when the human grips and open when the human lets go; finger joints within limits', () => {
    const track = builtinMotion('pick-and-place');
    const robot = loadUrdf(shared(G1));
    const kin = new Kinematics(robot);
    const { motion: m, kind } = retargetFile(track, robot, {});
    expect(kind).toBe('body');
    const T = track.timestamps.length, nq = m.jointNames.length;
    const col = (name: string) => m.jointNames.indexOf(name);
    for (const side of ['left', 'right'] as const) {
      const lm = handLandmarks(track, side)!;
      const model = discoverHand(kin, { side, dofs: kin.dofNames.filter((n) => n.startsWith(`${side}_hand_`)) });
      for (const d of model.dofs) {
        const c = col(kin.dofNames[d]);
        expect(c).toBeGreaterThanOrEqual(0);
        for (let t = 0; t < T; t++) {
          const v = m.q[t * nq + c];
          expect(v >= kin.lower[d] - 1e-6 && v <= kin.upper[d] + 1e-6).toBe(true);
        }
      }
      for (const f of model.fingers.slice(1)) {
        const robotFlex = fingerFlex(m.q, nq, T, f, (d) => col(kin.dofNames[d]));
        const corr = pearson(humanCurl(lm, T, f.name), robotFlex);
        expect(corr, `${side} ${f.name} curl correlation`).toBeGreaterThan(0.9);
        // Open hand at the start, closed at the grip: the robot finger flexes by at least 1 rad more.
        const open = robotFlex[0], closed = robotFlex[Math.round(4.0 * track.fps)];
        expect(closed - open, `${side} ${f.name} closes`).toBeGreaterThan(1);
      }
    }
  });
});
